"""LibRaw's side of a camera RAW: the bounds checked from its header, then the development. Runs in the helper
process (``core.imaging.raw_decode`` starts it and talks to it), or in this process when a caller asks so.

What a decode gives: the camera's as-shot white balance, LibRaw's AHD demosaic, no automatic brightening (the
same exposure whatever the histogram, so the half-size decode that makes the mask and the full decode that is
exported agree), sRGB primaries and the sRGB tone curve, 16 bits per channel, turned upright as the camera's
orientation says. The sRGB ICC profile travels with it, so outputs are tagged with the space they are in.

Bounds: the sizes LibRaw reads from the header are checked against the pixel limit, against the file's size
(a RAW holds at least a byte for every 16 pixels) and against the memory the decode will take, before anything
is unpacked or demosaicked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import ImageCms

from clearbg_desktop.core.imaging.raw_exif import camera_exif

#: Every RAW format LibRaw reads, by the suffixes cameras give them (LibRaw's own list of supported cameras).
RAW_SUFFIXES = frozenset({
    ".3fr", ".ari", ".arw", ".bay", ".cap", ".cr2", ".cr3", ".crw", ".dcr", ".dcs", ".dng", ".drf", ".eip",
    ".erf", ".fff", ".gpr", ".iiq", ".k25", ".kdc", ".mdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf",
    ".ori", ".pef", ".ptx", ".pxn", ".raf", ".raw", ".rw2", ".rwl", ".rwz", ".sr2", ".srf", ".srw", ".x3f",
})
#: A RAW file holds at least one byte per this many pixels (losslessly compressed 14-bit: ~1 byte per pixel;
#: the lossiest formats, ~0.4). A file claiming more is damaged or crafted.
MAX_RAW_PIXELS_PER_BYTE = 16
#: Bytes per output pixel a full decode needs at its peak, in the helper and here together: LibRaw's 4x16-bit
#: working image (8), its 16-bit RGB result (6) and its copy on the way here (6), the 16-bit photo kept (6) and
#: its 8-bit copy (3); the raw mosaic (2 per raw pixel) comes on top.
DECODE_BYTES_PER_PIXEL = 29
#: sRGB's tone curve as LibRaw takes it: (power, slope of the linear toe).
SRGB_GAMMA = (2.4, 12.92)
#: LibRaw's flip code -> the EXIF orientation meaning the same turn.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


class RawDecodeError(Exception):
    """A RAW file could not be read; the message is one line for the user (without the file's name)."""


@dataclass(frozen=True)
class RawLimits:
    """What a decode may take: output pixels, and bytes of memory."""

    max_pixels: int
    max_bytes: int


@dataclass
class RawPhoto:
    """A decoded RAW: HxWx3 uint16 sRGB, upright, with the camera's metadata as EXIF (orientation left out)."""

    pixels: np.ndarray
    full_size: tuple[int, int]  # (width, height) of the full decode, upright
    exif: bytes | None
    half_size: bool


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def srgb_profile() -> bytes:
    """The sRGB ICC profile a decoded RAW is tagged with (LittleCMS's, built here: nothing to bundle)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def default_max_bytes() -> int:
    """Half the machine's memory: a single decode may take that much, no more."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return max(2**30, total // 2)


def decode_bytes_needed(width: int, height: int, raw_width: int, raw_height: int, half_size: bool) -> int:
    """Peak bytes a decode of this size takes (see :data:`DECODE_BYTES_PER_PIXEL`)."""
    pixels = width * height // (4 if half_size else 1)
    return pixels * DECODE_BYTES_PER_PIXEL + raw_width * raw_height * 2


def _open(path: str, limits: RawLimits, reduce_to: int | None) -> tuple[Any, bool]:
    """(LibRaw opened on ``path``, header parsed and nothing unpacked, whether to decode at half size) after the
    size checks. Half size when ``reduce_to`` is given and half the photo is still at least that long."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_file(path)
    except rawpy.LibRawFileUnsupportedError:
        raise RawDecodeError("not a RAW format LibRaw reads (unknown camera or not a RAW file)") from None
    except rawpy.LibRawIOError:
        raise RawDecodeError("truncated, or not a RAW file LibRaw reads") from None
    except rawpy.LibRawError as exc:
        raise RawDecodeError(f"corrupt RAW file ({libraw_reason(exc)})") from None
    sizes = raw.sizes
    width, height = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
    if width < 8 or height < 8 or sizes.raw_width <= 0 or sizes.raw_height <= 0:
        raise RawDecodeError(f"{width}×{height} px is too small to cut out, or the file is damaged")
    if width * height > limits.max_pixels:
        raise RawDecodeError(f"{width}×{height} ({width * height / 1e6:.0f} MP) is larger than the "
                             f"{limits.max_pixels / 1e6:.0f} MP limit; refusing to decode it")
    file_bytes = os.path.getsize(path)
    if sizes.raw_width * sizes.raw_height > max(file_bytes, 1) * MAX_RAW_PIXELS_PER_BYTE:
        raise RawDecodeError(f"declares {sizes.raw_width}×{sizes.raw_height} sensor pixels in a file of only "
                             f"{file_bytes / 1e3:.0f} KB; the file is damaged or crafted, refusing to decode it")
    half_size = reduce_to is not None and max(width, height) // 2 >= reduce_to
    needed = decode_bytes_needed(width, height, sizes.raw_width, sizes.raw_height, half_size)
    if needed > limits.max_bytes:
        raise RawDecodeError(f"decoding {width}×{height} needs about {needed / 2**30:.1f} GiB, more than the "
                             f"{limits.max_bytes / 2**30:.1f} GiB allowed; refusing to decode it")
    return raw, half_size


def libraw_reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    return str(text) or type(exc).__name__


def decode_in_helper(path: str, limits: RawLimits, reduce_to: int | None) -> RawPhoto:
    """Demosaic ``path`` (in the helper process; call ``core.imaging.raw_decode.decode_raw``, not this)."""
    import rawpy

    raw, half_size = _open(path, limits, reduce_to)
    with raw:
        sizes = raw.sizes  # before the decode: a half-size one changes them
        full = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
        try:
            pixels = raw.postprocess(use_camera_wb=True, output_bps=16, no_auto_bright=True, gamma=SRGB_GAMMA,
                                     output_color=rawpy.ColorSpace.sRGB, half_size=half_size)
        except rawpy.LibRawError as exc:
            raise RawDecodeError(f"corrupt RAW file ({libraw_reason(exc)})") from None
        except MemoryError:
            raise RawDecodeError("not enough memory to decode it") from None
        exif = camera_exif(path, raw)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise RawDecodeError(f"an unsupported sensor layout ({pixels.shape[-1] if pixels.ndim == 3 else 1} "
                             "channels)")
    return RawPhoto(np.ascontiguousarray(pixels, np.uint16), full, exif, half_size)


def preview_in_helper(path: str, limits: RawLimits) -> tuple[bytes, str, tuple[int, int], int] | None:
    """(the embedded preview's JPEG bytes, or raw RGB bytes, its kind, the full upright size, orientation) or None."""
    import rawpy

    raw, _half = _open(path, limits, 0)
    with raw:
        sizes = raw.sizes
        full = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
        orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            return None
        except rawpy.LibRawError:
            return None
        if thumb.format == rawpy.ThumbFormat.JPEG:
            return bytes(thumb.data), "jpeg", full, orientation
        data = np.ascontiguousarray(thumb.data, np.uint8)
        if data.ndim != 3 or data.shape[2] != 3:
            return None
        return data.tobytes(), f"rgb:{data.shape[1]}x{data.shape[0]}", full, orientation
