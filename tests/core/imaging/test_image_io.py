"""Loading and saving photos: every kind of bad input gets a clear message and loses nothing."""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from clearbg_desktop.core.imaging.atomic_write import OutputError, OutputExistsError, write_atomic
from clearbg_desktop.core.imaging.encoding import save_image
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_image, load_reduced
from tests.conftest import make_photo


def test_loads_jpeg_as_rgb(photo_path: Path) -> None:
    loaded = load_image(photo_path)
    assert loaded.rgb.mode == "RGB" and loaded.size == (160, 120)
    assert loaded.source_alpha is None and loaded.notes == []


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty"):
        load_image(empty)


def test_truncated_jpeg(tmp_path: Path, photo_path: Path) -> None:
    data = photo_path.read_bytes()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated|corrupt"):
        load_image(broken)
    assert broken.read_bytes() == data[: len(data) // 2]  # untouched


def test_text_file_named_jpg(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(ImageLoadError, match="not a readable image"):
        load_image(text)


def test_one_pixel_image(tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    with pytest.raises(ImageLoadError, match="too small"):
        load_image(tiny)


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims a huge size: decoding it would allocate gigabytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
                     + chunk(b"IEND", b""))


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 10_000, 10_000)  # 100 MP
    with pytest.raises(ImageLoadError, match="100 MP.*limit"):
        load_image(bomb)


def test_cmyk_jpeg_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (32, 24), (0, 255, 255, 0)).save(path)  # pure red in CMYK
    loaded = load_image(path)
    assert loaded.rgb.mode == "RGB"
    red, green, blue = loaded.rgb.getpixel((10, 10))
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "grey16.png"
    ramp = (np.linspace(0, 65535, 64 * 16).reshape(16, 64)).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    loaded = load_image(path)
    values = np.asarray(loaded.rgb)[..., 0]
    assert values.min() == 0 and values.max() == 255
    assert 100 < values[8, 32] < 150  # mid-grey stays mid-grey


