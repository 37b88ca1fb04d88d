"""Compositing and the one-photo export recipe shared by the dialog, batch and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.imaging.atomic_write import OutputExistsError
from clearbg_desktop.core.imaging.compose import Background, compose, subject_box
from clearbg_desktop.core.imaging.export import ExportOptions, next_free_path, output_name
from clearbg_desktop.core.imaging.loading import LoadedImage, load_image
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.imaging.refine import RefineSettings, adjust_contrast, feather, refine_alpha, shift_edge
from tests.conftest import make_photo


def square_alpha(size: tuple[int, int] = (160, 120), box: tuple[int, int, int, int] = (40, 30, 120, 90)) -> Image.Image:
    alpha = Image.new("L", size, 0)
    alpha.paste(255, box)
    return alpha


def test_background_parsing(tmp_path: Path) -> None:
    assert Background.parse("transparent").kind == "transparent"
    assert Background.parse("#ff8000").color == (255, 128, 0)
    assert Background.parse("white").color == (255, 255, 255)
    assert Background.parse("blur:12").blur_radius == 12
    picture = tmp_path / "bg.png"
    make_photo().save(picture)
    assert Background.parse(str(picture)).kind == "image"
    with pytest.raises(ValueError, match="neither a colour"):
        Background.parse("no-such-thing.png")


def test_cutout_is_rgba_with_the_alpha() -> None:
    cutout = compose(make_photo(), square_alpha(), Background())
    assert cutout.mode == "RGBA"
    assert cutout.getpixel((0, 0))[3] == 0 and cutout.getpixel((80, 60))[3] == 255


def test_colour_background_replaces_only_the_background() -> None:
    photo = make_photo()
    out = compose(photo, square_alpha(), Background(kind="color", color=(0, 0, 255)))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (0, 0, 255)
    assert out.getpixel((80, 60)) == photo.getpixel((80, 60))


def test_blur_and_image_backgrounds(tmp_path: Path) -> None:
    photo = make_photo()
    blurred = np.asarray(compose(photo, square_alpha(), Background(kind="blur", blur_radius=8)), np.float32)
    assert blurred[:20, :20].std() < np.asarray(photo, np.float32)[:20, :20].std()
    picture = tmp_path / "beach.png"
    Image.new("RGB", (50, 400), (10, 200, 10)).save(picture)  # different aspect: fitted by cropping
    out = compose(photo, square_alpha(), Background(kind="image", image_path=str(picture)))
    assert out.size == photo.size and out.getpixel((0, 0)) == (10, 200, 10)


def test_subject_box_with_padding_is_clipped() -> None:
    assert subject_box(square_alpha(), padding=10) == (30, 20, 130, 100)
    assert subject_box(square_alpha(), padding=500) == (0, 0, 160, 120)
    assert subject_box(Image.new("L", (10, 10), 0)) is None


def test_refinement_widths() -> None:
    alpha = square_alpha()
    grown = np.asarray(shift_edge(alpha, 5)) > 127
    shrunk = np.asarray(shift_edge(alpha, -5)) > 127
    assert grown.sum() == (80 + 10) * (60 + 10)
    assert shrunk.sum() == (80 - 10) * (60 - 10)
    soft = np.asarray(feather(alpha, 4))
    assert 0 < soft[60, 40] < 255 and soft[60, 80] == 255
    hard = np.asarray(adjust_contrast(Image.fromarray(soft), 4.0))
    assert ((hard > 0) & (hard < 255)).sum() < ((soft > 0) & (soft < 255)).sum()
    assert refine_alpha(make_photo(), alpha, RefineSettings()) is alpha


def test_output_names_and_free_names(tmp_path: Path) -> None:
    options = ExportOptions(format="webp", name_template="{name}-{model}")
    assert output_name(Path("a/Beach Day.JPG"), options, "small") == "Beach Day-small.webp"
    (tmp_path / "x.png").write_bytes(b"1")
    assert next_free_path(tmp_path / "x.png").name == "x (2).png"
    with pytest.raises(ValueError, match="unknown field"):
        ExportOptions(name_template="{nme}")
    with pytest.raises(ValueError, match="plain file name"):
        ExportOptions(name_template="../{name}")


@pytest.mark.parametrize(
    "fmt,mode,has_alpha",
    [("png", "RGBA", True), ("webp", "RGBA", True), ("tiff", "RGBA", True), ("jpg", "RGB", False)],
)
def test_export_each_format(tmp_path: Path, photo_path: Path, fmt: str, mode: str, has_alpha: bool) -> None:
    loaded = load_image(photo_path)
    options = ExportOptions(format=fmt, background=Background(color=(255, 0, 0)))
    written = export_photo(loaded, square_alpha(), tmp_path / f"out{options.suffix}", options)
    with Image.open(written) as image:
        assert image.mode == mode and image.size == (160, 120)
        if has_alpha:
            assert image.getchannel("A").getpixel((0, 0)) == 0
        else:  # JPEG: flattened on the chosen colour
            red, green, blue = image.getpixel((2, 2))
            assert red > 230 and green < 30 and blue < 30


def test_mask_only_crop_and_resize(tmp_path: Path, photo_path: Path) -> None:
    loaded = load_image(photo_path)
    options = ExportOptions(mask_only=True, crop_to_subject=True, crop_padding=0, resize_percent=50)
    written = export_photo(loaded, square_alpha(), tmp_path / "mask.png", options)
    with Image.open(written) as image:
        assert image.mode == "L" and image.size == (40, 30)


def test_source_transparency_is_kept(tmp_path: Path) -> None:
    rgb = make_photo()
    source_alpha = Image.new("L", rgb.size, 255)
    source_alpha.paste(0, (0, 0, 80, 120))
    loaded = LoadedImage(rgb=rgb, source_alpha=source_alpha)
    written = export_photo(loaded, Image.new("L", rgb.size, 255), tmp_path / "o.png", ExportOptions())
    with Image.open(written) as image:
        assert image.getchannel("A").getpixel((10, 10)) == 0 and image.getchannel("A").getpixel((150, 10)) == 255


def test_export_never_overwrites_without_asking(tmp_path: Path, photo_path: Path) -> None:
    target = tmp_path / "o.png"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        export_photo(load_image(photo_path), square_alpha(), target, ExportOptions())
    assert target.read_bytes() == b"keep me"


def test_decontamination_removes_background_fringe() -> None:
    rgb = Image.new("RGB", (60, 60), (0, 255, 0))  # green screen
    rgb.paste((200, 40, 40), (20, 20, 40, 40))
    alpha = Image.new("L", (60, 60), 0)
    alpha.paste(255, (20, 20, 40, 40))
    alpha.paste(128, (18, 20, 20, 40))  # a soft edge column over green
    from clearbg_desktop.core.imaging.refine import decontaminate_colors

    fixed = decontaminate_colors(rgb, alpha)
    red, green, _ = fixed.getpixel((19, 30))
    assert green < 100 and red > 150
    assert fixed.getpixel((30, 30)) == (200, 40, 40)


@pytest.mark.parametrize(("fmt", "square"), [("png", False), ("jpg", False), ("webp", False), ("jpg", True),
                                             ("png", True)])
def test_size_estimate_is_close_to_the_real_size(fmt: str, square: bool) -> None:
    """``square``: the marketplace frame, whose estimate once framed every 32-px band in a square of up to 49 MP
    (8 s on 24 MP) and scaled it by the photo, not the frame."""
    from clearbg_desktop.core.imaging.loading import LoadedImage
    from clearbg_desktop.core.imaging.output_file import encode_output
    from clearbg_desktop.core.imaging.output_size import estimate_output_bytes

    rng = np.random.default_rng(3)
    base = make_photo((400, 300), seed=3).resize((2400, 1800), Image.Resampling.BICUBIC)
    noisy = np.asarray(base, np.int16) + rng.integers(-6, 7, (1800, 2400, 3))
    loaded = LoadedImage(rgb=Image.fromarray(noisy.clip(0, 255).astype(np.uint8), "RGB"))
    alpha = Image.new("L", loaded.size, 0)
    alpha.paste(255, (600, 360, 1800, 1530))
    options = ExportOptions(format=fmt)
    if square:
        options = options.with_changes(background=Background(kind="color", color=(255, 255, 255)),
                                       subject_fill=0.85, resize_long_edge=1000)
    ratio = estimate_output_bytes(loaded, alpha, options) / len(encode_output(loaded, alpha, options))
    assert 0.75 < ratio < 1.33
