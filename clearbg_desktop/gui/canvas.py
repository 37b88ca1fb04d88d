"""The photo canvas: zoom, pan, view modes and a hold-to-compare "before" view."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QMouseEvent, QPainter, QPixmap, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QWidget

from clearbg_desktop.core.document import Document
from clearbg_desktop.core.preview import render_view
from clearbg_desktop.gui.qimage import array_to_qimage

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
COMPARE_KEY = Qt.Key.Key_Backslash


def checkerboard_brush(cell: int = 10) -> QBrush:
    tile = QPixmap(cell * 2, cell * 2)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, cell, cell, QColor(255, 255, 255))
    painter.fillRect(cell, cell, cell, cell, QColor(255, 255, 255))
    painter.end()
    return QBrush(tile)


class MaskCanvas(QGraphicsView):
    """Shows a :class:`Document` in the current view mode.

    Signals:
        zoom_changed(float): the new zoom factor (1.0 = 100 %).
        comparing_changed(bool): True while the original is shown for comparison.
    """

    zoom_changed = Signal(float)
    comparing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MaskCanvas")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.document: Document | None = None
        self.view_mode = "cutout"
        self.background_color = QColor(255, 255, 255)
        self.comparing = False
        self._checker = checkerboard_brush()
        self._space_held = False
        self._pan_origin: QPointF | None = None
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QColor(58, 58, 62))
        self.setAcceptDrops(False)  # the main window handles drops
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)

    # ----- content -----------------------------------------------------------------------
    def set_document(self, document: Document | None, fit: bool = True) -> None:
        self.document = document
        self.refresh()
        if fit:
            self.zoom_fit()

    def set_view_mode(self, mode: str) -> None:
        self.view_mode = mode
        self.refresh()

    def set_background_color(self, color: QColor) -> None:
        self.background_color = QColor(color)
        self.refresh()

    def displayed_array(self) -> np.ndarray | None:
        """What is on screen now (before zoom), as numpy: used by tests and screenshots."""
        doc = self.document
        if doc is None or doc.loaded is None:
            return None
        mode = "original" if self.comparing else self.view_mode
        color = (self.background_color.red(), self.background_color.green(), self.background_color.blue())
        return render_view(doc.rgb, doc.alpha, mode, color)

    def refresh(self) -> None:
        array = self.displayed_array()
        if array is None:
            self._item.setPixmap(QPixmap())
            self._scene.setSceneRect(QRectF())
            return
        self._item.setPixmap(QPixmap.fromImage(array_to_qimage(array)))
        self._scene.setSceneRect(self._item.boundingRect())
        self.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt override
        super().drawBackground(painter, rect)
        doc = self.document
        if doc is None or doc.alpha is None or self.comparing:
            return
        if self.view_mode == "cutout":
            painter.fillRect(self._item.boundingRect(), self._checker)

    # ----- zoom --------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self.scale(factor / self.zoom, factor / self.zoom)
        self.zoom_changed.emit(self.zoom)

    def zoom_fit(self) -> None:
        if self._item.pixmap().isNull():
            return
        self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self.zoom_changed.emit(self.zoom)

    def zoom_actual(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.15**steps))
        event.accept()

    # ----- pan and compare ---------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        elif event.key() == COMPARE_KEY and not event.isAutoRepeat():
            self.set_comparing(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.viewport().unsetCursor()
        elif event.key() == COMPARE_KEY and not event.isAutoRepeat():
            self.set_comparing(False)
        else:
            super().keyReleaseEvent(event)

    def set_comparing(self, comparing: bool) -> None:
        if comparing != self.comparing:
            self.comparing = comparing
            self.refresh()
            self.comparing_changed.emit(comparing)

    def _starts_pan(self, event: QMouseEvent) -> bool:
        return event.button() == Qt.MouseButton.MiddleButton or (
            event.button() == Qt.MouseButton.LeftButton and self._space_held
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._starts_pan(event):
            self._pan_origin = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_origin is not None:
            delta = event.position() - self._pan_origin
            self._pan_origin = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan_origin is not None:
            self._pan_origin = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)
