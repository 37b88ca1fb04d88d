"""Batch export as a cancellable generator: the GUI relays its yields as signals, the CLI feeds tqdm.

Decoding, inference and encoding overlap in a small pipeline (a decode thread and an encode
thread around the model, with bounded queues), because at 12 MP decoding and PNG encoding take
as long as the model. On CPU, for large photos the model leaves one core to them (with all cores each,
the model's threads and the encoder's fought: bench/RESULTS.md section 8); small photos, whose decoding
and encoding cost almost nothing, give the model every core (``model_threads``).
Outputs are written atomically, so a cancelled or crashed job never leaves a partial file, and
with the default ``skip`` policy re-running a job resumes it.

The job is three steps, so a cluster run (:mod:`core.batch.cluster`) is the same job with its photos spread over
machines: :func:`place_photos` decides each photo's output against the records (on the machine that keeps them),
:func:`write_photos` is the pipeline (on each worker), and the records note what was written (back on the first).
"""


from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.model_calls import model_threads, photos_per_model_call, segment_group
from clearbg_desktop.core.batch.naming import (
    replaces_original,
)
from clearbg_desktop.core.batch.plan import EXISTING_POLICIES, BatchItem, BatchPlan
from clearbg_desktop.core.batch.records import OutputRecords
from clearbg_desktop.core.batch.report import BatchReport, FileResult, Progress
from clearbg_desktop.core.batch.writing import place_output, write_output
from clearbg_desktop.core.imaging.atomic_write import (
    OutputError,
    OutputExistsError,
    OutputSpaceError,
    remove_stale_parts,
)
from clearbg_desktop.core.imaging.export import ExportOptions, next_free_path
from clearbg_desktop.core.imaging.loading import ImageLoadError, LoadedImage, load_image
from clearbg_desktop.core.imaging.output_file import keeps_sixteen_bits
from clearbg_desktop.core.imaging.output_size import enlargement

if TYPE_CHECKING:
    import numpy as np

    from clearbg_desktop.core.inference.engines import Engine

#: Notes which photo an output was written from (``OutputRecords.add``: written, planned, source).
Recorder = Callable[[Path, Path, Path], None]


def _decode(item: BatchItem) -> LoadedImage:
    return load_image(item.source)


class _ModelTime:
    """The model's share of a batch (decoding and encoding run beside it), kept per model and device so the
    next long batch can say how long it will take (:mod:`core.inference.time_per_photo`)."""

    def __init__(self, segmenter: Engine) -> None:
        self.segmenter = segmenter
        self.seconds = 0.0
        self.photos = 0

    def add(self, seconds: float, succeeded: bool) -> None:
        if succeeded:
            self.seconds += seconds
            self.photos += 1

    def record(self) -> None:
        from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo

        weights = self.segmenter.weights
        if weights is not None and self.photos:
            record_seconds_per_photo(weights.name, self.segmenter.device.type, self.seconds, self.photos)


class Halt:
    """The user's cancel, or the job's own stop: a full disk fails every photo after it the same way, so the
    batch stops at the first one instead of running the model on the rest for identical errors."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.reason = ""

    def is_set(self) -> bool:
        return bool(self.reason) or self.cancel.is_set()


@dataclass(frozen=True)
class Placed:
    """A photo to write, as :func:`place_photos` decided against the records: the policy it is written with
    ("skip" writes without ever replacing, "rename", "overwrite") and the output it goes to."""

    item: BatchItem
    policy: str
    where: Path


def place_photos(plan: BatchPlan, options: ExportOptions, existing: str,
                 records: OutputRecords) -> Iterator[FileResult | Placed]:
    """Each photo of the plan, in plan order: a result when it is settled without the model (a problem of the
    plan, a name taken by a file ClearBG did not write, its output already there with ``skip``), else where it
    goes. A killed run's temporary files are removed from the output folders first."""
    for item, problem in plan.problems.items():
        yield FileResult(item, "failed", problem)
    for folder in sorted({item.target.parent for item in plan.items if item not in plan.problems}):
        try:
            remove_stale_parts(folder)  # a killed run's temporary files
        except OSError:
            pass  # an output folder that cannot be listed fails its photos when they are written
    for item in plan.items:
        if item in plan.problems:
            continue
        own_options = plan.edited[item].options if item in plan.edited else None
        action, where, why = place_output(records, item.target, item.source, existing, own_options or options,
                                          plan.model)
        if action == "failed":
            yield FileResult(item, "failed", why)
        elif action == "skipped":
            own = where != item.target or records.of(item.target.parent).owner(where) is not None
            yield FileResult(item, "skipped", "its output from an earlier run is there" if own
                             else "output already exists", where)
        else:
            yield Placed(item, action, where)


