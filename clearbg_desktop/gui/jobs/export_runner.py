"""Exporting the shown photo: the dialog, "export again", the overwrite question, and the job off the GUI thread.

A successful export marks the photo's undo stack clean at the state that was written, so the quit question
knows which edits were never exported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox

from clearbg_desktop.core.batch.naming import replaces_original
from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.imaging.export import ExportOptions, next_free_path, output_name
from clearbg_desktop.core.imaging.output_size import SOFT_ENLARGEMENT
from clearbg_desktop.core.inference.model_choice import resolve_model
from clearbg_desktop.gui.dialogs.export_dialog import ExportDialog, default_folder
from clearbg_desktop.gui.jobs.export_job import ExportJob
from clearbg_desktop.gui.widgets.question_box import Answer
from clearbg_desktop.gui.widgets.window_context import WindowContext


class ExportRunner(QObject):
    """Exports of one window.

    Signals:
        exported(str): an export was written (its path).
        failed(str): an export could not be written (the message names the file).
    """

    exported = Signal(str)
    failed = Signal(str)

    def __init__(self, context: WindowContext) -> None:
        super().__init__(context.parent)
        self.context = context
        self.jobs: set[ExportJob] = set()
        self.dialog: ExportDialog | None = None
        self._origin: dict[ExportJob, tuple[int, int]] = {}  # job -> (doc id, undo index exported)

    def open_dialog(self) -> None:
        document = self.context.workspace.current
        if document is None or not document.ready:
            return
        if document.review is not None:
            self._ask_replace_reviewed(document)
            return
        self._open_dialog(document)

    def _open_dialog(self, document: Document) -> None:
        settings = self.context.settings
        dialog = ExportDialog(document, document.export_options or settings.export,
                              default_folder(document, settings.last_export_folder),
                              resolve_model(settings.model).name, self.context.parent, settings=settings)
        dialog.accepted.connect(lambda: self._on_dialog_accepted(dialog))
        dialog.open()
        self.dialog = dialog

    def _ask_replace_reviewed(self, document: Document) -> None:
        """A photo opened from a batch review: its fix replaces the batch's output, once the user agrees."""
        review = document.review
        assert review is not None and document.alpha is not None
        alpha = document.alpha.copy()
        self.context.messages.ask(
            "ReplaceReviewedQuestion", "Replace the batch output?",
            f"Replace {review.output.name} in {review.output.parent} with this edited mask, using the batch's export "
            "settings?",
            [Answer("Replace", QMessageBox.ButtonRole.DestructiveRole,
                    lambda: self._start(document, review.output, review.options, overwrite=True, alpha=alpha)),
             Answer("Export elsewhere…", QMessageBox.ButtonRole.ActionRole, lambda: self._open_dialog(document))],
            cancelled=self._cancelled)

    def _on_dialog_accepted(self, dialog: ExportDialog) -> None:
        settings = self.context.settings
        options, target = dialog.options(), dialog.target()
        settings.export = options
        dialog.document.export_options = options
        settings.last_export_folder = str(target.parent)
        settings.save()
        self.export_to(target, options)

    def export_again(self) -> None:
        """Ctrl+Shift+E: same options and folder as the last export, no dialog."""
        document = self.context.workspace.current
        if document is None or not document.ready:
            return
        settings = self.context.settings
        options = document.export_options or settings.export  # a reopened project's own settings first
        source = document.path or Path(document.title.replace(" ", "-"))
        folder = default_folder(document, settings.last_export_folder)
        self.export_to(folder / output_name(source, options, resolve_model(settings.model).name), options)

    def export_to(self, target: Path, options: ExportOptions) -> None:
        """Write the shown photo; asks before replacing an existing file."""
        document = self.context.workspace.current
        if document is None or document.loaded is None or document.alpha is None:
            return
        photos = [d.path for d in self.context.workspace.documents if d.path is not None]
        if replaces_original(target, photos):
            self.context.messages.show_error(
                "Not exported", f"{target.name} is an original photo, and an export never replaces one. Choose "
                                "another folder, or a name template other than {name}.")
            return
        if not target.exists():
            self._start(document, target, options, overwrite=False)
            return
        alpha = document.alpha.copy()
        self.context.messages.ask(
            "OverwriteQuestion", "File exists", f"{target.name} already exists in {target.parent}.",
            [Answer("Replace", QMessageBox.ButtonRole.DestructiveRole,
                    lambda: self._start(document, target, options, overwrite=True, alpha=alpha)),
             Answer("Keep both", QMessageBox.ButtonRole.AcceptRole,
                    lambda: self._start(document, next_free_path(target), options, overwrite=False, alpha=alpha))],
            cancelled=self._cancelled)

    def _cancelled(self) -> None:
        self.context.status.showMessage("Export cancelled", 3000)

    def _start(self, document: Document, target: Path, options: ExportOptions, overwrite: bool,
               alpha: np.ndarray | None = None) -> None:
        assert document.loaded is not None and document.alpha is not None
        job = ExportJob(document.loaded, document.alpha.copy() if alpha is None else alpha, target, options,
                        overwrite, document.model_probability() if alpha is None else None)
        job.setAutoDelete(False)
        self.jobs.add(job)
        position = self.context.undo.position(document)
        if position is not None:
            self._origin[job] = (document.doc_id, position)
        # Bound methods (not lambdas): queued into the GUI thread, where the receiver lives.
        job.signals.finished.connect(self._on_finished)
        job.signals.failed.connect(self._on_failed)
        self.context.status.showMessage(f"Exporting {target.name}…")
        QThreadPool.globalInstance().start(job)

    def _on_finished(self, job: ExportJob, path: str) -> None:
        self.jobs.discard(job)
        self.context.undo.mark_clean_at(*self._origin.pop(job, (-1, -1)))  # exported is what the photo holds now
        soft = (f" (enlarged {job.enlarged:.1f}×: the photo is smaller than the size asked and may look soft)"
                if job.enlarged > SOFT_ENLARGEMENT else "")
        self.context.status.showMessage(f"Exported {path}{soft}", 8000)
        self.exported.emit(path)

    def _on_failed(self, job: ExportJob, message: str) -> None:
        self.jobs.discard(job)
        self._origin.pop(job, None)
        self.context.status.showMessage("Export failed", 5000)  # not "Exporting …" under the error
        self.context.messages.show_error("Export failed", message)
        self.failed.emit(message)
