"""The fast PNG writer produces files that decode to exactly the pixels, with ICC and EXIF kept."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.imaging import png_encoder
from clearbg_desktop.core.imaging.encoding import encode_image
from clearbg_desktop.core.imaging.png_encoder import adler32_combine, encode_png


def random_image(mode: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA"])
@pytest.mark.parametrize("size", [(1, 1), (2, 3), (97, 61)])
def test_decodes_to_the_same_pixels(mode: str, size: tuple[int, int]) -> None:
    image = random_image(mode, size)
    decoded = Image.open(io.BytesIO(encode_png(image)))
    assert decoded.mode == mode and decoded.size == size
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(image))


@pytest.mark.parametrize("strip_bytes", [1000, 1])  # 5 rows per strip, and one row per strip
def test_many_strips_on_several_threads_make_one_valid_stream(monkeypatch: pytest.MonkeyPatch,
                                                              strip_bytes: int) -> None:
    monkeypatch.setattr(png_encoder, "STRIP_BYTES", strip_bytes)
    image = random_image("RGBA", (50, 233), seed=1)
    for level in (1, 6):
        data = encode_png(image, level=level, workers=3)
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), np.asarray(image))
        idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
        zlib.decompress(idat)  # checks the combined Adler-32 and the zlib header


def test_adler32_combine_matches_zlib() -> None:
    first, second = b"background removal", bytes(range(256)) * 300
    combined = adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(first + second)
    assert adler32_combine(1, zlib.adler32(second), len(second)) == zlib.adler32(second)  # 1 = empty input


def test_icc_profile_and_exif_are_kept_and_png_goes_through_it() -> None:
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "ClearBG test camera"  # Make
    image = random_image("RGBA", (40, 30))
    decoded = Image.open(io.BytesIO(encode_image(image, "png", icc_profile=icc, exif=exif.tobytes())))
    assert decoded.info["icc_profile"] == icc
    assert decoded.getexif()[0x010F] == "ClearBG test camera"
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(image))


def test_other_modes_are_refused_so_callers_fall_back_to_pillow() -> None:
    with pytest.raises(ValueError, match="not P"):
        encode_png(Image.new("P", (4, 4)))
    assert Image.open(io.BytesIO(encode_image(Image.new("P", (4, 4)), "png"))).mode == "P"
