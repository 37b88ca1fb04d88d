"""Which engine and precision run a model on this machine: the fastest one whose masks equal fp32's.

Why measured and not read from CPU flags: on a CPU with native bf16 (Xeon AMX, EPYC avx512_bf16) PyTorch
bf16 made the small model's masks worse *and* ran slower than ONNX Runtime fp32 (issue #27); the same flag
means faster elsewhere. So:

1. **Masks first.** fp32 on any engine is the reference and always allowed. Any other precision is allowed
   only where the model's card records a passed check (``precision_checks``, measured on people-val by
   ``python -m training check-engines``: MAE within +0.0005, max Fβ within −0.001, mean |Δα| ≤ 1/255 per
   photo, :data:`QUALITY_RULE`) *and* on this machine its map of the sample photo is within 1/255 of fp32's.
2. **Then speed.** Among the allowed candidates the fastest measured here wins: each is timed once per
   machine and model and the result cached in the user data folder. The window never makes a photo wait for
   that: until the timings exist it runs the reference (fp32 on the engine that needs no conversion, PyTorch's
   GPU first), and :func:`time_engines` measures when it is idle (issue #37: the first cut-out waited 40–60 s).
3. **GPUs through ONNX Runtime** (CUDA, DirectML, CoreML: ``core.inference.accelerators``, issue #41) are
   candidates only where ONNX Runtime lists them, and are never trusted: each one's map of the sample photo must
   be within 1/255 of fp32's *on the CPU*, whatever precision a preference names, and it must be faster. One that
   fails to load or gives other masks is kept in the cache with its reason (:func:`accelerator_notes`, shown in
   Preferences ▸ Models) and the CPU goes on. None is ever the untimed reference: the first photo never waits
   for, or fails on, a GPU that was not tried yet.

A preference (``engine``/``precision`` arguments, ``CLEARBG_ENGINE``/``CLEARBG_PRECISION``) narrows the
candidates; it never bypasses the quality rule unless it names the precision explicitly.

Why one file of ~410 lines: the quality rule, the candidates and the timing cache are one decision, read top to
bottom; the engines themselves are in ``engines.py`` and ``onnx_engine.py``.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from clearbg_desktop.core.inference.devices import has_torch, is_installed

if TYPE_CHECKING:
    from PIL import Image

    from clearbg_desktop.core.inference.weights import WeightsEntry

ENGINES = ("auto", "torch", "onnxruntime")
PRECISIONS = ("auto", "fp32", "bf16")
REFERENCE_PRECISION = "fp32"
#: How far a candidate's masks may be from fp32's on people-val (issue #27's rule).
QUALITY_RULE = {"mae_increase": 0.0005, "max_fbeta_drop": 0.001, "mean_abs_alpha": 1 / 255}
CACHE_NAME = "engine-speeds.json"
CACHE_VERSION = 1
MAX_CACHE_BYTES = 1024 * 1024  # a few hundred bytes per model and machine; anything larger is not our cache
MAX_SECONDS = 3600.0  # a measured time per photo above this is not a measurement
#: A batch times the engines first only when it has at least this many photos for the model: the timing costs
#: about six runs of the model, and the fastest engine saves 10-40 % per photo (bench/RESULTS.md §12).
TIMING_PAYS_FROM_PHOTOS = 40


class EngineChoiceError(ValueError):
    """No engine can run the model as asked; the message says why in one line."""


@dataclass(frozen=True)
class Candidate:
    """One way to run a model: an engine on a device at a precision."""

    engine: str  # torch | onnxruntime
    device: str  # cpu | cuda | mps; ONNX Runtime's accelerators: cuda | dml | coreml
    precision: str  # fp32 | bf16

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.device}:{self.precision}"

    @property
    def label(self) -> str:
        engine = "ONNX Runtime" if self.engine == "onnxruntime" else "PyTorch"
        if self.accelerated:
            from clearbg_desktop.core.inference.accelerators import ACCELERATORS

            return f"{engine} {self.precision} on {ACCELERATORS[self.device].label}"
        return f"{engine} {self.precision} on {self.device.upper()}"

    @property
    def accelerated(self) -> bool:
        """An ONNX Runtime GPU provider: checked against the CPU's map always, never the untimed reference."""
        return self.engine == "onnxruntime" and self.device != "cpu"

    @property
    def is_cpu_reference(self) -> bool:
        """fp32 on the CPU (either engine): the map every other candidate is compared with."""
        return self.device == "cpu" and self.precision == REFERENCE_PRECISION

    @classmethod
    def from_key(cls, key: str) -> Candidate:
        engine, device, precision = key.split(":")
        return cls(engine, device, precision)


