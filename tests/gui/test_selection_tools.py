"""#39 in the window: the Object tool (box, click to keep, Alt-click to remove) and the Lasso, driven with the mouse
on the real canvas; each gesture one undoable step, and nothing outside it changes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PySide6.QtCore import Qt

from clearbg_desktop.gui.tools.lasso import LassoTool
from clearbg_desktop.gui.tools.object_select import ObjectSelectTool
from tests.gui.test_brushes import open_photo, view_point
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from PySide6.QtGui import QUndoStack
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
    from clearbg_desktop.gui.window.main_window import MainWindow


def gesture(qtbot: QtBot, canvas: MaskCanvas, points: list[tuple[float, float]],
            modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, modifier, view_point(canvas, *points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(viewport, view_point(canvas, x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifier, view_point(canvas, *points[-1]))


def two_parts(document) -> None:  # noqa: ANN001 - a Document
    document.alpha[...] = 0
    document.alpha[50:150, 30:130] = 255  # the left subject
    document.alpha[50:150, 250:350] = 255  # and a second one the user does not want


@dataclass
class ObjectToolRun:
    """The Object tool chosen on a photo with :func:`two_parts`: the mask before, the undo stack's count, and the
    status bar's messages from then on."""

    document: Any
    before: np.ndarray
    stack: QUndoStack
    count: int
    messages: list[str]

    def wait(self, qtbot: QtBot) -> None:
        """Until the model's answer is one more undo step, or the status bar says it changed nothing."""
        qtbot.waitUntil(lambda: self.stack.count() > self.count
                        or any("changed nothing" in m for m in self.messages), timeout=WAIT_MS)


def object_tool(qtbot: QtBot, window: MainWindow, tmp_path: Path, joined: bool = False) -> ObjectToolRun:
    """A photo with two subjects (``joined``: by a bar, one part) and the Object tool chosen."""
    document = open_photo(qtbot, window, tmp_path)
    two_parts(document)
    if joined:
        document.alpha[90:110, 130:250] = 255
    before = document.alpha.copy()
    window.canvas.refresh()
    window.brush_bar.tool_actions["object"].trigger()
    stack = window.undo.group.activeStack()
    messages: list[str] = []
    window.status.messageChanged.connect(messages.append)
    return ObjectToolRun(document, before, stack, stack.count(), messages)


def test_keys_choose_the_tools(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path)
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_W)
    assert isinstance(window.canvas.tool, ObjectSelectTool)
    assert window.canvas.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    assert window.status.currentMessage().startswith("Object: box the subject")  # how to use it, said once
    bar = window.brush_bar
    assert not bar.size_box.isEnabled() and not bar.hardness_slider.isEnabled()  # no brush in a box
    qtbot.keyClick(window.canvas, Qt.Key.Key_X)  # back to a brush
    assert bar.size_box.isEnabled() and bar.opacity_slider.isEnabled()
    qtbot.keyClick(window.canvas, Qt.Key.Key_L)
    assert isinstance(window.canvas.tool, LassoTool)
    assert window.brush_bar.tool_actions["lasso"].isChecked()


