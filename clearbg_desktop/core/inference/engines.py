"""Loading a model on an inference engine: PyTorch (CPU, CUDA, MPS; fp32 or bf16) or ONNX Runtime (CPU, or a GPU
through its CUDA, DirectML or CoreML provider: ``core.inference.accelerators``).

Why two: an install from source has torch (GPUs); the standalone app ships without torch, 415 MiB lighter,
and runs the weights as ONNX. Which one runs a model here is decided by ``core.inference.engine_choice`` (masks equal
to fp32's first, then the speed measured on this machine); a PyTorch file runs on ONNX Runtime from an ONNX
copy exported once into the user data folder. ``CLEARBG_ENGINE`` / ``CLEARBG_PRECISION`` force a choice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from clearbg_desktop.core.inference.accelerators import AcceleratorUnavailable
from clearbg_desktop.core.inference.devices import has_torch, is_installed
from clearbg_desktop.core.inference.engine_choice import (
    ENGINES,
    Candidate,
    EngineChoice,
    EngineChoiceError,
    choose_engine,
    sample_photo,
    time_engines,
)
from clearbg_desktop.core.inference.weights import WeightsError, find_weights

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import numpy as np
    from PIL import Image

    from clearbg_desktop.core.inference.weights import WeightsEntry

__all__ = ["ENGINES", "Engine", "build_engine", "load_segmenter", "onnx_copy"]


class Device(Protocol):
    @property
    def type(self) -> str: ...


class Engine(Protocol):
    """What the GUI, the batch and the CLI use of a loaded model."""

    engine: str
    weights: WeightsEntry | None
    input_size: int
    precision: str
    choice_reason: str  # why this engine runs here, for the status bar, the CLI and the batch log
    untimed: bool  # the fp32 reference, loaded before the engines here were timed (engine_choice.time_engines)
    model_entry: WeightsEntry | None  # the installed model as listed (``weights`` may be its ONNX Runtime copy)
    input_resize: str | None  # None: the model's own (model_io.input_resize_for, chosen by ``training validate``)
    flip_average: bool  # "best quality+": the mirrored photo's map averaged in, twice the model time (opt-in)

    @property
    def device(self) -> Device: ...

    @property
    def resolved_input_resize(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def architecture(self) -> tuple[str, str]: ...  # (family, variant), e.g. ("u2net", "full")

    def accepts_side(self, side: int) -> bool: ...  # whether predict_probabilities can run at another square side

    def predict_probabilities(self, rgbs: Sequence[Image.Image], side: int | None = None,
                              flip_average: bool | None = None) -> np.ndarray: ...

    def predict_alphas(self, rgbs: Sequence[Image.Image]) -> list[Image.Image]: ...

    def predict_alpha(self, rgb: Image.Image) -> Image.Image: ...


def build_engine(entry: WeightsEntry, candidate: Candidate, threads: int | None = None,
                 lean_memory: bool = False) -> Engine:
    """``entry`` loaded on exactly ``candidate``'s engine, device and precision; ``lean_memory`` trades ONNX
    Runtime's ~15 % faster memory arena for ~560 MiB less (the window's choice)."""
    if candidate.engine == "torch":
        from clearbg_desktop.core.inference.segmenter import Segmenter
        from clearbg_desktop.core.inference.weights import load_model

        return Segmenter(load_model(entry), device=candidate.device, threads=threads, input_size=entry.input_size,
                         weights=entry, precision=candidate.precision)
    from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter

    if entry.format != "onnx":
        if not has_torch():
            raise WeightsError(f"the {entry.name!r} model is a PyTorch file ({entry.path.name}); this ClearBG runs "
                               "ONNX models only (it ships without PyTorch)")
        entry = onnx_copy(entry)
    return OnnxSegmenter(entry, threads, lean_memory, accelerator=None if candidate.device == "cpu" else
                         candidate.device)


def candidate_runner(entry: WeightsEntry, threads: int | None = None,
                     broken: list[WeightsError] | None = None) -> Callable[[Candidate], Callable[[], np.ndarray]]:
    """For the per-machine measurement: load a candidate, return a call that maps the sample photo. A NaN or
    misshapen output is kept in ``broken``: then the model is at fault, not the engines."""
    from clearbg_desktop.core.inference.model_io import ModelOutputError

    def run(candidate: Candidate) -> Callable[[], np.ndarray]:
        photo = sample_photo()
        engine = build_engine(entry, candidate, threads)

        def predict() -> np.ndarray:
            try:
                return engine.predict_probabilities([photo])[0]
            except ModelOutputError as exc:
                if broken is not None:
                    broken.append(exc)
                raise

        return predict

    return run


ONNX_COPIES = "onnx-cache"  # in the user data folder, and (made by the set-up, read-only) beside the bundled weights
#: In the copy's name: copies made before the square's side was free (#39's smaller box view) are not reused.
ONNX_COPY_FORM = "any-side"


def _copy_paths(entry: WeightsEntry, folder: Path) -> tuple[Path, Path]:
    path = folder / ONNX_COPIES / f"{entry.sha256[:16]}-{entry.input_size}-{ONNX_COPY_FORM}.onnx"
    return path, path.with_suffix(".json")


def _copy_folders() -> list[Path]:
    from clearbg_desktop.core.paths import bundled_weights_dir, data_dir

    return [bundled_weights_dir(), data_dir()]


def onnx_copy_ready(entry: WeightsEntry) -> bool:
    """Whether ``entry`` runs on ONNX Runtime without an export first (an ONNX file, or a copy already made);
    cheap: the copy's hash is checked when it is used."""
    return entry.format == "onnx" or any(all(p.is_file() for p in _copy_paths(entry, folder))
                                         for folder in _copy_folders())


