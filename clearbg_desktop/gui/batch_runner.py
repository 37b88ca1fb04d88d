"""A batch export from the window: the dialog, the worker thread, progress, cancel and the summary.

The work itself is ``core.batch.iter_export`` in a ``BatchWorker`` on its own thread; this class owns that
thread's life so a batch always ends in ``finished`` (with its report) or an error message, never "running".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QAction

from clearbg_desktop.core.batch import DEFAULT_REVIEW_THRESHOLD, BatchReport, Progress, plan_batch
from clearbg_desktop.core.document import BatchReview
from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.gui.batch_dialog import BatchDialog, BatchProgressDialog, BatchSummaryDialog
from clearbg_desktop.gui.workers import BatchWorker

if TYPE_CHECKING:
    from clearbg_desktop.gui.main_window import MainWindow


MAX_REVIEWED = 25  # photos opened at once for review: 25 × 24 MP is already ~3 GiB of photos and masks


class BatchRunner(QObject):
    """One batch at a time for one window.

    Signals:
        finished(object): the batch ended (its BatchReport, also when cancelled or partly failed).
    """

    finished = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.qthread: QThread | None = None
        self.worker: BatchWorker | None = None
        self.dialog: BatchDialog | None = None
        self.progress: BatchProgressDialog | None = None
        self.summary: BatchSummaryDialog | None = None
        self.names: list[str] = []
        self.output = Path()
        self.options = ExportOptions()
        self.last_report: BatchReport | None = None
        self.review_action = QAction("Re&view doubtful photos of the last batch", window)
        self.review_action.setEnabled(False)
        self.review_action.triggered.connect(lambda: self.review())

    @property
    def running(self) -> bool:
        return self.qthread is not None

    def describe(self) -> str:
        """For the quit question: where it writes and how far it got."""
        done = self.progress.value() if self.progress is not None else 0
        return (f"A batch export to {self.output} is running ({max(done, 0)} of {len(self.names)} photos done); "
                "quitting stops it after the current photo.")

    def open_dialog(self, folders: list[Path]) -> None:
        if self.running:
            self.window.statusBar().showMessage("A batch export is already running", 5000)
            return
        dialog = BatchDialog(self.window.settings, folders, self.window)
        dialog.accepted.connect(lambda: self._on_dialog_accepted(dialog))
        dialog.open()
        self.dialog = dialog

    def _on_dialog_accepted(self, dialog: BatchDialog) -> None:
        settings = self.window.settings
        options = dialog.options()
        settings.export = options
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
            self.window.show_error("Nothing to export", "No photos were found in the chosen folders.")
            return
        self.qthread = QThread(self)
        self.qthread.setObjectName("clearbg-batch")
        worker = BatchWorker(plan, options, model, self.window.settings.device, existing)
        worker.moveToThread(self.qthread)
        self.worker = worker
        progress = BatchProgressDialog(len(plan.items), self.window)
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
        self.window.statusBar().showMessage(f"Batch export of {len(plan.items)} photos to {output}")

    def cancel(self) -> None:
        """Stops after the photo in hand (no partial outputs); the summary follows."""
        if self.worker is not None:
            self.worker.cancel()
            if self.progress is not None:
                self.progress.setLabelText("Cancelling after the current photo…")
                self.progress.show()

    def stop(self) -> None:
        """Cancel and wait for the thread (quitting)."""
        if self.qthread is not None:
            if self.worker is not None:
                self.worker.cancel()
            self.qthread.quit()
            self.qthread.wait()
            self.qthread = None
            self.worker = None

    def _on_progressed(self, step: Progress) -> None:
        if self.progress is not None:
            self.progress.show_progress(step, self.names[step.done] if step.done < len(self.names) else None)

    def _on_finished(self, report: BatchReport) -> None:
        self.stop()
        if self.progress is not None:
            self.progress.close()
        self.window.statusBar().showMessage(report.summary(), 10000)
        self.last_report = report
        doubtful = report.doubtful(DEFAULT_REVIEW_THRESHOLD)
        self.review_action.setEnabled(bool(doubtful))
        self.summary = BatchSummaryDialog(report, self.output, self.window, DEFAULT_REVIEW_THRESHOLD)
        self.summary.review_requested.connect(self.review)
        self.summary.open()
        self.finished.emit(report)

    def review(self, threshold: float = DEFAULT_REVIEW_THRESHOLD) -> list:
        """Open the last batch's doubtful photos, the most doubtful first, each with its doubt as a badge.

        Exporting one again replaces its batch output, after asking (``ExportRunner``).
        """
        if self.last_report is None:
            return []
        doubtful = self.last_report.doubtful(threshold)
        shown = doubtful[:MAX_REVIEWED]
        if len(doubtful) > len(shown):
            self.window.statusBar().showMessage(f"Showing the {len(shown)} most doubtful of {len(doubtful)} photos; "
                                                "the rest are in the batch report", 10000)
        documents = []
        for result in shown:
            if result.doubt is None or result.output is None:
                continue
            for document in self.window.open_paths([result.item.source]):
                document.review = BatchReview(result.output, result.doubt.score, tuple(result.doubt.reasons()),
                                              self.options)
                self.window.filmstrip.set_badge(document.doc_id, result.doubt.score, result.doubt.reasons())
                documents.append(document)
        if documents:
            self.window.show_document(documents[0])
        return documents

    def _on_failed(self, message: str) -> None:
        self.stop()
        if self.progress is not None:
            self.progress.close()
        self.window.show_error("Batch export failed", message)
