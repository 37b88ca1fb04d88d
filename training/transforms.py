"""Joint image/mask transforms of the U²-Net recipe: RescaleT, RandomCrop, flips, plus our extras.

Every random choice is drawn once and applied to image *and* mask, so they can never drift
apart. Rescaling uses the app's own :func:`resize_for_model`, so training sees exactly the
pixels inference will see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.segmenter import resize_for_model


def rescale_pair(rgb: Image.Image, mask: Image.Image, size: int) -> tuple[np.ndarray, np.ndarray]:
    """RescaleT: both to ``size``×``size``. The photo exactly as the app feeds the model (its input resize, #45);
    the mask bilinear (antialiased), as the recipe: soft, with no Lanczos ringing around a hard edge."""
    return (np.asarray(resize_for_model(rgb, size)),
            np.asarray(mask.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)))


def random_crop(image: np.ndarray, mask: np.ndarray, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    height, width = mask.shape
    if size >= height and size >= width:
        return image, mask
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]


def random_resized_crop(
    image: np.ndarray, mask: np.ndarray, size: int, min_area: float, rng: np.random.Generator,
    max_aspect: float = 4 / 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Scale augmentation: a region of ``min_area``..1 of the photo (3:4..4:3) resized to ``size``².

    RandomCrop shows each subject at one scale only; this shows it framed tight and loose. Off by
    default: at 192 px on ~1,800 photos it measured worse than RandomCrop (docs/training-log.md, session 4 A/B).
    """
    height, width = mask.shape
    area = height * width * rng.uniform(min_area, 1.0)
    aspect = math.exp(rng.uniform(-math.log(max_aspect), math.log(max_aspect)))
    crop_width = min(width, max(1, round(math.sqrt(area * aspect))))
    crop_height = min(height, max(1, round(math.sqrt(area / aspect))))
    top = int(rng.integers(0, height - crop_height + 1))
    left = int(rng.integers(0, width - crop_width + 1))
    window = (slice(top, top + crop_height), slice(left, left + crop_width))
    return rescale_pair(Image.fromarray(image[window]), Image.fromarray(mask[window]), size)


def color_jitter(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast and saturation, each scaled by up to ±``strength``."""
    if strength <= 0:
        return image
    pixels = image.astype(np.float32)
    brightness, contrast, saturation = 1.0 + rng.uniform(-strength, strength, size=3)
    pixels *= brightness
    mean = pixels.mean()
    pixels = (pixels - mean) * contrast + mean
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = (pixels - grey) * saturation + grey
    return pixels.clip(0, 255).astype(np.uint8)


def copy_paste(
    image: np.ndarray, mask: np.ndarray, donor_image: np.ndarray, donor_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Paste this sample's subject (with its soft mask) over a donor photo.

    The target is the union: the pasted subject plus whatever of the donor's own subject still shows
    around it. Nearly all our photos are of people; labelling the donor's people as background (the
    first version) taught the model to drop people, and people-val's MAE got much worse (docs/training-log.md, sessions 4, 6).
    """
    alpha = mask.astype(np.float32) / 255.0
    blended = image.astype(np.float32) * alpha[..., None] + donor_image.astype(np.float32) * (1.0 - alpha[..., None])
    union = alpha + (1.0 - alpha) * (donor_mask.astype(np.float32) / 255.0)
    return blended.clip(0, 255).astype(np.uint8), np.rint(union * 255.0).clip(0, 255).astype(np.uint8)


@dataclass(frozen=True)
class TrainTransform:
    """The training path: [copy-paste] -> RandomCrop (or a random-scale crop) -> flips -> [colour jitter]."""

    crop_size: int
    hflip: bool = True
    vflip: bool = False
    jitter: float = 0.0
    copy_paste_prob: float = 0.0
    min_crop_area: float = 0.0  # > 0: crops of this..1 of the area resized to crop_size instead of RandomCrop

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_crop_area <= 1.0:
            raise ValueError(f"train.min_crop_area must be between 0 (off) and 1, not {self.min_crop_area}")

    def __call__(
        self, image: np.ndarray, mask: np.ndarray, rng: np.random.Generator, dataset: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.copy_paste_prob > 0 and dataset is not None and len(dataset) > 1 and rng.random() < self.copy_paste_prob:
            donor = int(rng.integers(0, len(dataset)))
            image, mask = copy_paste(image, mask, dataset.images[donor], dataset.masks[donor])
        if self.min_crop_area > 0:
            image, mask = random_resized_crop(image, mask, self.crop_size, self.min_crop_area, rng)
        else:
            image, mask = random_crop(image, mask, self.crop_size, rng)
        if self.hflip and rng.random() < 0.5:
            image, mask = image[:, ::-1], mask[:, ::-1]
        if self.vflip and rng.random() < 0.5:
            image, mask = image[::-1], mask[::-1]
        return color_jitter(image, self.jitter, rng), mask
