"""Loading photos the way a photographer expects, and saving outputs without ever losing one.

Loading applies EXIF orientation, converts every mode (CMYK, palette, LA/RGBA, 16-bit, grey)
to 8-bit RGB plus an optional source alpha, keeps a 16-bit photo's full values beside it
(``core.imaging.deep_colour``), keeps the ICC profile and EXIF (minus orientation) for the output, and refuses decompression bombs. Saving is atomic: a temporary file in the
target folder, then a rename, so a crash or a cancel never leaves a half-written output, and an
existing file is never replaced unless the caller asks.
"""

from __future__ import annotations

import errno
import io
import math
import os
import re
import stat
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError, features

from clearbg_desktop.core.imaging.deep_colour import grey_deep_colour, orient, read_deep_colour, sixteen_bit_rawmode
from clearbg_desktop.core.imaging.png_encoder import can_encode as can_encode_png
from clearbg_desktop.core.imaging.png_encoder import encode_png
from clearbg_desktop.core.imaging.raw_decode import (
    RAW_SUFFIXES,
    RawDecodeError,
    RawLimits,
    decode_raw,
    default_max_bytes,
    is_raw,
    raw_preview,
    srgb_profile,
)

# HEIC/HEIF (iPhones, many Androids) through pillow-heif, a required dependency: Pillow reads AVIF itself (since
# 11.3, libavif in its wheels) but not HEIC. Guarded all the same, so a broken libheif costs HEIC, not the app.
try:
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found,unused-ignore]

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:
    HEIF_SUPPORTED = False
AVIF_SUPPORTED = bool(features.check("avif"))

ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Largest photo accepted, in pixels. 100 MP medium-format files exceed it on purpose: at that
#: size a full-resolution alpha, cut-out and preview need several GiB.
DEFAULT_MAX_PIXELS = 90_000_000
MIN_SIDE = 8
EXIF_ORIENTATION_TAG = 0x0112
#: Tags that describe how a TIFF stores its pixels (size, strips, bit depth, compression, embedded
#: ICC/XMP/Photoshop blocks). ``getexif()`` of a TIFF returns them with the real metadata; carried
#: into an output they would describe the source file, not the output, and break a TIFF writer.
TIFF_LAYOUT_TAGS = frozenset({
    0x00FE, 0x00FF, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x0107, 0x0108, 0x0109, 0x010A, 0x0111, 0x0115,
    0x0116, 0x0117, 0x0118, 0x0119, 0x011A, 0x011B, 0x011C, 0x0122, 0x0123, 0x0124, 0x0125, 0x0128, 0x012D,
    0x013D, 0x013E, 0x013F, 0x0140, 0x0141, 0x0142, 0x0143, 0x0144, 0x0145, 0x014A, 0x0152, 0x0153, 0x0154,
    0x0155, 0x0156, 0x015B, 0x0200, 0x0201, 0x0202, 0x0211, 0x0212, 0x0213, 0x0214, 0x02BC, 0x83BB, 0x8649,
    0x8773, 0x935C, 0xA480,
})
#: Sub-IFD pointers: the TIFF writer cannot carry them, so TIFF outputs get the plain IFD0 tags only.
EXIF_POINTER_TAGS = frozenset({0x8769, 0x8825, 0xA005, 0x014A})
#: A photo may not declare more pixels than this many per byte of file (a uniform 20 MP PNG is
#: ~1,000 px/byte; a 30 KB file claiming 90 MP is a bomb that would take 1.5 GiB).
MAX_PIXELS_PER_FILE_BYTE = 1_100
SMALL_PHOTO_PIXELS = 16_000_000  # below this, any file size is fine

INPUT_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
    | ({".heic", ".heif", ".hif"} if HEIF_SUPPORTED else set())
    | ({".avif"} if AVIF_SUPPORTED else set())
    | RAW_SUFFIXES
)
#: The file dialog's groups: (label, suffixes), every suffix of ``INPUT_SUFFIXES`` in one of them.
INPUT_GROUPS = (
    ("Photos", tuple(sorted(INPUT_SUFFIXES - RAW_SUFFIXES))),
    ("Camera RAW", tuple(sorted(RAW_SUFFIXES))),
)

