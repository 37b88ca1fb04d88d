"""A batch on a Ray cluster: the local batch's job with its photos spread over workers, one model each.

The same plan, options, naming, resume and report as :func:`core.batch.running.iter_export`, because it is the same
code cut in three: this machine (the driver) places every photo against the output records
(:func:`running.place_photos`), each worker runs the local pipeline on the photos it is fed
(:func:`running.write_photos` in :class:`ray_workers.PhotoWorker`), and the driver notes what was written in the
records and the report. Photos and outputs are paths that every node sees the same (NFS, or one machine).

Faults. A worker that dies (its process killed, its node gone, out of memory) loses none of its photos: those it
had not reported are tried again one at a time on other workers (``suspects``), so one that kills every worker it
meets is found and reported after :data:`MAX_LONE_LOSSES` lone tries, never retried forever; a lost worker is
replaced while :attr:`Dispatch.replacements` lasts. Outputs are written atomically, so a killed worker leaves no
half-written file, and a re-run (the ``skip`` policy) resumes.
"""


from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clearbg_desktop.core.batch.plan import BatchItem, BatchPlan
from clearbg_desktop.core.batch.ray_workers import ClusterError, EngineSpec, Job, RayWorkers
from clearbg_desktop.core.batch.records import OutputRecords
from clearbg_desktop.core.batch.report import BatchReport, FileResult, Progress
from clearbg_desktop.core.batch.running import Halt, Placed, check_policy, place_photos
from clearbg_desktop.core.imaging.atomic_write import PART_PREFIX, PART_SUFFIX

if TYPE_CHECKING:
    from clearbg_desktop.core.imaging.export import ExportOptions

__all__ = ["MAX_LONE_LOSSES", "ClusterError", "Dispatch", "EngineSpec", "in_plan_order", "iter_cluster_export"]

MAX_LONE_LOSSES = 2  # a photo whose worker died this often while it was that worker's only photo is reported
START_TIMEOUT_S = 300.0  # no worker ready for this long (the model missing on every node, no free CPU): stop
STOP_GRACE_S = 60.0  # after a cancel, how long the workers may take to finish the photo they are writing


def feed_depth(prefetch: int = 2, group_size: int = 1) -> int:
    """Photos a worker holds at once: more than its pipeline can hold (decoding, in the model, encoding), so that
    it never waits for the driver between two photos."""
    return 3 * max(prefetch, group_size) + 2


