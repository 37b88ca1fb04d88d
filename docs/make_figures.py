"""Regenerate the documentation figures with the bundled weights.

Before/after examples (photo | cut-out on a checkerboard | mask) for held-out photos: a person from
people-val, an animal and an object from the teacher's held-out split of photos-coco-mini. Then two
screenshots of the real window through ``clearbg --screenshot``.

    .venv/bin/python docs/make_figures.py [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter  # noqa: E402

EXAMPLES = {  # all held out from training
    "person": "people-val/images/100.jpg",
    "animal": "photos-coco-mini/images/000000358083.jpg",
    "object": "photos-coco-mini/images/000000546826.jpg",
}


def checkerboard(size: tuple[int, int], cell: int = 12) -> Image.Image:
    width, height = size
    yy, xx = np.mgrid[:height, :width]
    board = np.where(((yy // cell) + (xx // cell)) % 2 == 0, 255, 205).astype(np.uint8)
    return Image.fromarray(board, "L").convert("RGB")


def before_after(segmenter: Segmenter, photo: Path, height: int = 300) -> Image.Image:
    loaded = load_image(photo)
    alpha = segmenter.predict_alpha(loaded.rgb)
    cutout = Image.composite(loaded.rgb, checkerboard(loaded.size), alpha)
    panels = [loaded.rgb, cutout, alpha.convert("RGB")]
    width = round(loaded.size[0] * height / loaded.size[1])
    sheet = Image.new("RGB", (3 * width + 20, height), "white")
    for index, panel in enumerate(panels):
        sheet.paste(panel.resize((width, height), Image.Resampling.LANCZOS), (index * (width + 10), 0))
    return sheet


def refinement_before_after(segmenter: Segmenter, photo: Path, height: int = 360) -> Image.Image:
    """The same cut-out on a dark background: the model's alpha | after "Refine hair/edges" + decontaminate."""
    from clearbg_desktop.core.imaging.compose import Background, compose
    from clearbg_desktop.core.imaging.refine import decontaminate_colors, refine_edges

    loaded = load_image(photo)
    alpha = segmenter.predict_alpha(loaded.rgb)
    refined = refine_edges(loaded.rgb, alpha, band=10)
    dark = Background(kind="color", color=(25, 30, 40))
    before = compose(loaded.rgb, alpha, dark)
    after = compose(decontaminate_colors(loaded.rgb, refined), refined, dark)
    box = (0, 0, loaded.size[0], loaded.size[1] // 2)  # head and shoulders: where hair is
    panels = [before.crop(box), after.crop(box)]
    width = round(panels[0].size[0] * height / panels[0].size[1])
    sheet = Image.new("RGB", (2 * width + 10, height), "white")
    for index, panel in enumerate(panels):
        sheet.paste(panel.resize((width, height), Image.Resampling.LANCZOS), (index * (width + 10), 0))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    out = REPO / "docs" / "examples"
    out.mkdir(parents=True, exist_ok=True)
    segmenter = Segmenter.from_weights("small", device="cpu")
    for name, relative in EXAMPLES.items():
        before_after(segmenter, args.data / relative).save(out / f"{name}.jpg", quality=85)
        print(out / f"{name}.jpg")
    refinement_before_after(segmenter, args.data / EXAMPLES["person"]).save(out / "refine-edges.jpg", quality=85)
    print(out / "refine-edges.jpg")
    shots = REPO / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    for view in ("cutout", "overlay"):
        target = shots / f"window-{view}.png"
        subprocess.run([sys.executable, "-m", "clearbg_desktop", "--screenshot", str(target), "--view", view,
                        "--size", "1280x820", str(args.data / EXAMPLES["person"])], check=True, env=env)
        Image.open(target).convert("RGB").save(target.with_suffix(".jpg"), quality=85)
        target.unlink()
        print(target.with_suffix(".jpg"))


if __name__ == "__main__":
    main()