class PhotoWriter:
    """Writes one photo's output where it was placed, atomically, and says how it went (never raises for one
    photo's trouble); a full disk sets the halt's reason, so the job stops after that one ``failed`` result."""

    def __init__(self, options: ExportOptions, existing: str, halt: Halt, record: Recorder | None) -> None:
        self.options = options
        self.existing = existing
        self.halt = halt
        self.record = record  # None: the caller notes the written outputs itself (a cluster's driver)

    def __call__(self, placed: Placed, loaded: LoadedImage, alpha: Image.Image, workers: int | None,
                 own: ExportOptions | None = None, probability: np.ndarray | None = None) -> FileResult | None:
        """The photo's result; None when the disk filled up or the user cancelled before its turn (not written,
        not reported: a re-run does it)."""
        if self.halt.is_set():
            return None
        item, policy, options = placed.item, placed.policy, own or self.options
        target = next_free_path(placed.where) if policy == "rename" else placed.where
        if replaces_original(target, [item.source]):
            return FileResult(item, "failed", f"its output {target.name} would replace the original photo, "
                                              "which is never done")
        try:
            scale = enlargement(loaded, alpha, options)  # before writing: an error here fails this photo only
            written = write_output(loaded, alpha, target, options, policy, workers, probability)
        except OutputSpaceError as exc:
            self.halt.reason = str(exc)
            return FileResult(item, "failed", f"{target.name} not written: {exc}")
        except OutputExistsError:
            # Another run into the same folder wrote it since this one started: it is there, and complete.
            return FileResult(item, "skipped", "output already exists (written meanwhile by another run)",
                              item.target)
        except OutputError as exc:
            return FileResult(item, "failed", str(exc))
        except MemoryError:
            return FileResult(item, "failed", f"not enough memory to encode {target.name}")
        except Exception as exc:  # noqa: BLE001 - compose or encoder errors fail this photo, not the batch
            return FileResult(item, "failed", f"could not encode {target.name}: {exc}")
        from clearbg_desktop.core.inference.doubt import doubt_of  # numpy: not loaded for ``clearbg-cli --help``

        if self.record is not None:
            self.record(written, item.target, item.source)
        notes = list(loaded.notes)
        if policy == "rename" and self.existing != "rename":
            notes.append(f"{item.target.name} is another photo's output from an earlier run; written as {written.name}")
        return FileResult(item, "done", "; ".join(notes), written, doubt_of(alpha), scale)


def iter_export(
    plan: BatchPlan,
    segmenter: Engine | None,
    options: ExportOptions,
    existing: str = "skip",
    cancel: threading.Event | None = None,
    report: BatchReport | None = None,
    prefetch: int = 2,
    group_size: int | None = None,
) -> Iterator[Progress]:
    """Export every item, yielding a :class:`Progress` per file in plan order.

    ``cancel`` takes effect within one model call: the file being encoded is finished (a complete output),
    photos waiting for the encoder and the mask the model was computing are dropped, nothing new starts.
    A broken photo is a ``failed`` result, never an exception. A full disk stops the job after its one
    ``failed`` result, with ``report.stopped`` saying why. Pass a :class:`BatchReport` to collect the results.
    Items in ``plan.edited`` are exported with the user's mask first; ``segmenter`` may be None when every
    item is edited.
    """
    if prefetch < 1:
        raise ValueError("prefetch must be at least 1 (photos decoded ahead of the model)")
    if segmenter is None and plan.needs_model:
        raise ValueError("photos without an edited mask need a model")
    check_policy(existing)
    cancel = cancel or threading.Event()
    halt = Halt(cancel)
    report = report if report is not None else BatchReport()
    report.engine = segmenter.description if segmenter is not None else "masks edited in the window"
    started = time.perf_counter()
    total = len(plan.items)
    done = 0

    def progress(result: FileResult) -> Progress:
        nonlocal done
        done += 1
        report.results.append(result)
        report.elapsed = time.perf_counter() - started
        return Progress(done, total, result, report.elapsed)

    records = OutputRecords()
    todo: list[Placed] = []
    for placed in place_photos(plan, options, existing, records):
        if isinstance(placed, FileResult):
            yield progress(placed)
        else:
            todo.append(placed)
    writer = PhotoWriter(options, existing, halt, records.add)
    try:
        for placed in [placed for placed in todo if placed.item in plan.edited]:
            if halt.is_set():
                break
            edited = plan.edited[placed.item]
            try:
                photo, mask = edited.photo()
            except ImageLoadError as exc:
                yield progress(FileResult(placed.item, "failed", str(exc)))
                continue
            result = writer(placed, photo, mask, None, edited.options, edited.probability)
            if result is not None:
                yield progress(result)
        todo = [placed for placed in todo if placed.item not in plan.edited and not halt.is_set()]
        if segmenter is not None and todo:
            for result in write_photos(todo, segmenter, writer, prefetch, group_size, plan.boxes):
                yield progress(result)
    finally:
        report.cancelled = cancel.is_set() and not halt.reason and done < total
        report.stopped = halt.reason
        if records.note() and records.note() not in report.notes:
            report.notes.append(records.note())
        report.elapsed = time.perf_counter() - started


