"""The one interface every canvas tool has, and what a tool may ask of the canvas.

The canvas turns Qt's mouse events into calls on the active tool, in photo coordinates: ``press``, ``drag``,
``release`` for a left-button gesture, ``hover`` for the pointer moving without one (``None`` when it leaves or the
photo moves under it). The tool decides what the gesture does to the mask and returns one undoable ``MaskEdit``
at the end; the canvas only repaints what the tool says changed. A tool that needs the model (the object box) asks
the host with a ``BoxRequest`` instead, and the window applies the model's answer as the undoable step. Pan, zoom, the split divider and hold-to-compare
stay with the canvas, whichever tool is active (napari binds mouse modes per layer the same way; labelme's
canvas deciding every shape itself in one widget is what this avoids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene

from clearbg_desktop.core.editing.mask_edits import Box, Brush, MaskEdit

if TYPE_CHECKING:
    from clearbg_desktop.core.editing.document import Document


@dataclass(frozen=True)
class BoxRequest:
    """A tool asks for the model on a box of the shown photo (the object box): the window runs it off the GUI thread
    and applies the answer as one undoable step in ``mode`` (``core.editing.selection.SELECTION_MODES``)."""

    doc_id: int
    box: tuple[float, float, float, float]  # left, top, right, bottom in photo pixels
    mode: str = "replace"
    #: A click where the mask is empty, in photo pixels: the model runs on squares around it and the answer surest
    #: of the clicked pixel is used (``core.inference.box_prompt.mask_at_click``); ``box`` is then the largest square.
    click: tuple[float, float] | None = None


class GestureLine:
    """A gesture's outline (the box's frame, the lasso's line) seen on any photo and on the checkerboard: white dashes
    over a dark line (a white dashed line alone vanished on white and grey, walk 39). Hidden until drawn."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.items = (QGraphicsPathItem(), QGraphicsPathItem())  # dark under, dashes over
        for item, pen in zip(self.items, (QPen(QColor(20, 20, 20), 0),
                                          QPen(QColor(255, 255, 255), 0, Qt.PenStyle.DashLine)), strict=True):
            pen.setCosmetic(True)
            item.setPen(pen)
            item.setZValue(9 if item is self.items[0] else 10)
            item.setVisible(False)
            scene.addItem(item)

    @property
    def visible(self) -> bool:
        return self.items[1].isVisible()

    def show(self, path: QPainterPath) -> None:
        for item in self.items:
            item.setPath(path)
            item.setVisible(True)

    def hide(self) -> None:
        for item in self.items:
            item.setVisible(False)

    def remove(self) -> None:
        for item in self.items:
            if item.scene() is not None:
                item.scene().removeItem(item)


class ToolHost(Protocol):
    """What a tool may use of the canvas: the shown document, the zoom, the scene for its overlays, a repaint."""

    @property
    def document(self) -> Document | None: ...

    @property
    def zoom(self) -> float: ...

    @property
    def brush(self) -> Brush: ...

    def scene(self) -> QGraphicsScene: ...

    def repaint_region(self, box: Box) -> None: ...

    def request_box(self, request: BoxRequest) -> None: ...

    def compute_edit(self, compute: Callable[[np.ndarray], MaskEdit | None], message: str) -> None: ...

    def say(self, message: str, milliseconds: int = 5000) -> None: ...


class CanvasTool:
    """A canvas tool. Subclasses set the class attributes and override the gestures they use.

    ``name`` is the key in the registry and in settings; ``label``, ``tooltip`` and ``shortcut`` make its button in
    the options bar; ``hint`` is the status bar's one line on how to use it; ``undo_label`` names its edits in the
    History panel.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    tooltip: ClassVar[str]
    hint: ClassVar[str]
    undo_label: ClassVar[str]
    shortcut: ClassVar[str | None] = None
    uses_brush: ClassVar[bool] = False  # the options bar's size, hardness and opacity apply to it

    def __init__(self, host: ToolHost) -> None:
        self.host = host
        self.pointer: QPointF | None = None  # where hover last put the pointer; the next tool starts there

    @property
    def busy(self) -> bool:
        """A gesture is in progress (the canvas then leaves the pointer to the tool)."""
        return False

    def cursor(self) -> Qt.CursorShape:
        return Qt.CursorShape.ArrowCursor

    def press(self, point: QPointF, pressure: float,
              modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> bool:
        """The left button went down at ``point`` (photo pixels) with ``modifiers`` held (Shift adds, Alt takes
        away, for the tools that have modes); returns whether the tool took the gesture."""
        return False

    def drag(self, point: QPointF, pressure: float) -> None:
        """The pointer moved with the button down."""

    def release(self) -> MaskEdit | None:
        """The button came up: the gesture's one undoable edit, or None when it changed nothing."""
        return None

    def hover(self, point: QPointF | None) -> None:
        """The pointer is over ``point`` with no button down; None: it left, or the photo moved under it."""
        self.pointer = point

    def refresh(self) -> None:
        """The zoom, the brush or the document changed: redraw any overlay at the pointer's last place."""

    def deactivate(self) -> None:
        """Another tool was chosen: remove this one's overlays from the scene."""
