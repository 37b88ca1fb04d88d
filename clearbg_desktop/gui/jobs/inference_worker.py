"""The long-lived inference worker: one model, loaded once, in its own QThread.

Requests carry an id; the window keeps the newest id per document and drops stale results, so
a new request supersedes an old one without having to interrupt a forward pass.
"""


from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QThread, Signal, Slot

from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.editing.document import file_stamp
from clearbg_desktop.core.editing.memory_budget import decoded_bytes
from clearbg_desktop.core.imaging.loading import ImageLoadError, LoadedImage, load_image, load_reduced
from clearbg_desktop.core.inference.box_prompt import mask_at_click, mask_in_box
from clearbg_desktop.core.inference.engine_choice import EngineChoice, TimingStopped
from clearbg_desktop.core.inference.engines import Engine, faster_engine, load_segmenter, time_engines_of
from clearbg_desktop.core.inference.model_choice import AUTO, resolve_model
from clearbg_desktop.core.inference.model_io import upsample_alpha
from clearbg_desktop.core.inference.weights import WeightsError
from clearbg_desktop.gui.jobs.decoded_views import (
    PREVIEW_SIDE,
    PreviewViews,
    decode_full,
    decoded_views,
    preview_and_thumbnail,
)
from clearbg_desktop.gui.tools.base import BoxRequest


@dataclass(frozen=True)
class SegmentRequest:
    request_id: int
    doc_id: int
    path: Path | None = None  # decode in the worker when given
    loaded: LoadedImage | None = None  # or segment an already decoded photo
    segment: bool = True  # False: decode only (a reopened project brings its own mask)
    # A photo not on screen (#32): at least this many bytes once decoded (``memory_budget.decoded_bytes``), it is
    # decoded reduced for its mask and preview, and its full pixels are never made; None: a full decode.
    reduce_from: int | None = None


@dataclass(frozen=True)
class BoxJob:
    """The object box (``tools.base.BoxRequest``) with the photo it is drawn on: the model runs on the box."""

    request: BoxRequest
    photo: Image.Image | None  # None: decoded here from ``path`` (a photo not in memory, e.g. one a box is synced to)
    path: Path | None = None