def onnx_copy(entry: WeightsEntry, into: Path | None = None) -> WeightsEntry:
    """``entry`` as ONNX: itself, or a copy exported once (checked by its hash) — the set-up's beside the bundled
    weights, else the user data folder's, else made now into the user data folder (or ``into``).

    The copy is only a cache: where it cannot be read or written (a read-only data folder, a folder or a file in
    its place, mode 000) the model is exported for this run into a private temporary file, and again next time.
    """
    if entry.format == "onnx":
        return entry
    import dataclasses
    import hashlib
    import json

    from clearbg_desktop.core.file_hash import sha256_file
    from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
    from clearbg_desktop.core.paths import read_user_file

    for folder in ([into] if into is not None else _copy_folders()):
        path, record = _copy_paths(entry, folder)
        try:
            known = json.loads(read_user_file(record, 64 * 1024).decode("utf-8"))["sha256"]
            if isinstance(known, str) and path.is_file() and sha256_file(path) == known:
                return dataclasses.replace(entry, path=path, sha256=known, format="onnx")
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            pass  # no copy there, or one that cannot be used
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes
    from clearbg_desktop.core.inference.weights import load_model

    path, record = _copy_paths(entry, into if into is not None else _copy_folders()[-1])
    data = onnx_bytes(load_model(entry), entry.input_size, entry.storage)
    known = hashlib.sha256(data).hexdigest()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(data, path, overwrite=True, mode=0o600 if into is None else 0o644)
        write_atomic(json.dumps({"sha256": known, "exported_from": entry.sha256}).encode(), record, overwrite=True,
                     mode=0o600 if into is None else 0o644)
    except (OutputError, OSError):
        path = _private_copy(data, path.name)
    else:
        _remove_older_copy(entry, path.parent)
    return dataclasses.replace(entry, path=path, sha256=known, format="onnx")


def _remove_older_copy(entry: WeightsEntry, copies: Path) -> None:
    """The copy of ``entry`` an earlier version made (one side only; the full model's is 88-176 MB): replaced, so
    not left on the user's disk. Only plain files of exactly its names are removed."""
    for suffix in (".onnx", ".json"):
        older = copies / f"{entry.sha256[:16]}-{entry.input_size}{suffix}"
        try:
            if older.is_file() and not older.is_symlink():
                older.unlink()
        except OSError:
            pass  # a cache left behind costs disk, not a result


