"""What a shadow under a product cut-out costs on a 24 MP photo (#40): the shadow alone, the cut-out rendered with and
without it (transparent PNG path, white JPEG path, 16-bit), and the canvas's colour view.

A synthetic product (a bottle standing on the photo's lower third, 60 % of its height) on a textured photo, so the
shadow's region is as large as a real product's. Usage: python bench/shadow_speed.py [--repeats 3] [--megapixels 24]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import measure, table  # noqa: E402
from clearbg_desktop.core.editing.preview import render_view  # noqa: E402
from clearbg_desktop.core.imaging.compose import Background  # noqa: E402
from clearbg_desktop.core.imaging.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.imaging.loading import LoadedImage  # noqa: E402
from clearbg_desktop.core.imaging.output_file import render_deep_output, render_output  # noqa: E402
from clearbg_desktop.core.imaging.shadow import ShadowSettings, colour_view, render_shadow  # noqa: E402

CONTACT = ShadowSettings(kind="contact")
DROP = ShadowSettings(kind="drop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args()
    width = int((args.megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    rng = np.random.default_rng(40)
    rgb = Image.fromarray(rng.integers(40, 200, (height, width, 3), dtype=np.uint8), "RGB")
    alpha = Image.new("L", (width, height), 0)
    ImageDraw.Draw(alpha).rounded_rectangle((int(width * 0.4), int(height * 0.2), int(width * 0.6), int(height * 0.8)),
                                            radius=width // 40, fill=255)
    photo = LoadedImage(rgb=rgb)
    deep = LoadedImage(rgb=rgb, deep=np.asarray(rgb, np.uint16) * 257)
    white = Background(kind="color", color=(255, 255, 255))
    view_rgb, view_alpha = np.asarray(rgb), np.asarray(alpha)
    rows = []
    for label, run in [
        ("contact shadow alone (render_shadow)", lambda: render_shadow(alpha, CONTACT)),
        ("drop shadow alone (render_shadow)", lambda: render_shadow(alpha, DROP)),
        ("transparent PNG picture, no shadow", lambda: render_output(photo, alpha, ExportOptions())),
        ("transparent PNG picture, contact shadow", lambda: render_output(photo, alpha, ExportOptions(shadow=CONTACT))),
        ("transparent PNG picture, drop shadow", lambda: render_output(photo, alpha, ExportOptions(shadow=DROP))),
        ("JPEG on white, no shadow", lambda: render_output(photo, alpha, ExportOptions(format="jpg", background=white))),
        ("JPEG on white, contact shadow",
         lambda: render_output(photo, alpha, ExportOptions(format="jpg", background=white, shadow=CONTACT))),
        ("16-bit PNG, no shadow", lambda: render_deep_output(deep, alpha, ExportOptions())),
        ("16-bit PNG, contact shadow", lambda: render_deep_output(deep, alpha, ExportOptions(shadow=CONTACT))),
        ("canvas colour view, no shadow (render_view)", lambda: render_view(view_rgb, view_alpha, "color")),
        ("canvas colour view, contact shadow (shadow + view)",
         lambda: colour_view(view_rgb, view_alpha, (255, 255, 255), render_shadow(alpha, CONTACT))),
    ]:
        median, spread = measure(run, repeats=args.repeats, warmup=0)
        rows.append([label, f"{median:.2f} s", f"± {spread:.2f}"])
    table(["step", "median", "spread"], rows,
          f"Shadows on {width}×{height} ({width * height / 1e6:.0f} MP), median of {args.repeats}")


if __name__ == "__main__":
    main()
