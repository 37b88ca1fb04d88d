"""The Image menu and the brush: edits of the shown photo's mask, each one undoable step (re-running the model
is one too, once its mask arrives: ``ModelResults``)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, MaskEdit
from clearbg_desktop.core.editing.selection import box_edit
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.jobs.inference_worker import BoxJob, SegmentRequest
from clearbg_desktop.gui.tools.base import BoxRequest
from clearbg_desktop.gui.widgets.window_context import WindowContext


class MaskCommands(QObject):
    """Re-run model, Reset mask, Invert mask, the canvas's finished strokes and the object box, on the photo on
    screen.

    Signals:
        requested(object): send this SegmentRequest to the model (Re-run model).
        box_wanted(object): send this BoxJob to the model (the object box).
        box_applied(object): an object box changed this Document's mask (it may not be on screen).
    """

    requested = Signal(object)
    box_wanted = Signal(object)
    box_applied = Signal(object)

    def __init__(self, context: WindowContext, canvas: MaskCanvas) -> None:
        super().__init__(context.parent)
        self.context = context
        canvas.stroke_finished.connect(self._on_stroke_finished)
        canvas.box_requested.connect(self.request_box)
        self.canvas = canvas

    def rerun_model(self) -> None:
        document = self.context.workspace.current
        if document is None or document.loaded is None:
            return
        request_id = self.context.workspace.new_request(document.doc_id)
        self.requested.emit(SegmentRequest(request_id, document.doc_id, loaded=document.loaded))
        self.context.status.showMessage(f"Re-running the model on {document.title}…")

    def reset_mask(self) -> None:
        document = self.context.workspace.current
        if document is not None and document.predicted is not None and document.alpha is not None:
            self._apply_whole(document, document.predicted, "Reset mask")

    def invert_mask(self) -> None:
        document = self.context.workspace.current
        if document is not None and document.alpha is not None:
            self._apply_whole(document, 255 - document.alpha, "Invert mask")

    def _apply_whole(self, document: Document, new_alpha: np.ndarray, label: str) -> None:
        assert document.alpha is not None
        edit = MaskEdit.whole(document.alpha, new_alpha, label)
        edit.apply(document.alpha)
        self.context.undo.push(document, edit)

    def _on_stroke_finished(self, edit: MaskEdit) -> None:
        """The stroke is already painted into the shown photo's mask; it becomes one undo step."""
        if self.context.workspace.current is not None:
            self.context.undo.push(self.context.workspace.current, edit)

    def request_box(self, request: BoxRequest) -> None:
        document = self.context.workspace.by_id(request.doc_id)
        if document is not None and document.loaded is not None:
            self.box_wanted.emit(BoxJob(request, document.loaded.rgb))

    def request_relative_box(self, document: Document, mode: str, fractions: tuple[float, float, float, float]) -> bool:
        """The same framing on another photo (Sync's object box: a product on a turntable): the box at the same
        place relative to the photo's size; a photo not in memory is decoded by the worker, not here."""
        size = document.loaded.size if document.loaded is not None else document.size
        if size is None or not document.has_mask:
            return False
        width, height = size
        left, top, right, bottom = fractions
        request = BoxRequest(document.doc_id, (left * width, top * height, right * width, bottom * height), mode)
        photo = document.loaded.rgb if document.loaded is not None else None
        self.box_wanted.emit(BoxJob(request, photo, document.path))
        return True

    def apply_box(self, request: BoxRequest, box: Box, region: np.ndarray) -> None:
        """The model's answer for an object box: one undo step on that photo (it may no longer be on screen)."""
        document = self.context.workspace.by_id(request.doc_id)
        if document is None or document.alpha is None:
            return  # closed meanwhile
        size = document.loaded.size if document.loaded is not None else document.size
        if size is not None and request.click is None and request.mode != "separate":  # a drawn box, not a click
            left, top, right, bottom = request.box
            document.object_box = (request.mode, (left / size[0], top / size[1], right / size[0], bottom / size[1]))
        edit = box_edit(document.alpha, box, region, request.mode)
        if edit is None:
            self.context.status.showMessage("The box changed nothing: the model found the same there", 5000)
            return
        edit.apply(document.alpha)
        self.context.undo.push(document, edit)
        self.context.status.showMessage(f"{edit.label}: done (Ctrl+Z undoes it)", 5000)
        self.box_applied.emit(document)

    def box_failed(self, _request: BoxRequest, message: str) -> None:
        self.context.status.clearMessage()  # "Cutting out…" is over
        self.context.messages.show_error("Object box", message)
