"""The photo's pixels on the canvas: an image item edited in place, and full-view renders off the GUI thread for
large photos (numpy and QImage only, so a render job is safe on the pool)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QPointF, QRectF, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from clearbg_desktop.core.editing.preview import render_view
from clearbg_desktop.core.imaging.shadow import ShadowLayer, ShadowSettings, colour_view, render_shadow
from clearbg_desktop.gui.widgets.qimage import array_to_qimage


class ImageItem(QGraphicsItem):
    """Draws a QImage the canvas owns and edits in place.

    QGraphicsPixmapItem needs ``setPixmap`` after every change, which copies and re-uploads a
    96 MB pixmap at 24 MP for each brush dab; here a dab paints into the image and repaints only
    its rectangle (the painter's clip: only the exposed part is drawn).
    """

    def __init__(self) -> None:
        super().__init__()
        self.image = QImage()

    def set_image(self, image: QImage) -> None:
        self.prepareGeometryChange()
        self.image = image
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        return QRectF(0, 0, self.image.width(), self.image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        """The whole image, clipped to what is exposed: drawing only the exposed part maps it to the screen from
        its own corner, and at a fractional zoom its edge pixels then sample other photo pixels than a full
        repaint does; after an undo that left lines of the undone stroke on screen (#37)."""
        if self.image.isNull():
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, painter.transform().m11() < 1.0)
        painter.drawImage(QPointF(0, 0), self.image)  # the painter's clip is the exposed part: only that is drawn


ASYNC_RENDER_PIXELS = 2_000_000  # above this, full-view renders run off the GUI thread


def view_pixels(rgb: np.ndarray, alpha: np.ndarray | None, mode: str, color: tuple[int, int, int],
                shadow: ShadowSettings | None = None) -> tuple[np.ndarray, ShadowLayer | None]:
    """What a view mode shows, and the shadow drawn in it: the colour view draws the export's shadow under the
    subject (``shadow``), as the output will have it; the other views never do (the cut-out view is where the mask
    is judged, and a shadow there would look like background left behind)."""
    if mode != "color" or shadow is None or alpha is None:
        return render_view(rgb, alpha, mode, color), None
    layer = render_shadow(Image.fromarray(alpha, "L"), shadow)
    return colour_view(rgb, alpha, color, layer), layer


def render_qimage(rgb: np.ndarray, alpha: np.ndarray | None, mode: str, color: tuple[int, int, int],
                  shadow: ShadowSettings | None = None) -> tuple[QImage, ShadowLayer | None]:
    """The displayed image for a view mode and the shadow in it (thread-safe: numpy and QImage only)."""
    pixels, layer = view_pixels(rgb, alpha, mode, color, shadow)
    image = array_to_qimage(pixels)
    if image.hasAlphaChannel():  # premultiplied: what the raster engine blends fastest
        image = image.convertToFormat(QImage.Format.Format_ARGB32_Premultiplied)
    return image, layer


class RenderSignals(QObject):
    """Signals:
        rendered(int, object): generation, (QImage, the ShadowLayer drawn in it or None).
    """

    rendered = Signal(int, object)


RENDER_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearbg-render")


def render_job(generation: int, signals: RenderSignals, *args: object) -> None:
    signals.rendered.emit(generation, render_qimage(*args))  # type: ignore[arg-type]


def checkerboard_brush(cell: int = 10) -> QBrush:
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, cell, cell, QColor(255, 255, 255))
    painter.fillRect(cell, cell, cell, cell, QColor(255, 255, 255))
    painter.end()
    return QBrush(tile)
