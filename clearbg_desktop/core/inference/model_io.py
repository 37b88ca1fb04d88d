"""Photo in, alpha out, around any engine: the resize, normalisation, output check, stretch and upsampling that
every engine (PyTorch, ONNX Runtime) and training share, without importing torch."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.weights import WeightsError

MODEL_INPUT_SIZE = 320
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# The ways of making the model's square input that ``python -m training validate`` compares (issue #45). Every
# engine and precision (PyTorch fp32/bf16, ONNX Runtime fp32/int8), the CLI, the window, the batch and training's
# evaluation reach the model through :func:`resize_for_model` only, so this one name decides for all of them.
INPUT_RESIZES = {  # fastest first on a 12 MP photo (bench/input_resize.py): the harness breaks a tie of equal masks so
    "bilinear-plain": "bilinear sampling, not antialiased (OpenCV's INTER_LINEAR to 1 level)",
    "bilinear-gap3": "Pillow bilinear (antialiased) after an integer box reduction (reducing_gap=3): before #45",
    "lanczos-gap3": "Pillow Lanczos-3 after an integer box reduction (reducing_gap=3): the same as lanczos below "
                    "1920 px, ~3x faster on a 12 MP photo",
    "area": "Pillow box filter: the mean of the pixels each input pixel covers (close to OpenCV's INTER_AREA)",
    "bilinear": "Pillow bilinear, antialiased (triangle filter widened by the scale), no pre-reduction",
    "lanczos": "Pillow Lanczos-3, antialiased: rembg's and the U²-Net authors' test script's",
}
DEFAULT_INPUT_RESIZE = "bilinear-gap3"  # any model the harness has not chosen another for
# What ``python -m training validate`` chose per U²-Net architecture on people-val and coco-objects (#45,
# bench/RESULTS.md §17): the full model gains on objects (max Fβ +0.023, S +0.015, beyond noise) and loses on no
# set; for the small one no resize won beyond noise, so it keeps the default.
MEASURED_INPUT_RESIZES = {"full": "lanczos-gap3"}


def input_resize_for(variant: str) -> str:
    """The input resize a U²-Net of ``variant`` ("full", "small", …) runs with unless told otherwise."""
    return MEASURED_INPUT_RESIZES.get(variant, DEFAULT_INPUT_RESIZE)


def resize_for_model(rgb: Image.Image, size: int = MODEL_INPUT_SIZE, method: str | None = None) -> Image.Image:
    """The photo as the model's ``size``×``size`` square input, by ``method`` (one of :data:`INPUT_RESIZES`;
    None: :data:`DEFAULT_INPUT_RESIZE`, the one chosen on people-val and a held-out objects set)."""
    method = method or DEFAULT_INPUT_RESIZE
    square = (size, size)
    if method == "bilinear-gap3":
        return rgb.resize(square, Image.Resampling.BILINEAR, reducing_gap=3.0)
    if method == "bilinear":
        return rgb.resize(square, Image.Resampling.BILINEAR)
    if method == "lanczos":
        return rgb.resize(square, Image.Resampling.LANCZOS)
    if method == "lanczos-gap3":
        return rgb.resize(square, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if method == "area":
        return rgb.resize(square, Image.Resampling.BOX)
    if method == "bilinear-plain":  # a point-sampled affine map: Pillow widens no filter for it
        return rgb.transform(square, Image.Transform.EXTENT, (0, 0, rgb.width, rgb.height),
                             Image.Resampling.BILINEAR)
    raise ValueError(f"unknown input resize {method!r}; one of {', '.join(INPUT_RESIZES)}")


def model_input(rgbs: Sequence[Image.Image], size: int, method: str | None = None,
                flip_average: bool = False) -> np.ndarray:
    """uint8 NHWC: each photo resized by :func:`resize_for_model`; with ``flip_average`` the mirrored copies
    follow (N photos -> 2N inputs), for :func:`average_flips` after the model."""
    batch = np.stack([np.asarray(resize_for_model(rgb, size, method)) for rgb in rgbs])
    return np.concatenate([batch, batch[:, :, ::-1]]) if flip_average else batch


def average_flips(probability: np.ndarray, flip_average: bool) -> np.ndarray:
    """Undo :func:`model_input`'s mirroring: the mean of each photo's map and its mirrored copy's map mirrored
    back (test-time augmentation, "best quality+"); ``probability`` is (N or 2N, S, S), before the stretch."""
    if not flip_average:
        return probability
    count = len(probability) // 2
    return ((probability[:count] + probability[count:, :, ::-1]) / 2.0).astype(np.float32)


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
