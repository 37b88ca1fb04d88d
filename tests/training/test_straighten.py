"""Photos turned inside a black frame are found and put back upright; ordinary and dark photos are left alone."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.cleaning.straighten import straighten_framed_photo, tilt_of_framed_photo


def scene(size: tuple[int, int] = (240, 160), brightness: tuple[int, int] = (40, 200)) -> Image.Image:
    """A textured photo with a distinct object, so orientation and content can be checked."""
    rng = np.random.default_rng(0)
    low, high = brightness
    width, height = size
    ramp = np.linspace(low, high, width, dtype=np.float32)[None, :, None].repeat(height, 0).repeat(3, 2)
    photo = Image.fromarray(np.clip(ramp + rng.normal(0, 6, ramp.shape), low, high).astype(np.uint8), "RGB")
    ImageDraw.Draw(photo).ellipse((30, 40, 110, 140), fill=(high, low, low))
    return photo


def framed(photo: Image.Image, degrees: float) -> Image.Image:
    """What the source did: turn the photo and pad the corners with black."""
    return photo.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))


def difference(a: Image.Image, b: Image.Image) -> float:
    size = (96, 64)
    return float(np.abs(np.asarray(a.resize(size), np.float32) - np.asarray(b.resize(size), np.float32)).mean())


@pytest.mark.parametrize("degrees", [30.0, -20.0, 12.0])
def test_a_framed_photo_comes_back_upright_and_whole(degrees: float) -> None:
    photo = scene()
    upright = straighten_framed_photo(framed(photo, degrees))
    assert upright is not None
    assert abs(upright.width - photo.width) <= 0.06 * photo.width
    assert abs(upright.height - photo.height) <= 0.06 * photo.height
    assert difference(upright, photo) < 12  # same picture, same way up (a turned or shifted one differs by ~60)
    corners = np.asarray(upright).max(axis=2)[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.min() > 12  # none of the black frame is left in


@pytest.mark.parametrize("degrees", [45.0, -45.0, 43.0])
def test_near_45_degrees_the_photo_comes_back_landscape(degrees: float) -> None:
    upright = straighten_framed_photo(framed(scene(), degrees))
    assert upright is not None and upright.width > upright.height  # sideways would be 160 x 240


def test_a_darkened_framed_photo_is_found_too() -> None:
    found = tilt_of_framed_photo(framed(scene(brightness=(5, 40)), 35.0))
    assert found is not None and abs(found[0] + 35.0) < 2.0


def test_ordinary_and_merely_dark_photos_are_left_alone() -> None:
    assert straighten_framed_photo(scene()) is None
    assert straighten_framed_photo(framed(scene(), 1.0)) is None  # a hair off level: not worth resampling
    height, width = 160, 240
    yy, xx = np.mgrid[:height, :width]
    falloff = 1.0 - np.hypot((xx - width / 2) / (width / 2), (yy - height / 2) / (height / 2))
    vignette = np.clip(np.asarray(scene(), np.float32) * falloff[..., None] * 1.6, 0, 255).astype(np.uint8)
    assert straighten_framed_photo(Image.fromarray(vignette, "RGB")) is None  # black corners, but no frame
