"""The steps around the model, judged by masks: resize filter, normalisation and upsampling, ours against
rembg's, with the same weights and the same engine (ONNX Runtime fp32), on people-val.

rembg resizes with Lanczos, divides by the image's maximum before ImageNet mean/std, and upsamples the 8-bit
map with Lanczos; ClearBG resized bilinear (antialiased), divided by 255 and upsampled bilinear. Each input
variant costs one model pass per photo; the upsampling variants reuse it.
Usage: python bench/pipeline_candidates.py [DATASET] [--model full] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.inference.engine_choice import Candidate  # noqa: E402
from clearbg_desktop.core.inference.engines import build_engine  # noqa: E402
from clearbg_desktop.core.inference.model_io import IMAGENET_MEAN, IMAGENET_STD, stretch_to_full_range  # noqa: E402
from clearbg_desktop.core.inference.weights import find_weights  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.engine import ValidationSet  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402

RESIZES = {"bilinear": Image.Resampling.BILINEAR, "lanczos": Image.Resampling.LANCZOS}


def model_input(rgb: Image.Image, resize: str, divide_by_max: bool, size: int = 320) -> np.ndarray:
    if resize == "bilinear":
        small = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    else:
        small = rgb.resize((size, size), RESIZES[resize])
    values = np.asarray(small, np.float32)
    values = values / max(float(values.max()), 1e-6) if divide_by_max else values / 255.0
    values = (values - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return values.transpose(2, 0, 1)[None]


def upsample(probability: np.ndarray, photo: Image.Image, how: str) -> np.ndarray:
    size = photo.size
    if how == "bilinear 8-bit":
        small = Image.fromarray((probability * 255 + 0.5).clip(0, 255).astype(np.uint8), "L")
        return np.asarray(small.resize(size, Image.Resampling.BILINEAR))
    if how == "lanczos 8-bit":
        small = Image.fromarray((probability * 255).clip(0, 255).astype(np.uint8), "L")
        return np.asarray(small.resize(size, Image.Resampling.LANCZOS))
    if how == "bilinear float":
        big = Image.fromarray(probability.astype(np.float32), "F").resize(size, Image.Resampling.BILINEAR)
        return (np.asarray(big) * 255 + 0.5).clip(0, 255).astype(np.uint8)
    if how == "guided":
        return guided_upsample(probability, photo)
    raise ValueError(how)


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window, edges clamped, by cumulative sums."""
    padded = np.pad(values, radius + 1, mode="edge")
    summed = padded.cumsum(0).cumsum(1)
    k = 2 * radius + 1
    window = summed[k:, k:] - summed[:-k, k:] - summed[k:, :-k] + summed[:-k, :-k]
    return window[: values.shape[0], : values.shape[1]] / (k * k)


def guided_upsample(probability: np.ndarray, photo: Image.Image, work_long: int = 1024, radius: int = 6,
                    eps: float = 1e-3) -> np.ndarray:
    """He et al.'s guided filter with the photo's luminance as guide, at ``work_long`` px, then bilinear."""
    scale = min(1.0, work_long / max(photo.size))
    work = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
    guide = np.asarray(photo.convert("L").resize(work, Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32) / 255
    rough = np.asarray(Image.fromarray(probability.astype(np.float32), "F").resize(work, Image.Resampling.BILINEAR))
    mean_i, mean_p = _box(guide, radius), _box(rough, radius)
    cov = _box(guide * rough, radius) - mean_i * mean_p
    var = _box(guide * guide, radius) - mean_i * mean_i
    a = cov / (var + eps)
    b = mean_p - a * mean_i
    refined = (_box(a, radius) * guide + _box(b, radius)).clip(0, 1)
    big = Image.fromarray(refined.astype(np.float32), "F").resize(photo.size, Image.Resampling.BILINEAR)
    return (np.asarray(big) * 255 + 0.5).clip(0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=SHARED / "people-val")
    parser.add_argument("--model", default="full")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    dataset = ValidationSet.from_pairs(args.dataset.name, find_pairs(args.dataset), args.limit)
    engine = build_engine(find_weights(args.model), Candidate("onnxruntime", "cpu", "fp32"))
    session, input_name = engine.session, engine.input_name  # type: ignore[attr-defined]
    inputs = [("bilinear", False), ("bilinear", True), ("lanczos", False), ("lanczos", True)]
    upsamplings = ["bilinear 8-bit", "lanczos 8-bit", "bilinear float", "guided"]
    rows = []
    for resize, by_max in inputs:
        maps = []
        for photo in dataset.photos:
            fused = session.run(None, {input_name: model_input(photo, resize, by_max)})[0][0, 0]
            maps.append(stretch_to_full_range(fused.astype(np.float32)))
        for how in upsamplings:
            if how in ("lanczos 8-bit", "guided") and (resize, by_max) not in (("bilinear", False), ("lanczos", True)):
                continue  # the interesting pairs only: ours and rembg's inputs
            started = time.perf_counter()
            masks = [upsample(p, photo, how) for p, photo in zip(maps, dataset.photos, strict=True)]
            ms = (time.perf_counter() - started) / len(masks) * 1000
            m = evaluate_masks(masks, dataset.truths)
            label = f"{resize} / {'max' if by_max else '255'} / {how}"
            if (resize, by_max, how) == ("bilinear", False, "bilinear 8-bit"):
                label += " (ClearBG until now)"
            if (resize, by_max, how) == ("lanczos", True, "lanczos 8-bit"):
                label += " (rembg)"
            rows.append([label, f"{m['max_fbeta']:.4f}", f"{m['mae']:.4f}", f"{m['weighted_fbeta']:.4f}",
                         f"{m['s_measure']:.4f}", f"{ms:.0f}"])
            print(" | ".join(rows[-1]), flush=True)
    print(table(["resize / normalise / upsample", "max Fβ", "MAE", "weighted Fβ", "S-measure", "upsample ms"],
                rows, f"{dataset.name}: {len(dataset.photos)} photos, model {args.model}, ONNX Runtime fp32"))


if __name__ == "__main__":
    main()