def check_policy(existing: str) -> None:
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"unknown policy {existing!r} for existing outputs; choose one of {EXISTING_POLICIES}")


def write_photos(work: Iterable[Placed], segmenter: Engine, writer: PhotoWriter, prefetch: int = 2,
                 group_size: int | None = None,
                 boxes: tuple[tuple[float, float, float, float], ...] = ()) -> Iterator[FileResult]:
    """Decode, cut out and write each placed photo, one result each (a photo skipped by the halt has none).

    ``work`` is read as photos are needed, so it may be a queue that a cluster's driver fills while this runs:
    the pipeline asks for the next photo only when it has room for it."""
    group_size = group_size or photos_per_model_call(segmenter)
    prefetch = max(prefetch, group_size)
    halt = writer.halt
    model_time = _ModelTime(segmenter)
    decoder = ThreadPoolExecutor(1, thread_name_prefix="clearbg-decode")
    encoder = ThreadPoolExecutor(1, thread_name_prefix="clearbg-encode")
    decoding: deque[tuple[Placed, Future[LoadedImage]]] = deque()
    encoding: deque[Future[FileResult | None]] = deque()
    pending = iter(work)

    def finished(result: FileResult | None) -> Iterator[FileResult]:
        if result is not None:
            yield result

    with model_threads(segmenter) as fit_threads:
        try:
            def refill() -> None:
                while len(decoding) < prefetch and not halt.is_set():
                    placed = next(pending, None)
                    if placed is None:
                        return
                    decoding.append((placed, decoder.submit(_decode, placed.item)))

            refill()
            while decoding:
                group: list[tuple[BatchItem, LoadedImage]] = []
                places: dict[BatchItem, Placed] = {}
                while decoding and len(group) < group_size:
                    placed, future = decoding.popleft()
                    refill()
                    item = placed.item
                    try:
                        group.append((item, future.result()))
                        places[item] = placed
                    except ImageLoadError as exc:
                        yield FileResult(item, "failed", str(exc))
                    except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
                        yield FileResult(item, "failed", f"{item.source.name}: {exc}")
                if halt.is_set():
                    break  # decoded, never cut out: the disk is full or the user cancelled
                encode_workers = None
                if group:
                    encode_workers = fit_threads(max(loaded.rgb.width * loaded.rgb.height for _, loaded in group))
                deep = any(keeps_sixteen_bits(loaded, writer.options) for _, loaded in group)
                model_started = time.perf_counter()
                for item, loaded, alpha, probability, error in segment_group(segmenter, group, deep, boxes):
                    model_time.add(time.perf_counter() - model_started, error is None and alpha is not None)
                    model_started = time.perf_counter()  # a group's later photos came out of the same call
                    if halt.is_set():
                        break  # cancelled while the model ran: its mask is dropped, nothing more is written
                    if error is not None or alpha is None:
                        yield FileResult(item, "failed", f"{item.source.name}: {error}")
                        continue
                    encoding.append(encoder.submit(writer, places[item], loaded, alpha, encode_workers, None,
                                                   probability))
                while encoding and (encoding[0].done() or len(encoding) > max(prefetch, group_size)):
                    yield from finished(encoding.popleft().result())
                if halt.is_set():
                    for _, dropped in decoding:
                        dropped.cancel()
                    decoding.clear()
            while encoding:
                yield from finished(encoding.popleft().result())
        finally:
            decoder.shutdown(wait=True, cancel_futures=True)
            encoder.shutdown(wait=True)
            model_time.record()