SAVE_FORMATS = {"png": "PNG", "webp": "WEBP", "tiff": "TIFF", "jpg": "JPEG"}
FORMAT_SUFFIXES = {"png": ".png", "webp": ".webp", "tiff": ".tif", "jpg": ".jpg", "psd": ".psd", "tiff-mask": ".tif"}
#: Formats that keep the whole photo and the cut-out as an editable mask beside it (``core.imaging.export``):
#: a PSD layer with its layer mask, a TIFF with the mask as a fourth channel that is not transparency.
LAYERED_FORMATS = frozenset({"psd", "tiff-mask"})
#: What a front end shows for each format (the CLI's help, the export dialog's list).
FORMAT_LABELS = {"png": "PNG (transparent)", "webp": "WebP", "tiff": "TIFF (with alpha)", "jpg": "JPEG (flattened)",
                 "psd": "PSD (photo layer + editable mask)", "tiff-mask": "TIFF (photo + mask channel)"}


class ImageLoadError(Exception):
    """A photo could not be read; the message is written for the user."""


class OutputError(Exception):
    """An output could not be written; the message is written for the user."""


class OutputExistsError(OutputError):
    """The output file exists and overwriting was not requested."""


class OutputSpaceError(OutputError):
    """The disk (or the user's quota) is full: the next output will not fit either, so a batch stops here."""


FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _full_disk(exc: OSError, folder: Path) -> OutputSpaceError | None:
    if exc.errno not in FULL_DISK_ERRNOS:
        return None
    return OutputSpaceError(f"no space left on the disk of {folder} ({exc.strerror})")


@dataclass
class LoadedImage:
    """A decoded photo: 8-bit RGB, optional source alpha, and metadata to carry to outputs.

    ``deep`` holds a 16-bit photo's RGB at full depth (HxWx3 uint16, upright), for 16-bit outputs.
    """

    rgb: Image.Image
    path: Path | None = None
    source_alpha: Image.Image | None = None
    icc_profile: bytes | None = None
    exif: bytes | None = None
    notes: list[str] = field(default_factory=list)
    deep: np.ndarray | None = field(default=None, repr=False)

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size


def is_supported_image(path: Path) -> bool:
    return path.suffix.lower() in INPUT_SUFFIXES


def _sixteen_bit_to_l(image: Image.Image) -> Image.Image:
    # Pillow's convert("L") clips 16-bit values above 255 instead of scaling them.
    values = np.asarray(image, dtype=np.uint32 if image.mode == "I" else np.uint16)
    top = 65535 if values.max() > 255 else 255
    scaled = (values.astype(np.float32) * (255.0 / top) + 0.5).clip(0, 255)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def _to_rgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, Image.Image | None, bytes | None]:
    """(rgb, source_alpha, icc to embed in outputs)."""
    mode = image.mode
    if mode == "CMYK":
        if icc:
            try:
                source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
                srgb = ImageCms.createProfile("sRGB")
                rgb = ImageCms.profileToProfile(image, source, srgb, outputMode="RGB")
                if rgb is not None:
                    return rgb, None, None  # now sRGB: untagged output is correct
            except (ImageCms.PyCMSError, OSError):
                pass
        return image.convert("RGB"), None, None
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return _sixteen_bit_to_l(image).convert("RGB"), None, icc
    if mode == "P":
        has_alpha = "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
        mode = image.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        alpha: Image.Image | None = rgba.getchannel("A")
        if alpha is not None and alpha.getextrema() == (255, 255):
            alpha = None
        return rgba.convert("RGB"), alpha, icc
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        scaled = (values - values.min()) / max(float(np.ptp(values)), 1e-8) * 255
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB"), None, icc
    if mode == "RGB":  # already ours (a copy of the decoded file): converting would copy 24 MP once more
        return image, None, icc
    return image.convert("RGB"), None, icc