def passes_quality_rule(reference: Mapping[str, float], candidate: Mapping[str, float]) -> bool:
    """people-val metrics of a candidate against fp32's: MAE, max Fβ and the worst photo's mean |Δα|."""
    return (candidate["mae"] - reference["mae"] <= QUALITY_RULE["mae_increase"] + 1e-12
            and reference["max_fbeta"] - candidate["max_fbeta"] <= QUALITY_RULE["max_fbeta_drop"] + 1e-12
            and candidate.get("worst_mean_abs_alpha", 0.0) <= QUALITY_RULE["mean_abs_alpha"] + 1e-12)


def card_allows(card: Mapping[str, object], precision: str) -> bool:
    """fp32 always; another precision only with a passed check recorded in the model's card."""
    if precision == REFERENCE_PRECISION:
        return True
    checks = card.get("precision_checks")
    check = checks.get(precision) if isinstance(checks, dict) else None
    return isinstance(check, dict) and check.get("passed") is True


def fastest_allowed(candidates: Sequence[Candidate], allowed: Callable[[Candidate], bool],
                    seconds: Mapping[str, float]) -> Candidate:
    """The allowed candidate with the fewest measured seconds; unmeasured ones count as slowest.

    Ties keep the candidates' order (ONNX Runtime fp32 first on a CPU).
    """
    usable = [c for c in candidates if allowed(c)]
    if not usable:
        raise EngineChoiceError("no engine on this machine gives masks equal to fp32's for this model")
    return min(usable, key=lambda c: (seconds.get(c.key, float("inf")), usable.index(c)))


def requested(engine: str | None, precision: str | None) -> tuple[str, str]:
    """(engine, precision) asked for: the argument, else ``CLEARBG_ENGINE``/``CLEARBG_PRECISION``, else auto."""
    engine = engine or os.environ.get("CLEARBG_ENGINE") or "auto"
    precision = precision if precision and precision != "auto" else os.environ.get("CLEARBG_PRECISION") or "auto"
    if engine not in ENGINES:
        raise EngineChoiceError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if precision not in PRECISIONS:
        raise EngineChoiceError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    return engine, precision


def machine_candidates(device: str = "auto", engine: str = "auto", precision: str = "auto") -> list[Candidate]:
    """What can run here, in the order ties are broken: PyTorch's GPU first, then ONNX Runtime on the CPU, then
    ONNX Runtime's GPU providers that it lists (with the CPU as their reference, whatever the device choice)."""
    found: list[Candidate] = []
    torch_device = "cpu"
    if has_torch() and engine in ("auto", "torch"):
        from clearbg_desktop.core.inference.devices import choose_device, gpu_may_exist

        # Without a GPU torch is not imported to find that out: the ONNX Runtime choice then costs no torch.
        torch_device = choose_device(device).type if device != "cpu" and gpu_may_exist() else "cpu"
        precisions = ("fp32", "bf16") if torch_device in ("cpu", "cuda") else ("fp32",)
        found += [Candidate("torch", torch_device, p) for p in precisions]
    if is_installed("onnxruntime") and engine in ("auto", "onnxruntime"):
        from clearbg_desktop.core.inference.accelerators import available_accelerators

        gpus = [Candidate("onnxruntime", a.device, "fp32") for a in available_accelerators(device)]
        if device in ("auto", "cpu") or gpus:
            found.insert(0 if torch_device == "cpu" else len(found), Candidate("onnxruntime", "cpu", "fp32"))
        found += gpus if device != "cpu" else []
    if precision != "auto":
        found = [c for c in found if c.precision == precision]
    if not found:
        wanted = " ".join(x for x in (engine, precision) if x != "auto") or "any engine"
        raise EngineChoiceError(f"{wanted} is not available here (install onnxruntime, or torch for PyTorch)")
    return found