@dataclass
class Dispatch:
    """Which worker holds which photos, and what to feed each next: the driver's bookkeeping, no Ray in it.

    Fresh photos go to any worker in plan order, up to ``depth`` at a time. A lost worker's photos become
    suspects: each goes alone to a worker that holds nothing, so that a photo that crashes workers is told apart
    from the photos that happened to be beside it."""

    work: deque[Placed]
    depth: int
    replacements: int  # lost workers that may still be replaced
    suspects: deque[Placed] = field(default_factory=deque)
    held: dict[int, list[Placed]] = field(default_factory=dict)
    alone: set[int] = field(default_factory=set)  # workers holding one suspect, alone
    flushed: dict[int, bool] = field(default_factory=dict)  # told that no more is coming since its last photos
    lone_losses: dict[BatchItem, int] = field(default_factory=dict)
    retried: set[BatchItem] = field(default_factory=set)

    def add_worker(self, worker: int) -> None:
        self.held[worker] = []
        self.flushed[worker] = True

    def feed(self, worker: int) -> tuple[list[Placed], bool]:
        """(photos to send ``worker`` now, whether to tell it that no more are coming for now)."""
        held = self.held[worker]
        if worker in self.alone:
            return [], False
        if not held and self.suspects:
            suspect = self.suspects.popleft()
            held.append(suspect)
            self.alone.add(worker)
            self.flushed[worker] = True
            return [suspect], True
        share = -(-len(self.work) // max(1, len(self.held)))  # the last photos spread over every worker
        room = min(self.depth - len(held), share)
        given = [self.work.popleft() for _ in range(min(room, len(self.work)))]
        held += given
        flush = not self.work and bool(held) and (bool(given) or not self.flushed[worker])
        if given or flush:
            self.flushed[worker] = flush
        return given, flush

    def took(self, worker: int, result: FileResult) -> None:
        """``worker`` reported ``result``: its photo is no longer held."""
        held = self.held.get(worker, [])
        for index, placed in enumerate(held):
            if placed.item == result.item:
                del held[index]
                break
        if not held:
            self.alone.discard(worker)

    def lost(self, worker: int) -> list[FileResult]:
        """``worker`` died: its photos become suspects, and the ones it died with alone too often are failed."""
        held = self.held.pop(worker, [])
        was_alone = worker in self.alone
        self.alone.discard(worker)
        self.flushed.pop(worker, None)
        failed = []
        for placed in held:
            self.retried.add(placed.item)
            if was_alone:
                self.lone_losses[placed.item] = self.lone_losses.get(placed.item, 0) + 1
            losses = self.lone_losses.get(placed.item, 0)
            if losses >= MAX_LONE_LOSSES:
                failed.append(FileResult(placed.item, "failed", f"{placed.item.source.name}: the worker cutting it "
                                         f"out died {losses} times with only this photo (a crash in the decoder or "
                                         "the model, or out of memory); not tried again"))
            else:
                self.suspects.append(placed)
        return failed

    @property
    def finished(self) -> bool:
        return not self.work and not self.suspects and not any(self.held.values())

    def unreported(self) -> int:
        return len(self.work) + len(self.suspects) + sum(len(held) for held in self.held.values())


def in_plan_order(results: list[FileResult], plan: BatchPlan) -> list[FileResult]:
    """The results as the local batch lists them (plan order), whatever order the workers finished in."""
    rank = {item: index for index, item in enumerate(plan.items)}
    return sorted(results, key=lambda result: rank.get(result.item, len(rank)))


def iter_cluster_export(
    plan: BatchPlan,
    spec: EngineSpec,
    options: ExportOptions,
    existing: str = "skip",
    cancel: threading.Event | None = None,
    report: BatchReport | None = None,
    address: str = "auto",
    workers: int | None = None,
    on_worker: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[Progress]:
    """:func:`core.batch.running.iter_export` on a Ray cluster: a :class:`Progress` per file as workers finish
    them (the report lists them in plan order at the end).

    ``address``: see :class:`ray_workers.RayWorkers`; ``workers``: how many (default: one per ``spec.threads`` CPUs
    of the cluster, or one per GPU with ``spec.device`` "cuda"; more than the GPUs share them). ``on_worker`` is told where each worker runs
    (host, pid, engine) once its model is loaded. ``cancel``: the photos being written are finished, nothing new
    starts. ``ClusterError`` when there is no cluster to run on; everything else is a result, as locally.
    """
    check_policy(existing)
    if plan.edited:
        raise ValueError("photos edited in the window are exported on this machine (iter_export), not on a cluster")
    cancel = cancel or threading.Event()
    halt = Halt(cancel)
    report = report if report is not None else BatchReport()
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
    todo: deque[Placed] = deque()
    for placed in place_photos(plan, options, existing, records):
        if isinstance(placed, FileResult):
            yield progress(placed)
        else:
            todo.append(placed)
    report.engine = f"U²-Net {spec.model} on a Ray cluster"
    if not todo:
        _close(report, plan, halt, cancel, records, started, done < total)
        return
    pool = RayWorkers(address)
    gpus = pool.gpus() if spec.device == "cuda" else 0
    count = workers or max(1, gpus if spec.device == "cuda" else pool.cpus() // max(1, spec.threads))
    count = min(count, len(todo))
    dispatch = Dispatch(todo, feed_depth(), replacements=2 * count)
    # More workers than GPUs share them (a worker has one decoder and one encoder thread: several keep a GPU fed).
    share = min(1.0, gpus / count) if spec.device == "cuda" and gpus else (1.0 if spec.device == "cuda" else 0.0)
    job = Job(spec, options, existing, plan.boxes, share)
    ready: set[int] = set()
    nodes: set[str] = set()
    engines: set[str] = set()
    writers: set[int] = set()  # the workers' process ids: a killed one's part file is removed at the end
    try:
        for _ in range(count):
            dispatch.add_worker(pool.start(job))
        lost_why = ""
        stopping_since: float | None = None
        waiting_since = time.perf_counter()  # since no worker was ready to take photos
        while dispatch.held and not dispatch.finished:
            if halt.is_set() and stopping_since is None:
                stopping_since = time.perf_counter()
                for worker in dispatch.held:
                    pool.stop(worker)
            if stopping_since is not None and time.perf_counter() - stopping_since > STOP_GRACE_S:
                break
            if ready & dispatch.held.keys():
                waiting_since = time.perf_counter()
            elif time.perf_counter() - waiting_since > START_TIMEOUT_S:
                halt.reason = f"no cluster worker was ready for {START_TIMEOUT_S:.0f} s (no free CPU or GPU?)"
                break
            for event in pool.events(timeout=1.0):
                for result in event.results:
                    dispatch.took(event.worker, result)
                    if result.status == "done" and result.output is not None:
                        records.add(result.output, result.item.target, result.item.source)
                    yield progress(result)
                if event.halt_reason and not halt.reason:
                    halt.reason = event.halt_reason
                if event.kind == "ready" and event.info is not None:
                    ready.add(event.worker)
                    nodes.add(str(event.info.get("node")))
                    if isinstance(event.info.get("pid"), int):
                        writers.add(event.info["pid"])
                    engines.add(str(event.info.get("engine")))
                    if on_worker is not None:
                        on_worker(event.info)
                elif event.kind == "lost":
                    lost_why = event.why
                    for result in dispatch.lost(event.worker):
                        yield progress(result)
                    if dispatch.replacements > 0 and not halt.is_set() and not dispatch.finished:
                        dispatch.replacements -= 1
                        dispatch.add_worker(pool.start(job))
                elif event.kind == "results" and event.stopped:
                    dispatch.held.pop(event.worker, None)  # stopped by the cancel: what it held is not written
            if not halt.is_set():
                for worker in ready & dispatch.held.keys():
                    given, flush = dispatch.feed(worker)
                    if given or flush:
                        pool.feed(worker, given, flush)
        if not dispatch.held and not dispatch.finished and not halt.is_set():
            halt.reason = f"every cluster worker was lost (the last: {lost_why})"
    finally:
        pool.close()
        _remove_parts_of(writers, {item.target.parent for item in plan.items})
        if dispatch.retried:
            report.notes.append(f"{len(dispatch.retried)} photo(s) were tried again after their cluster worker was "
                                "lost")
        report.engine = f"{', '.join(sorted(engines)) or report.engine}, {count} worker(s) on {len(nodes)} Ray node(s)"
        _close(report, plan, halt, cancel, records, started, done < total)


def _remove_parts_of(pids: set[int], folders: set[Path]) -> None:
    """Part files (``atomic_write``'s ``.clearbg.<pid>-….part``) of this job's workers, all ended now: a worker
    killed while writing left one (found by the two-node test, a SIGKILL mid-write). By pid, not by whether the
    process is alive here: a worker on another node is not a process of this machine."""
    for folder in folders:
        for pid in pids:
            for path in folder.glob(f"{PART_PREFIX}{pid}-*{PART_SUFFIX}"):
                path.unlink(missing_ok=True)


def _close(report: BatchReport, plan: BatchPlan, halt: Halt, cancel: threading.Event, records: OutputRecords,
           started: float, unfinished: bool) -> None:
    report.results[:] = in_plan_order(report.results, plan)
    report.cancelled = cancel.is_set() and not halt.reason and unfinished
    report.stopped = halt.reason
    if records.note() and records.note() not in report.notes:
        report.notes.append(records.note())
    report.elapsed = time.perf_counter() - started