def prepare_bundled_onnx_copies() -> list[str]:
    """The set-up's step: ONNX Runtime copies of the bundled PyTorch models, beside them, so the first photo after
    install runs on the fast CPU engine without a 10-25 s export (issue #37). Returns the models prepared."""
    from clearbg_desktop.core.inference.weights import read_weights_manifest
    from clearbg_desktop.core.paths import bundled_weights_dir

    prepared = []
    for entry in read_weights_manifest(bundled_weights_dir()).values():
        if entry.format != "onnx" and entry.path.is_file() and is_installed("onnxruntime") and has_torch():
            onnx_copy(entry, into=bundled_weights_dir())
            prepared.append(entry.name)
    return prepared


def _private_copy(data: bytes, name: str) -> Path:
    """``data`` in a temporary folder of this process's own, removed when it exits."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="clearbg-onnx-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / name
    path.write_bytes(data)
    return path


def load_segmenter(model_name: str | None = None, device: str = "auto", threads: int | None = None,
                   precision: str = "auto", engine: str | None = None,
                   on_measure: Callable[[str], None] | None = None, lean_memory: bool = False,
                   measure: bool = True, flip_average: bool = False) -> Engine:
    """The named model (``None``/``auto``: the default one), verified and loaded on the engine this machine runs
    it best on with fp32's masks; ``WeightsError`` with a clear message otherwise. ``measure=False``: never time
    the engines first; untimed, the fp32 reference is loaded (``engine.untimed``) and :func:`time_engines_of`
    can time them later. ``flip_average``: "best quality+" (bench/RESULTS.md §17), twice the model time."""
    from clearbg_desktop.core.inference.model_choice import resolve_model

    entry = find_weights(resolve_model(model_name).name)
    broken: list[WeightsError] = []
    try:
        choice = choose_engine(entry, device, engine, precision, threads,
                               run=candidate_runner(entry, threads, broken), on_measure=on_measure, measure=measure,
                               onnx_ready=not measure and is_installed("onnxruntime") and onnx_copy_ready(entry))
    except EngineChoiceError as exc:
        raise WeightsError(str(broken[0] if broken else exc)) from None
    try:
        loaded = build_engine(entry, choice.candidate, threads, lean_memory)
    except AcceleratorUnavailable as exc:  # timed fine before, gone now (a driver update, a GPU unplugged)
        from dataclasses import replace

        cpu = Candidate("onnxruntime", "cpu", "fp32")
        loaded = build_engine(entry, cpu, threads, lean_memory)
        choice = replace(choice, candidate=cpu, reason=f"on the CPU: {exc}")
    loaded.choice_reason = choice.reason
    loaded.untimed = choice.untimed
    loaded.model_entry = entry  # timings are kept under the installed file's hash, not its ONNX copy's
    loaded.flip_average = flip_average
    return loaded


def time_engines_of(loaded: Engine, device: str = "auto", threads: int | None = None,
                    should_stop: Callable[[], bool] = lambda: False) -> EngineChoice | None:
    """Time the engines of ``loaded``'s model here (cached for every later start) and say which wins; None for a
    model without weights. ``TimingStopped`` when ``should_stop`` said so before a run."""
    entry = loaded.model_entry or loaded.weights
    if entry is None:
        return None
    return time_engines(entry, candidate_runner(entry, threads), device, threads=threads, should_stop=should_stop)


def faster_engine(loaded: Engine, choice: EngineChoice, threads: int | None = None,
                  lean_memory: bool = False) -> Engine | None:
    """The winner of a timing loaded, when it is not ``loaded``'s engine already (then None, and ``loaded``
    has its reason). Load it in a thread of normal priority: ONNX Runtime's threads keep their creator's."""
    candidate = choice.candidate
    entry = loaded.model_entry or loaded.weights
    if (candidate.engine, candidate.precision, candidate.device) == (loaded.engine, loaded.precision,
                                                                    loaded.device.type) or entry is None:
        loaded.choice_reason = choice.reason
        return None
    faster = build_engine(entry, candidate, threads, lean_memory)
    faster.choice_reason = choice.reason
    faster.model_entry = entry
    faster.input_resize, faster.flip_average = loaded.input_resize, loaded.flip_average  # the same masks, faster
    return faster