# ----- the per-machine measurement -----------------------------------------------------------------------


def machine_fingerprint(threads: int | None) -> str:
    """What the timings depend on: CPU model, cores, threads, the engines' versions (and which ONNX Runtime
    wheel: ``onnxruntime-gpu`` or ``-directml`` brings GPU providers, so installing one means measuring again).
    Told from the installed distributions, without importing either engine (Preferences asks it)."""
    cpu, versions = _machine()
    return "|".join([*cpu, f"threads={threads or 'default'}", *versions])


@functools.cache
def _machine() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """CPU model and cores, engine versions: read once per process (listing models asks for every model)."""
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = []
    for package, wheels in (("torch", ("torch",)), ("onnxruntime", ONNXRUNTIME_WHEELS)):
        found = "-"
        for wheel in wheels:
            try:
                found = version(wheel) + ("" if wheel == package else f" ({wheel})")
                break
            except PackageNotFoundError:
                continue
        versions.append(f"{package}={found}")
    return (cpu, f"cores={os.cpu_count()}"), tuple(versions)


#: The wheels that install the ``onnxruntime`` module: the CPU one, and those with a GPU provider.
ONNXRUNTIME_WHEELS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml")


def _cache_path() -> os.PathLike[str]:
    from clearbg_desktop.core.paths import data_dir

    return data_dir() / CACHE_NAME


def read_measurements(entry: WeightsEntry, threads: int | None = None) -> dict:
    """This machine's cached measurement of ``entry`` (``seconds`` and ``agrees`` by candidate key), or {}.

    The file is only a cache that anyone can edit: every entry's type is checked on its own, and one that is not a
    candidate's key with a finite positive time (or a true/false agreement) is left out, so that candidate is
    simply measured again.
    """
    cache = _read_cache()
    machines = cache.get("machines")
    machine = machines.get(machine_fingerprint(threads)) if isinstance(machines, dict) else None
    record = machine.get(entry.sha256) if isinstance(machine, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("seconds"), dict) \
            or not isinstance(record.get("agrees"), dict):
        return {}
    seconds = {key: float(value) for key, value in record["seconds"].items() if _is_key(key)
               and isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < MAX_SECONDS}
    agrees = {key: value for key, value in record["agrees"].items() if _is_key(key) and isinstance(value, bool)}
    checked: dict = {"seconds": seconds, "agrees": agrees}
    if isinstance(record.get("measured"), str):
        checked["measured"] = record["measured"][:40]
    failed = _checked_failures(record.get("failed"))
    if failed:
        checked["failed"] = failed
    return checked


MAX_REASON = 300  # one line in Preferences


def _checked_failures(failed: object) -> dict[str, str]:
    """Why candidates were not used (``failed`` in a cache record): candidate keys with one line of text each."""
    if not isinstance(failed, dict):
        return {}
    return {key: " ".join(value.split())[:MAX_REASON] for key, value in failed.items()
            if _is_key(key) and isinstance(value, str) and value.strip()}


def accelerator_notes(threads: int | None = None) -> list[str]:
    """One line per GPU candidate measured on this machine (any model) and not used, with the reason: what
    Preferences ▸ Models says, once per GPU however many models were measured."""
    machines = _read_cache().get("machines")
    machine = machines.get(machine_fingerprint(threads)) if isinstance(machines, dict) else None
    notes: dict[str, str] = {}
    for record in (machine.values() if isinstance(machine, dict) else ()):
        if not isinstance(record, dict):
            continue
        for key, reason in _checked_failures(record.get("failed")).items():
            candidate = Candidate.from_key(key)
            if candidate.device != "cpu" and key not in notes:
                notes[key] = f"{candidate.label} is not used: {reason}. ClearBG goes on with the CPU."
    return list(notes.values())


