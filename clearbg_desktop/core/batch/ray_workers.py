"""The Ray side of a cluster batch (:mod:`core.batch.cluster`): the only module that imports ``ray``, and only
when a cluster run starts, so neither the app nor ``clearbg-cli`` without ``--cluster`` ever loads it (the
bundle ships without it).

Each worker is a Ray actor that loads the model once and runs the local batch's own pipeline
(:func:`core.batch.running.write_photos`: decode, model and encode overlapped, atomic writes) in a thread of its
own, on photos the driver feeds it; the driver collects the results one call at a time. A stream of calls rather
than a Ray generator, because Ray Client (``ray://``) does not carry generators of actor methods.
"""


from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from clearbg_desktop.core.batch.report import FileResult
from clearbg_desktop.core.batch.running import Halt, PhotoWriter, Placed, write_photos

if TYPE_CHECKING:
    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.core.inference.engines import Engine

COLLECT_WAIT_S = 0.5  # a worker answers "collect" at its first result, or after this with none


class ClusterError(Exception):
    """The cluster cannot run the job at all (Ray missing, no cluster at the address): one line for the user."""


@dataclass(frozen=True)
class EngineSpec:
    """What every worker loads: the model by name, checked by its SHA-256 against the driver's, on the engine and
    precision the driver chose (the local batch's choice on this machine), so each worker writes the local
    batch's bytes. ``engine`` None: each worker chooses as an untimed local batch would (a GPU node)."""

    model: str
    sha256: str
    device: str = "auto"
    threads: int = 1
    engine: str | None = None
    precision: str = "auto"
    input_resize: str | None = None
    flip_average: bool = False

    @classmethod
    def of(cls, segmenter: Engine, threads: int = 1) -> EngineSpec:
        entry = segmenter.model_entry or segmenter.weights
        if entry is None:
            raise ClusterError("a model without a weights file cannot be sent to cluster workers")
        return cls(entry.name, entry.sha256, segmenter.device.type, threads, segmenter.engine, segmenter.precision,
                   segmenter.input_resize, segmenter.flip_average)

    def load(self) -> Engine:
        """The model on this node, refused when its file is not the driver's (masks would differ)."""
        from clearbg_desktop.core.inference.engines import load_segmenter
        from clearbg_desktop.core.inference.weights import WeightsError

        loaded = load_segmenter(self.model, device=self.device, threads=self.threads, precision=self.precision,
                                engine=self.engine, measure=False)
        entry = loaded.model_entry or loaded.weights
        if entry is None or entry.sha256 != self.sha256:
            here = entry.short_hash if entry is not None else "none"
            raise WeightsError(f"the model {self.model!r} on {socket.gethostname()} is not the driver's (SHA-256 "
                               f"{here}…, the driver's {self.sha256[:12]}…): install the same file on every node")
        loaded.input_resize, loaded.flip_average = self.input_resize, self.flip_average
        return loaded


@dataclass(frozen=True)
class Job:
    """What every worker of one batch is told once: the engine, the export options, the policy, the boxes."""

    spec: EngineSpec
    options: ExportOptions
    existing: str
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    gpu_share: float = 0.0  # of one GPU per worker (device "cuda"): below 1, several workers share a GPU


