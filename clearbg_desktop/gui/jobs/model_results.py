"""What the inference worker's answers do to the open photos: a decoded photo is shown, a mask becomes the
photo's (undoably, when it replaces one), a reopened project gets its mask and history back, a batch output under
review shows the batch's mask, and a failure is said once. Answers to a request that was superseded or whose
photo was closed meanwhile are dropped (``Workspace.is_latest``)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.jobs.batch_runner import BatchRunner
from clearbg_desktop.gui.jobs.decoded_views import DecodedViews, PreviewViews
from clearbg_desktop.gui.jobs.inference_worker import SegmentRequest, WorkerThread
from clearbg_desktop.gui.jobs.mask_scheduler import MaskScheduler
from clearbg_desktop.gui.jobs.photo_memory import PhotoMemory
from clearbg_desktop.gui.jobs.project_files import ProjectFiles
from clearbg_desktop.gui.widgets.window_context import WindowContext


class ModelResults(QObject):
    """Takes the worker's signals for one window.

    Signals:
        changed(object): what a Document holds changed (a photo, a mask): the window's actions follow.
        ready(object): a Document got its mask, from the model or its project.
        requested(object): send this SegmentRequest to the model (a review whose batch mask cannot be read).
        dropped(object): a Document that failed has nothing to show: the window closes it.
        failed(object, str): a Document could not be opened or segmented (the error is on screen).
    """

    changed = Signal(object)
    ready = Signal(object)
    requested = Signal(object)
    dropped = Signal(object)
    failed = Signal(object, str)

    def __init__(self, context: WindowContext, inference: WorkerThread, canvas: MaskCanvas, masks: MaskScheduler,
                 photo_memory: PhotoMemory, projects: ProjectFiles, batch: BatchRunner) -> None:
        super().__init__(context.parent)
        self.context, self.canvas, self.masks, self.photo_memory = context, canvas, masks, photo_memory
        self.projects, self.batch = projects, batch
        self.model_description = "not loaded yet"
        worker = inference.worker
        worker.model_loading.connect(context.status.showMessage)
        worker.model_ready.connect(self._on_model_ready)
        worker.model_note.connect(context.status.show_note)
        worker.photo_loaded.connect(self._on_photo_loaded)
        worker.previewed.connect(self._on_previewed)
        worker.probability_ready.connect(self._on_probability)
        worker.finished.connect(self._on_segmented)
        worker.failed.connect(self._on_failed)

    def _on_model_ready(self, description: str) -> None:
        self.model_description = description
        self.context.status.show_model(description)

    def _on_photo_loaded(self, request_id: int, doc_id: int, loaded: LoadedImage, views: DecodedViews) -> None:
        self.masks.settled(request_id, photo_only=True)
        workspace, status = self.context.workspace, self.context.status
        document = workspace.by_id(doc_id)
        if document is None or not workspace.is_latest(request_id, doc_id):
            return
        if document.loaded is loaded and document.alpha is not None:
            return  # a re-run of the model on the photo already shown
        document.set_photo(loaded, views.rgb, views.display)
        self.photo_memory.keep_views(document, views)
        if document.restore is not None:  # a reopened project: its mask and history, no model run
            workspace.finish(doc_id)
            self.projects.restore(document)
            status.set_pending(workspace.pending)
            if document is workspace.current:
                self.canvas.set_document(document)
            self.changed.emit(document)
            if document.ready:
                status.showMessage(f"{document.title}: project opened", 4000)
                self.ready.emit(document)
            return
        if document is workspace.current:
            self.canvas.set_document(document)
        if doc_id in self.batch.review_outputs:  # a batch output under review: the mask the batch wrote
            mask, note = self.batch.review_mask(document)
            if mask is not None:
                self._on_segmented(request_id, doc_id, mask)
            else:
                self.requested.emit(SegmentRequest(workspace.new_request(doc_id), doc_id, loaded=loaded))
            status.showMessage(note, 15000)
            return
        if loaded.notes:
            status.showMessage(f"{document.title}: {'; '.join(loaded.notes)}", 8000)

    def _on_previewed(self, request_id: int, doc_id: int, views: PreviewViews) -> None:
        """A photo not on screen decoded reduced for its mask (#32): it keeps its preview and thumbnail, as an
        evicted one, and is decoded at full resolution when shown."""
        self.masks.settled(request_id, photo_only=True)
        workspace = self.context.workspace
        document = workspace.by_id(doc_id)
        if document is None or not workspace.is_latest(request_id, doc_id) or document.loaded is not None:
            return
        document.size, document.error = views.size, None
        if document.file_stamp is None:
            document.file_stamp = views.file_stamp
        self.photo_memory.keep_views(document, views)
        if views.notes:
            self.context.status.showMessage(f"{document.title}: {'; '.join(views.notes)}", 8000)
        if document is workspace.current:  # shown meanwhile: its preview now, full pixels decoded
            self.photo_memory.show(document)

    def _on_probability(self, request_id: int, doc_id: int, probability: np.ndarray) -> None:
        workspace = self.context.workspace
        document = workspace.by_id(doc_id)
        deep = document is not None and document.loaded is not None and document.loaded.deep is not None
        if deep and workspace.is_latest(request_id, doc_id):  # kept only where a 16-bit export needs it
            document.probability = probability  # type: ignore[union-attr]

    def _on_segmented(self, request_id: int, doc_id: int, alpha: np.ndarray) -> None:
        self.masks.settled(request_id)
        workspace = self.context.workspace
        document = workspace.by_id(doc_id)
        if document is None or not workspace.is_latest(request_id, doc_id):
            return  # closed meanwhile, or superseded by a newer request
        workspace.finish(doc_id)
        if document.alpha is not None and document.alpha.shape == alpha.shape:  # a re-run: undoable
            edit = MaskEdit.whole(document.alpha, alpha, "Re-run model")
            document.predicted = alpha
            self.context.undo.push(document, edit)
        else:
            document.set_prediction(alpha)
        self.context.status.set_pending(workspace.pending)
        if document is workspace.current and document.loaded is not None:  # else its decode shows it
            self.canvas.set_document(document, fit=False)
        self.context.status.showMessage(f"{document.title}: mask ready", 4000)
        self.changed.emit(document)
        self.ready.emit(document)
        self.photo_memory.enforce()

    def _on_failed(self, request_id: int, doc_id: int, message: str) -> None:
        self.masks.settled(request_id)
        workspace = self.context.workspace
        document = workspace.by_id(doc_id)
        if document is None or not workspace.is_latest(request_id, doc_id):
            return
        workspace.finish(doc_id)
        document.error = message
        self.context.status.set_pending(workspace.pending)
        self.context.status.showMessage(message, 10000)
        if document.loaded is None:  # nothing to show: drop it from the list, keep everything else
            self.dropped.emit(document)
        self.context.messages.show_error("ClearBG could not process a photo", message)
        self.failed.emit(document, message)
