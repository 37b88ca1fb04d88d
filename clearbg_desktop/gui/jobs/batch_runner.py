"""A batch export from the window: the dialog, the worker thread, progress, cancel and the summary.

The work itself is ``core.batch.iter_export`` in a ``BatchWorker`` on its own thread; this class owns that
thread's life so a batch always ends in ``finished`` (with its report) or an error message, never "running".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QAction

from clearbg_desktop.core.batch import (
    DEFAULT_REVIEW_THRESHOLD,
    BatchItem,
    BatchPlan,
    BatchReport,
    Progress,
    plan_batch,
    written_mask,
)
from clearbg_desktop.core.editing.document import BatchReview, Document
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.model_choice import resolve_model
from clearbg_desktop.gui.dialogs.batch_dialog import BatchDialog, BatchProgressDialog, BatchSummaryDialog
from clearbg_desktop.gui.dialogs.export_all import EditedExportWorker, ExportAllDialog, edited_photo, plan_documents
from clearbg_desktop.gui.dialogs.export_dialog import default_folder
from clearbg_desktop.gui.jobs.batch_worker import BatchWorker
from clearbg_desktop.gui.jobs.export_runner import ExportRunner
from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.window_context import WindowContext

MAX_REVIEWED = 25  # photos opened at once for review: 25 × 24 MP is already ~3 GiB of photos and masks


class BatchRunner(QObject):
    """One batch at a time for one window.

    Signals:
        finished(object): the batch ended (its BatchReport, also when cancelled or partly failed).
        quit_ready(): the quit question's Export… wrote every photo: the window may close now.
        review_opened(object): a doubtful photo not open yet became a Document: the window adds it and decodes its
            photo (no model run: the batch's mask is shown, ``review_mask``).
        show_requested(object): this Document must be on screen (the first photo under review).
    """

    finished = Signal(object)
    quit_ready = Signal()
    review_opened = Signal(object)
    show_requested = Signal(object)

    def __init__(self, context: WindowContext, exporter: ExportRunner, filmstrip: Filmstrip) -> None:
        super().__init__(context.parent)
        self.context = context
        self.filmstrip = filmstrip
        self.qthread: QThread | None = None
        self.worker: BatchWorker | EditedExportWorker | None = None
        self.dialog: BatchDialog | None = None
        self.progress: BatchProgressDialog | None = None
        self.summary: BatchSummaryDialog | None = None
        self.names: list[str] = []
        self.output = Path()
        self.options = ExportOptions()
        self.last_report: BatchReport | None = None
        self.export_all_dialog: ExportAllDialog | None = None
        self.closing = False  # the window is going: results are dropped, no dialog opens any more
        self.quit_after = False  # the quit prompt's Export…: quit once everything is written
        self._marks: dict[BatchItem, tuple[int, int]] = {}  # edited item -> (doc id, undo index exported)
        self.review_outputs: dict[int, Path] = {}  # doc id -> batch output, until its photo is decoded
        self._summary_held: Callable[[], bool] = lambda: False
        exporter.exported.connect(self._on_exported)
        self.export_all_choice: str | None = None  # Export all's Photos choice, kept for the next time (walk 40)
        self.review_action = QAction("Re&view doubtful photos of the last batch", context.parent)
        self.review_action.setEnabled(False)
        self.review_action.triggered.connect(lambda: self.review())

    @property
    def running(self) -> bool:
        return self.qthread is not None

    def hold_summary_while(self, question_open: Callable[[], bool]) -> None:
        """While ``question_open()`` (the quit question), a batch that ends opens no summary over it."""
        self._summary_held = question_open

    def describe(self) -> str:
        """For the quit question: where it writes and how far it got."""
        done = self.progress.value() if self.progress is not None else 0
        return (f"A batch export to {self.output} is running ({max(done, 0)} of {len(self.names)} photos done); "
                "quitting stops it after the current photo.")

    def open_dialog(self, folders: list[Path]) -> None:
        if self.running:
            self.context.status.showMessage("A batch export is already running", 5000)
            return
        dialog = BatchDialog(self.context.settings, folders, self.context.parent)
        dialog.accepted.connect(lambda: self._on_dialog_accepted(dialog))
        dialog.open()
        self.dialog = dialog

    def _on_dialog_accepted(self, dialog: BatchDialog) -> None:
        settings = self.context.settings
        options = dialog.options()
        settings.batch_export = options
        settings.batch_inputs = [str(path) for path in dialog.input_paths()]
        settings.batch_existing = dialog.existing_policy()
        settings.batch_recursive = dialog.recursive.isChecked()
        settings.batch_output_folder = str(dialog.output_folder())
        settings.save()
        self.start(dialog.input_paths(), dialog.output_folder(), options, dialog.model(), dialog.existing_policy(),
                   dialog.recursive.isChecked())

    def start(self, inputs: list[Path], output: Path, options: ExportOptions, model: str, existing: str,
              recursive: bool = True) -> None:
        plan = plan_batch(inputs, output, options, recursive=recursive, model=model)
        if not plan.items:
            self.context.messages.show_error("Nothing to export", "No photos were found in the chosen folders.")
            return
        if self._refuses_originals(plan):
            return
        plan.edited = self._edited_in_window(plan, options)
        if plan.edited:
            names = ", ".join(item.source.name for item in plan.edited)
            self.context.status.showMessage(f"Open in the window, exported with their edits: {names}", 10000)
        self._run(plan, BatchWorker(plan, options, model, self.context.settings.device, existing), output, options)

    def _refuses_originals(self, plan: BatchPlan) -> bool:
        """A job whose outputs would replace photos is not started at all: said once, nothing written."""
        refused = plan.replaces_originals
        if refused:
            self.context.messages.show_error(
                "Nothing exported",
                f"{len(refused)} output(s) would replace the original photos (first: {refused[0].source.name}). "
                "Choose another output folder, or a name template other than {name}.")
        return bool(refused)

    def _edited_in_window(self, plan: BatchPlan, options: ExportOptions) -> dict:
        """Photos of the batch that are open with edits: their edited mask, not the model's, is written."""
        open_photos = {d.path.resolve(): d for d in self.context.workspace.documents
                       if d.path is not None and d.exportable and d.mask_edited}
        edited = {}
        for item in plan.items:
            document = open_photos.get(item.source.resolve())
            if document is not None:
                edited[item] = edited_photo(document, options)
                self._mark(item, document)
        return edited

    def _mark(self, item: BatchItem, document: Document) -> None:
        position = self.context.undo.position(document)
        if position is not None:
            self._marks[item] = (document.doc_id, position)

    def open_export_all(self, documents: list[Document] | None = None, quit_after: bool = False,
                        selected: list[Document] | None = None) -> None:
        """File ▸ Export all open photos (or the quit prompt's Export… with the photos it named)."""
        if self.running:
            self.context.status.showMessage("A batch export is already running", 5000)
            return
        documents = [d for d in (documents or self.context.workspace.documents) if d.exportable]  # evicted too
        if not documents:
            return
        settings = self.context.settings
        dialog = ExportAllDialog(settings, documents, default_folder(documents[0], settings.last_export_folder),
                                 self.context.parent, selected=selected, which=self.export_all_choice)
        dialog.accepted.connect(lambda: self._on_export_all_accepted(dialog, documents, quit_after))
        dialog.open()
        self.export_all_dialog = dialog

    def _on_export_all_accepted(self, dialog: ExportAllDialog, documents: list[Document], quit_after: bool) -> None:
        settings = self.context.settings
        options = dialog.options()
        settings.last_export_folder = str(dialog.output_folder())
        settings.save()
        self.export_all_choice = str(dialog.which_box.currentData())
        self.export_documents(dialog.chosen_documents(), dialog.output_folder(), options, dialog.existing_policy(),
                              quit_after, own=dialog.own_settings())

    def export_documents(self, documents: list[Document], output: Path, options: ExportOptions,
                         existing: str = "rename", quit_after: bool = False, own: bool = False) -> None:
        """Every photo with its own edited mask; each written one counts as exported (the quit prompt knows)."""
        documents = [d for d in documents if d.exportable]  # evicted photos too: decoded again when written
        if not documents or self.running:
            return
        plan = plan_documents(documents, output, options, resolve_model(self.context.settings.model).name, own=own)
        if self._refuses_originals(plan):
            return
        for item, document in zip(plan.items, documents, strict=True):
            self._mark(item, document)
        self.quit_after = quit_after
        self._run(plan, EditedExportWorker(plan, options, existing), output, options)

    def _run(self, plan: BatchPlan, worker: BatchWorker | EditedExportWorker, output: Path,
             options: ExportOptions) -> None:
        self.qthread = QThread(self)
        self.qthread.setObjectName("clearbg-batch")
        worker.moveToThread(self.qthread)
        self.worker = worker
        progress = BatchProgressDialog(len(plan.items), self.context.parent)
        self.progress = progress
        self.names = [item.source.name for item in plan.items]
        self.output = output
        self.options = options
        # Bound methods of GUI-thread objects, so Qt queues these calls into the GUI thread.
        worker.model_loading.connect(progress.setLabelText)
        worker.progressed.connect(self._on_progressed)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        progress.canceled.connect(self.cancel)
        self.qthread.started.connect(worker.run)
        self.qthread.start()
        progress.show()
        self.context.status.showMessage(f"Exporting {len(plan.items)} photos to {output}…")

    def cancel(self) -> None:
        """Stops after the photo in hand (no partial outputs); the summary follows."""
        if self.worker is not None:
            self.worker.cancel()
            if self.progress is not None and not self.closing:
                self.progress.setLabelText("Cancelling after the current photo…")
                self.progress.show()

    def stop(self, closing: bool = False) -> None:
        """Cancel and wait for the thread; ``closing``: the window is going, so nothing more is shown."""
        if closing:
            self.closing = True
            for dialog in (self.progress, self.summary, self.dialog, self.export_all_dialog):
                if dialog is not None:
                    dialog.close()
        if self.qthread is not None:
            if self.worker is not None:
                self.worker.cancel()
            self.qthread.quit()
            self.qthread.wait()
            self.qthread = None
            self.worker = None

    def _on_progressed(self, step: Progress) -> None:
        if self.progress is not None and not self.closing:  # setValue would show a closed progress dialog again
            self.progress.show_progress(step, self.names[step.done] if step.done < len(self.names) else None)

    def _on_finished(self, report: BatchReport) -> None:
        if self.closing:
            return  # the window is gone: no dialog on an empty desktop
        self.stop()
        if self.progress is not None:
            self.progress.close()
        self._mark_exported(report)
        self.context.status.showMessage(report.summary(), 10000)
        self.last_report = report
        doubtful = report.doubtful(DEFAULT_REVIEW_THRESHOLD)
        self.review_action.setEnabled(bool(doubtful))
        quit_now = self.quit_after and not report.failed and not report.cancelled
        self.quit_after = False
        self.finished.emit(report)
        if quit_now:
            self.quit_ready.emit()
            return
        if self._summary_held():
            return  # the quit question says the batch ended; no dialog covers it
        self.summary = BatchSummaryDialog(report, self.output, self.context.parent, DEFAULT_REVIEW_THRESHOLD)
        self.summary.review_requested.connect(self.review)
        self.summary.open()

    def _mark_exported(self, report: BatchReport) -> None:
        """A photo written with the mask it still holds has nothing left to lose."""
        marks, self._marks = self._marks, {}
        for result in report.done:
            self.context.undo.mark_clean_at(*marks.get(result.item, (-1, -1)))

    def review(self, threshold: float = DEFAULT_REVIEW_THRESHOLD) -> list:
        """Open the last batch's doubtful photos, the most doubtful first, each with its doubt as a badge.

        Each shows the mask the batch wrote (read back from its output), not a new run of the window's model,
        which may be another one; a photo already open is reviewed in place. Exporting one again replaces its
        batch output, after asking (``ExportRunner``).
        """
        if self.last_report is None:
            return []
        doubtful = self.last_report.doubtful(threshold)
        shown = doubtful[:MAX_REVIEWED]
        if len(doubtful) > len(shown):
            self.context.status.showMessage(f"Showing the {len(shown)} most doubtful of {len(doubtful)} photos; "
                                                "the rest are in the batch report", 10000)
        documents = []
        for result in shown:
            if result.doubt is None or result.output is None:
                continue
            document = self.context.open_document_of(result.item.source)
            if document is None:
                document = Document(title=result.item.source.name, path=result.item.source)
                self.review_outputs[document.doc_id] = result.output
                self.review_opened.emit(document)
            document.review = BatchReview(result.output, result.doubt.score, tuple(result.doubt.reasons()),
                                          self.options)
            self.filmstrip.set_badge(document.doc_id, result.doubt.score, result.doubt.reasons())
            documents.append(document)
        if documents:
            self.show_requested.emit(documents[0])
        return documents

    def review_mask(self, document: Document) -> tuple[np.ndarray | None, str]:
        """For a photo just decoded for review: the batch's mask (None: the window's model must run) and a line
        saying which model made what is shown."""
        output = self.review_outputs.pop(document.doc_id)
        assert document.loaded is not None
        mask = written_mask(output, document.loaded.rgb.size)
        engine = self.last_report.engine if self.last_report is not None else "the batch's model"
        if mask is None:
            return None, (f"{document.title}: {output.name} cannot be read back (cropped, resized or without alpha); "
                          f"shown with the window's model, not {engine}")
        return mask, f"{document.title}: the mask {engine} wrote to {output.name}"

    def _on_exported(self, path: str) -> None:
        """A reviewed photo replaced its batch output: its badge shows the new mask's doubt."""
        from clearbg_desktop.core.inference.doubt import doubt_of

        for document in self.context.workspace.documents:
            review = document.review
            if review is not None and review.output == Path(path) and document.alpha is not None:
                doubt = doubt_of(document.alpha)
                document.review = replace(review, doubt=doubt.score, reasons=tuple(doubt.reasons()))
                self.filmstrip.set_badge(document.doc_id, doubt.score, doubt.reasons())

    def _on_failed(self, message: str) -> None:
        if self.closing:
            return
        self._marks.clear()
        self.quit_after = False
        self.stop()
        if self.progress is not None:
            self.progress.close()
        self.context.messages.show_error("Batch export failed", message)
