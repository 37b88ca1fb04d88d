"""The Image menu and the brush: edits of the shown photo's mask, each one undoable step (re-running the model
is one too, once its mask arrives: ``ModelResults``)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.jobs.inference_worker import SegmentRequest
from clearbg_desktop.gui.widgets.window_context import WindowContext


class MaskCommands(QObject):
    """Re-run model, Reset mask, Invert mask, and the canvas's finished strokes, on the photo on screen.

    Signals:
        requested(object): send this SegmentRequest to the model (Re-run model).
    """

    requested = Signal(object)

    def __init__(self, context: WindowContext, canvas: MaskCanvas) -> None:
        super().__init__(context.parent)
        self.context = context
        canvas.stroke_finished.connect(self._on_stroke_finished)

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
