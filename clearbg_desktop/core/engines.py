"""Which inference engine runs the model: PyTorch where torch is installed, else ONNX Runtime.

Why two: an install from source has torch (CUDA, Apple MPS, bf16 on CPUs that have it); the standalone app
ships without torch, 415 MiB lighter, and runs the bundled weights as ONNX. ``CLEARBG_ENGINE`` (``torch`` or
``onnxruntime``) forces one, for benchmarks and tests.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from clearbg_desktop.core.devices import has_torch
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


def chosen_engine(preference: str | None = None) -> str:
    """``torch`` or ``onnxruntime``: the preference, else ``CLEARBG_ENGINE``, else torch when installed."""
    preference = preference or os.environ.get("CLEARBG_ENGINE", "auto") or "auto"
    if preference not in ENGINES:
        raise WeightsError(f"unknown engine {preference!r}; choose one of {', '.join(ENGINES)}")
    if preference == "auto":
        return "torch" if has_torch() else "onnxruntime"
    return preference


def load_segmenter(model_name: str = "small", device: str = "auto", threads: int | None = None,
                   precision: str = "auto", engine: str | None = None) -> Engine:
    """The named model, verified and loaded on the chosen engine (``WeightsError`` with a clear message)."""
    if chosen_engine(engine) == "torch":
        from clearbg_desktop.core.segmenter import Segmenter

        return Segmenter.from_weights(model_name, device=device, threads=threads, precision=precision)
    from clearbg_desktop.core.onnx_engine import OnnxSegmenter

    entry = find_weights(model_name)
    if entry.format != "onnx":
        raise WeightsError(f"the {model_name!r} model is a PyTorch file ({entry.path.name}); this ClearBG runs "
                           "ONNX models only (it ships without PyTorch)")
    return OnnxSegmenter(entry, threads)
