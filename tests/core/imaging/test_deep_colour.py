"""16-bit photos stay 16-bit, and ICC profiles and EXIF reach every output format (read back from the files)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms
from PySide6.QtGui import QColorSpace, QImage

from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.deep_colour import encode_tiff16, read_deep_colour, sixteen_bit_rawmode
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.imaging.png_encoder import encode_png16
from tests.conftest import make_photo

ADOBE_RGB = QColorSpace(QColorSpace.NamedColorSpace.AdobeRgb).iccProfile().data()


def sixteen_bit_photo(size: tuple[int, int] = (96, 64)) -> np.ndarray:
    """A photo at 16 bits whose low bytes matter: the 8-bit photo plus a smooth sub-8-bit gradient."""
    eight = np.asarray(make_photo(size), np.uint16)
    ramp = np.linspace(0, 255, size[0], dtype=np.uint16)[None, :, None]
    return eight * 256 + ramp


def camera_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    exif[0x8298] = "(c) Photographer"
    return exif


def read_sixteen_bits(path: Path) -> np.ndarray:
    with Image.open(path) as opened:
        rawmode = sixteen_bit_rawmode(opened)
    assert rawmode is not None, f"{path.name} is not 16-bit"
    with Image.open(path) as opened:
        channels = len(opened.getbands())
    return read_deep_colour(path, rawmode) if channels == 3 else _rgba16(path, rawmode)


def _rgba16(path: Path, rawmode: str) -> np.ndarray:
    """RGBA at 16 bits: the colour through our reader, alpha through Qt's own 16-bit decoder (PNG and TIFF)."""
    rgb = read_deep_colour(path, rawmode)
    image = QImage(str(path))
    assert image.depth() == 64, f"Qt reads {path.name} at {image.depth()} bits per pixel"
    image = image.convertToFormat(QImage.Format.Format_RGBA64)
    qt = np.frombuffer(image.constBits(), np.uint16).reshape(image.height(), image.bytesPerLine() // 2)
    qt = qt[:, :image.width() * 4].reshape(image.height(), image.width(), 4).copy()  # before the QImage goes
    np.testing.assert_array_equal(qt[..., :3], rgb)  # two independent decoders agree on every 16-bit value
    return qt


@pytest.fixture
def adobe_rgb_tiff(tmp_path: Path) -> Path:
    path = tmp_path / "master 16-bit.tif"
    path.write_bytes(encode_tiff16(sixteen_bit_photo(), ADOBE_RGB, camera_exif()))
    return path


def test_sixteen_bit_tiff_is_read_at_full_depth(adobe_rgb_tiff: Path) -> None:
    loaded = load_image(adobe_rgb_tiff)
    assert loaded.deep is not None and loaded.deep.dtype == np.uint16
    np.testing.assert_array_equal(loaded.deep, sixteen_bit_photo())
    assert loaded.icc_profile == ADOBE_RGB
    assert np.array_equal(np.asarray(loaded.rgb), (sixteen_bit_photo() >> 8).astype(np.uint8))  # preview: 8-bit


@pytest.mark.parametrize("fmt", ["tiff", "png"])
def test_adobe_rgb_sixteen_bit_tiff_exports_sixteen_bit_with_its_profile(adobe_rgb_tiff: Path, tmp_path: Path,
                                                                         fmt: str) -> None:
    loaded = load_image(adobe_rgb_tiff)
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 96).astype(np.uint8), (64, 1)), "L")
    target = export_photo(loaded, alpha, tmp_path / f"cut.{fmt}", ExportOptions(format=fmt))
    back = read_sixteen_bits(target)
    assert back.dtype == np.uint16 and back.shape == (64, 96, 4)
    np.testing.assert_array_equal(back[..., :3], sixteen_bit_photo())
    np.testing.assert_array_equal(back[..., 3], np.asarray(alpha, np.uint16) * 257)
    with Image.open(target) as opened:
        assert opened.info.get("icc_profile") == ADOBE_RGB
        exif = opened.getexif()
    assert exif[0x010F] == "TestCam" and exif[0x8298] == "(c) Photographer"