def _is_key(key: object) -> bool:
    """Whether ``key`` names a candidate as :attr:`Candidate.key` writes it (``engine:device:precision``)."""
    if not isinstance(key, str):
        return False
    parts = key.split(":")
    return len(parts) == 3 and parts[1] in DEVICES.get(parts[0], ()) and parts[2] in PRECISIONS[1:]


DEVICES = {"torch": ("cpu", "cuda", "mps"), "onnxruntime": ("cpu", "cuda", "dml", "coreml")}  # each engine's


def _read_cache() -> dict:
    """The whole cache file, or {} when it is missing, unreadable, too large or not ours."""
    from pathlib import Path

    from clearbg_desktop.core.paths import read_user_file

    try:
        cache = json.loads(read_user_file(Path(_cache_path()), MAX_CACHE_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return cache if isinstance(cache, dict) and cache.get("version") == CACHE_VERSION else {}


def _write_measurements(entry: WeightsEntry, threads: int | None, record: dict) -> None:
    """Add ``record`` to the cache; a cache that cannot be written only means measuring again next time."""
    from pathlib import Path

    from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic

    cache = _read_cache()
    machines: dict = cache["machines"] if isinstance(cache.get("machines"), dict) else {}
    machine = machines.get(machine_fingerprint(threads))
    machines[machine_fingerprint(threads)] = {**(machine if isinstance(machine, dict) else {}), entry.sha256: record}
    try:
        text = json.dumps({"version": CACHE_VERSION, "machines": machines}, indent=1) + "\n"
        write_atomic(text.encode(), Path(_cache_path()), overwrite=True, mode=0o600)
    except (OutputError, OSError, ValueError, TypeError):
        pass  # read-only, a folder in its place, a value JSON cannot hold: measured again next time


def measure_candidates(candidates: Iterable[Candidate], run: Callable[[Candidate], Callable[[], np.ndarray]],
                       repeats: int = 2, give_up_ratio: float = 2.0) -> dict:
    """Time each candidate's model on the sample photo; compare its map with the fp32 reference's.

    ``run(candidate)`` loads the engine and returns a function giving the probability map. The reference is fp32
    on the CPU (measured first), else the first fp32 candidate; every other candidate's map must be within
    1/255 of it. After one warm-up, a CPU candidate whose warm-up already took ``give_up_ratio`` times the best
    median is not timed further (its warm-up counts as its time): the slow ones cost one run, not three. A GPU
    gets a second warm-up instead (its first runs compile kernels and search algorithms) and is always timed.
    ``failed`` says why a candidate is not usable: it could not load or run (the error), or its masks differ.
    """
    ordered = sorted(candidates, key=lambda c: not c.is_cpu_reference)
    seconds: dict[str, float] = {}
    agrees: dict[str, bool] = {}
    failed: dict[str, str] = {}
    maps: dict[str, np.ndarray] = {}
    for candidate in ordered:
        try:
            predict = run(candidate)
            started = time.perf_counter()
            maps[candidate.key] = predict()
            warm_up = time.perf_counter() - started
            if candidate.accelerated:
                predict()
        except Exception as exc:  # noqa: BLE001 - a candidate that cannot run here is simply not a candidate
            agrees[candidate.key] = False
            reason = getattr(exc, "reason", None)  # an accelerator's own: which library is missing, …
            failed[candidate.key] = reason if isinstance(reason, str) else \
                f"it could not run ({' '.join(str(exc).split())[:MAX_REASON - 40] or type(exc).__name__})"
            continue
        best = min(seconds.values(), default=float("inf"))
        if warm_up > give_up_ratio * best and not candidate.accelerated:
            seconds[candidate.key] = warm_up
        else:
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                predict()
                times.append(time.perf_counter() - started)
            seconds[candidate.key] = statistics.median(times)
    references = [c for c in ordered if c.is_cpu_reference and c.key in maps] or \
        [c for c in ordered if c.precision == REFERENCE_PRECISION and not c.accelerated and c.key in maps][:1]
    reference = maps[references[0].key] if references else None
    for candidate in ordered:
        if candidate.key not in maps:
            continue
        if candidate in references:
            agrees[candidate.key] = True
            continue
        probability = maps[candidate.key]
        if reference is None or probability.shape != reference.shape:
            agrees[candidate.key] = False
            failed[candidate.key] = "there was no fp32 map on the CPU to check its masks against"
            continue
        difference = float(np.abs(probability - reference).mean())
        agrees[candidate.key] = difference <= QUALITY_RULE["mean_abs_alpha"]
        if not agrees[candidate.key]:
            failed[candidate.key] = (f"its masks differ from fp32's on the CPU (mean |Δα| {difference * 255:.2f}/255 "
                                     "on the sample photo; at most 1/255 is allowed)")
    measured: dict = {"seconds": seconds, "agrees": agrees}
    if failed:
        measured["failed"] = failed
    return measured


def sample_photo() -> Image.Image:
    """The photo every machine is timed on (bundled with the app)."""
    from PIL import Image

    from clearbg_desktop.core.paths import resources_dir

    path = resources_dir() / "samples" / "sample.jpg"
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError:  # a trimmed install: a plain gradient times the model just as well
        ramp = np.linspace(0, 255, 320 * 320 * 3).reshape(320, 320, 3).astype(np.uint8)
        return Image.fromarray(ramp, "RGB")


@dataclass(frozen=True)
class EngineChoice:
    """The candidate chosen and why (shown by the CLI, the status bar and the batch log).

    ``untimed``: the engines here were not timed yet and ``candidate`` is the reference, chosen without making
    anyone wait; :func:`time_engines` can then measure them."""

    candidate: Candidate
    reason: str
    measured: dict
    untimed: bool = False


class TimingStopped(Exception):
    """The measurement gave way to the user's work (it is done again another time)."""


def reference_candidate(entry: WeightsEntry, allowed: Sequence[Candidate], onnx_ready: bool = False) -> Candidate:
    """The engine used before any timing: fp32 (allowed everywhere), a GPU when there is one, else ONNX Runtime
    (the faster CPU engine, bench/RESULTS.md §12) when the model needs no export for it (an ONNX file, or a copy
    the set-up made: ``onnx_ready``), else PyTorch (exporting a ``.pt`` to ONNX first takes 10-25 s). A GPU here
    means PyTorch's: ONNX Runtime's providers may fail to load, so they wait for the timing."""
    fp32 = [c for c in allowed if c.precision == REFERENCE_PRECISION and not c.accelerated] or list(allowed)
    gpu = [c for c in fp32 if c.device != "cpu"]
    if gpu:
        return gpu[0]
    native = "onnxruntime" if entry.format == "onnx" or not has_torch() or onnx_ready else "torch"
    return next((c for c in fp32 if c.engine == native), fp32[0])


def _allowed(entry: WeightsEntry, device: str, engine: str | None, precision: str | None
             ) -> tuple[list[Candidate], list[Candidate], bool]:
    """(every candidate here as asked, those the model's card allows, whether the precision was named)."""
    asked = engine
    engine, precision = requested(engine, precision)
    if entry.onnx_only or (entry.format == "onnx" and not has_torch()):
        if asked == "torch":
            raise EngineChoiceError(f"{entry.name} runs on ONNX Runtime only (a quantized model, or another family "
                                    "than U²-Net), not on PyTorch")
        engine = "onnxruntime"  # int8, IS-Net, BiRefNet: the graph is ONNX Runtime's whatever CLEARBG_ENGINE says
    candidates = machine_candidates(device, engine, precision)
    explicit = precision != "auto"
    allowed = [c for c in candidates if explicit or card_allows(entry.card, c.precision)]
    return candidates, allowed, explicit


def _timed(measured: dict, allowed: Sequence[Candidate]) -> bool:
    return all(c.key in measured.get("seconds", {}) or c.key in measured.get("agrees", {}) for c in allowed)


def choose_engine(entry: WeightsEntry, device: str = "auto", engine: str | None = None,
                  precision: str | None = None, threads: int | None = None,
                  run: Callable[[Candidate], Callable[[], np.ndarray]] | None = None,
                  on_measure: Callable[[str], None] | None = None, measure: bool = True,
                  onnx_ready: bool = False) -> EngineChoice:
    """The engine for ``entry`` here: the preference narrows, the card and this machine's check allow, the
    cached (or now measured) speed decides. ``run`` loads a candidate for that measurement (the engines module's
    ``candidate_runner``: passed in, so choosing never imports the engines it chooses between). ``measure=False``:
    when the engines were not timed yet, the reference at once (``untimed``), timed later by :func:`time_engines`;
    ``onnx_ready``: the model runs on ONNX Runtime without an export first (see :func:`reference_candidate`)."""
    candidates, allowed, explicit = _allowed(entry, device, engine, precision)
    if len(allowed) == 1:
        reason = "the only engine here" if len(candidates) == 1 else "the only one with fp32's masks here"
        return EngineChoice(allowed[0], reason, {})
    measured = read_measurements(entry, threads)
    if not _timed(measured, allowed):
        if not measure:
            return EngineChoice(reference_candidate(entry, allowed, onnx_ready), "fp32 reference until the engines here are "
                                "timed (when the app is idle)", measured, untimed=True)
        if on_measure is not None:
            on_measure("Measuring which engine runs this model fastest here (once, a few seconds)…")
        if run is None:
            raise EngineChoiceError(f"{entry.name}: the engines here have not been timed yet, and no runner was "
                                    "given to time them")
        measured = measure_candidates(allowed, run)
        measured["measured"] = datetime.now(UTC).isoformat(timespec="seconds")
        _write_measurements(entry, threads, measured)
    return _fastest(allowed, measured, explicit)


def time_engines(entry: WeightsEntry, run: Callable[[Candidate], Callable[[], np.ndarray]], device: str = "auto",
                 engine: str | None = None, precision: str | None = None, threads: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> EngineChoice:
    """Time the engines allowed here (as :func:`choose_engine` would have), cache it, and say which wins.

    ``should_stop`` is asked before every model run; when it answers True, :class:`TimingStopped` is raised and
    nothing is written (the window times again when it is idle next)."""
    _candidates, allowed, explicit = _allowed(entry, device, engine, precision)
    stopped: list[bool] = []

    def check() -> None:
        if stopped or should_stop():
            stopped.append(True)
            raise TimingStopped

    def stoppable(candidate: Candidate) -> Callable[[], np.ndarray]:
        check()
        predict = run(candidate)

        def predict_unless_stopped() -> np.ndarray:
            check()
            return predict()

        return predict_unless_stopped

    measured = measure_candidates(allowed, stoppable)
    if stopped:
        raise TimingStopped  # the candidate that gave way would count as "cannot run here": never cached
    measured["measured"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write_measurements(entry, threads, measured)
    return _fastest(allowed, measured, explicit)


def _fastest(allowed: Sequence[Candidate], measured: dict, explicit: bool) -> EngineChoice:
    agrees = measured.get("agrees", {})
    # A named precision bypasses the card's check (bf16 on purpose), never a GPU provider's check of its masks.
    chosen = fastest_allowed(allowed, lambda c: (explicit and not c.accelerated) or bool(agrees.get(c.key)),
                             measured.get("seconds", {}))
    seconds = measured.get("seconds", {}).get(chosen.key)
    reason = f"fastest of {len(allowed)} with fp32's masks" + (f", {seconds:.2f} s per photo" if seconds else "")
    return EngineChoice(chosen, reason, measured)
