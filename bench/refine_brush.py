"""The Refine Edge brush measured: strokes painted along the reference boundary of people-val's hair regions,
MAE inside the strokes before and after (against the reference masks), and a stroke's latency at 24 MP.

Hair region: the top 30 % of each reference subject's bounding box (these are portraits: the head). The strokes
follow the reference boundary there, as a user tracing the hair line would; brush diameter 3 % of the photo's
long side. The masks are the default model's (the full U²-Net), as the app shows them.

Beside the shipped solve, the same strokes are scored with its two halves alone: the model's map sharpened
without the photo, and the photo-guided filter alone. The solve's constants were chosen on photos 31-60
(``--skip 30 --limit 30``) and are reported on photos 1-30 (the default run).
Usage: python bench/refine_brush.py [DATASET] [--skip N] [--limit N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.editing.mask_edits import Brush, Stroke  # noqa: E402
from clearbg_desktop.core.imaging.refine import (  # noqa: E402
    GUIDE_EPS,
    GUIDE_RADIUS,
    REFINE_BRUSH_CONTRAST,
    guided_alpha,
)
from clearbg_desktop.core.inference.engines import load_segmenter  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.engine import ValidationSet  # noqa: E402


def hair_strokes(truth: np.ndarray, diameter: float) -> list[list[tuple[float, float]]]:
    """Short strokes along the reference boundary inside the top 30 % of the subject's box."""
    subject = truth > 128
    rows = np.flatnonzero(subject.any(1))
    if not len(rows):
        return []
    top, bottom = rows[0], rows[-1]
    limit = top + int(0.3 * (bottom - top + 1))
    edge = subject & ~(np.roll(subject, 1, 0) & np.roll(subject, -1, 0) & np.roll(subject, 1, 1)
                       & np.roll(subject, -1, 1))
    edge[limit:] = False
    edge[:, [0, -1]] = False
    edge[[0, -1], :] = False
    ys, xs = np.nonzero(edge)
    if not len(xs):
        return []
    step = max(1, int(diameter / 3))
    order = np.argsort(xs * 100_000 + ys)
    points = [(float(xs[i]), float(ys[i])) for i in order[::step]]
    strokes: list[list[tuple[float, float]]] = [[points[0]]]
    for point in points[1:]:
        last = strokes[-1][-1]
        if abs(point[0] - last[0]) + abs(point[1] - last[1]) <= diameter:
            strokes[-1].append(point)
        else:
            strokes.append([point])
    return strokes


def crisp(alpha: np.ndarray) -> np.ndarray:
    return ((alpha - 0.5) * REFINE_BRUSH_CONTRAST + 0.5).clip(0, 1)


def halves(photo: np.ndarray, model: np.ndarray, painted: np.ndarray) -> dict[str, np.ndarray]:
    """The shipped solve's two halves alone, applied where the strokes painted (float alpha 0..1)."""
    coarse = model.astype(np.float32) / 255
    guided = guided_alpha(photo.astype(np.float32) / 255, coarse, GUIDE_RADIUS, GUIDE_EPS)
    return {"the model's map sharpened, no photo": coarse + painted * (crisp(coarse) - coarse),
            "the photo-guided filter alone, sharpened": coarse + painted * (crisp(guided) - coarse)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=SHARED / "people-val")
    parser.add_argument("--skip", type=int, default=0, help="leave out the first N photos (sorted by name)")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    pairs = find_pairs(args.dataset)[args.skip:]
    dataset = ValidationSet.from_pairs(args.dataset.name, pairs, args.limit)
    segmenter = load_segmenter()
    before_errors, after_errors, painted_share = [], [], []
    half_errors: dict[str, list[float]] = {}
    for photo, truth in zip(dataset.photos, dataset.truths, strict=True):
        model = np.asarray(segmenter.predict_alpha(photo)).copy()
        diameter = 0.03 * max(photo.size)
        alpha = model.copy()
        rgb = np.asarray(photo)
        coverage = np.zeros(alpha.shape, bool)
        painted = np.zeros(alpha.shape, np.float32)
        for path in hair_strokes(np.asarray(truth), diameter):
            stroke = Stroke(alpha, Brush(size=diameter, hardness=0.8, mode="refine"), rgb)
            for x, y in path:
                stroke.move_to(x, y)
            coverage |= stroke.coverage > 0
            painted = np.maximum(painted, stroke.coverage / 255)
            stroke.finish()
        if not coverage.any():
            continue
        reference = np.asarray(truth).astype(np.float32)
        for name, result in halves(rgb, model, painted).items():
            half_errors.setdefault(name, []).append(float(np.abs(result[coverage] * 255 - reference[coverage])
                                                          .mean()) / 255)
        before_errors.append(float(np.abs(model[coverage] - reference[coverage]).mean()) / 255)
        after_errors.append(float(np.abs(alpha[coverage] - reference[coverage]).mean()) / 255)
        painted_share.append(coverage.mean())
    before, after = statistics.mean(before_errors), statistics.mean(after_errors)
    better = sum(a < b for a, b in zip(after_errors, before_errors, strict=True))
    rows = [["model's mask (before)", f"{before:.4f}", "", ""],
            ["after the Refine Edge strokes (shipped)", f"{after:.4f}", f"{after / before:.2f}×",
             f"{better} of {len(after_errors)} photos better"]]
    for name, errors in half_errors.items():
        mean = statistics.mean(errors)
        rows.append([name, f"{mean:.4f}", f"{mean / before:.2f}×",
                     f"{sum(a < b for a, b in zip(errors, before_errors, strict=True))} of {len(errors)} better"])
    table(["inside the strokes", "MAE", "× before", ""], rows,
          f"{dataset.name} photos {args.skip + 1}-{args.skip + len(dataset.photos)}: {len(after_errors)} with "
          f"strokes on the hair line, {statistics.mean(painted_share) * 100:.1f} % of each photo painted on average; "
          f"{segmenter.description}")
    # Latency at 24 MP: one stroke of 30 dabs across the hair line of an upscaled photo.
    big = dataset.photos[0].resize((6000, 4000), Image.Resampling.BICUBIC)
    big_alpha = np.asarray(Image.fromarray(np.asarray(segmenter.predict_alpha(dataset.photos[0]))).resize(big.size))
    truth_big = np.asarray(Image.fromarray(dataset.truths[0]).resize(big.size, Image.Resampling.NEAREST))
    path = max(hair_strokes(truth_big, 180), key=len)[:30]  # one continuous stroke along the hair line
    alpha = big_alpha.copy()
    stroke = Stroke(alpha, Brush(size=180, hardness=0.8, mode="refine"), np.asarray(big))
    dab_times = []
    for x, y in path:
        started = time.perf_counter()
        stroke.move_to(x, y)
        dab_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    stroke.finish()
    finish = time.perf_counter() - started
    table(["24 MP photo, brush 180 px", "ms"], [
        ["one move of the stroke (median; dabs every 27 px)", f"{statistics.median(dab_times) * 1000:.1f}"],
        ["slowest move", f"{max(dab_times) * 1000:.1f}"],
        [f"stroke's end (re-solve of the whole {len(path)}-dab stroke)", f"{finish * 1000:.0f}"],
    ], "Refine Edge stroke latency")


if __name__ == "__main__":
    main()