def test_sixteen_bit_png_with_orientation_is_turned_upright_at_full_depth(tmp_path: Path) -> None:
    pixels = sixteen_bit_photo((40, 24))
    exif = camera_exif()
    exif[0x0112] = 6  # shown turned 90° clockwise
    path = tmp_path / "turned.png"
    path.write_bytes(encode_png16(pixels, exif=exif.tobytes()))
    loaded = load_image(path)
    assert loaded.size == (24, 40) and loaded.deep is not None
    np.testing.assert_array_equal(loaded.deep, np.rot90(pixels, -1))


def test_sixteen_bit_grey_gives_sixteen_bit_rgb(tmp_path: Path) -> None:
    grey = (np.arange(48 * 32, dtype=np.uint32).reshape(32, 48) * 41).astype(np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(grey).save(path)
    loaded = load_image(path)
    assert loaded.deep is not None
    np.testing.assert_array_equal(loaded.deep[..., 1], grey)


def test_colour_background_crop_and_resize_stay_sixteen_bit(adobe_rgb_tiff: Path, tmp_path: Path) -> None:
    loaded = load_image(adobe_rgb_tiff)
    alpha = Image.new("L", (96, 64), 0)
    alpha.paste(255, (20, 10, 60, 50))
    options = ExportOptions(format="png", background=Background(kind="color", color=(0, 0, 255)),
                            crop_to_subject=True, crop_padding=0)
    back = read_sixteen_bits(export_photo(loaded, alpha, tmp_path / "blue.png", options))
    assert back.shape == (40, 40, 3)
    np.testing.assert_array_equal(back, sixteen_bit_photo()[10:50, 20:60])
    halved = read_sixteen_bits(export_photo(loaded, alpha, tmp_path / "half.png",
                                            options.with_changes(resize_percent=50.0)))
    assert halved.shape == (20, 20, 3) and halved.dtype == np.uint16
    assert len(np.unique(halved[..., 0] & 0xFF)) > 1  # the low byte survives resizing


def test_eight_bit_outputs_of_a_sixteen_bit_photo(adobe_rgb_tiff: Path, tmp_path: Path) -> None:
    """Formats and masks that cannot hold 16 bits get 8 (what the preview shows)."""
    loaded = load_image(adobe_rgb_tiff)
    alpha = Image.new("L", (96, 64), 255)
    for options in (ExportOptions(format="webp"), ExportOptions(format="png", mask_only=True)):
        target = export_photo(loaded, alpha, tmp_path / f"out-{options.mask_only}{options.suffix}", options)
        with Image.open(target) as opened:
            assert sixteen_bit_rawmode(opened) is None


@pytest.mark.parametrize("fmt", ["png", "tiff", "webp", "jpg"])
def test_profile_and_exif_reach_every_format(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "wide.jpg"
    make_photo().save(path, icc_profile=ADOBE_RGB, exif=camera_exif().tobytes(), quality=95)
    loaded = load_image(path)
    target = export_photo(loaded, Image.new("L", loaded.size, 200), tmp_path / f"out.{fmt}",
                          ExportOptions(format=fmt))
    with Image.open(target) as opened:
        assert opened.info.get("icc_profile") == ADOBE_RGB, f"{fmt} lost the ICC profile"
        exif = opened.getexif()
    assert exif.get(0x010F) == "TestCam", f"{fmt} lost the EXIF"
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(ADOBE_RGB))).strip() == "Adobe RGB"


def test_a_sixteen_bit_cutout_takes_its_alpha_from_the_models_probability(tmp_path: Path,
                                                                          random_weights: Path) -> None:
    from clearbg_desktop.core.batch import iter_export, plan_batch
    from clearbg_desktop.core.imaging.loading import load_image
    from clearbg_desktop.core.inference.segmenter import Segmenter

    source = tmp_path / "deep.png"
    source.write_bytes(encode_png16(sixteen_bit_photo((480, 320))))
    segmenter = Segmenter.from_weights("small", device="cpu")
    options = ExportOptions(format="png")
    plan = plan_batch([source], tmp_path / "out", options)
    results = [step.result for step in iter_export(plan, segmenter, options)]
    assert results[0].status == "done", results[0].message
    alpha = read_sixteen_bits(results[0].output)[..., 3].astype(np.int64)
    eight = np.asarray(segmenter.predict_alpha(load_image(source).rgb), np.int64)
    assert np.abs(alpha / 257 - eight).max() <= 2  # the same mask…
    assert len(np.unique(alpha)) > 20 * len(np.unique(eight)) and (alpha % 257).any()  # …not 8-bit levels widened
