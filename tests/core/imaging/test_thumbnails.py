"""Filmstrip thumbnails without a full decode (#32.2): the embedded EXIF thumbnail, upright, else a draft decode;
hostile files give one line."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.imaging.loading import ImageLoadError
from clearbg_desktop.core.imaging.thumbnails import quick_thumbnail
from tests.conftest import make_photo


def _exif_with_thumbnail(thumbnail: bytes, orientation: int) -> bytes:
    """A little-endian TIFF block: IFD0 (orientation), IFD1 (JPEGInterchangeFormat, its length), the JPEG."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, orientation)
    ifd1_at = 8 + len(ifd0) + 4
    jpeg_at = ifd1_at + 2 + 2 * 12 + 4
    ifd1 = struct.pack("<H", 2) + struct.pack("<HHII", 0x0201, 4, 1, jpeg_at) + struct.pack(
        "<HHII", 0x0202, 4, 1, len(thumbnail))
    return (b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd0 + struct.pack("<I", ifd1_at) + ifd1
            + struct.pack("<I", 0) + thumbnail)


def test_the_embedded_thumbnail_is_used_and_turned_upright(tmp_path: Path) -> None:
    marker = Image.new("RGB", (160, 120), (0, 0, 255))  # blue: not the photo's colours
    marker.paste((255, 0, 0), (0, 0, 80, 120))  # left half red
    buffer = io.BytesIO()
    marker.save(buffer, "JPEG", quality=90)
    path = tmp_path / "camera.jpg"
    make_photo((1600, 1200)).save(path, quality=90, exif=_exif_with_thumbnail(buffer.getvalue(), orientation=6))
    quick = quick_thumbnail(path, (96, 72))
    assert quick.source == "exif"
    pixels = np.asarray(quick.image)
    assert pixels.shape[0] > pixels.shape[1]  # orientation 6: turned a quarter, portrait
    assert pixels[2, pixels.shape[1] // 2, 0] > 200 and pixels[-3, pixels.shape[1] // 2, 2] > 200  # red on top


def test_without_one_a_draft_decode_within_the_size(tmp_path: Path) -> None:
    path = tmp_path / "plain.jpg"
    make_photo((1600, 1200)).save(path, quality=90)
    quick = quick_thumbnail(path, (192, 144))
    assert quick.source == "draft" and quick.image.size == (192, 144)
    png = tmp_path / "plain.png"
    make_photo((400, 300)).save(png)
    assert quick_thumbnail(png, (192, 144)).source == "full"


def test_hostile_files_give_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ImageLoadError, match="broken.jpg"):
        quick_thumbnail(broken, (96, 72))
    big = tmp_path / "big.png"
    make_photo((400, 300)).save(big)
    with pytest.raises(ImageLoadError, match="limit"):
        quick_thumbnail(big, (96, 72), max_pixels=1000)
