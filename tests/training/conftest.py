"""Tiny but real training data made in the test: shapes on textured backgrounds, with masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw


def make_pair(seed: int, size: tuple[int, int] = (72, 56)) -> tuple[Image.Image, Image.Image]:
    rng = np.random.default_rng(seed)
    width, height = size
    noise = rng.integers(0, 90, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(noise, "RGB")
    mask = Image.new("L", size, 0)
    box = (int(width * rng.uniform(0.1, 0.35)), int(height * rng.uniform(0.1, 0.35)),
           int(width * rng.uniform(0.6, 0.9)), int(height * rng.uniform(0.6, 0.9)))
    color = tuple(int(c) for c in rng.integers(150, 255, 3))
    if seed % 2:
        ImageDraw.Draw(image).ellipse(box, fill=color)
        ImageDraw.Draw(mask).ellipse(box, fill=255)
    else:
        ImageDraw.Draw(image).rectangle(box, fill=color)
        ImageDraw.Draw(mask).rectangle(box, fill=255)
    return image, mask


def write_pairs(root: Path, count: int, layout: str = "plain", start: int = 0) -> Path:
    image_dir, mask_dir = (root / "images", root / "masks") if layout == "plain" else (
        root / "DUTS-TR-Image", root / "DUTS-TR-Mask")
    image_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    for index in range(start, start + count):
        image, mask = make_pair(index)
        image.save(image_dir / f"s{index:03d}.jpg", quality=95)
        mask.save(mask_dir / f"s{index:03d}.png")
    return root


@pytest.fixture
def pairs_folder(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "pairs", 8)


@pytest.fixture
def duts_folder(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "DUTS-TR", 4, layout="duts")
