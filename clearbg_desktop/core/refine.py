"""Edge refinement of an alpha: feather, grow/shrink, contrast, threshold, colour decontamination.

Used live by the GUI's refinement panel and, with the saved settings, by batch export.
Operations work on 8-bit ``L`` images at the photo's resolution.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class RefineSettings:
    """All default to "no change", so an unrefined export is byte-identical to the model's alpha."""

    feather: float = 0.0  # Gaussian blur radius, px
    shift: int = 0  # >0 grows the subject, <0 shrinks it, px
    contrast: float = 1.0  # >1 hardens soft edges around 50 %
    threshold: int | None = None  # binarise at this level (0..255)
    decontaminate: bool = False  # replace background colour bleeding into edge pixels

    @property
    def is_identity(self) -> bool:
        return self.feather == 0 and self.shift == 0 and self.contrast == 1.0 and self.threshold is None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> RefineSettings:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def shift_edge(alpha: Image.Image, pixels: int) -> Image.Image:
    """Dilate (grow) or erode (shrink) by ``pixels`` using a square max/min filter."""
    if pixels == 0:
        return alpha
    size = 2 * abs(pixels) + 1
    return alpha.filter(ImageFilter.MaxFilter(size) if pixels > 0 else ImageFilter.MinFilter(size))


def feather(alpha: Image.Image, radius: float) -> Image.Image:
    if radius <= 0:
        return alpha
    return alpha.filter(ImageFilter.GaussianBlur(radius))


def adjust_contrast(alpha: Image.Image, contrast: float) -> Image.Image:
    """Stretch alpha around 50 %: soft, hazy edges become crisper without going binary."""
    if contrast == 1.0:
        return alpha
    lut = [int(np.clip((v - 127.5) * contrast + 127.5, 0, 255) + 0.5) for v in range(256)]
    return alpha.point(lut)


def threshold(alpha: Image.Image, level: int | None) -> Image.Image:
    if level is None:
        return alpha
    return alpha.point(lambda v: 255 if v >= level else 0)


def refine_alpha(rgb: Image.Image, alpha: Image.Image, settings: RefineSettings) -> Image.Image:
    """Apply the settings in a fixed order: shift, contrast, threshold, feather."""
    if settings.is_identity:
        return alpha
    alpha = shift_edge(alpha, settings.shift)
    alpha = adjust_contrast(alpha, settings.contrast)
    alpha = threshold(alpha, settings.threshold)
    return feather(alpha, settings.feather)


def decontaminate_colors(rgb: Image.Image, alpha: Image.Image, radius: float = 6.0) -> Image.Image:
    """Replace the colour of semi-transparent edge pixels by nearby solid-subject colour.

    An edge pixel is a mix of subject and background; keeping its raw colour leaves a fringe of
    the old background. Solid-subject colour, spread outwards by a normalised Gaussian, is a
    good estimate of the subject's own colour there.
    """
    a = np.asarray(alpha, np.float32) / 255.0
    edge = (a > 0.0) & (a < 0.98)
    if not edge.any():
        return rgb
    solid = (a >= 0.98).astype(np.float32)
    image = np.asarray(rgb, np.float32)
    weight_img = Image.fromarray((solid * 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(radius))
    weight = np.asarray(weight_img, np.float32) / 255.0
    spread = np.empty_like(image)
    for channel in range(3):
        layer = Image.fromarray((image[..., channel] * solid).astype(np.uint8), "L")
        spread[..., channel] = np.asarray(layer.filter(ImageFilter.GaussianBlur(radius)), np.float32)
    estimate = spread / np.maximum(weight, 1e-3)[..., None]
    use = edge & (weight > 0.02)
    out = image.copy()
    out[use] = estimate[use]
    return Image.fromarray(out.clip(0, 255).astype(np.uint8), "RGB")
