"""Masks from a reduced (draft) JPEG decode against masks from the full decode (#32): may the model's decode of a
photo nobody is looking at skip its full pixels?

Each people-val photo is upscaled to a 24 MP JPEG (quality 90, as ``bench_shoot``) and cut out twice by the app's
engine: from the full decode (``load_image``, as before) and from ``load_reduced`` at the preview's size (a
6000x4000 JPEG decoded at 1/2 scale). Scored at the ground truth's size like ``engine_quality.py``; the rule is
issue #20's: max Fβ, MAE and S-measure within 0.002 of the full decode's. Also the largest difference between
the two full-resolution masks, in 8-bit levels.

Usage: python bench/draft_masks.py [--models small full] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image, load_reduced  # noqa: E402
from clearbg_desktop.core.inference.engines import load_segmenter  # noqa: E402
from clearbg_desktop.core.inference.model_io import upsample_alpha  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402

TOLERANCE = 0.002
PREVIEW_SIDE = 1600  # gui.workers.PREVIEW_SIDE: the model's reduced decode also makes the preview
MEGAPIXELS = 24


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["small", "full"])
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    pairs = find_pairs(SHARED / "people-val")[: args.limit or None]
    width = int((MEGAPIXELS * 1e6 * 1.5) ** 0.5)
    engines = {name: load_segmenter(name, device="cpu") for name in args.models}
    full: dict[str, list[np.ndarray]] = {n: [] for n in engines}
    reduced: dict[str, list[np.ndarray]] = {n: [] for n in engines}
    worst = dict.fromkeys(engines, 0)
    differing = dict.fromkeys(engines, 0.0)
    gts, times = [], {"full": 0.0, "reduced": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for index, pair in enumerate(pairs):
            with Image.open(pair.image) as source, Image.open(pair.mask) as mask:
                gt = np.asarray(mask.convert("L"))
                rgb = source.convert("RGB")
                size = (width, int(width / 1.5)) if rgb.width >= rgb.height else (int(width / 1.5), width)
                photo = Path(tmp) / "photo.jpg"
                rgb.resize(size, Image.Resampling.BICUBIC).save(photo, quality=90)
            gts.append(gt)
            begin = time.perf_counter()
            loaded = load_image(photo)
            times["full"] += time.perf_counter() - begin
            begin = time.perf_counter()
            small = load_reduced(photo, PREVIEW_SIDE)
            times["reduced"] += time.perf_counter() - begin
            assert small.size == loaded.size, (small.size, loaded.size)
            gt_size = (gt.shape[1], gt.shape[0])
            for name, engine in engines.items():
                p_full = engine.predict_probabilities([loaded.rgb])[0]
                p_reduced = engine.predict_probabilities([small.rgb])[0]
                a_full = np.asarray(upsample_alpha(p_full, loaded.size), np.int16)
                a_reduced = np.asarray(upsample_alpha(p_reduced, small.size), np.int16)
                diff = np.abs(a_full - a_reduced)
                worst[name] = max(worst[name], int(diff.max()))
                differing[name] += float((diff > 2).mean())
                full[name].append(np.asarray(upsample_alpha(p_full, gt_size)))
                reduced[name].append(np.asarray(upsample_alpha(p_reduced, gt_size)))
            del loaded, small
            print(f"{index + 1}/{len(pairs)}", end="\r", flush=True)
    rows = []
    keys = ("max_fbeta", "mae", "s_measure")
    for name in engines:
        a = evaluate_masks(full[name], gts, weighted=False)
        b = evaluate_masks(reduced[name], gts, weighted=False)
        passes = all(abs(a[k] - b[k]) <= TOLERANCE for k in keys)
        for label, m in (("full decode", a), (f"reduced decode (long side >= {PREVIEW_SIDE})", b)):
            rows.append([name, label, *(f"{m[k]:.4f}" for k in keys)])
        rows.append([name, "difference", *(f"{b[k] - a[k]:+.4f}" for k in keys)])
        rows.append([name, f"full-res masks: largest difference {worst[name]} levels, "
                     f"{100 * differing[name] / len(pairs):.3f} % of pixels > 2 levels",
                     "passes" if passes else "FAILS", "", ""])
    table(["model", "masks from", "max Fβ", "MAE", "S-measure"], rows,
          f"people-val ({len(pairs)} photos) as {MEGAPIXELS} MP JPEGs; decode {times['full'] / len(pairs):.2f} s full, "
          f"{times['reduced'] / len(pairs):.2f} s reduced per photo")


if __name__ == "__main__":
    main()
