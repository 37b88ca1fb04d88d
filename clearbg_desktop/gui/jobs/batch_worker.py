"""A batch or Export all in its own thread: relays ``core.batch.iter_export``'s progress as signals."""


from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal, Slot

from clearbg_desktop.core.batch import BatchPlan, BatchReport, iter_export
from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.engine_choice import TIMING_PAYS_FROM_PHOTOS
from clearbg_desktop.core.inference.engines import load_segmenter
from clearbg_desktop.core.inference.weights import WeightsError
from clearbg_desktop.core.paths import log_dir


class BatchWorker(QObject):
    """Runs ``core.batch.iter_export`` in its own thread with its own model.

    Signals:
        model_loading(str): loading the batch's model.
        progressed(object): a core.batch.Progress per file.
        finished(object): the BatchReport (also when cancelled).
        failed(str): the job could not start (e.g. missing weights).
    """

    model_loading = Signal(str)
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, plan: BatchPlan, options: ExportOptions, model: str, device: str, existing: str) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        self._job = (plan, options, model, device, existing)

    def cancel(self) -> None:
        """Thread-safe: the batch stops after the file in hand (no partial outputs)."""
        self.cancel_event.set()

    @Slot()
    def run(self) -> None:
        plan, options, model, device, existing = self._job
        self.model_loading.emit(f"Loading the {model} model…")
        try:
            to_model = sum(1 for item in plan.items if item not in plan.edited and item not in plan.problems)
            segmenter = load_segmenter(model, device=device, lean_memory=True,  # the window keeps its memory
                                       measure=to_model >= TIMING_PAYS_FROM_PHOTOS)  # else the fp32 reference
        except WeightsError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the batch must end in finished or failed, never hang
            note_unexpected(exc, "batch export")  # a bug, not a bad photo: a crash report too
            self.failed.emit(f"the {model} model could not be loaded ({type(exc).__name__}: {exc})")
            return
        report = BatchReport()
        try:
            for step in iter_export(plan, segmenter, options, existing=existing,
                                    cancel=self.cancel_event, report=report):
                self.progressed.emit(step)
        except Exception as exc:  # noqa: BLE001 - per-photo errors are results; anything else ends the job
            note_unexpected(exc, "batch export")  # a bug, not a bad photo: a crash report too
            self.failed.emit(f"the batch stopped: {type(exc).__name__}: {exc}")
            return
        try:
            report.write_log(log_dir())
        except OSError:
            pass  # the summary dialog still lists every failure
        self.finished.emit(report)
