"""How long "Refine hair / edges" takes on a 24 MP photo, before and after the separable grow/shrink (#37 point 5).

The photographer's walk measured 60-85 s for Apply on 24 MP (on a loaded machine). The band around the edge is
found by growing and shrinking the mask; Pillow's Max/MinFilter is O(r²) per pixel and took most of the time.
This prints, in one run: the band step with Pillow's filters (the reference) and with ``shift_edge``, the whole
refinement as Apply runs it (matting + grow/shrink + feather), and the colour decontamination the preview adds.
Usage: python bench/matting_speed.py [--repeats 3] [--megapixels 24]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, measure, table  # noqa: E402
from clearbg_desktop.core.imaging.refine import (  # noqa: E402
    RefineSettings,
    decontaminate_colors,
    refine_alpha,
    shift_edge,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args()
    width = int((args.megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    folder = SHARED / "people-val"
    photo = Image.open(folder / "images" / "100.jpg").convert("RGB").resize((width, height), Image.BICUBIC)
    # The model's map is 320 px, upsampled: a soft edge several pixels wide, as the window has it.
    truth = Image.open(folder / "masks" / "100.png").convert("L")
    alpha = truth.resize((320, 320), Image.BILINEAR).resize((width, height), Image.BILINEAR)
    band = 8

    def pillow_band() -> None:
        alpha.filter(ImageFilter.MaxFilter(2 * band + 1))
        alpha.filter(ImageFilter.MinFilter(2 * band + 1))

    def our_band() -> None:
        shift_edge(alpha, band)
        shift_edge(alpha, -band)

    same = all(np.array_equal(np.asarray(shift_edge(alpha, s * band)), np.asarray(alpha.filter(
        ImageFilter.MaxFilter(2 * band + 1) if s > 0 else ImageFilter.MinFilter(2 * band + 1)))) for s in (1, -1))
    settings = RefineSettings(refine_edges=True, shift=1, feather=1.0)
    reference = measure(pillow_band, repeats=args.repeats, warmup=0)
    rows = [
        ["edge band: Pillow Max/MinFilter(17) (before)", f"{reference[0]:.2f} s", "1.00×"],
        ["edge band: shift_edge (now)", *_row(measure(our_band, repeats=args.repeats, warmup=1), reference)],
        ["Apply: refine_alpha (matting, grow 1, feather 1)",
         *_row(measure(lambda: refine_alpha(photo, alpha, settings), repeats=args.repeats, warmup=0), reference)],
        ["preview extra: decontaminate colours",
         *_row(measure(lambda: decontaminate_colors(photo, alpha), repeats=args.repeats, warmup=0), reference)],
    ]
    table(["step", "median", "vs Pillow band"], rows,
          f"Refine hair / edges on {width}×{height} ({width * height / 1e6:.0f} MP), median of {args.repeats}; "
          f"shift_edge equal to Pillow's filters: {same}")


def _row(value: tuple[float, float], reference: tuple[float, float]) -> list[str]:
    return [f"{value[0]:.2f} s", f"{value[0] / reference[0]:.2f}×"]


if __name__ == "__main__":
    main()
