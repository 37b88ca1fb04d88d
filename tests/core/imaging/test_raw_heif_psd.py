"""A photographer's own files (#38): camera RAW in (through LibRaw, in a helper process), HEIC and AVIF in, a
layered PSD / mask-channel TIFF out, read back by independent readers (psd-tools, tifffile, GIMP when installed).

The RAW files are DNGs made here from real photos (``dng_maker``): a Bayer mosaic under a warm as-shot white
balance, so LibRaw really demosaics and really applies the camera's white balance.
"""

from __future__ import annotations

import io
import random
import shutil
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.imaging import raw_decode, raw_exif
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.formats import INPUT_SUFFIXES, LAYERED_FORMATS
from clearbg_desktop.core.imaging.loading import ImageLoadError, LoadedImage, load_image, load_reduced
from clearbg_desktop.core.imaging.output_file import export_photo, keeps_sixteen_bits
from clearbg_desktop.core.imaging.raw_decode import decode_raw
from clearbg_desktop.core.imaging.raw_libraw import RawDecodeError, RawLimits, default_max_bytes
from clearbg_desktop.core.imaging.thumbnails import quick_thumbnail
from tests.conftest import SHARED_DATA, make_photo
from tests.core.imaging.dng_maker import make_dng

PEOPLE = SHARED_DATA / "people-val" / "images"


