"""Canvas tools are objects (#44): a new tool is its own class and one registration, and the canvas drives it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.gui.tools.base import CanvasTool
from clearbg_desktop.gui.tools.brushes import BrushTool
from clearbg_desktop.gui.tools.registry import TOOLS, tool_class
from clearbg_desktop.gui.window.main_window import MainWindow
from tests.gui.test_brushes import drag, open_photo

REPO = Path(__file__).resolve().parents[2]


class RectangleEraser(CanvasTool):
    """A tool written as the next ones will be: a box dragged on the photo, erased in one undoable edit."""

    name = "rectangle-eraser"
    label = "Erase box"
    tooltip = "Drag a box: everything in it leaves the cut-out"
    hint = "Erase box: drag over what should go"
    undo_label = "Erase box"

    def __init__(self, host) -> None:  # noqa: ANN001 - the canvas
        super().__init__(host)
        self.start: QPointF | None = None
        self.end: QPointF | None = None

    @property
    def busy(self) -> bool:
        return self.start is not None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def press(self, point: QPointF, pressure: float,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> bool:
        self.start = self.end = point
        return True

    def drag(self, point: QPointF, pressure: float) -> None:
        self.end = point

    def release(self) -> MaskEdit | None:
        document = self.host.document
        assert document is not None and document.alpha is not None and self.start and self.end
        left, right = sorted((int(self.start.x()), int(self.end.x())))
        top, bottom = sorted((int(self.start.y()), int(self.end.y())))
        self.start = self.end = None
        before = document.alpha[top:bottom, left:right].copy()
        document.alpha[top:bottom, left:right] = 0
        box = (left, top, right, bottom)
        self.host.repaint_region(box)
        return MaskEdit(box, before, document.alpha[top:bottom, left:right].copy(), self.undo_label)


@pytest.fixture
def rectangle_tool_registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The one registration a new tool needs (before the window builds its options bar)."""
    monkeypatch.setitem(TOOLS, RectangleEraser.name, RectangleEraser)
    yield


def test_a_new_tool_is_one_class_and_one_registration(rectangle_tool_registered: None, qtbot: QtBot,
                                                      window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    document.alpha[...] = 255
    window.canvas.refresh()
    action = window.brush_bar.tool_actions[RectangleEraser.name]
    assert action.text() == "Erase box" and action.statusTip() == RectangleEraser.hint
    action.trigger()
    assert isinstance(window.canvas.tool, RectangleEraser)
    assert window.canvas.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    drag(qtbot, window.canvas, [(50, 40), (120, 90), (150, 100)])
    assert (document.alpha[40:100, 50:150] == 0).all() and (document.alpha[:40] == 255).all()
    stack = window.undo.group.activeStack()
    assert stack.undoText() == "Erase box"
    stack.undo()
    assert (document.alpha == 255).all()
    window.brush_bar.tool_actions["erase"].trigger()  # back to a brush: its circle follows the pointer again
    assert isinstance(window.canvas.tool, BrushTool) and window.canvas.tool.name == "erase"


def test_pan_stays_with_the_canvas_whatever_the_tool(rectangle_tool_registered: None, qtbot: QtBot,
                                                    window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path, size=(1600, 1200))
    document.alpha[...] = 255
    window.brush_bar.tool_actions[RectangleEraser.name].trigger()
    canvas = window.canvas
    before = canvas.horizontalScrollBar().value()
    viewport = canvas.viewport()
    centre = viewport.rect().center()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=centre)
    qtbot.mouseMove(viewport, centre - QPoint(100, 80))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=centre - QPoint(100, 80))
    assert canvas.horizontalScrollBar().value() != before
    assert (document.alpha == 255).all() and not canvas.tool.busy  # the middle button never reached the tool


def test_each_tool_names_its_edits_and_a_shortcut_is_unique() -> None:
    labels = [tool.undo_label for tool in TOOLS.values()]
    shortcuts = [tool.shortcut for tool in TOOLS.values() if tool.shortcut]
    assert len(set(labels)) == len(labels) and len(set(shortcuts)) == len(shortcuts)
    assert tool_class("a tool from a newer version") is TOOLS["restore"]


def test_the_canvas_knows_the_active_tool_not_what_tools_do() -> None:
    source = (REPO / "clearbg_desktop" / "gui" / "canvas" / "mask_canvas.py").read_text()
    for tool_detail in ("Stroke", "tools.brushes", "tools.object_select", "tools.lasso", "QGraphicsEllipseItem",
                        "QGraphicsRectItem", '"refine"', '"erase"', '"object"', '"lasso"'):
        assert tool_detail not in source, tool_detail
