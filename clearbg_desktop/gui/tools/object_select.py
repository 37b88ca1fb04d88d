"""The Object tool (W): drag a box around what you want, or click a part of the cut-out to keep only it.

A drag runs the model on the box (with context around it, at the model's own input size: a small object gets its
full resolution) and puts the answer inside the box; outside it nothing changes. Shift adds to what is there, Alt
takes it away. A click on the cut-out keeps only the part under it (Alt: removes that part, or a faint blob of
debris; Shift: the model tells the clicked object from what touches it, and only that stays); a click where nothing is cut out runs the model on squares of three sizes around it and adds the answer
surest of the clicked pixel. Each is one undoable step.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.editing.selection import faint_near, has_part_at, keep_component, remove_component
from clearbg_desktop.core.inference.box_prompt import click_squares
from clearbg_desktop.gui.tools.base import BoxRequest, CanvasTool, GestureLine, ToolHost

CLICK_SCREEN_PIXELS = 4  # a drag shorter than this on screen is a click, whatever the zoom
FAINT_SCREEN_PIXELS = 5  # an Alt-click this near a faint line of debris (on screen) takes it away


def selection_mode(modifiers: Qt.KeyboardModifier) -> str:
    """Alt takes away, Shift adds, nothing held replaces (as Photoshop's selection tools)."""
    if modifiers & Qt.KeyboardModifier.AltModifier:
        return "subtract"
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return "add"
    return "replace"


class ObjectSelectTool(CanvasTool):
    name = "object"
    label = "Object"
    tooltip = ("Drag a box around what you want, or click a part to keep only it (W; Shift adds, Alt takes away; "
               "Shift-click: only the clicked object of things that touch)")
    hint = "Object: box the subject, or click a part to keep only it (Shift adds, Alt takes away)"
    undo_label = "Object box"
    shortcut = "W"

    def __init__(self, host: ToolHost) -> None:
        super().__init__(host)
        self._start: QPointF | None = None
        self._end = QPointF()
        self._mode = "replace"
        self.frame = GestureLine(host.scene())

    @property
    def busy(self) -> bool:
        return self._start is not None

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def press(self, point: QPointF, pressure: float,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> bool:
        document = self.host.document
        if document is None or document.alpha is None:
            return False
        self._start, self._end, self._mode = point, point, selection_mode(modifiers)
        return True

    def drag(self, point: QPointF, pressure: float) -> None:
        if self._start is None:
            return
        self._end = point
        frame = QPainterPath()
        frame.addRect(QRectF(self._start, point).normalized())
        self.frame.show(frame)

    def release(self) -> MaskEdit | None:
        start, end, mode = self._start, self._end, self._mode
        self._start = None
        self.frame.hide()
        document = self.host.document
        if start is None or document is None or document.alpha is None:
            return None
        moved = max(abs(end.x() - start.x()), abs(end.y() - start.y())) * self.host.zoom
        if moved >= CLICK_SCREEN_PIXELS:
            box = QRectF(start, end).normalized()
            self.host.request_box(BoxRequest(document.doc_id, (box.left(), box.top(), box.right(), box.bottom()), mode))
            self.host.say("Cutting out what is in the box…", 0)  # until the model answers
            return None
        return self._click(start.x(), start.y(), mode)

    def _click(self, x: float, y: float, mode: str) -> MaskEdit | None:
        document = self.host.document
        assert document is not None and document.alpha is not None and document.loaded is not None
        height, width = document.alpha.shape
        if not (0 <= x < width and 0 <= y < height):
            return None
        if has_part_at(document.alpha, x, y):
            if mode == "subtract":
                self.host.compute_edit(lambda alpha: remove_component(alpha, x, y), "Removing that part…")
            elif mode == "add":  # Shift: things that touch are one part; the model tells the clicked one apart
                left, top, right, bottom = click_squares((width, height), x, y)[-1]
                self.host.request_box(BoxRequest(document.doc_id, (left, top, right, bottom), "separate",
                                                 click=(x, y)))
                self.host.say("Telling the clicked object from what touches it…", 0)
            else:
                self.host.compute_edit(lambda alpha: keep_component(alpha, x, y), "Keeping only that part…")
            return None
        if mode == "subtract":
            near = faint_near(document.alpha, x, y, FAINT_SCREEN_PIXELS / self.host.zoom)  # faint debris (walk 39)
            if near is not None:
                self.host.compute_edit(lambda alpha: remove_component(alpha, *near), "Removing that faint part…")
            else:
                self.host.say("Nothing is cut out there to take away")
            return None
        left, top, right, bottom = click_squares((width, height), x, y)[-1]
        self.host.request_box(BoxRequest(document.doc_id, (left, top, right, bottom), "add", click=(x, y)))
        self.host.say("Looking for the object under the click…", 0)
        return None

    def deactivate(self) -> None:
        self._start = None
        self.frame.remove()
