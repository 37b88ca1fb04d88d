"""Fixed costs around the model for small photos (people-val size, ≤ 0.3 MP): resize, normalise, stretch,
upsample, against the model's own time, per photo. Issue #20's goal: the costs around the model ≤ 10 %.

Usage: python bench/bench_small_photos.py [--repeats 7] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, measure, table  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.inference.segmenter import (  # noqa: E402
    Segmenter,
    normalise,
    resize_for_model,
    stretch_to_full_range,
    upsample_alpha,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    photos = sorted((SHARED / "people-val" / "images").iterdir())[:5]
    segmenter = Segmenter.from_weights("small", device="cpu", threads=args.threads)
    rows = []
    for path in photos:
        rgb = load_image(path).rgb
        size = segmenter.input_size
        small = np.asarray(resize_for_model(rgb, size))
        tensor = normalise(small).contiguous(memory_format=segmenter.memory_format)
        autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=segmenter.precision == "bf16")

        def model_only() -> np.ndarray:
            with torch.inference_mode(), autocast:
                return segmenter.model.predict(tensor)[:, 0].float().numpy()

        probability = model_only()[0]
        resize_t = measure(lambda: resize_for_model(rgb, size), args.repeats)[0]
        normalise_t = measure(lambda: normalise(small).contiguous(memory_format=segmenter.memory_format),
                              args.repeats)[0]
        model_t = measure(model_only, args.repeats)[0]
        stretch_t = measure(lambda: stretch_to_full_range(probability), args.repeats)[0]
        upsample_t = measure(lambda: upsample_alpha(probability, rgb.size), args.repeats)[0]
        whole_t = measure(lambda: segmenter.predict_alpha(rgb), args.repeats)[0]
        around = resize_t + normalise_t + stretch_t + upsample_t
        rows.append([f"{path.name} {rgb.width}×{rgb.height}", f"{resize_t * 1e3:.2f}", f"{normalise_t * 1e3:.2f}",
                     f"{stretch_t * 1e3:.2f}", f"{upsample_t * 1e3:.2f}", f"{model_t * 1e3:.1f}",
                     f"{around / model_t * 100:.1f} %", f"{whole_t * 1e3:.1f}"])
    print(table(["photo", "resize ms", "normalise ms", "stretch ms", "upsample ms", "model ms",
                 "around / model", "predict_alpha ms"], rows,
                f"small photos, {segmenter.description}, {args.threads} threads, median of {args.repeats}"))


if __name__ == "__main__":
    main()