class PhotoWorker:
    """One worker (a Ray actor, threaded so that ``feed``, ``collect`` and ``stop`` answer while it works).

    ``feed`` queues placed photos; ``flush`` says no more are coming for now, so the pipeline finishes the ones it
    holds instead of waiting for more (it asks for the next photo before it finishes the last)."""

    def __init__(self, job: Job) -> None:
        self.segmenter = job.spec.load()
        self.halt = Halt(threading.Event())
        self.writer = PhotoWriter(job.options, job.existing, self.halt, record=None)  # the driver keeps the records
        self.boxes = job.boxes
        self.work: queue.SimpleQueue[Placed | None] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[FileResult] = queue.SimpleQueue()
        self.failure = ""
        self.thread = threading.Thread(target=self._run, name="clearbg-cluster-worker", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.halt.is_set():
                for result in write_photos(iter(self.work.get, None), self.segmenter, self.writer, boxes=self.boxes):
                    self.results.put(result)
        except BaseException as exc:  # noqa: BLE001 - said to the driver, which retries this worker's photos
            self.failure = f"{type(exc).__name__}: {exc}"

    def where(self) -> dict[str, Any]:
        """Where this worker runs and what it runs: the driver's first call, answered once the model is loaded."""
        import ray

        return {"host": socket.gethostname(), "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
                "engine": self.segmenter.description}

    def feed(self, work: list[Placed], flush: bool) -> None:
        for placed in work:
            self.work.put(placed)
        if flush:
            self.work.put(None)

    def collect(self, wait: float = COLLECT_WAIT_S) -> tuple[list[FileResult], str, str, bool]:
        """(results since the last call, the halt's reason (a full disk), a failure of the worker itself, whether
        it has stopped): at the first result, or after ``wait`` seconds with none."""
        results: list[FileResult] = []
        try:
            results.append(self.results.get(timeout=wait))
            while True:
                results.append(self.results.get_nowait())
        except queue.Empty:
            pass
        return results, self.halt.reason, self.failure, not self.thread.is_alive()

    def stop(self) -> None:
        """Cancel: the photo being written is finished, nothing new starts."""
        self.halt.cancel.set()
        self.work.put(None)


@dataclass(frozen=True)
class Event:
    """What happened to one worker: "ready" (``info``: where it runs), "results", or "lost" (``why``)."""

    worker: int
    kind: str
    results: tuple[FileResult, ...] = ()
    halt_reason: str = ""
    stopped: bool = False
    info: dict[str, Any] | None = None
    why: str = ""


class RayWorkers:
    """Workers on a Ray cluster, as the driver sees them: started, fed, stopped, and their events.

    ``address``: "auto" starts a Ray of this machine's own inside this process (nothing to set up; any other Ray
    on the machine is left alone); otherwise a cluster's address, ``ray://HOST:10001`` (Ray Client, from any
    machine) or ``HOST:6379`` (from a node of the cluster)."""

    def __init__(self, address: str = "auto") -> None:
        try:
            import ray
        except ImportError:
            raise ClusterError("running on a cluster needs Ray: pip install 'clearbg-desktop[cluster]'") from None
        self.ray = ray
        self.owns_ray = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
            if address == "auto":
                kwargs["include_dashboard"] = False
            try:
                ray.init(address="local" if address == "auto" else address, **kwargs)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc}") from None
            self.owns_ray = True
        self.actor_class = ray.remote(PhotoWorker)
        self.actors: dict[int, Any] = {}
        self.calls: dict[Any, tuple[int, str]] = {}  # outstanding call -> (worker, "ready" | "collect")
        self.next_id = 0

    def cpus(self) -> int:
        return int(self.ray.cluster_resources().get("CPU", 1))

    def gpus(self) -> int:
        return int(self.ray.cluster_resources().get("GPU", 0))

    def nodes(self) -> int:
        return sum(1 for node in self.ray.nodes() if node.get("Alive"))

    def start(self, job: Job) -> int:
        """A new worker (one model load); its "ready" event says where it runs, or "lost" why it could not start."""
        worker = self.next_id
        self.next_id += 1
        actor: Any = self.actor_class.options(num_cpus=job.spec.threads, num_gpus=job.gpu_share, max_concurrency=4,
                                         max_restarts=0).remote(job)
        self.actors[worker] = actor
        self.calls[actor.where.remote()] = (worker, "ready")
        return worker

    def feed(self, worker: int, work: list[Placed], flush: bool) -> None:
        self.actors[worker].feed.remote(work, flush)  # fire and forget: a lost worker is seen by its collect

    def collect(self, worker: int) -> None:
        self.calls[self.actors[worker].collect.remote()] = (worker, "collect")

    def stop(self, worker: int) -> None:
        if worker in self.actors:
            self.actors[worker].stop.remote()

    def events(self, timeout: float) -> list[Event]:
        """The events of the calls that answered within ``timeout`` seconds; a worker answers "collect" within
        :data:`COLLECT_WAIT_S`, so an empty list means it is still loading the model or waiting for a node."""
        from ray.exceptions import RayError

        if not self.calls:
            return []
        ready, _ = self.ray.wait(list(self.calls), num_returns=len(self.calls), timeout=timeout)
        events = []
        for ref in ready:
            worker, call = self.calls.pop(ref)
            if worker not in self.actors:
                continue
            try:
                answer = self.ray.get(ref)
            except RayError as exc:
                self.forget(worker)
                events.append(Event(worker, "lost", why=_one_line(exc)))
                continue
            if call == "ready":
                events.append(Event(worker, "ready", info=answer))
                self.collect(worker)
                continue
            results, halt_reason, failure, stopped = answer
            if failure:
                self.forget(worker)
                events.append(Event(worker, "lost", tuple(results), why=failure))
                continue
            events.append(Event(worker, "results", tuple(results), halt_reason, stopped))
            if not stopped:
                self.collect(worker)
        return events

    def forget(self, worker: int) -> None:
        actor = self.actors.pop(worker, None)
        if actor is not None:
            self.ray.kill(actor, no_restart=True)
        for ref, (owner, _call) in list(self.calls.items()):
            if owner == worker:
                del self.calls[ref]

    def close(self) -> None:
        for worker in list(self.actors):
            self.forget(worker)
        if self.owns_ray:
            self.ray.shutdown()


def _one_line(error: BaseException) -> str:
    """Ray's errors carry tracebacks and advice; the report keeps the line that says what happened (the last of
    the worker's own traceback when there is one: a model missing on a node, say)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        error = cause
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [line for line in lines if line.split(":")[0].endswith(("Error", "Exception"))]
    return ((said or lines or [type(error).__name__])[-1 if said else 0])[:300]