def test_click_keeps_only_that_subject_and_alt_click_removes_it(qtbot: QtBot, window: MainWindow,
                                                                tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    two_parts(document)
    window.canvas.refresh()
    window.brush_bar.tool_actions["object"].trigger()
    stack = window.undo.group.activeStack()
    gesture(qtbot, window.canvas, [(80, 100)])  # a click on the left subject
    qtbot.waitUntil(lambda: stack.undoText() == "Keep part", timeout=WAIT_MS)  # worked out off the GUI thread
    assert (document.alpha[50:150, 30:130] == 255).all() and not document.alpha[:, 200:].any()
    assert stack.undoText() == "Keep part"
    stack.undo()
    assert (document.alpha[50:150, 250:350] == 255).all()
    gesture(qtbot, window.canvas, [(300, 100)], Qt.KeyboardModifier.AltModifier)  # Alt: that one goes
    qtbot.waitUntil(lambda: stack.undoText() == "Remove part", timeout=WAIT_MS)
    assert not document.alpha[:, 200:].any() and (document.alpha[50:150, 30:130] == 255).all()


def test_a_box_runs_the_model_there_and_changes_nothing_outside(qtbot: QtBot, window: MainWindow,
                                                                tmp_path: Path) -> None:
    run = object_tool(qtbot, window, tmp_path)
    gesture(qtbot, window.canvas, [(180, 40), (220, 120), (240, 160)])  # between the two subjects
    run.wait(qtbot)
    outside = np.ones_like(run.before, bool)
    outside[40:160, 180:240] = False
    assert np.array_equal(run.document.alpha[outside], run.before[outside])
    if run.stack.count() > run.count:
        assert run.stack.undoText() == "Object box"
        run.stack.undo()
        assert np.array_equal(run.document.alpha, run.before)


def test_the_lasso_adds_and_alt_takes_away(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    document.alpha[...] = 0
    window.canvas.refresh()
    window.brush_bar.tool_actions["lasso"].trigger()
    stack = window.undo.group.activeStack()
    square = [(200, 60), (300, 60), (300, 200), (200, 200), (200, 61)]
    gesture(qtbot, window.canvas, square)
    qtbot.waitUntil(lambda: stack.undoText() == "Lasso (add)", timeout=WAIT_MS)
    assert document.alpha[120:140, 240:260].min() == 255 and not document.alpha[:, :150].any()
    gesture(qtbot, window.canvas, [(230, 100), (270, 100), (270, 160), (230, 160), (230, 101)],
            Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: stack.undoText() == "Lasso (subtract)", timeout=WAIT_MS)
    assert document.alpha[125:135, 245:255].max() == 0
    stack.undo()
    stack.undo()
    assert not document.alpha.any()


def test_an_edit_whose_mask_changed_meanwhile_is_not_applied(qtbot: QtBot, window: MainWindow,
                                                           tmp_path: Path) -> None:
    """A lasso worked out while the user undid something: applying it would silently bring the undone back."""
    document = open_photo(qtbot, window, tmp_path)
    document.alpha[...] = 0
    canvas = window.canvas
    messages: list[str] = []
    window.status.messageChanged.connect(messages.append)
    stack = window.undo.group.activeStack()
    count = stack.count()

    def slow_lasso(alpha: np.ndarray):  # noqa: ANN202 - a MaskEdit
        from clearbg_desktop.core.editing.selection import lasso_edit

        edit = lasso_edit(alpha, None, [(10, 10), (60, 10), (60, 60)], "add", snap=False)
        document.alpha[20:30, 40:50] = 7  # the mask changes under the job (as an undo would)
        return edit

    canvas.compute_edit(slow_lasso, "Working…")
    assert canvas.computing and not canvas._can_paint()  # no strokes while the edit is worked out
    qtbot.waitUntil(lambda: not canvas.computing, timeout=WAIT_MS)
    assert stack.count() == count and any("not applied" in m for m in messages)
    assert (document.alpha[20:30, 40:50] == 7).all()


def test_ctrl_lasso_follows_the_drawn_line_exactly(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 39: a snapped edge came out ragged along a straight concrete block; Ctrl keeps exactly the line."""
    from clearbg_desktop.core.editing.selection import lasso_edit

    document = open_photo(qtbot, window, tmp_path)
    document.alpha[...] = 0
    window.brush_bar.tool_actions["lasso"].trigger()
    stack = window.undo.group.activeStack()
    square = [(200, 60), (300, 60), (300, 200), (200, 200), (200, 61)]
    gesture(qtbot, window.canvas, square, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: stack.undoText() == "Lasso (add)", timeout=WAIT_MS)
    stack.undo()
    scene = [(p.x(), p.y()) for p in (window.canvas.mapToScene(view_point(window.canvas, *xy)) for xy in square)]
    expected = lasso_edit(document.alpha, None, scene, "add", snap=False)
    stack.redo()
    assert expected is not None and np.array_equal(document.alpha[60:200, 200:300],
                                                   expected.after[60 - expected.box[1]:200 - expected.box[1],
                                                                  200 - expected.box[0]:300 - expected.box[0]])


def test_alt_click_on_faint_debris_takes_it_away(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 39: a faint haze (alpha under 128) beside the subject could not be clicked away."""
    document = open_photo(qtbot, window, tmp_path)
    two_parts(document)
    document.alpha[60:90, 200:230] = 60  # faint debris between the two subjects
    before = document.alpha.copy()
    window.canvas.refresh()
    window.brush_bar.tool_actions["object"].trigger()
    stack = window.undo.group.activeStack()
    gesture(qtbot, window.canvas, [(215, 75)], Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: stack.undoText() == "Remove part", timeout=WAIT_MS)
    assert not document.alpha[55:95, 195:235].any()
    assert np.array_equal(document.alpha[:, :150], before[:, :150])  # the subjects stay
    assert np.array_equal(document.alpha[:, 250:], before[:, 250:])
    stack.undo()
    assert np.array_equal(document.alpha, before)


@pytest.mark.slow  # the model, three times
def test_a_click_where_nothing_is_cut_out_adds_the_models_answer_around_it(qtbot: QtBot, window: MainWindow,
                                                                          tmp_path: Path) -> None:
    """The model runs on three squares around the click (off the GUI thread) and one answer is added there."""
    from clearbg_desktop.core.inference.box_prompt import click_squares

    run = object_tool(qtbot, window, tmp_path)
    gesture(qtbot, window.canvas, [(200, 100)])
    assert any("Looking for the object" in m for m in run.messages)
    run.wait(qtbot)
    x, y = window.canvas.mapToScene(view_point(window.canvas, 200, 100)).toTuple()
    left, top, right, bottom = click_squares((run.before.shape[1], run.before.shape[0]), x, y)[-1]
    outside = np.ones_like(run.before, bool)
    outside[top:bottom, left:right] = False
    assert np.array_equal(run.document.alpha[outside], run.before[outside])
    assert (run.document.alpha >= run.before).all()  # added, never taken away
    if run.stack.count() > run.count:
        assert run.stack.undoText() == "Object box (add)"


@pytest.mark.slow  # the model, three times
def test_shift_click_on_a_part_lets_the_model_tell_the_clicked_object_apart(qtbot: QtBot, window: MainWindow,
                                                                           tmp_path: Path) -> None:
    """People who touch are one part; a Shift-click keeps only what the model finds round the click."""
    run = object_tool(qtbot, window, tmp_path, joined=True)  # the two joined: one part
    gesture(qtbot, window.canvas, [(80, 100)], Qt.KeyboardModifier.ShiftModifier)
    assert any("Telling the clicked object" in m for m in run.messages)
    run.wait(qtbot)
    assert (run.document.alpha <= run.before).all()  # it only takes away
    if run.stack.count() > run.count:
        assert run.stack.undoText() == "Keep the clicked object"
        run.stack.undo()
        assert np.array_equal(run.document.alpha, run.before)
