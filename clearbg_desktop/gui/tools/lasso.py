"""The Lasso (L): draw around a region by hand to add it to the cut-out (Alt: to take it away), for shapes no model
knows. The edge snaps to the photo's edge near the drawn line (``core.editing.selection.lasso_edit``)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QPainterPath

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.editing.selection import lasso_edit
from clearbg_desktop.gui.tools.base import CanvasTool, GestureLine, ToolHost


class LassoTool(CanvasTool):
    name = "lasso"
    label = "Lasso"
    tooltip = ("Draw around a region to add it to the cut-out (L; Alt takes it away); the edge snaps to the photo "
               "(Ctrl: exactly your line)")
    hint = "Lasso: draw around what to add (Alt: take away); edge snaps to the photo (Ctrl: your line)"
    undo_label = "Lasso (add)"
    shortcut = "L"

    def __init__(self, host: ToolHost) -> None:
        super().__init__(host)
        self._points: list[tuple[float, float]] = []
        self._mode = "add"
        self._snap = True
        self.line = GestureLine(host.scene())

    @property
    def busy(self) -> bool:
        return bool(self._points)

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.CrossCursor

    def press(self, point: QPointF, pressure: float,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> bool:
        document = self.host.document
        if document is None or document.alpha is None:
            return False
        self._mode = "subtract" if modifiers & Qt.KeyboardModifier.AltModifier else "add"
        self._snap = not modifiers & Qt.KeyboardModifier.ControlModifier  # straight edges: exactly the drawn line
        self._points = [(point.x(), point.y())]
        return True

    def drag(self, point: QPointF, pressure: float) -> None:
        if not self._points:
            return
        self._points.append((point.x(), point.y()))
        path = QPainterPath(QPointF(*self._points[0]))
        for x, y in self._points[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
        self.line.show(path)

    def release(self) -> MaskEdit | None:
        points, self._points = self._points, []
        self.line.hide()
        document = self.host.document
        if len(points) < 3 or document is None or document.alpha is None:
            return None
        photo, mode, snap = document.rgb, self._mode, self._snap
        self.host.compute_edit(lambda alpha: lasso_edit(alpha, photo, points, mode, snap=snap),
                               "Fitting the lasso's edge to the photo…" if snap else "Filling the lasso…")
        return None

    def deactivate(self) -> None:
        self._points = []
        self.line.remove()
