"""The model's input resize and the flip average on both validation sets (#45): quality, then cost.

1. Quality: ``python -m training validate --baseline bilinear-gap3``'s tables (people-val, coco-objects, pooled;
   paired bootstrap), from its cache when it ran before: the same harness, the same numbers.
2. Cost: each resize alone on a people-val photo and on it upscaled to 12 and 24 MP, and the model with and
   without the flip average, one CPU thread (median of ``--repeats``).
3. Large photos (``--large N``, 0 skips): the first N photos of each set upscaled to 12 MP JPEGs (quality 90), cut
   out by the full model from the full decode with each resize, and from the window's reduced decode of off-screen
   photos (``core.imaging.load_reduced`` at 1600 px, JPEG draft) — scored at the reference mask's size, with the
   mean |Δα| from the full decode's Lanczos mask. Upscaled photos carry less fine detail than real 12 MP ones, so
   this bounds how far the filters drift apart on big photos; it does not replace the sets.

Usage: .venv/bin/python bench/input_resize.py --data-root ../shared/data [--large 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, measure, table  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image, load_reduced  # noqa: E402
from clearbg_desktop.core.inference.model_io import INPUT_RESIZES, resize_for_model, upsample_alpha  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402
from training.validation_sets import SET_NAMES, load_set  # noqa: E402

PREVIEW_SIDE = 1600  # gui jobs' PREVIEW_SIDE: the reduced decode of an off-screen photo keeps this long side
MEGAPIXELS = 12


def upscaled(rgb: Image.Image, megapixels: float, folder: Path, name: str) -> Path:
    scale = (megapixels * 1e6 / (rgb.width * rgb.height)) ** 0.5
    path = folder / f"{name}.jpg"
    rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.BICUBIC).save(path, quality=90)
    return path


def cost(repeats: int) -> None:
    import torch

    from clearbg_desktop.core.inference.segmenter import Segmenter

    torch.set_num_threads(1)
    photo = load_image(SHARED / "people-val" / "images" / "100.jpg").rgb
    sizes = {f"{photo.width}×{photo.height}": photo}
    for mp in (12, 24):
        scale = (mp * 1e6 / (photo.width * photo.height)) ** 0.5
        sizes[f"{mp} MP"] = photo.resize((round(photo.width * scale), round(photo.height * scale)),
                                         Image.Resampling.BICUBIC)
    rows = [[method, *(f"{measure(lambda m=method, x=x: resize_for_model(x, 320, m), repeats, 1)[0] * 1e3:.1f}"
                       for x in sizes.values())] for method in INPUT_RESIZES]
    table(["input resize", *(f"{k} (ms)" for k in sizes)], rows, "One resize to 320², one thread (median)")
    rows = []
    for model in ("full", "small"):
        engine = Segmenter.from_weights(model, device="cpu", threads=1, precision="fp32")
        plain = measure(lambda e=engine: e.predict_probabilities([photo]), repeats, 1)[0]
        engine.flip_average = True
        flipped = measure(lambda e=engine: e.predict_probabilities([photo]), repeats, 1)[0]
        rows.append([model, f"{plain * 1e3:.0f}", f"{flipped * 1e3:.0f}", f"{flipped / plain:.2f}×"])
    table(["model", "ms per photo", "with flip average (ms)", "ratio"], rows,
          "The model on one photo (PyTorch fp32, one thread, median; resize and stretch included)")


def large_photos(data_root: Path, count: int) -> None:
    import torch

    from clearbg_desktop.core.inference.segmenter import Segmenter

    torch.set_num_threads(1)
    engine = Segmenter.from_weights("full", device="cpu", threads=1, precision="fp32")
    variants = [("full decode", "bilinear-gap3"), ("full decode", "lanczos"), ("full decode", "lanczos-gap3"),
                ("reduced decode", "bilinear-gap3"), ("reduced decode", "lanczos-gap3")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for set_name in SET_NAMES:
            dataset = load_set(data_root, set_name, count)
            masks: dict[tuple[str, str], list[np.ndarray]] = {v: [] for v in variants}
            for item_id, rgb in zip(dataset.ids, dataset.photos, strict=True):
                path = upscaled(rgb, MEGAPIXELS, Path(tmp), item_id)
                decoded = {"full decode": load_image(path).rgb, "reduced decode": load_reduced(path, PREVIEW_SIDE).rgb}
                for decode, method in variants:
                    engine.input_resize = method
                    probability = engine.predict_probabilities([decoded[decode]])[0]
                    masks[(decode, method)].append(np.asarray(upsample_alpha(probability, rgb.size)))
            reference = masks[("full decode", "lanczos")]
            for decode, method in variants:
                scores = evaluate_masks(masks[(decode, method)], dataset.truths)
                drift = np.mean([np.abs(a.astype(np.int16) - b).mean()
                                 for a, b in zip(masks[(decode, method)], reference, strict=True)])
                rows.append([set_name, f"{decode}, {method}", *(f"{scores[k]:.4f}" for k in
                             ("max_fbeta", "mae", "weighted_fbeta", "s_measure")), f"{drift:.2f}/255"])
    table(["set", "masks from", "max Fβ", "MAE", "wFβ", "S", "mean |Δα| vs full decode + lanczos"], rows,
          f"The first {count} photos of each set upscaled to {MEGAPIXELS} MP JPEGs, full U²-Net (PyTorch fp32)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-root", type=Path, default=SHARED)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--large", type=int, default=20)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="only the costs (the harness's tables need its cache "
                                                                    "or ~1 hour of one core)")
    args = parser.parse_args()
    if not args.skip_quality:
        from training.validate import validate_command

        # every resize, the flip average on each model's shipped resize, rembg's pipeline; judged against the
        # resize before #45 (the decision of bench/RESULTS.md §17)
        print(validate_command(args.data_root, ["full", "small"], None, "bilinear-gap3", True, True, Path("teacher"),
                               Path("runs/validation-cache"), Path("runs/validate")))
    if not args.skip_cost:
        cost(args.repeats)
    if args.large:
        large_photos(args.data_root, args.large)


if __name__ == "__main__":
    main()
