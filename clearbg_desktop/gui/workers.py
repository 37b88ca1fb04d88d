"""The long-lived inference worker: one model, loaded once, in its own QThread.

Requests carry an id; the window keeps the newest id per document and drops stale results, so
a new request supersedes an old one without having to interrupt a forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from clearbg_desktop.core.imageio import ImageLoadError, LoadedImage, load_image
from clearbg_desktop.core.segmenter import Segmenter
from clearbg_desktop.core.weights import WeightsError


@dataclass(frozen=True)
class SegmentRequest:
    request_id: int
    doc_id: int
    path: Path | None = None  # decode in the worker when given
    loaded: LoadedImage | None = None  # or segment an already decoded photo


class InferenceWorker(QObject):
    """Decodes and segments photos off the GUI thread.

    Signals:
        model_loading(str): a model is being loaded (first request, or after a settings change).
        model_ready(str): the model is loaded; its description (name, device).
        photo_loaded(int, int, object): request id, doc id, LoadedImage.
        finished(int, int, object): request id, doc id, alpha as HxW uint8 numpy array.
        failed(int, int, str): request id, doc id, a message for the user.
    """

    model_loading = Signal(str)
    model_ready = Signal(str)
    photo_loaded = Signal(int, int, object)
    finished = Signal(int, int, object)
    failed = Signal(int, int, str)

    def __init__(self, model_name: str = "small", device: str = "auto") -> None:
        super().__init__()
        self._model_name = model_name
        self._device = device
        self._segmenter: Segmenter | None = None

    @property
    def segmenter(self) -> Segmenter | None:
        return self._segmenter

    @Slot(str, str)
    def configure(self, model_name: str, device: str) -> None:
        """Use another model/device from the next request on (the old one is released)."""
        if (model_name, device) != (self._model_name, self._device):
            self._model_name, self._device = model_name, device
            self._segmenter = None

    def _ensure_segmenter(self) -> Segmenter:
        if self._segmenter is None:
            self.model_loading.emit(f"Loading the {self._model_name} model…")
            self._segmenter = Segmenter.from_weights(self._model_name, device=self._device)
            self.model_ready.emit(self._segmenter.description)
        return self._segmenter

    @Slot(object)
    def process(self, request: SegmentRequest) -> None:
        try:
            loaded = request.loaded
            if loaded is None:
                assert request.path is not None
                loaded = load_image(request.path)
                self.photo_loaded.emit(request.request_id, request.doc_id, loaded)
            if QThread.currentThread().isInterruptionRequested():
                return
            segmenter = self._ensure_segmenter()
            alpha = np.asarray(segmenter.predict_alpha(loaded.rgb))
        except (ImageLoadError, WeightsError) as exc:
            self.failed.emit(request.request_id, request.doc_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the GUI must show, not crash
            self.failed.emit(request.request_id, request.doc_id, f"Unexpected error: {exc}")
            return
        self.finished.emit(request.request_id, request.doc_id, alpha)


class WorkerThread(QObject):
    """Owns the QThread and the worker; ``stop()`` interrupts, quits and waits (no dangling thread).

    Signals:
        submit(object): internal, queues a SegmentRequest to the worker thread.
        reconfigure(str, str): internal, queues a model/device change.
    """

    submit = Signal(object)
    reconfigure = Signal(str, str)

    def __init__(self, model_name: str = "small", device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("clearbg-inference")
        self.worker = InferenceWorker(model_name, device)
        self.worker.moveToThread(self.thread)
        self.submit.connect(self.worker.process)
        self.reconfigure.connect(self.worker.configure)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.isRunning():
            self.thread.requestInterruption()
            self.thread.quit()
            self.thread.wait()