def open_without_bomb_warning(path: Path) -> Image.Image:
    """Our own size limit (in :func:`load_image`, :func:`core.imaging.thumbnails.quick_thumbnail`) replaces Pillow's bomb warning with a clear refusal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


@dataclass
class ReducedPhoto:
    """A photo decoded at reduced size for what needs no full pixels (the model's 320 px input, a preview).

    ``rgb`` is upright 8-bit RGB, converted like :func:`load_image`'s, at least ``reduce_to`` on its long side
    (or the whole photo when smaller, or when its format cannot decode reduced); ``size`` is the full photo's
    (width, height), upright: the size its mask is made at.
    """

    rgb: Image.Image
    size: tuple[int, int]
    icc_profile: bytes | None
    notes: list[str]


def load_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS,
               max_decode_bytes: int | None = None) -> LoadedImage:
    """Decode ``path`` into a :class:`LoadedImage`; raises :class:`ImageLoadError` with a clear reason.

    ``max_decode_bytes``: the most memory a camera RAW's development may take (checked from its header before
    anything is developed); by default half the machine's memory. The window may pass its photo memory budget.
    """
    return _decode(Path(path), max_pixels, None, max_decode_bytes)[0]


def load_reduced(path: str | os.PathLike[str], reduce_to: int, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_decode_bytes: int | None = None) -> ReducedPhoto:
    """Decode ``path`` for its mask and preview only: a JPEG at 1/2, 1/4 or 1/8 scale (Pillow's draft mode, the
    DCT scaled, a fraction of the time and memory of a full decode) keeping ``reduce_to`` px on the long side;
    other formats whole. The same checks and errors as :func:`load_image`."""
    loaded, size = _decode(Path(path), max_pixels, reduce_to, max_decode_bytes)
    return ReducedPhoto(loaded.rgb, size, loaded.icc_profile, loaded.notes)


def _decode(path: Path, max_pixels: int, reduce_to: int | None,
            max_decode_bytes: int | None = None) -> tuple[LoadedImage, tuple[int, int]]:
    """(the photo, its full upright size); ``reduce_to``: see :func:`load_reduced` (no 16-bit values then)."""
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageLoadError(f"{name}: file not found") from None
    except OSError as exc:
        raise ImageLoadError(f"{name}: cannot read the file ({exc.strerror})") from None
    if path.is_dir():
        raise ImageLoadError(f"{name}: is a folder, not a photo")
    if size == 0:
        raise ImageLoadError(f"{name}: the file is empty (0 bytes)")
    if is_raw(path):
        return _decode_raw(path, max_pixels, reduce_to, max_decode_bytes)
    try:
        with open_without_bomb_warning(path) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise ImageLoadError(
                    f"{name}: {width}×{height} ({width * height / 1e6:.0f} MP) is larger than the "
                    f"{max_pixels / 1e6:.0f} MP limit; refusing to decode it (possible decompression bomb)"
                )
            if width * height > max(SMALL_PHOTO_PIXELS, size * MAX_PIXELS_PER_FILE_BYTE):
                raise ImageLoadError(
                    f"{name}: declares {width}×{height} ({width * height / 1e6:.0f} MP) in a file of only "
                    f"{size / 1e3:.0f} KB; the file is damaged or crafted, refusing to decode it"
                )
            if width < MIN_SIDE or height < MIN_SIDE:
                raise ImageLoadError(
                    f"{name}: {width}×{height} px is too small to cut out (needs at least "
                    f"{MIN_SIDE}×{MIN_SIDE})"
                )
            notes = []
            frames = getattr(opened, "n_frames", 1)
            if frames > 1:
                opened.seek(0)
                notes.append(f"animated image with {frames} frames: only the first frame was used")
            deep_rawmode = sixteen_bit_rawmode(opened)
            if reduce_to is not None and opened.format == "JPEG":
                scale = reduce_to / max(width, height)
                opened.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
            opened.load()
            icc = opened.info.get("icc_profile")
            exif = opened.getexif()
            orientation = int(exif.get(EXIF_ORIENTATION_TAG, 1) or 1)
            deep = None
            if reduce_to is None:
                deep = read_deep_colour(path, deep_rawmode) if deep_rawmode else grey_deep_colour(opened)
            if deep is not None:
                deep = orient(deep, orientation)
            oriented = ImageOps.exif_transpose(opened)
            if oriented is opened:  # closing the file drops its pixels: keep our own
                oriented = opened.copy()
            full_size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(f"{name}: not a readable image (unknown or unsupported format)") from None
    except Image.DecompressionBombError:
        raise ImageLoadError(f"{name}: refused as a possible decompression bomb") from None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = "the file is truncated or corrupt" if "truncated" in str(exc) else f"corrupt image ({exc})"
        raise ImageLoadError(f"{name}: {reason}") from None
    except MemoryError:
        raise ImageLoadError(f"{name}: not enough memory to decode it") from None
    except Exception as exc:  # noqa: BLE001 - a damaged file must never escape as a traceback
        raise ImageLoadError(f"{name}: corrupt image ({str(exc) or 'unreadable data'})") from None
    try:
        rgb, alpha, icc = _to_rgb(oriented, icc)
    except ImageLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above: decoding is lazy in places
        raise ImageLoadError(f"{name}: corrupt image ({str(exc) or 'unreadable data'})") from None
    exif_bytes = None
    if exif:
        exif.pop(EXIF_ORIENTATION_TAG, None)
        for tag in TIFF_LAYOUT_TAGS:
            exif.pop(tag, None)
        try:
            exif_bytes = exif.tobytes() if len(exif) else None
        except Exception:  # noqa: BLE001 - unwritable EXIF is dropped with a note, never fatal
            notes.append("the photo's EXIF could not be carried over")
    loaded = LoadedImage(rgb=rgb, path=path, source_alpha=alpha, icc_profile=icc, exif=exif_bytes, notes=notes,
                         deep=deep)
    return loaded, full_size


#: A RAW's embedded preview makes its mask when it is this close to the photo's shape (cameras crop some previews
#: to another aspect or add black bars: a mask made on those would not sit on the photo).
PREVIEW_ASPECT_TOLERANCE = 0.01
#: Whether a RAW's reduced decode (its mask, its preview in the window) may come from the camera's embedded JPEG:
#: see bench/raw_decode.py for the masks each gives against the full decode's.
MASKS_FROM_PREVIEW = False


def _sixteen_to_eight(pixels: np.ndarray) -> Image.Image:
    """16-bit RGB to the 8-bit RGB the model and the canvas use, rounded as ``from_eight_bit`` inverts."""
    return Image.fromarray(((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8), "RGB")


def preview_fits(preview_size: tuple[int, int], full_size: tuple[int, int], reduce_to: int) -> bool:
    """Whether an embedded preview may stand in for the photo: as long as asked and of the same shape."""
    (pw, ph), (fw, fh) = preview_size, full_size
    if max(pw, ph) < min(reduce_to, max(fw, fh)):
        return False
    return abs(pw / ph - fw / fh) <= PREVIEW_ASPECT_TOLERANCE * (fw / fh)


def _decode_raw(path: Path, max_pixels: int, reduce_to: int | None,
                max_decode_bytes: int | None = None) -> tuple[LoadedImage, tuple[int, int]]:
    """A camera RAW (``core.imaging.raw_decode``): 16-bit sRGB with its ICC profile and the camera's EXIF.

    Reduced (``reduce_to``): the embedded JPEG preview where it is as large as asked and of the photo's shape,
    else LibRaw's half-size decode (each 2x2 sensor block one pixel, no demosaic); ``bench/raw_decode.py``
    measured both against the full decode's masks.
    """
    limits = RawLimits(max_pixels, max_decode_bytes or default_max_bytes())
    notes: list[str] = []
    try:
        if reduce_to is not None and MASKS_FROM_PREVIEW:
            preview = raw_preview(path, limits)
            if preview is not None and preview_fits(preview.image.size, preview.full_size, reduce_to):
                return LoadedImage(rgb=preview.image, path=path, icc_profile=srgb_profile(), notes=notes), \
                    preview.full_size
        decoded = decode_raw(path, limits, reduce_to=reduce_to)
    except RawDecodeError as exc:
        raise ImageLoadError(f"{path.name}: {exc}") from None
    rgb = _sixteen_to_eight(decoded.pixels)
    deep = None if decoded.half_size else decoded.pixels
    loaded = LoadedImage(rgb=rgb, path=path, icc_profile=srgb_profile(), exif=decoded.exif, notes=notes, deep=deep)
    return loaded, decoded.full_size


def tiff_safe_exif(exif: bytes) -> Image.Exif | None:
    """The IFD0 tags a TIFF writer can hold (camera, date, artist, copyright…), without sub-IFD pointers."""
    try:
        parsed = Image.Exif()
        parsed.load(exif)
    except Exception:  # noqa: BLE001 - unreadable EXIF: leave it out
        return None
    plain = Image.Exif()
    for tag, value in parsed.items():
        if tag in EXIF_POINTER_TAGS or tag in TIFF_LAYOUT_TAGS or tag == EXIF_ORIENTATION_TAG:
            continue
        if isinstance(value, str | bytes | int | float) or (
                isinstance(value, tuple) and all(isinstance(v, int | float) for v in value)):
            plain[tag] = value
    return plain if len(plain) else None


def encode_image(
    image: Image.Image,
    fmt: str,
    *,
    quality: int = 92,
    lossless: bool = True,
    png_compress_level: int = 1,
    icc_profile: bytes | None = None,
    exif: bytes | None = None,
    workers: int | None = None,
) -> bytes:
    """Encode to bytes in ``fmt`` (png, webp, tiff, jpg); JPEG callers flatten alpha first.

    ``workers``: threads for PNG's strips (default: every core); a batch whose model holds some cores passes
    the rest, so the two do not fight over them.
    """
    if fmt not in SAVE_FORMATS:
        raise OutputError(f"unknown output format {fmt!r}; choose one of {', '.join(SAVE_FORMATS)}")
    if fmt == "png" and can_encode_png(image):
        return encode_png(image, png_compress_level, icc_profile=icc_profile, exif=exif, workers=workers)
    options: dict[str, object] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if exif and fmt in ("jpg", "webp", "png"):
        options["exif"] = exif
    elif exif and fmt == "tiff":
        plain = tiff_safe_exif(exif)
        if plain is not None:
            options["exif"] = plain
    if fmt == "png":
        options["compress_level"] = png_compress_level
    elif fmt == "webp":
        options.update(lossless=lossless, quality=quality if not lossless else 80, method=4)
    elif fmt == "tiff":
        options["compression"] = "tiff_adobe_deflate"
    elif fmt == "jpg":
        if image.mode not in ("RGB", "L"):
            raise OutputError("JPEG has no transparency: flatten the cut-out on a background first")
        options.update(quality=quality, optimize=False)
    buffer = io.BytesIO()
    image.save(buffer, format=SAVE_FORMATS[fmt], **options)
    return buffer.getvalue()


PART_PREFIX = ".clearbg."  # temporary files are ``.clearbg.<pid>-<random>.part``, short whatever the target
PART_SUFFIX = ".part"
STALE_PART_SECONDS = 600  # a part file of the old name pattern (no pid) older than this is abandoned


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary files of our own pattern that a killed run left in ``folder``.

    Ours are ``.clearbg.<pid>-<random>.part`` (before: ``.<stem>.<pid>-<random>.part``): one whose writer
    process is gone is abandoned. The oldest pattern (``.<stem>.<random>.part``, no pid) counts as abandoned
    after ten minutes.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    pattern = re.compile(r"^\..+\.(?:(\d+)-)?[a-z0-9_]{8}\.part$")
    for path in folder.glob(".*.part"):
        match = pattern.match(path.name)
        if not match or not path.is_file():
            continue
        pid = match.group(1)
        try:
            stale = (not pid_alive(int(pid))) if pid else time.time() - path.stat().st_mtime > STALE_PART_SECONDS
            if stale:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def write_atomic(data: bytes, target: str | os.PathLike[str], overwrite: bool = False,
                 mode: int | None = None) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder, then rename.

    Without ``overwrite`` an existing target is never replaced, even if it appears between the
    check and the rename (a hard link is created atomically and fails if the name is taken). The
    temporary name is short whatever the target's (a 251-byte name is legal, its ``.NAME.….part`` would
    not be). ``mode``: the file's permissions whatever the umask (0o600 for private files); by default new
    files follow the umask and a replaced file keeps its mode.
    """
    target = Path(target)
    folder = target.parent
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from None
    try:
        exists = target.exists()
    except OSError as exc:  # a name too long for the file system, for one
        raise OutputError(f"cannot write {target.name}: {exc.strerror or exc}") from None
    if not overwrite and exists:
        raise OutputExistsError(f"{target.name} already exists in {folder}; not overwriting it")
    try:
        handle = tempfile.NamedTemporaryFile(
            dir=folder, prefix=f"{PART_PREFIX}{os.getpid()}-", suffix=PART_SUFFIX, delete=False
        )
    except OSError as exc:
        raise _full_disk(exc, folder) or OutputError(f"cannot write to the folder {folder}: {exc.strerror}") from None
    temp = Path(handle.name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            if mode is not None:
                os.chmod(temp, mode)
            else:
                os.chmod(temp, stat.S_IMODE(target.stat().st_mode) if overwrite and target.exists()
                         else 0o666 & ~current_umask())
        except OSError:
            pass  # file systems without modes (some network shares) keep their own
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise OutputExistsError(
                    f"{target.name} already exists in {folder}; not overwriting it"
                ) from None
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG:
                    raise
                # File systems without hard links: the exists() check above is the guard.
                os.replace(temp, target)
    except OSError as exc:
        raise _full_disk(exc, folder) or OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target


def save_image(
    image: Image.Image,
    target: str | os.PathLike[str],
    fmt: str,
    *,
    overwrite: bool = False,
    **encode_options: object,
) -> Path:
    """Encode then write atomically; see :func:`encode_image` for the options."""
    return write_atomic(encode_image(image, fmt, **encode_options), target, overwrite=overwrite)  # type: ignore[arg-type]