def source_photo(index: int = 0) -> Image.Image:
    """A real photo where the shared data is here, else the suite's synthetic one (both even-sided)."""
    photos = sorted(PEOPLE.glob("*.jpg")) if PEOPLE.is_dir() else []
    image = Image.open(photos[index]).convert("RGB") if photos else make_photo((320, 240), seed=index)
    return image.crop((0, 0, image.width // 2 * 2, image.height // 2 * 2))


@pytest.fixture
def dng(tmp_path: Path) -> tuple[Path, Image.Image]:
    photo = source_photo()
    return make_dng(photo, tmp_path / "IMG_0001.dng", preview_long_side=256), photo


def srgb_profile_description(icc: bytes) -> str:
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


# ----- RAW in ------------------------------------------------------------------------------------------------------


def test_raw_suffixes_are_inputs() -> None:
    for suffix in (".dng", ".nef", ".cr2", ".cr3", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw"):
        assert suffix in INPUT_SUFFIXES


def test_dng_decodes_to_the_photo_with_the_camera_white_balance(dng: tuple[Path, Image.Image]) -> None:
    path, photo = dng
    loaded = load_image(path)
    assert loaded.size == photo.size
    assert loaded.deep is not None and loaded.deep.dtype == np.uint16 and loaded.deep.shape == (photo.height,
                                                                                                  photo.width, 3)
    diff = np.abs(np.asarray(loaded.rgb, np.int16) - np.asarray(photo, np.int16))
    # As shot, red was recorded at half and blue at 0.7 of green: without the camera's white balance the photo
    # comes out green-cast, tens of levels off. With it, within a few levels (demosaicking at edges).
    assert diff.mean() < 3.0 and np.median(diff) <= 1
    assert abs(float(diff[..., 0].mean()) - float(diff[..., 2].mean())) < 2.0
    assert loaded.icc_profile and "sRGB" in srgb_profile_description(loaded.icc_profile)


def test_dng_exif_carries_camera_lens_and_date(dng: tuple[Path, Image.Image]) -> None:
    loaded = load_image(dng[0])
    assert loaded.exif is not None
    exif = Image.Exif()
    exif.load(loaded.exif)
    assert exif[0x010F] == "ClearBG Camera Co" and exif[0x0110] == "Mosaic One"
    assert exif[0x0132] == "2026:12:06 10:20:30"
    sub = exif.get_ifd(0x8769)
    assert sub[0xA434] == "ClearBG 35mm F1.4" and sub[0x9003] == "2026:12:06 10:20:30"
    assert 0x0112 not in exif  # applied, so not carried


def test_exif_of_a_raw_that_is_not_a_tiff_comes_from_its_preview(tmp_path: Path) -> None:
    """CR3 and RAF keep the camera's EXIF in the embedded JPEG: read there when the file has no TIFF IFDs."""
    import rawpy

    path = make_dng(source_photo(), tmp_path / "a.dng", preview_long_side=128)
    raw = rawpy.RawPy()
    raw.open_file(str(path))
    with raw:  # LibRaw writes what it read of the camera into the JPEG it extracts
        from_libraw = Image.Exif()
        from_libraw.load(raw_exif._exif_from_preview(raw))
        assert from_libraw[0x010F] == "ClearBG Camera Co" and from_libraw[0x0110] == "Mosaic One"
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Fujifilm", "X-T5"
    exif[0x8769] = {0xA434: "XF33mmF1.4 R LM WR"}
    preview = io.BytesIO()
    source_photo().resize((128, 105)).save(preview, format="JPEG", exif=exif.tobytes())

    class Thumb:
        format = rawpy.ThumbFormat.JPEG
        data = preview.getvalue()

    class Raw:
        def extract_thumb(self) -> Thumb:
            return Thumb()

    carried = Image.Exif()
    carried.load(raw_exif._exif_from_preview(Raw()))
    assert carried[0x0110] == "X-T5" and carried.get_ifd(0x8769)[0xA434] == "XF33mmF1.4 R LM WR"


@pytest.mark.parametrize(("orientation", "turn"), [(3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_270),
                                                    (8, Image.Transpose.ROTATE_90)])
def test_orientation_is_applied_to_photo_reduced_decode_and_thumbnail(tmp_path: Path, orientation: int,
                                                                      turn: Image.Transpose) -> None:
    photo = source_photo()
    path = make_dng(photo, tmp_path / "turned.dng", orientation=orientation, preview_long_side=200)
    upright = np.asarray(photo.transpose(turn), np.int16)
    loaded = load_image(path)
    assert np.abs(np.asarray(loaded.rgb, np.int16) - upright).mean() < 3.0
    reduced = load_reduced(path, 100)
    assert reduced.size == loaded.size
    assert reduced.rgb.size == ((loaded.size[0] + 1) // 2, (loaded.size[1] + 1) // 2)  # half-size decode
    thumb = quick_thumbnail(path, (64, 64))
    assert thumb.source == "raw-preview"
    expected = photo.transpose(turn)
    expected.thumbnail((64, 64))
    assert thumb.image.size == expected.size
    assert np.abs(np.asarray(thumb.image, np.int16) - np.asarray(expected, np.int16)).mean() < 12


def test_thumbnail_without_a_large_enough_preview_is_a_half_size_decode(tmp_path: Path) -> None:
    photo = source_photo()
    path = make_dng(photo, tmp_path / "bare.dng", preview_long_side=0)  # only IFD0's 1/16 thumbnail
    asked = max(photo.size) // 16 * 2 + 8
    thumb = quick_thumbnail(path, (asked, asked))
    assert thumb.source == "raw-half" and max(thumb.image.size) == asked


def test_raw_reduced_decode_of_a_small_raw_is_whole(tmp_path: Path) -> None:
    path = make_dng(make_photo((120, 80)), tmp_path / "small.dng")
    reduced = load_reduced(path, 100)  # half would be 60 px: shorter than asked
    assert reduced.rgb.size == (120, 80) == reduced.size


# ----- RAW out -----------------------------------------------------------------------------------------------------


def png_bit_depth(path: Path) -> int:
    return path.read_bytes()[24]


def test_raw_cutout_is_16_bit_png_and_tiff_by_default_8_bit_jpeg(dng: tuple[Path, Image.Image],
                                                                  tmp_path: Path) -> None:
    loaded = load_image(dng[0])
    alpha = Image.new("L", loaded.size, 0)
    alpha.paste(255, (10, 10, loaded.size[0] - 10, loaded.size[1] - 10))
    png = export_photo(loaded, alpha, tmp_path / "out.png", ExportOptions())
    assert png_bit_depth(png) == 16
    with Image.open(png) as written:
        assert written.info.get("icc_profile") == loaded.icc_profile
        assert written.getexif()[0x0110] == "Mosaic One"
    tiff = export_photo(loaded, alpha, tmp_path / "out.tif", ExportOptions(format="tiff"))
    tifffile = pytest.importorskip("tifffile")
    with tifffile.TiffFile(tiff) as read:
        page = read.pages[0]
        assert page.dtype == np.uint16 and page.shape[2] == 4
        assert np.array_equal(page.asarray()[..., :3], loaded.deep)
    jpg = export_photo(loaded, alpha, tmp_path / "out.jpg", ExportOptions(format="jpg"))
    with Image.open(jpg) as written:
        assert written.mode == "RGB" and written.info.get("icc_profile") == loaded.icc_profile


# ----- RAW bounds and hostile files --------------------------------------------------------------------------------


def test_pixel_limit_refuses_before_decoding(dng: tuple[Path, Image.Image]) -> None:
    path, photo = dng
    with pytest.raises(ImageLoadError, match=r"IMG_0001.dng: \d+×\d+ .* is larger than the .* limit; refusing"):
        load_image(path, max_pixels=photo.width * photo.height - 1)


def test_memory_limit_refuses_before_decoding(dng: tuple[Path, Image.Image]) -> None:
    with pytest.raises(RawDecodeError, match="GiB allowed; refusing"):
        decode_raw(dng[0], RawLimits(90_000_000, 1_000_000))


def test_load_image_takes_the_callers_memory_budget(dng: tuple[Path, Image.Image]) -> None:
    with pytest.raises(ImageLoadError, match=r"IMG_0001.dng: decoding \d+×\d+ needs about .* GiB allowed"):
        load_image(dng[0], max_decode_bytes=10_000_000)
    assert load_image(dng[0], max_decode_bytes=2**30).deep is not None


def test_huge_declared_sensor_in_a_small_file_is_refused(dng: tuple[Path, Image.Image], tmp_path: Path) -> None:
    path, photo = dng
    data = bytearray(path.read_bytes())
    # The raw IFD's width and height (LONG values in-line): 20000 × 15000 in a file of a few hundred KB.
    for old, new in ((photo.width, 20000), (photo.height, 15000)):
        needle = (256 if old == photo.width else 257).to_bytes(2, "little") + (4).to_bytes(2, "little") + \
            (1).to_bytes(4, "little") + old.to_bytes(4, "little")
        at = data.index(needle, 200)  # past IFD0 (whose width is the thumbnail's)
        data[at + 8:at + 12] = new.to_bytes(4, "little")
    crafted = tmp_path / "crafted.dng"
    crafted.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError, match="crafted.dng: .*(damaged or crafted|larger than|truncated|corrupt)"):
        load_image(crafted)


def test_truncated_raw_is_one_line_and_left_alone(dng: tuple[Path, Image.Image], tmp_path: Path) -> None:
    data = dng[0].read_bytes()
    broken = tmp_path / "broken.nef"
    broken.write_bytes(data[: len(data) // 3])
    with pytest.raises(ImageLoadError) as caught:
        load_image(broken)
    assert caught.value.args[0].startswith("broken.nef: ") and "\n" not in caught.value.args[0]
    assert broken.read_bytes() == data[: len(data) // 3]


def test_a_text_file_named_cr3_is_one_line(tmp_path: Path) -> None:
    fake = tmp_path / "IMG_1.CR3"
    fake.write_text("not a raw file at all")
    with pytest.raises(ImageLoadError, match="IMG_1.CR3: .*not a RAW (format|file) LibRaw reads"):
        load_image(fake)
    with pytest.raises(ImageLoadError, match="IMG_1.CR3: no thumbnail"):
        quick_thumbnail(fake, (64, 64))


def test_a_hung_decoder_is_stopped_and_the_next_file_decodes(dng: tuple[Path, Image.Image]) -> None:
    limits = RawLimits(90_000_000, default_max_bytes())
    with pytest.raises(RawDecodeError, match="took more than"):
        decode_raw(dng[0], limits, timeout=0.0001)
    assert decode_raw(dng[0], limits).pixels.shape[:2] == dng[1].size[::-1]


def test_a_crashed_helper_costs_one_file(dng: tuple[Path, Image.Image]) -> None:
    limits = RawLimits(90_000_000, default_max_bytes())
    decode_raw(dng[0], limits)  # a helper is running now
    helper = raw_decode.HELPERS._idle[-1]
    helper.process.kill()  # as a segfault in LibRaw would end it
    helper.process.wait()
    assert decode_raw(dng[0], limits).pixels.shape[:2] == dng[1].size[::-1]


def test_threads_share_the_helpers(dng: tuple[Path, Image.Image]) -> None:
    """The window's thumbnail, preview and photo workers and a batch decode at once: each gets its answer."""
    from concurrent.futures import ThreadPoolExecutor

    limits = RawLimits(90_000_000, default_max_bytes())
    asks = [lambda: decode_raw(dng[0], limits).pixels.shape, lambda: decode_raw(dng[0], limits, reduce_to=64).pixels.shape,
            lambda: raw_decode.raw_preview(dng[0], limits).image.size] * 3  # type: ignore[union-attr]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda ask: ask(), asks))
    width, height = dng[1].size
    assert answers[:3] == [(height, width, 3), ((height + 1) // 2, (width + 1) // 2, 3), (256, round(256 * height / width))]
    assert answers[3:6] == answers[:3] == answers[6:]
    assert len(raw_decode.HELPERS._idle) <= 2


def raw_mutations(original: bytes, seed: int = 38, count: int = 120) -> list[tuple[str, bytes]]:
    """Bit flips, truncations, headers of other formats, huge values in the directories, spliced bytes."""
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        mutated = bytearray(original)
        kind = index % 5
        if kind == 0:
            for _ in range(rng.randint(1, 30)):
                mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        elif kind == 1:
            mutated = mutated[: rng.randrange(1, len(mutated))]
        elif kind == 2:
            mutated[:4] = rng.choice([b"\xff\xd8\xff\xe0", b"\x89PNG", b"MM\x00*", b"FUJI", b"IIRO"])
        elif kind == 3:  # huge values into the directories near the start (sizes, offsets, counts)
            for _ in range(6):
                position = rng.randrange(8, min(600, len(mutated) - 4))
                mutated[position:position + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\xff\xf0\x00\x00",
                                                             b"\x00\x00\x00\x00"])
        else:
            start = rng.randrange(len(mutated))
            mutated[start:start] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        cases.append((f"raw-{index}", bytes(mutated)))
    return cases


def test_fuzzed_raw_files_raise_only_image_load_error(tmp_path: Path) -> None:
    original = make_dng(make_photo((64, 48), seed=3), tmp_path / "original.dng", preview_long_side=32).read_bytes()

    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, hang)
    try:
        for name, data in raw_mutations(original):
            target = tmp_path / f"{name}.dng"
            target.write_bytes(data)
            for read in (lambda p: load_image(p), lambda p: load_reduced(p, 16), lambda p: quick_thumbnail(p, (32, 32))):
                signal.alarm(60)  # a hang guard, not a timing assertion
                try:
                    result = read(target)
                except ImageLoadError as exc:
                    assert "\n" not in str(exc) and str(exc).startswith(f"{name}.dng: ")
                    continue
                except TimeoutError:
                    pytest.fail(f"{name}: hung")
                except Exception as exc:  # noqa: BLE001 - that is what the test looks for
                    pytest.fail(f"{name}: {type(exc).__name__} escaped: {exc}")
                finally:
                    signal.alarm(0)
                size = result.image.size if hasattr(result, "image") else result.size
                assert size[0] * size[1] <= 16_000_000, f"{name}: {size} from {len(data)} bytes"
            target.unlink()
    finally:
        signal.signal(signal.SIGALRM, previous)


# ----- HEIC and AVIF -----------------------------------------------------------------------------------------------


def test_heic_opens_in_a_plain_install(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")  # a required dependency: its absence fails the next line
    assert ".heic" in INPUT_SUFFIXES and ".heif" in INPUT_SUFFIXES
    photo = source_photo(1)
    path = tmp_path / "phone.heic"
    pillow_heif.from_pillow(photo).save(path, quality=95)
    loaded = load_image(path)
    assert loaded.size == photo.size
    assert np.abs(np.asarray(loaded.rgb, np.int16) - np.asarray(photo, np.int16)).mean() < 6


def test_avif_opens_through_pillow(tmp_path: Path) -> None:
    from PIL import features

    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF (Pillow >= 11.3 wheels have it)")
    assert ".avif" in INPUT_SUFFIXES
    photo = source_photo(2)
    path = tmp_path / "android.avif"
    photo.save(path, quality=95)
    loaded = load_image(path)
    assert loaded.size == photo.size
    assert np.abs(np.asarray(loaded.rgb, np.int16) - np.asarray(photo, np.int16)).mean() < 6


# ----- layered outputs ---------------------------------------------------------------------------------------------


def soft_mask(size: tuple[int, int]) -> Image.Image:
    """A cut-out with every level in it (a gradient edge), so a reader's conversions would show."""
    width, height = size
    ramp = np.tile(np.linspace(0, 255, width).astype(np.uint8), (height, 1))
    ramp[: height // 4] = 0
    return Image.fromarray(ramp, "L")


def psd_layer_pixels(layer: object, channel: int, depth: int) -> np.ndarray:
    """The layer's channel as stored (psd-tools gives floats 0..1)."""
    values = layer.numpy()[..., channel] if channel >= 0 else layer.numpy("mask")[..., 0]  # type: ignore[attr-defined]
    top = 65535 if depth == 16 else 255
    return (np.asarray(values, np.float64) * top + 0.5).astype(np.int64)


@pytest.mark.parametrize("sixteen", [False, True])
def test_psd_has_the_photo_as_a_layer_and_the_cutout_as_its_mask(tmp_path: Path, sixteen: bool) -> None:
    psd_tools = pytest.importorskip("psd_tools")
    if sixteen:
        path = make_dng(source_photo(), tmp_path / "shot.dng", preview_long_side=0)
        loaded = load_image(path)
    else:
        path = tmp_path / "shot.jpg"
        source_photo().save(path, quality=95)
        loaded = load_image(path)
    alpha = soft_mask(loaded.size)
    target = export_photo(loaded, alpha, tmp_path / "shot.psd", ExportOptions(format="psd"))
    psd = psd_tools.PSDImage.open(target)
    assert psd.depth == (16 if sixteen else 8) and psd.size == loaded.size and len(psd) == 1
    for layered in ("psd", "tiff-mask"):  # what the export dialog says before writing (walk 39: "8 bits" for a RAW)
        assert keeps_sixteen_bits(loaded, ExportOptions(format=layered)) == sixteen
    layer = psd[0]
    assert layer.has_mask() and layer.mask.bbox == (0, 0, *loaded.size) and layer.visible
    depth = psd.depth
    expected_photo = loaded.deep if sixteen else np.asarray(loaded.rgb)
    for channel in range(3):
        assert np.array_equal(psd_layer_pixels(layer, channel, depth), expected_photo[..., channel])
    expected_mask = np.asarray(alpha, np.int64) * (257 if sixteen else 1)
    assert np.array_equal(psd_layer_pixels(layer, -1, depth), expected_mask)
    assert psd.image_resources.get_data(1039) == loaded.icc_profile


def test_psd_crop_and_resize_apply_to_photo_and_mask_alike(tmp_path: Path) -> None:
    psd_tools = pytest.importorskip("psd_tools")
    loaded = LoadedImage(rgb=source_photo())
    alpha = Image.new("L", loaded.size, 0)
    alpha.paste(255, (40, 30, 140, 110))
    options = ExportOptions(format="psd", crop_to_subject=True, crop_padding=0, resize_long_edge=50)
    psd = psd_tools.PSDImage.open(export_photo(loaded, alpha, tmp_path / "crop.psd", options))
    assert psd.size == (50, 40) and psd[0].mask.bbox == (0, 0, 50, 40)
    assert psd_layer_pixels(psd[0], -1, 8).min() >= 250  # the crop is the subject: the mask is all but opaque


def test_layered_formats_refuse_mask_only_and_square_frames() -> None:
    for fmt in LAYERED_FORMATS:
        with pytest.raises(ValueError, match="layered file"):
            ExportOptions(format=fmt, mask_only=True)
        with pytest.raises(ValueError, match="layered file"):
            ExportOptions(format=fmt, subject_fill=0.8)


def test_tiff_mask_keeps_the_photo_whole_with_the_mask_as_a_channel(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    loaded = load_image(make_dng(source_photo(), tmp_path / "a.dng", preview_long_side=0))
    alpha = soft_mask(loaded.size)
    target = export_photo(loaded, alpha, tmp_path / "a.tif", ExportOptions(format="tiff-mask"))
    with tifffile.TiffFile(target) as read:
        page = read.pages[0]
        assert page.dtype == np.uint16 and page.extrasamples == (0,)  # unspecified: a channel, not transparency
        pixels = page.asarray()
        assert np.array_equal(pixels[..., :3], loaded.deep)
        assert np.array_equal(pixels[..., 3], np.asarray(alpha, np.uint16) * 257)
        assert page.tags[34675].value == loaded.icc_profile


def linear_to_srgb_levels(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.float64) / 255.0
    encoded = np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)
    return np.round(encoded * 255).astype(np.int64)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gimp") is None, reason="GIMP is not installed (Debian: apt-get install gimp)")
def test_gimp_opens_the_psd_with_one_layer_and_our_mask(tmp_path: Path) -> None:
    loaded = LoadedImage(rgb=source_photo())
    alpha = soft_mask(loaded.size)
    target = export_photo(loaded, alpha, tmp_path / "gimp.psd", ExportOptions(format="psd"))
    exported = tmp_path / "gimp-mask.png"
    script = (f'(let* ((img (car (gimp-file-load RUN-NONINTERACTIVE "{target}" "{target}"))) '
              '(layers (gimp-image-get-layers img)) (layer (aref (cadr layers) 0)) '
              '(mask (car (gimp-layer-get-mask layer)))) '
              '(gimp-message (string-append "LAYERS=" (number->string (car layers)) " MASK=" (number->string mask))) '
              f'(file-png-save RUN-NONINTERACTIVE img mask "{exported}" "{exported}" 0 9 0 0 0 0 0) (gimp-quit 0))')
    run = subprocess.run(["gimp", "-i", "-d", "-f", "-b", script], capture_output=True, text=True, timeout=300)
    assert "LAYERS=1 MASK=-1" not in run.stdout + run.stderr and "LAYERS=1 MASK=" in run.stdout + run.stderr
    with Image.open(exported) as mask:
        gimp_mask = np.asarray(mask.convert("L"), np.int64)
    # GIMP 2.10 takes every PSD layer mask as linear light ("Y u8" in plug-ins/file-psd/psd-load.c) and shows it
    # in the image's perceptual space: our values come back sRGB-encoded, exactly, whoever wrote the PSD.
    assert np.abs(gimp_mask - linear_to_srgb_levels(np.asarray(alpha))).max() <= 1


# ----- the command line over a mixed folder ------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_exports_a_folder_of_dng_jpeg_heic_and_avif(tmp_path: Path, random_weights: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    folder = tmp_path / "card"
    folder.mkdir()
    make_dng(source_photo(0), folder / "DSC_0001.dng", orientation=6, preview_long_side=128)
    source_photo(1).save(folder / "plain.jpg", quality=92)
    pillow_heif.from_pillow(source_photo(2)).save(folder / "phone.heic", quality=90)
    source_photo(3).save(folder / "android.avif", quality=90)
    out = tmp_path / "out"
    assert cli_main([str(folder), "-o", str(out), "-q"]) == 0
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "DSC_0001-cutout.png", "android-cutout.png", "phone-cutout.png", "plain-cutout.png"]
    raw_out = out / "DSC_0001-cutout.png"
    assert png_bit_depth(raw_out) == 16
    with Image.open(raw_out) as written:
        assert written.size == source_photo(0).size[::-1]  # turned upright
        assert written.info.get("icc_profile")
    assert png_bit_depth(out / "plain-cutout.png") == 8
    assert cli_main([str(folder / "DSC_0001.dng"), "-o", str(out), "--format", "psd", "-q"]) == 0
    assert (out / "DSC_0001-cutout.psd").stat().st_size > 0


def test_a_project_of_a_raw_photo_exports_its_saved_mask_as_a_16_bit_psd(tmp_path: Path, random_weights: Path) -> None:
    from clearbg_desktop.core.editing.project import Project, save_project
    from clearbg_desktop.core.file_hash import sha256_file

    psd_tools = pytest.importorskip("psd_tools")
    photo = make_dng(source_photo(), tmp_path / "DSC_0002.dng", orientation=8, preview_long_side=64)
    width, height = load_image(photo).size
    alpha = np.zeros((height, width), np.uint8)
    alpha[height // 4: height // 2, width // 3: width // 2] = 255
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha,
                      export_options=ExportOptions(format="psd"))
    saved = save_project(project, tmp_path / "DSC_0002.clearbg")
    out = tmp_path / "out"
    assert cli_main([str(saved), "-o", str(out), "-q"]) == 0
    psd = psd_tools.PSDImage.open(out / "DSC_0002-cutout.psd")
    assert psd.depth == 16 and psd.size == (width, height)
    assert np.array_equal(psd_layer_pixels(psd[0], -1, 16), alpha.astype(np.int64) * 257)  # the saved mask


def test_tiff_mask_of_an_8_bit_photo_is_8_bit(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    loaded = LoadedImage(rgb=source_photo())
    alpha = soft_mask(loaded.size)
    target = export_photo(loaded, alpha, tmp_path / "b.tif", ExportOptions(format="tiff-mask"))
    with tifffile.TiffFile(target) as read:
        pixels = read.pages[0].asarray()
        assert pixels.dtype == np.uint8 and read.pages[0].extrasamples == (0,)
        assert np.array_equal(pixels[..., :3], np.asarray(loaded.rgb))
        assert np.array_equal(pixels[..., 3], np.asarray(alpha))