class InferenceWorker(QObject):
    """Decodes and segments photos off the GUI thread.

    Signals:
        model_loading(str): a model is being loaded (first request, or after a settings change).
        model_ready(str): the model is loaded; its description (name, engine, device) and why that engine.
        model_note(str): one line the user should read about the model (the full one is not installed yet).
        photo_loaded(int, int, object, object): request id, doc id, LoadedImage, and a DecodedViews
            (the photo as a numpy array and a filmstrip thumbnail, made here so the GUI thread never
            copies a 24 MP photo).
        previewed(int, int, object): request id, doc id, PreviewViews: a photo decoded reduced for its mask
            (``SegmentRequest.reduce_from``), in place of photo_loaded; its full pixels were never made.
        probability_ready(int, int, object): request id, doc id, the model's probability at its own resolution
            (float32), just before ``finished``: a 16-bit export of an unedited mask takes its 65,536 levels from it.
        finished(int, int, object): request id, doc id, alpha as HxW uint8 numpy array.
        failed(int, int, str): request id, doc id, a message for the user.
        box_ready(object, object, object): the BoxRequest, the box clipped to the photo (left, top, right, bottom),
            and the model's alpha inside it (uint8, the box's height × width).
        box_failed(object, str): the BoxRequest, a message for the user.
    """

    model_loading = Signal(str)
    model_ready = Signal(str)
    model_note = Signal(str)
    photo_loaded = Signal(int, int, object, object)
    previewed = Signal(int, int, object)
    probability_ready = Signal(int, int, object)
    finished = Signal(int, int, object)
    failed = Signal(int, int, str)
    box_ready = Signal(object, object, object)
    box_failed = Signal(object, str)

    def __init__(self, model_name: str = AUTO, device: str = "auto") -> None:
        super().__init__()
        self._model_name = model_name
        self._device = device
        self._segmenter: Engine | None = None
        self.busy = threading.Event()  # a photo is being decoded or cut out: engine timing gives way
        self.timer = EngineTimer(self)

    @property
    def segmenter(self) -> Engine | None:
        return self._segmenter

    @Slot(str, str)
    def configure(self, model_name: str, device: str) -> None:
        """Use another model/device from the next request on (the old one is released)."""
        if (model_name, device) != (self._model_name, self._device) or model_name == AUTO:
            self._model_name, self._device = model_name, device
            self._segmenter = None  # "auto" may mean another model now (the full one was just installed)

    def _ensure_segmenter(self) -> Engine:
        faster = self.timer.take_faster(self._segmenter)
        if faster is not None:  # timed while the app was idle: the same masks (fp32's), maybe sooner
            self._segmenter = faster  # announced by the timer already
        if self._segmenter is None:
            choice = resolve_model(self._model_name)
            self.model_loading.emit("Loading the model…")  # the status bar's right side names it
            # Never timed here yet: the fp32 reference at once, timed when idle (#37: the first cut-out waited 40-60 s)
            self._segmenter = load_segmenter(choice.name, device=self._device, lean_memory=True, measure=False)
            self.model_note.emit(choice.note)
            self._announce(self._segmenter)
        return self._segmenter

    def _announce(self, segmenter: Engine) -> None:
        reason = segmenter.choice_reason
        self.model_ready.emit(segmenter.description + (f" — {reason}" if reason else ""))

    def _reduced(self, request: SegmentRequest) -> tuple[Image.Image, tuple[int, int]] | None:
        """A photo not on screen, decoded reduced: (its reduced RGB for the model, its full size), after
        ``previewed``; None for a small photo, which is decoded whole and kept (``Residency.small_bytes``)."""
        assert request.path is not None and request.reduce_from is not None
        stamp = file_stamp(request.path)
        photo = load_reduced(request.path, PREVIEW_SIDE)
        if decoded_bytes(photo.size) < request.reduce_from:
            return None
        preview, thumbnail = preview_and_thumbnail(photo.rgb, photo.icc_profile)
        self.previewed.emit(request.request_id, request.doc_id,
                            PreviewViews(photo.size, thumbnail, preview, stamp, tuple(photo.notes)))
        return photo.rgb, photo.size

    @Slot(object)
    def process_box(self, job: BoxJob) -> None:
        """The object box: one model call on the box and its context, or one batch of three on squares around a click
        (``core.inference.box_prompt``)."""
        self.busy.set()
        try:
            photo = job.photo
            if photo is None:
                assert job.path is not None, "a box job needs a photo or its file"
                photo = load_image(job.path).rgb
            if job.request.click is not None:  # an object the mask left out: squares around the click
                box, region = mask_at_click(self._ensure_segmenter(), photo, *job.request.click)
            else:
                box, region = mask_in_box(self._ensure_segmenter(), photo, job.request.box)
            self.box_ready.emit(job.request, box, region)
        except (ValueError, WeightsError, MemoryError, ImageLoadError) as exc:
            self.box_failed.emit(job.request, f"The object box could not be cut out: {exc}")
        except Exception as exc:  # noqa: BLE001 - a worker error always reaches the user, the worker goes on
            note_unexpected(exc, "the object box")  # a bug, not a bad photo: a crash report too
            self.box_failed.emit(job.request, f"The object box could not be cut out ({type(exc).__name__}: {exc})")
        finally:
            self.busy.clear()

    @Slot(object)
    def process(self, request: SegmentRequest) -> None:
        self.busy.set()
        try:
            self._process(request)
        finally:
            self.busy.clear()
            if self._segmenter is not None and self._segmenter.untimed:
                self.timer.time_when_idle(self._segmenter, self._device)

    def _process(self, request: SegmentRequest) -> None:
        try:
            loaded, reduced = request.loaded, None
            if loaded is None and request.reduce_from is not None and request.segment:
                reduced = self._reduced(request)
            if loaded is None and reduced is None:
                assert request.path is not None
                loaded = decode_full(request.path)
            if loaded is not None:
                self.photo_loaded.emit(request.request_id, request.doc_id, loaded, decoded_views(loaded))
            if QThread.currentThread().isInterruptionRequested() or not request.segment:
                return
            segmenter = self._ensure_segmenter()
            if reduced is not None:  # the model sees 320 px: a mask made from the reduced decode, at full size
                probability = segmenter.predict_probabilities([reduced[0]])[0]
                alpha = np.asarray(upsample_alpha(probability, reduced[1]))
            else:
                assert loaded is not None
                probability = segmenter.predict_probabilities([loaded.rgb])[0]
                alpha = np.asarray(upsample_alpha(probability, loaded.rgb.size))
        except (ImageLoadError, WeightsError) as exc:
            self.failed.emit(request.request_id, request.doc_id, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the GUI must show, not crash
            note_unexpected(exc, "cutting out a photo")  # a bug, not a bad photo: a crash report too
            self.failed.emit(request.request_id, request.doc_id, f"Unexpected error: {exc}")
            return
        self.probability_ready.emit(request.request_id, request.doc_id, probability)
        self.finished.emit(request.request_id, request.doc_id, alpha)


IDLE_SECONDS = 3.0  # no photo decoded or cut out for this long: the engines are timed


class EngineTimer:
    """Times the engines of the window's model while the app is idle, in a thread of its own at low priority,
    and hands the faster one (if another) to the worker for its next photo.

    Each model run first asks whether a photo is waiting (the worker is busy) or the app is quitting; then it
    gives way and tries again at the next idle moment, so a user's photo waits for at most one run of the sample.
    """

    def __init__(self, worker: InferenceWorker) -> None:
        self.worker = worker
        self.quitting = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._faster: tuple[Engine, Engine] | None = None  # (the engine it replaces, the faster one)

    def time_when_idle(self, segmenter: Engine, device: str) -> None:
        with self._lock:
            if self.quitting.is_set() or (self._thread is not None and self._thread.is_alive()):
                return
            self._thread = threading.Thread(target=self._run, args=(segmenter, device), name="clearbg-engine-timer",
                                            daemon=True)
            self._thread.start()

    def take_faster(self, current: Engine | None) -> Engine | None:
        """Once after a timing: the fastest engine for ``current``'s model (maybe ``current`` itself, now timed);
        None before that, or when the model changed meanwhile."""
        with self._lock:
            found, self._faster = self._faster, None
        return found[1] if found is not None and found[0] is current else None

    def _idle(self) -> bool:
        deadline = time.monotonic() + IDLE_SECONDS
        while time.monotonic() < deadline:
            if self.quitting.wait(0.1):
                return False
            if self.worker.busy.is_set():
                deadline = time.monotonic() + IDLE_SECONDS
        return True

    def _run(self, segmenter: Engine, device: str) -> None:
        while self._idle():
            if self.worker.segmenter is not segmenter:
                return  # another model was chosen meanwhile
            outcome: list[EngineChoice | None | BaseException] = []
            # Timed in a thread of its own at low priority (its engines' threads inherit it); the winner is loaded
            # here, at normal priority, since it runs the window's photos from then on.
            timing = threading.Thread(target=self._time, args=(segmenter, device, outcome),
                                      name="clearbg-engine-timing-runs", daemon=True)
            timing.start()
            timing.join()
            result = outcome[0] if outcome else None
            if isinstance(result, TimingStopped):
                continue
            if not isinstance(result, EngineChoice):
                segmenter.untimed = False  # timing is an optimisation: the reference keeps running
                return
            try:
                faster = faster_engine(segmenter, result, lean_memory=True)
            except Exception:  # noqa: BLE001 - the reference keeps running
                segmenter.untimed = False
                return
            winner = faster if faster is not None else segmenter
            with self._lock:  # the same engine too: the window then says it was timed, and how fast it is
                self._faster = (segmenter, winner)
            segmenter.untimed = False
            self.worker._announce(winner)  # now, not at the next photo (a queued signal: safe from this thread)
            return

    def _time(self, segmenter: Engine, device: str, outcome: list) -> None:
        _lower_this_threads_priority()
        try:
            outcome.append(time_engines_of(segmenter, device, should_stop=self._should_stop))
        except Exception as exc:  # noqa: BLE001 - handed to _run, which decides
            outcome.append(exc)

    def _should_stop(self) -> bool:
        return self.quitting.is_set() or self.worker.busy.is_set()

    def stop(self) -> None:
        self.quitting.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)  # at most the sample's run in hand