def test_palette_png_with_transparency_keeps_its_alpha(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    image = Image.new("P", (20, 20), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.paste(0, (0, 0, 10, 20))
    image.info["transparency"] = 0
    image.save(path, transparency=0)
    loaded = load_image(path)
    alpha = np.asarray(loaded.source_alpha)
    assert alpha[5, 5] == 0 and alpha[5, 15] == 255


def test_animated_gif_uses_first_frame_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    loaded = load_image(path)
    assert loaded.rgb.getpixel((8, 8))[0] > 200
    assert "first frame" in loaded.notes[0] and "3 frames" in loaded.notes[0]


def test_animated_webp_uses_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "anim.webp"
    frames = [Image.new("RGB", (16, 16), c) for c in ((0, 0, 255), (255, 0, 0))]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    loaded = load_image(path)
    assert loaded.rgb.getpixel((8, 8))[2] > 200 and loaded.notes


def test_exif_orientation_is_applied_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif[0x010F] = "TestCam"
    make_photo((80, 40)).save(path, exif=exif.tobytes())
    loaded = load_image(path)
    assert loaded.size == (40, 80)
    kept = Image.Exif()
    kept.load(loaded.exif)
    assert 0x0112 not in kept and kept[0x010F] == "TestCam"


def test_icc_profile_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "icc.jpg"
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    make_photo().save(path, icc_profile=profile)
    assert load_image(path).icc_profile == profile


def test_non_ascii_name_with_spaces(tmp_path: Path) -> None:
    path = tmp_path / "Été à la plage — 写真 01.jpg"
    make_photo().save(path)
    assert load_image(path).size == (160, 120)


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        save_image(make_photo(), target, "png")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp file left
    save_image(make_photo(), target, "png", overwrite=True)
    assert Image.open(target).size == (160, 120)


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_folder_gives_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(OutputError, match="cannot write"):
            write_atomic(b"data", folder / "x.png")
    finally:
        folder.chmod(stat.S_IRWXU)


def test_read_only_folder_as_root_is_still_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root can write anywhere, so simulate the OS refusing the temp file."""
    import tempfile

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(OutputError, match="cannot write to the folder .*Permission denied"):
        write_atomic(b"data", tmp_path / "x.png")


@pytest.mark.parametrize("fmt,mode", [("png", "RGBA"), ("webp", "RGBA"), ("tiff", "RGBA"), ("jpg", "RGB")])
def test_formats_round_trip(tmp_path: Path, fmt: str, mode: str) -> None:
    image = make_photo().convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    target = save_image(image, tmp_path / f"x.{fmt}", fmt)
    with Image.open(target) as reopened:
        assert reopened.mode == mode and reopened.size == image.size


def test_jpeg_refuses_alpha(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="flatten"):
        save_image(make_photo().convert("RGBA"), tmp_path / "x.jpg", "jpg")
    assert not list(tmp_path.iterdir())


def test_a_251_byte_output_name_is_written(tmp_path: Path) -> None:
    """Issue #28.9: the name is legal; the temporary file beside it must be too (a short name of its own)."""
    name = "é" * 123 + "x.png"  # 251 bytes in UTF-8
    assert len(name.encode()) == 251
    written = write_atomic(b"data", tmp_path / name)
    assert written.read_bytes() == b"data" and [p.name for p in tmp_path.iterdir()] == [name]
    with pytest.raises(OutputError, match="too long") as refused:
        write_atomic(b"data", tmp_path / ("a" * 252 + ".png"))  # 256 bytes: the name itself is the problem
    assert str(tmp_path) not in str(refused.value).split(":")[0]
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_exception_types_stay_out_of_messages(tmp_path: Path) -> None:
    """Issue #28.10: a TIFF whose second page has no width said "corrupt image (TypeError: Missing dimensions)"."""
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (16, 16), (60 * i, 0, 0)) for i in range(2)]
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:])
    data = bytearray(buffer.getvalue())
    first = struct.unpack_from("<I", data, 4)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * struct.unpack_from("<H", data, first)[0])[0]
    for index in range(struct.unpack_from("<H", data, second)[0]):
        if struct.unpack_from("<H", data, second + 2 + 12 * index)[0] == 256:  # ImageWidth -> an unknown tag
            struct.pack_into("<H", data, second + 2 + 12 * index, 0x9C9C)
    path = tmp_path / "pages.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError) as refused:
        load_image(path)
    assert str(refused.value) == "pages.tif: corrupt image (Missing dimensions)"


def test_reduced_decode_keeps_the_full_size_orientation_and_colours(tmp_path: Path) -> None:
    """#32: the model's decode of a photo not on screen: a JPEG at a fraction of its size, upright, converted
    as a full decode, with the full size its mask is made at."""
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    make_photo((1600, 1200)).save(path, exif=exif.tobytes(), quality=92)
    full = load_image(path)
    reduced = load_reduced(path, 300)
    assert reduced.size == full.size == (1200, 1600)
    assert reduced.rgb.mode == "RGB" and reduced.rgb.size == (300, 400)  # 1/4: the largest keeping 300 px
    same_scale = np.asarray(full.rgb.reduce(4), np.int16)
    assert np.abs(same_scale - np.asarray(reduced.rgb, np.int16)).mean() < 3  # the same picture, upright
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (640, 480), (0, 255, 255, 0)).save(cmyk)
    red = load_reduced(cmyk, 100)
    assert red.size == (640, 480) and red.rgb.size == (160, 120)
    assert red.rgb.getpixel((10, 10))[0] > 200 and red.rgb.getpixel((10, 10))[1] < 60


def test_reduced_decode_of_other_formats_is_whole_and_as_guarded(tmp_path: Path) -> None:
    png = tmp_path / "photo.png"
    make_photo((400, 300)).save(png)
    reduced = load_reduced(png, 100)
    assert reduced.size == reduced.rgb.size == (400, 300)
    assert np.array_equal(np.asarray(reduced.rgb), np.asarray(load_image(png).rgb))
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 10_000, 10_000)
    with pytest.raises(ImageLoadError, match="100 MP.*limit"):
        load_reduced(bomb, 100)
