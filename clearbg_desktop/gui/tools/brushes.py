"""The three painting tools: Restore, Erase and Refine Edge. One stroke is one undoable edit.

They share the brush (size in screen pixels, hardness, opacity, from the options bar) and its outline under the
pointer; they differ in what a dab does to the mask, which the core's ``Stroke`` does by the brush's mode.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from clearbg_desktop.core.editing.mask_edits import STROKE_LABELS, Brush, MaskEdit, Stroke
from clearbg_desktop.gui.tools.base import CanvasTool, ToolHost


class BrushTool(CanvasTool):
    """Paints the mask along the pointer at the photo's full resolution, under a circle the brush's size.

    The size is in screen pixels: a 44 px brush is the same circle on a 1 MP and a 24 MP photo (in photo pixels it
    would be a hairline on the large one), so each stroke gets it in photo pixels at the zoom of the moment.
    """

    reads_photo = False  # the Refine Edge brush works the mask out again from the photo's colours
    uses_brush = True

    def __init__(self, host: ToolHost) -> None:
        super().__init__(host)
        self._stroke: Stroke | None = None
        self.outline = QGraphicsEllipseItem()
        pen = QPen(QColor(255, 255, 255), 0)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setZValue(10)
        self.outline.setVisible(False)
        host.scene().addItem(self.outline)

    @property
    def busy(self) -> bool:
        return self._stroke is not None

    def photo_brush(self) -> Brush:
        """The brush in photo pixels at the current zoom, in this tool's mode."""
        brush = self.host.brush
        return replace(brush, size=max(0.5, brush.size / self.host.zoom), mode=self.name)

    def press(self, point: QPointF, pressure: float,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> bool:
        document = self.host.document
        if document is None or document.alpha is None:
            return False
        photo = document.rgb if self.reads_photo else None
        self._stroke = Stroke(document.alpha, self.photo_brush(), photo)
        self.drag(point, pressure)
        return True

    def drag(self, point: QPointF, pressure: float) -> None:
        self.hover(point)
        if self._stroke is None:
            return
        box = self._stroke.move_to(point.x(), point.y(), pressure)
        if box is not None:
            self.host.repaint_region(box)

    def release(self) -> MaskEdit | None:
        stroke, self._stroke = self._stroke, None
        return None if stroke is None else stroke.finish()

    def hover(self, point: QPointF | None) -> None:
        self.pointer = point
        if point is None:
            self.outline.setVisible(False)
            return
        radius = self.photo_brush().size / 2.0
        self.outline.setRect(QRectF(point.x() - radius, point.y() - radius, 2 * radius, 2 * radius))
        self.outline.setVisible(True)

    def refresh(self) -> None:
        self.hover(self.pointer if self.outline.isVisible() else None)

    def deactivate(self) -> None:
        self._stroke = None
        self.outline.setVisible(False)
        scene = self.outline.scene()
        if scene is not None:
            scene.removeItem(self.outline)


class RestoreBrush(BrushTool):
    name = "restore"
    label = "Restore"
    tooltip = "Paint the subject back in (X toggles)"
    hint = "Restore: paint the subject back in (X: Erase; [ and ]: size)"
    undo_label = STROKE_LABELS["restore"]


class EraseBrush(BrushTool):
    name = "erase"
    label = "Erase"
    tooltip = "Remove from the subject (X toggles)"
    hint = "Erase: paint away what is not the subject (X: Restore; [ and ]: size)"
    undo_label = STROKE_LABELS["erase"]


class RefineEdgeBrush(BrushTool):
    name = "refine"
    label = "Refine edge"
    tooltip = "Paint over hair and fur: where you paint, the mask is worked out again from the photo's colours (R)"
    hint = "Refine edge: paint over hair and fur to follow the photo's colours"
    undo_label = STROKE_LABELS["refine"]
    shortcut = "R"
    reads_photo = True
