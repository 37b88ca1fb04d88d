"""Which inference engine runs the model: the fastest one that keeps the masks' quality, per machine.

Why two: an install from source has torch (CUDA, Apple MPS, bf16 on CPUs that have it); the standalone app
ships without torch, 415 MiB lighter, and runs the bundled weights as ONNX. Where both are installed and the
model would run on a CPU in fp32 (no native bf16), ONNX Runtime is the faster fp32 engine (bench/RESULTS.md
sections 9 and 11; the same masks to four decimals on people-val), so "auto" takes it, from an ONNX copy of
the weights exported once into the user data folder. ``CLEARBG_ENGINE`` (``torch`` or ``onnxruntime``) forces
one, for benchmarks and tests.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from clearbg_desktop.core.devices import has_torch, is_installed
from clearbg_desktop.core.weights import WeightsError, find_weights

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from PIL import Image

    from clearbg_desktop.core.weights import WeightsEntry

ENGINES = ("auto", "torch", "onnxruntime")


class Device(Protocol):
    @property
    def type(self) -> str: ...


class Engine(Protocol):
    """What the GUI, the batch and the CLI use of a loaded model."""

    engine: str
    weights: WeightsEntry | None
    input_size: int
    precision: str

    @property
    def device(self) -> Device: ...

    @property
    def description(self) -> str: ...

    def predict_probabilities(self, rgbs: Sequence[Image.Image]) -> np.ndarray: ...

    def predict_alphas(self, rgbs: Sequence[Image.Image]) -> list[Image.Image]: ...

    def predict_alpha(self, rgb: Image.Image) -> Image.Image: ...


def chosen_engine(preference: str | None = None, device: str = "auto", precision: str = "auto") -> str:
    """``torch`` or ``onnxruntime``: the preference, else ``CLEARBG_ENGINE``, else the faster one here."""
    preference = preference or os.environ.get("CLEARBG_ENGINE", "auto") or "auto"
    if preference not in ENGINES:
        raise WeightsError(f"unknown engine {preference!r}; choose one of {', '.join(ENGINES)}")
    if preference != "auto":
        return preference
    if not has_torch() or onnx_runs_faster_here(device, precision):
        return "onnxruntime"
    return "torch"


def onnx_runs_faster_here(device: str, precision: str) -> bool:
    """Both engines installed, and PyTorch would run fp32 on the CPU: ONNX Runtime is the faster fp32 engine."""
    if not (has_torch() and is_installed("onnxruntime")) or precision != "auto":
        return False
    from clearbg_desktop.core.devices import choose_device, choose_precision

    chosen = choose_device(device)
    return chosen.type == "cpu" and choose_precision(chosen, precision) == "fp32"


def onnx_copy(entry: WeightsEntry) -> WeightsEntry:
    """``entry`` as ONNX: itself, or a copy exported once into the user data folder (checked by its hash)."""
    if entry.format == "onnx":
        return entry
    import dataclasses
    import json

    from clearbg_desktop.core.file_hash import sha256_file
    from clearbg_desktop.core.image_io import write_atomic
    from clearbg_desktop.core.paths import data_dir

    folder = data_dir() / "onnx-cache"
    path = folder / f"{entry.sha256[:16]}-{entry.input_size}.onnx"
    record = path.with_suffix(".json")
    known = ""
    try:
        if path.is_file():
            known = str(json.loads(record.read_text(encoding="utf-8"))["sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        known = ""
    if not known or sha256_file(path) != known:
        from clearbg_desktop.core.onnx_export import onnx_bytes
        from clearbg_desktop.core.weights import load_model

        write_atomic(onnx_bytes(load_model(entry), entry.input_size), path, overwrite=True)
        known = sha256_file(path)
        write_atomic(json.dumps({"sha256": known, "exported_from": entry.sha256}).encode(), record, overwrite=True)
    return dataclasses.replace(entry, path=path, sha256=known, format="onnx")


def load_segmenter(model_name: str = "small", device: str = "auto", threads: int | None = None,
                   precision: str = "auto", engine: str | None = None) -> Engine:
    """The named model, verified and loaded on the chosen engine (``WeightsError`` with a clear message)."""
    if chosen_engine(engine, device, precision) == "torch":
        from clearbg_desktop.core.segmenter import Segmenter

        return Segmenter.from_weights(model_name, device=device, threads=threads, precision=precision)
    from clearbg_desktop.core.onnx_engine import OnnxSegmenter

    entry = find_weights(model_name)
    if entry.format != "onnx":
        if not has_torch():
            raise WeightsError(f"the {model_name!r} model is a PyTorch file ({entry.path.name}); this ClearBG runs "
                               "ONNX models only (it ships without PyTorch)")
        entry = onnx_copy(entry)
    return OnnxSegmenter(entry, threads)
