"""Does "Refine hair / edges" make masks better or worse? People-val with and without it, same run.

Prints MAE (all pixels, the band the matting may change, and confident foreground/background) for the
model's mask and for the refined mask. Usage: python bench/matting_quality.py [../shared/data/people-val]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.imaging.refine import refine_edges  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter  # noqa: E402


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED / "people-val"
    images = sorted((folder / "images").iterdir())
    segmenter = Segmenter.from_weights("small", device="cpu")
    sums = {"model": np.zeros(4), "refined": np.zeros(4)}
    counts = np.zeros(4)
    holes = 0
    for path in images:
        truth_path = folder / "masks" / f"{path.stem}.png"
        if not truth_path.exists():
            continue
        loaded = load_image(path)
        truth = np.asarray(Image.open(truth_path).convert("L").resize(loaded.size), np.float32) / 255
        alpha = segmenter.predict_alpha(loaded.rgb)
        refined = refine_edges(loaded.rgb, alpha)
        model_a = np.asarray(alpha, np.float32) / 255
        refined_a = np.asarray(refined, np.float32) / 255
        regions = [np.ones_like(truth, bool), (model_a > 0.02) & (model_a < 0.98), model_a >= 0.98, model_a <= 0.02]
        for index, region in enumerate(regions):
            counts[index] += region.sum()
            sums["model"][index] += np.abs(model_a - truth)[region].sum()
            sums["refined"][index] += np.abs(refined_a - truth)[region].sum()
        holes += int(((model_a >= 0.98) & (refined_a < 0.9)).sum())
    rows = [[name, *(f"{value:.5f}" for value in sums[name] / np.maximum(counts, 1))] for name in sums]
    print(table(["mask", "MAE all pixels", "MAE uncertain band", "MAE confident fg", "MAE confident bg"], rows,
                f"{folder.name}: {len(images)} photos, bundled model"))
    print(f"\nconfident-foreground pixels lowered below 0.9 by matting: {holes}")


if __name__ == "__main__":
    main()
