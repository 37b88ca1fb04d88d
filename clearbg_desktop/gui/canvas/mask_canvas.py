"""The photo canvas: zoom, pan, view modes, a hold-to-compare "before" view and a split before/after; it hosts the
active canvas tool (``gui/tools/``) and hands it the left button's gestures.

Why over 400 lines: Qt delivers every mouse, key, wheel, gesture and paint event of the view to this one class, and
each handler decides between the split divider, panning and the tool. What tools do (``tools/``), how the photo is
drawn and rendered off-thread (``image_item.py``) and the split's original (``split_view.py``) live elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QResizeEvent,
    QTabletEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsScene,
    QGraphicsView,
    QWidget,
)

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, Brush, MaskEdit
from clearbg_desktop.core.editing.preview import render_view
from clearbg_desktop.core.imaging.shadow import ShadowLayer, ShadowSettings, colour_view
from clearbg_desktop.gui.canvas.image_item import (
    ASYNC_RENDER_PIXELS,
    RENDER_POOL,
    ImageItem,
    RenderSignals,
    checkerboard_brush,
    render_job,
    render_qimage,
    view_pixels,
)
from clearbg_desktop.gui.canvas.split_view import SplitOriginal
from clearbg_desktop.gui.canvas.tool_jobs import EditCompute, ToolJobs
from clearbg_desktop.gui.tools.base import BoxRequest, CanvasTool
from clearbg_desktop.gui.tools.registry import tool_class
from clearbg_desktop.gui.widgets.qimage import array_to_qimage

MIN_ZOOM, MAX_ZOOM = 0.02, 32.0
SHADOW_FOLLOWS_MS = 400  # after the last edit, the colour view's shadow is drawn again for the new mask
#: Which shadow the colour view draws under a photo's subject (the photo's export options').
ShadowSource = Callable[[Document], "ShadowSettings | None"]


def own_shadow(document: Document) -> ShadowSettings | None:
    """The shadow of the photo's own export options (from its project or its last export), if any."""
    return document.export_options.shadow if document.export_options is not None else None
COMPARE_KEY = Qt.Key.Key_Backslash
EMPTY_HINT = "Drop photos here or press Ctrl+O"


