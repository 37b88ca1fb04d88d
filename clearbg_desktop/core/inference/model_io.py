"""Photo in, alpha out, around any engine: the resize, normalisation, output check, stretch and upsampling that
every engine (PyTorch, ONNX Runtime) and training share, without importing torch."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.weights import WeightsError

MODEL_INPUT_SIZE = 320
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def resize_for_model(rgb: Image.Image, size: int = MODEL_INPUT_SIZE) -> Image.Image:
    """The recipe's RescaleT: a square, bilinear (antialiased) resize of the whole photo."""
    return rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)


def default_cpu_threads() -> int:
    """All cores, capped at 8 so a batch leaves cores for decoding and encoding (bench/RESULTS.md
    measures 1 vs 2 threads; the cap itself is a guess not yet measured on bigger machines)."""
    return max(1, min(os.cpu_count() or 1, 8))


class ModelOutputError(WeightsError):
    """A model gave NaN, infinite or wrongly shaped maps: the photo fails, never an empty cut-out "exported"."""


def checked_maps(maps: np.ndarray, count: int, size: int, model: str) -> np.ndarray:
    """The model's first output as every family's must be, (count, 1, size, size) and finite; else
    :class:`ModelOutputError` naming the model (whatever its family, however it was installed)."""
    shape = tuple(np.shape(maps))
    if shape != (count, 1, size, size):
        raise ModelOutputError(f"the model {model!r} gave an output of shape {list(shape)[:6]}, not the "
                               f"{count}×1×{size}×{size} map a mask needs; the model is broken, not the photo")
    if not np.isfinite(maps).all():
        raise ModelOutputError(f"the model {model!r} gave NaN or infinite values instead of a mask; the model is "
                               "broken, not the photo")
    return maps


def stretch_to_full_range(probability: np.ndarray, min_range: float = 0.05) -> np.ndarray:
    """Per-image min-max stretch of the fused map, as U²-Net's own test script and rembg do.

    Without it an under-confident model leaves the subject half transparent. The metrics
    (pysodmetrics) apply the same stretch, so this changes what users see, not the scores.
    A nearly flat map (range < ``min_range``: no subject found) is left alone, not amplified.
    """
    low, high = float(probability.min()), float(probability.max())
    if high - low < min_range:
        return probability
    return (probability - low) / (high - low)


def upsample_alpha(probability: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Model-resolution probability (float, HxW) -> 8-bit alpha at the photo's (width, height)."""
    small = Image.fromarray((probability * 255.0 + 0.5).clip(0, 255).astype(np.uint8), "L")
    return small.resize(size, Image.Resampling.BILINEAR)
