"""Split before/after on the canvas: the original left of a draggable divider, the cut-out right of it.

Why an item over the rendered view rather than a second render: the cut-out stays the live, paintable view
(brush strokes keep updating it), and the original is one image drawn clipped at the divider, so dragging the
divider costs a repaint, not a render. Hold-to-compare stays beside it for a whole-photo flip.
"""

from __future__ import annotations

from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsLineItem, QStyleOptionGraphicsItem, QWidget

GRAB_PX = 8  # how close to the divider, in screen pixels, a press drags it instead of painting


class SplitOriginal(QGraphicsItem):
    """The original photo, drawn only left of ``divider`` (scene x), with a cosmetic divider line."""

    def __init__(self) -> None:
        super().__init__()
        self.image = QImage()
        self.divider = 0.0
        self.setZValue(5)
        self.line = QGraphicsLineItem(self)
        pen = QPen(QColor(255, 255, 255), 2)
        pen.setCosmetic(True)
        self.line.setPen(pen)

    def set_image(self, image: QImage) -> None:
        self.prepareGeometryChange()
        self.image = image
        self.set_divider(image.width() / 2 if self.divider <= 0 or self.divider > image.width() else self.divider)

    def set_divider(self, x: float) -> None:
        self.divider = max(0.0, min(float(self.image.width()), x))
        self.line.setLine(QLineF(self.divider, 0, self.divider, self.image.height()))
        self.update()

    def near_divider(self, scene_x: float, zoom: float) -> bool:
        return abs(scene_x - self.divider) * zoom <= GRAB_PX

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.image.isNull() or self.divider <= 0:
            return
        left = QRectF(0, 0, self.divider, self.image.height())
        painter.drawImage(left, self.image, left)
