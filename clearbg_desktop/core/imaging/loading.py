"""Loading photos the way a photographer expects.

Loading applies EXIF orientation, converts every mode (CMYK, palette, LA/RGBA, 16-bit, grey) to 8-bit RGB plus an
optional source alpha, keeps a 16-bit photo's full values beside it (``core.imaging.deep_colour``), keeps the ICC
profile and EXIF (minus orientation) for the output, and refuses decompression bombs. A reduced decode
(:func:`load_reduced`) gives what needs no full pixels (the model's input, a preview) for a fraction of the time:
a JPEG's scaled DCT, a camera RAW's half-size development (``core.imaging.raw_decode``).
"""

from __future__ import annotations

import io
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError

from clearbg_desktop.core.imaging.deep_colour import grey_deep_colour, orient, read_deep_colour, sixteen_bit_rawmode
from clearbg_desktop.core.imaging.formats import (
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_PER_FILE_BYTE,
    MIN_SIDE,
    SMALL_PHOTO_PIXELS,
)
from clearbg_desktop.core.imaging.metadata import EXIF_ORIENTATION_TAG, TIFF_LAYOUT_TAGS
from clearbg_desktop.core.imaging.raw_decode import decode_raw, raw_preview
from clearbg_desktop.core.imaging.raw_libraw import RawDecodeError, RawLimits, default_max_bytes, is_raw, srgb_profile

ImageFile.LOAD_TRUNCATED_IMAGES = False


class ImageLoadError(Exception):
    """A photo could not be read; the message is written for the user."""


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