def _lower_this_threads_priority() -> None:
    """Linux: this thread (and the engine threads it starts) at the lowest priority, so the window's own work
    runs first; elsewhere nothing (the measurement still gives way between runs)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (OSError, AttributeError):
            pass


class WorkerThread(QObject):
    """Owns the QThread and the worker; ``stop()`` interrupts, quits and waits (no dangling thread).

    Signals:
        submit(object): internal, queues a SegmentRequest to the worker thread.
        submit_box(object): internal, queues a BoxJob to the worker thread.
        reconfigure(str, str): internal, queues a model/device change.
    """

    submit = Signal(object)
    submit_box = Signal(object)
    reconfigure = Signal(str, str)

    def __init__(self, model_name: str = AUTO, device: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.qthread = QThread()
        self.qthread.setObjectName("clearbg-inference")
        self.worker = InferenceWorker(model_name, device)
        self.worker.moveToThread(self.qthread)
        self.submit.connect(self.worker.process)
        self.submit_box.connect(self.worker.process_box)
        self.reconfigure.connect(self.worker.configure)
        self.qthread.start()

    def stop(self) -> None:
        self.worker.timer.stop()
        if self.qthread.isRunning():
            self.qthread.requestInterruption()
            self.qthread.quit()
            self.qthread.wait()