class MaskCanvas(QGraphicsView):
    """Shows a :class:`Document` in the current view mode.

    A left-button gesture goes to the active tool (``tool``), in photo coordinates; the tool repaints only the
    rectangles it changed, so strokes stay smooth on 24 MP photos. The checkerboard is in screen pixels: it never
    shrinks into a grey moiré.

    Full-view renders of large photos (view switch, new mask) run on a thread pool so the GUI
    thread never stalls; dabs painted meanwhile are re-applied when the render arrives.

    Signals:
        rendered(): the displayed image is up to date (screenshots wait for it).
        zoom_changed(float): the new zoom factor (1.0 = 100 %).
        comparing_changed(bool): True while the original is shown for comparison.
        split_changed(bool): the split before/after view was turned on or off.
        stroke_finished(object): the MaskEdit of a finished tool gesture (the window pushes it on its undo stack).
        box_requested(object): a tool's BoxRequest: the window runs the model on it and applies the answer.
        said(str, int): a tool's one line for the status bar, and for how many ms (0: until the next line).
    """

    rendered = Signal()
    zoom_changed = Signal(float)
    comparing_changed = Signal(bool)
    split_changed = Signal(bool)
    stroke_finished = Signal(object)
    box_requested = Signal(object)
    said = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MaskCanvas")
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._item = ImageItem()
        self._scene.addItem(self._item)
        self.document: Document | None = None
        self.fitting = True  # the photo fits the window, also after a resize, until a zoom is chosen
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
        self.viewport().grabGesture(Qt.GestureType.PinchGesture)  # trackpad / touch-screen zoom
        self._generation = 0
        self._pending_render = False
        self._fit_when_rendered = False
        self._dirty: list[Box] = []
        self._render_signals = RenderSignals()  # no parent: a job in flight may outlive the canvas
        self._render_signals.rendered.connect(self._on_rendered)
        self.brush = Brush()  # the painting tools' size (screen pixels), hardness and opacity
        self.painting_enabled = True
        self._pressure = 1.0
        self.tool: CanvasTool = tool_class(self.brush.mode)(self)
        self.jobs = ToolJobs(self, self.stroke_finished.emit)
        self.split = False
        self._split = SplitOriginal()
        self._split.setVisible(False)
        self._scene.addItem(self._split)
        self._dragging_divider = False
        self._divider_cursor = False  # the split cursor is shown (the pointer is over the divider)
        self._shadow_source: ShadowSource = own_shadow
        self._shadow_shown: ShadowSettings | None = None  # the shadow the colour view draws now
        self._shadow_layer: ShadowLayer | None = None  # …and its pixels (a brush dab repaints over them)
        self._shadow_timer = QTimer(self)  # after an edit, the shadow follows the new mask
        self._shadow_timer.setSingleShot(True)
        self._shadow_timer.setInterval(SHADOW_FOLLOWS_MS)
        self._shadow_timer.timeout.connect(self.refresh)

    # ----- content -----------------------------------------------------------------------
    def set_document(self, document: Document | None, fit: bool = True) -> None:
        new_size = document is not None and document.loaded is not None and (
            self._item.image.width(), self._item.image.height()) != document.loaded.size
        self.document = document
        if new_size:
            self._item.set_image(QImage())  # never show another photo's pixels meanwhile
        self._refresh_tool()  # closed or not yet cut out: no outline
        self._update_split()
        self.refresh()
        if fit:
            if self._pending_render:
                self._fit_when_rendered = True
            else:
                self.zoom_fit()

    def show_preview(self, image: QImage) -> None:
        """A photo being decoded again (#32): its screen-sized preview, fitted; not paintable until it is back."""
        self.document = None
        self.tool.hover(None)
        self._generation += 1  # a render in flight is for another photo
        self._pending_render = self._fit_when_rendered = False
        self._show(image)
        self.zoom_fit()

    @property
    def is_rendering(self) -> bool:
        return self._pending_render

    def set_view_mode(self, mode: str) -> None:
        self.view_mode = mode
        self.refresh()

    def set_background_color(self, color: QColor) -> None:
        self.background_color = QColor(color)
        self.refresh()

    def set_shadow_source(self, source: ShadowSource) -> None:
        """Where the colour view learns the shadow to draw under a photo's subject: the window's export options
        (the photo's own, else the ones the next export starts from). The default knows only the photo's own."""
        self._shadow_source = source
        self.update_shadow()

    def update_shadow(self) -> None:
        """Re-render if the export options' shadow is no longer the one shown (cheap when it is): the window calls
        it when export options change; the canvas itself when its window is activated again (a closed export
        dialog)."""
        if self._wanted_shadow() != self._shadow_shown:
            self.refresh()

    @property
    def shown_shadow(self) -> ShadowSettings | None:
        """The shadow drawn in the view now (the colour view only)."""
        return self._shadow_shown

    def _wanted_shadow(self) -> ShadowSettings | None:
        doc = self.document
        if doc is None or doc.alpha is None or self.comparing or self.view_mode != "color":
            return None
        return self._shadow_source(doc)

    def displayed_array(self) -> np.ndarray | None:
        """What is on screen now (before zoom), as numpy: used by tests and screenshots."""
        doc = self.document
        if doc is None or doc.loaded is None:
            return None
        mode = "original" if self.comparing else self.view_mode
        color = (self.background_color.red(), self.background_color.green(), self.background_color.blue())
        return view_pixels(doc.view_rgb, doc.alpha, mode, color, self._wanted_shadow())[0]

    def refresh(self) -> None:
        """Re-render the whole view: inline for small photos, on the thread pool for large ones."""
        self._generation += 1
        self._dirty.clear()
        self._shadow_timer.stop()
        doc = self.document
        shadow = self._wanted_shadow()
        self._shadow_shown = shadow
        if shadow is None:
            self._shadow_layer = None
        if doc is None or doc.loaded is None:
            self._pending_render = False
            self._item.set_image(QImage())
            self._scene.setSceneRect(QRectF())
            self.viewport().update()  # the empty window's hint
            self.rendered.emit()
            return
        mode = "original" if self.comparing else self.view_mode
        color = (self.background_color.red(), self.background_color.green(), self.background_color.blue())
        alpha = None if doc.alpha is None else doc.alpha
        width, height = doc.loaded.size
        if width * height <= ASYNC_RENDER_PIXELS:
            self._pending_render = False
            image, self._shadow_layer = render_qimage(doc.view_rgb, alpha, mode, color, shadow)
            self._show(image)
            return
        self._pending_render = True
        snapshot = None if alpha is None else alpha.copy()  # the user may paint while it renders
        RENDER_POOL.submit(render_job, self._generation, self._render_signals, doc.view_rgb, snapshot, mode, color,
                           shadow)

    def _on_rendered(self, generation: int, rendered: tuple[QImage, ShadowLayer | None]) -> None:
        if generation != self._generation:
            return  # superseded by a newer refresh
        self._pending_render = False
        image, self._shadow_layer = rendered
        self._show(image)
        for box in self._dirty:  # dabs painted while rendering
            self.repaint_region(box)
        self._dirty.clear()
        if self._fit_when_rendered:
            self._fit_when_rendered = False
            self.zoom_fit()

    def _show(self, image: QImage) -> None:
        self._item.set_image(image)
        self._scene.setSceneRect(self._item.boundingRect())
        self.viewport().update()
        self.rendered.emit()

    def repaint_region(self, box: Box) -> None:
        """Re-render only ``box`` of the photo into the displayed pixmap (brush dabs, undo)."""
        doc = self.document
        image = self._item.image
        if self._pending_render:
            self._dirty.append(box)
        if doc is None or doc.loaded is None or image.isNull() or (image.width(), image.height()) != doc.loaded.size:
            return
        left, top, right, bottom = box
        mode = "original" if self.comparing else self.view_mode
        color = (self.background_color.red(), self.background_color.green(), self.background_color.blue())
        alpha = None if doc.alpha is None else doc.alpha[top:bottom, left:right]
        if self._shadow_shown is not None and mode == "color" and alpha is not None:
            # Over the shadow as it was drawn; the whole view follows the new mask once the edits pause.
            patch = colour_view(doc.view_rgb[top:bottom, left:right], alpha, color, self._shadow_layer, (left, top))
            self._shadow_timer.start()
        else:
            patch = render_view(doc.view_rgb[top:bottom, left:right], alpha, mode, color)
        painter = QPainter(image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(left, top, array_to_qimage(patch))
        painter.end()
        self._item.update(QRectF(left - 1, top - 1, right - left + 2, bottom - top + 2))  # + pixels it blends with

    def show_edit(self, box: Box) -> None:
        """An undo, redo or whole-mask edit in ``box``: re-rendered, and the whole view repainted once. Qt's
        fixed-point scaling puts a few columns of a partial repaint one photo pixel off a full one at a fractional
        zoom; a full repaint leaves the screen exactly as before the undone stroke."""
        self.repaint_region(box)
        self.viewport().update()

    # ----- the active tool -----------------------------------------------------------------
    def set_brush(self, brush: Brush) -> None:
        """The options bar's brush; its mode names the tool (``tools/registry.py``)."""
        self.brush = brush
        self.use_tool(brush.mode)
        self._refresh_tool()

    def use_tool(self, name: str) -> CanvasTool:
        """Makes the tool called ``name`` the active one; a gesture in progress is dropped with the old tool."""
        if self.tool.name != name:
            pointer = self.tool.pointer
            self.tool.deactivate()
            self.tool = tool_class(name)(self)
            self.tool.hover(pointer)
            self.say(self.tool.hint)
            self._show_tool_cursor()
            self._refresh_tool()
        return self.tool

    def compute_edit(self, compute: EditCompute, message: str) -> None:
        """A tool's edit worked out off the GUI thread (``tool_jobs``); the tools wait for it."""
        if self.jobs.start(compute, message):
            self._refresh_tool()  # no outline: nothing is painted until the edit is in

    @property
    def computing(self) -> bool:
        return self.jobs.busy

    def request_box(self, request: BoxRequest) -> None:
        self.box_requested.emit(request)

    def say(self, message: str, milliseconds: int = 5000) -> None:
        self.said.emit(message, milliseconds)

    def _show_tool_cursor(self) -> None:
        self.viewport().setCursor(self.tool.cursor())

    def _refresh_tool(self) -> None:
        if self._can_paint():
            self.tool.refresh()
        else:
            self.tool.hover(None)

    def _can_paint(self) -> bool:
        doc = self.document
        return (self.painting_enabled and doc is not None and doc.alpha is not None and not self.comparing
                and not self.computing)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        """Back from a dialog (the export dialog may have changed the shadow): the colour view follows."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.update_shadow()

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802
        self._pressure = max(0.05, event.pressure())
        event.ignore()  # let Qt synthesise the mouse events that paint

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt override
        super().drawBackground(painter, rect)
        doc = self.document
        if doc is None or doc.alpha is None or self.comparing or self.view_mode != "cutout":
            return
        on_screen = painter.transform().mapRect(self._item.boundingRect())
        painter.save()
        painter.setTransform(QTransform())  # cells in screen pixels, whatever the zoom
        painter.setBrushOrigin(on_screen.topLeft())  # anchored to the photo: scrolling moves them along
        painter.fillRect(on_screen, self._checker)
        painter.restore()

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:  # noqa: N802 - Qt override
        """The empty window says what to do first."""
        super().drawForeground(painter, rect)
        if self.document is not None or not self._item.image.isNull():
            return
        painter.save()
        painter.setTransform(QTransform())
        painter.setPen(QColor(200, 200, 205))
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        painter.setFont(font)
        painter.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter, EMPTY_HINT)
        painter.restore()

    # ----- zoom --------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        self.fitting = False  # a chosen zoom stays when the window is resized
        factor = min(MAX_ZOOM, max(MIN_ZOOM, factor))
        self.scale(factor / self.zoom, factor / self.zoom)
        self._zoomed()

    def _zoomed(self) -> None:
        self._refresh_tool()  # the brush's circle stays the same size on screen
        self.zoom_changed.emit(self.zoom)

    def zoom_fit(self) -> None:
        self.fitting = True  # follows later resizes of the window
        if self._item.image.isNull():
            return
        self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()

    def zoom_actual(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * 1.25)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / 1.25)

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)  # type: ignore[attr-defined]
            if pinch is not None:
                self.set_zoom(self.zoom * pinch.scaleFactor())
                event.accept()
                return True
        return super().viewportEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        if self.fitting and not self._item.image.isNull():
            self.fitInView(self._item, Qt.AspectRatioMode.KeepAspectRatio)
            self._zoomed()

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
            self._show_tool_cursor()
        elif event.key() == COMPARE_KEY and not event.isAutoRepeat():
            self.set_comparing(False)
        else:
            super().keyReleaseEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:  # noqa: N802
        """Panning or scrolling moves the photo under a still mouse: the old circle would mark the wrong spot."""
        super().scrollContentsBy(dx, dy)
        if not self.tool.busy:
            self.tool.hover(None)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        self.tool.hover(None)
        super().leaveEvent(event)

    def set_split(self, split: bool) -> None:
        """Split before/after: the original left of a divider the user drags, the cut-out right of it."""
        if split != self.split:
            self.split = split
            self._update_split()
            self.split_changed.emit(split)

    def set_divider_fraction(self, fraction: float) -> None:
        self._split.set_divider(fraction * self._split.image.width())

    @property
    def divider_fraction(self) -> float:
        width = self._split.image.width()
        return self._split.divider / width if width else 0.0

    def _update_split(self) -> None:
        doc = self.document
        visible = self.split and doc is not None and doc.loaded is not None
        if visible:
            assert doc is not None
            self._split.set_image(array_to_qimage(doc.view_rgb))
        self._split.setVisible(visible)

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
        if (event.button() == Qt.MouseButton.LeftButton and self._split.isVisible()
                and self._split.near_divider(self.mapToScene(event.position().toPoint()).x(), self.zoom)):
            self._dragging_divider = True
            self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
            event.accept()
            return
        if self._starts_pan(event):
            self._pan_origin = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if (event.button() == Qt.MouseButton.LeftButton and self._can_paint()
                and self.tool.press(self._photo_point(event), self._pressure, event.modifiers())):
            event.accept()
            return
        super().mousePressEvent(event)

    def _photo_point(self, event: QMouseEvent) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _hovers_divider(self, position: QPointF) -> bool:
        """Shows the split cursor while the pointer is over the divider (found walking the window: nothing said
        the divider could be dragged)."""
        near = self._split.isVisible() and self._split.near_divider(self.mapToScene(position.toPoint()).x(), self.zoom)
        if near != self._divider_cursor:
            self._divider_cursor = near
            if near:
                self.tool.hover(None)
                self.viewport().setCursor(Qt.CursorShape.SplitHCursor)
            else:
                self._show_tool_cursor()
        return near

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_divider:
            self._split.set_divider(self.mapToScene(event.position().toPoint()).x())
            event.accept()
            return
        if self._pan_origin is None and not self.tool.busy and self._hovers_divider(event.position()):
            return  # over the split view's divider: its cursor, no tool outline (a press drags it)
        if self.tool.busy:
            self.tool.drag(self._photo_point(event), self._pressure)
            event.accept()
            return
        if self._pan_origin is None:
            self.tool.hover(self._photo_point(event) if self._can_paint() else None)
        if self._pan_origin is not None:
            delta = event.position() - self._pan_origin
            self._pan_origin = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._dragging_divider and event.button() == Qt.MouseButton.LeftButton:
            self._dragging_divider = False
            self._divider_cursor = False  # the next move decides the cursor again
            self._show_tool_cursor()
            event.accept()
            return
        if self.tool.busy and event.button() == Qt.MouseButton.LeftButton:
            edit: MaskEdit | None = self.tool.release()
            self._pressure = 1.0
            if edit is not None:
                self.stroke_finished.emit(edit)
            event.accept()
            return
        if self._pan_origin is not None:
            self._pan_origin = None
            if self._space_held:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self._show_tool_cursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)
