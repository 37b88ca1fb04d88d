"""Camera RAW (#38): which reduced decode makes the same mask as the full decode, and what the helper process costs.

Each people-val photo is upscaled to a MEGAPIXELS Bayer DNG (``tests/core/imaging/dng_maker.py``: the photo made
linear, recorded under a warm as-shot white balance, mosaicked RGGB) with a camera-sized embedded JPEG preview
(PREVIEW_SIDE px on its long side). By default the preview is rendered with a camera's look (brighter, an S-curve,
more saturated), as real cameras' previews are; ``--neutral-preview`` makes it the same pixels as the decode.

Masks, by the app's engine, from:
  * the full decode (``load_image``: LibRaw AHD, 16-bit, as exported),
  * the half-size decode (``load_reduced`` as the window asks it: each 2x2 sensor block one pixel, no demosaic),
  * the embedded preview (no LibRaw decode at all).
And from the source photo itself, before it was mosaicked (does LibRaw's development give the photo's mask?).
Compared at full resolution to the full decode's mask by the engine rule (bench/RESULTS.md §12: MAE within
+0.0005, max Fβ within -0.001 against the reference masks, and every photo's mean |Δα| ≤ 1/255), plus the
largest single-pixel difference in 8-bit levels.

Timings (median of ``--repeats``): full, half-size and preview decodes, in this process (``isolated=False``) and
through the helper process (warm); the helper's cold start; and the transfer cost alone (helper minus in-process).

Usage: python bench/raw_decode.py [--limit 8] [--megapixels 12] [--models small] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.imaging import raw_decode  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image, load_reduced, preview_fits  # noqa: E402
from clearbg_desktop.core.imaging.raw_decode import decode_raw  # noqa: E402
from clearbg_desktop.core.imaging.raw_libraw import RawLimits, default_max_bytes  # noqa: E402
from clearbg_desktop.core.inference.engines import load_segmenter  # noqa: E402
from clearbg_desktop.core.inference.model_io import upsample_alpha  # noqa: E402
from tests.core.imaging.dng_maker import make_dng  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402

PREVIEW_SIDE = 1616  # a camera's embedded preview (Sony 1616x1080, Nikon 1620x1080, Canon 1620x1080)
WINDOW_PREVIEW_SIDE = 1600  # gui.jobs.workers.PREVIEW_SIDE: what the window asks load_reduced for


def median_seconds(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--models", nargs="+", default=["small"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--neutral-preview", action="store_true")
    args = parser.parse_args()
    pairs = find_pairs(SHARED / "people-val")[: args.limit or None]
    long_side = int((args.megapixels * 1e6 * 1.5) ** 0.5)
    engines = {name: load_segmenter(name, device="cpu") for name in args.models}
    sources = ("half-size decode", "embedded preview", "source photo (before the mosaic)")
    masks: dict[str, dict[str, list[np.ndarray]]] = {n: {s: [] for s in ("full decode", *sources)} for n in engines}
    worst = {n: dict.fromkeys(sources, 0) for n in engines}
    worst_mean = {n: dict.fromkeys(sources, 0.0) for n in engines}
    gts = []
    limits = RawLimits(90_000_000, default_max_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        for index, pair in enumerate(pairs):
            with Image.open(pair.image) as source, Image.open(pair.mask) as mask:
                gt = np.asarray(mask.convert("L"))
                rgb = source.convert("RGB")
            size = (long_side, int(long_side / 1.5)) if rgb.width >= rgb.height else (int(long_side / 1.5), long_side)
            upscaled = rgb.resize(size, Image.Resampling.BICUBIC)
            photo = make_dng(upscaled, Path(tmp) / "photo.dng",
                             preview_long_side=PREVIEW_SIDE, preview_tone=not args.neutral_preview)
            gts.append(gt)
            loaded = load_image(photo)
            half = load_reduced(photo, WINDOW_PREVIEW_SIDE)
            preview = raw_decode.raw_preview(photo, limits)
            assert preview is not None and preview_fits(preview.image.size, preview.full_size, WINDOW_PREVIEW_SIDE)
            assert half.size == loaded.size == preview.full_size
            gt_size = (gt.shape[1], gt.shape[0])
            for name, engine in engines.items():
                p_full = engine.predict_probabilities([loaded.rgb])[0]
                a_full = np.asarray(upsample_alpha(p_full, loaded.size), np.int16)
                masks[name]["full decode"].append(np.asarray(upsample_alpha(p_full, gt_size)))
                for label, image in (("half-size decode", half.rgb), ("embedded preview", preview.image),
                                     ("source photo (before the mosaic)", upscaled)):
                    p = engine.predict_probabilities([image])[0]
                    diff = np.abs(np.asarray(upsample_alpha(p, loaded.size), np.int16) - a_full)
                    worst[name][label] = max(worst[name][label], int(diff.max()))
                    worst_mean[name][label] = max(worst_mean[name][label], float(diff.mean()))
                    masks[name][label].append(np.asarray(upsample_alpha(p, gt_size)))
            del loaded, half, preview
            print(f"masks {index + 1}/{len(pairs)}", end="\r", flush=True)

        rows = []
        for name in engines:
            reference = evaluate_masks(masks[name]["full decode"], gts, weighted=False)
            rows.append([name, "full decode", f"{reference['max_fbeta']:.4f}", f"{reference['mae']:.4f}", "-", "-",
                         "reference"])
            for label in sources:
                m = evaluate_masks(masks[name][label], gts, weighted=False)
                passes = (m["mae"] <= reference["mae"] + 0.0005 and m["max_fbeta"] >= reference["max_fbeta"] - 0.001
                          and worst_mean[name][label] <= 1.0)
                rows.append([name, label, f"{m['max_fbeta']:.4f}", f"{m['mae']:.4f}",
                             f"{worst_mean[name][label]:.3f}", worst[name][label], "passes" if passes else "FAILS"])
        table(["model", "mask from", "max Fβ", "MAE", "worst photo's mean |Δα| (levels)", "largest pixel diff",
               "engine rule"],
              rows, f"people-val ({len(pairs)} photos) as {args.megapixels:g} MP DNGs, preview {PREVIEW_SIDE} px "
              f"({'same pixels' if args.neutral_preview else 'camera look'})")

        # Timings on one photo of that size.
        with Image.open(pairs[0].image) as source:
            rgb = source.convert("RGB")
        size = (long_side, int(long_side / 1.5)) if rgb.width >= rgb.height else (int(long_side / 1.5), long_side)
        photo = make_dng(rgb.resize(size, Image.Resampling.BICUBIC), Path(tmp) / "timed.dng",
                         preview_long_side=PREVIEW_SIDE)
        raw_decode.HELPERS.close()
        started = time.perf_counter()
        decode_raw(photo, limits, reduce_to=WINDOW_PREVIEW_SIDE)
        cold = time.perf_counter() - started
        rows = []
        for label, call in (
            ("full decode (16-bit AHD)", lambda iso: decode_raw(photo, limits, isolated=iso)),
            ("half-size decode", lambda iso: decode_raw(photo, limits, reduce_to=WINDOW_PREVIEW_SIDE, isolated=iso)),
            ("embedded preview", lambda iso: raw_decode.raw_preview(photo, limits, isolated=iso)),
        ):
            inside = median_seconds(lambda c=call: c(False), args.repeats)
            helper = median_seconds(lambda c=call: c(True), args.repeats)
            rows.append([label, f"{inside * 1000:.0f} ms", f"{helper * 1000:.0f} ms",
                         f"{(helper - inside) * 1000:+.0f} ms"])
        rows.append(["helper's cold start + half-size decode", "", f"{cold * 1000:.0f} ms", ""])
        rows.append(["load_image (full decode + 8-bit copy)", "",
                     f"{median_seconds(lambda: load_image(photo), args.repeats) * 1000:.0f} ms", ""])
        table(["step", "in this process", "in the helper (warm)", "helper's cost"], rows,
              f"{size[0]}×{size[1]} ({size[0] * size[1] / 1e6:.1f} MP) DNG, median of {args.repeats}")


if __name__ == "__main__":
    main()
