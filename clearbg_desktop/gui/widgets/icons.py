"""Icons that cannot be mistaken for something else: Undo and Redo as curved arrows.

Qt's own style has no undo icon, and the straight ◀ ▶ arrows used before were taken for previous/next photo (a
click on ◀ silently undid a stroke, #37). The desktop theme's ``edit-undo`` is used where there is one; elsewhere
(Windows, macOS, a bare X server) a curved arrow is drawn.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

ICON_SIZES = (16, 22, 24, 32, 48)


def undo_icon(color: QColor) -> QIcon:
    return QIcon.fromTheme("edit-undo", _curved_arrow(color, mirrored=False))


def redo_icon(color: QColor) -> QIcon:
    return QIcon.fromTheme("edit-redo", _curved_arrow(color, mirrored=True))


def _curved_arrow(color: QColor, mirrored: bool) -> QIcon:
    icon = QIcon()
    for size in ICON_SIZES:
        icon.addPixmap(_curved_arrow_pixmap(size, color, mirrored))
    return icon


def _curved_arrow_pixmap(size: int, color: QColor, mirrored: bool) -> QPixmap:
    """An arc over the top that ends in an arrow head pointing down-left (undo) or down-right (redo)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if mirrored:
        painter.translate(size, 0)
        painter.scale(-1, 1)
    unit = size / 16.0
    painter.scale(unit, unit)
    pen = QPen(color, 1.8)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    arc = QPainterPath()
    arc.arcMoveTo(QRectF(3.5, 3.5, 10.0, 10.0), -30.0)
    arc.arcTo(QRectF(3.5, 3.5, 10.0, 10.0), -30.0, 210.0)  # from lower right, over the top, to the left side
    painter.drawPath(arc)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawPolygon(QPolygonF([QPointF(0.3, 7.5), QPointF(6.7, 7.5), QPointF(3.5, 12.0)]))
    painter.end()
    return pixmap
