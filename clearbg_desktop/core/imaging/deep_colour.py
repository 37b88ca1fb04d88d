"""16 bits per channel from photo to output.

Why: Pillow decodes 16-bit RGB(A) PNG and TIFF to 8 bits, so a photographer's 16-bit master came out of a
cut-out with its gradations cut to 256 levels. Here the full values are read beside the 8-bit photo (which
the model, the canvas and the preview keep using) and written back as 16-bit PNG or TIFF.

Reading reuses Pillow's own decoders (inflate, PNG filters, TIFF predictors, LZW): a 16-bit sample is two
bytes, and the raw modes ``;16B`` and ``;16L`` make the unpacker keep the first or the second byte of
each. Decoding twice gives both bytes of every sample, exactly, at C speed.
"""

from __future__ import annotations

import re
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, TiffImagePlugin, TiffTags

#: Output formats that hold 16 bits per channel.
DEEP_FORMATS = frozenset({"png", "tiff"})
_SIXTEEN_BIT_RAWMODE = re.compile(r"^(RGB|RGBA|RGBX|LA);16([BLN])$")
_GREY_SIXTEEN_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
TIFF_STRIP_BYTES = 2**20
_TIFF_EXTRA_SAMPLE_UNASSOCIATED_ALPHA = 2
#: ExtraSamples 0, "unspecified data": editors show the fourth channel as a saved selection (an alpha channel
#: in Photoshop's Channels panel), not as transparency; the photo stays whole.
TIFF_EXTRA_SAMPLE_UNSPECIFIED = 0
_TIFF_ADOBE_DEFLATE = 8
_TIFF_HORIZONTAL_PREDICTOR = 2
_TIFF_ICC_TAG = 34675


def sixteen_bit_rawmode(opened: Image.Image) -> str | None:
    """The raw mode of a not yet loaded 16-bit colour PNG/TIFF (e.g. ``RGB;16B``), else None."""
    if not isinstance(opened, ImageFile.ImageFile) or len(opened.tile) != 1 or opened.format not in ("PNG", "TIFF"):
        return None
    args = opened.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if args else None)
    return rawmode if isinstance(rawmode, str) and _SIXTEEN_BIT_RAWMODE.match(rawmode) else None


def _decode_keeping_byte(path: Path, rawmode: str) -> np.ndarray:
    with Image.open(path) as opened:
        tile = opened.tile[0]
        args = rawmode if isinstance(tile.args, str) else (rawmode, *(tile.args or ())[1:])
        opened.tile = [tile._replace(args=args)]
        opened.load()
        return np.asarray(opened)


def read_deep_colour(path: Path, rawmode: str) -> np.ndarray:
    """HxWx3 uint16 RGB of a photo whose :func:`sixteen_bit_rawmode` is ``rawmode`` (not yet oriented)."""
    match = _SIXTEEN_BIT_RAWMODE.match(rawmode)
    if match is None:
        raise ValueError(f"{rawmode} is not a 16-bit colour raw mode")
    base, order = match.groups()
    first = _decode_keeping_byte(path, f"{base};16B").astype(np.uint16)  # first byte of each sample
    second = _decode_keeping_byte(path, f"{base};16L").astype(np.uint16)  # second byte
    big_endian = order == "B" or (order == "N" and sys.byteorder == "big")
    high, low = (first, second) if big_endian else (second, first)
    values = (high << 8) | low
    if base == "LA":
        return np.repeat(values[..., :1], 3, axis=2)
    return np.ascontiguousarray(values[..., :3])


def grey_deep_colour(opened: Image.Image) -> np.ndarray | None:
    """HxWx3 uint16 of a loaded 16-bit greyscale photo, else None."""
    if opened.mode not in _GREY_SIXTEEN_MODES:
        return None
    grey = np.asarray(opened).astype(np.uint16)
    return np.repeat(grey[..., None], 3, axis=2)


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """``pixels`` turned upright as EXIF ``orientation`` says (what ``ImageOps.exif_transpose`` does)."""
    if orientation == 2:
        pixels = pixels[:, ::-1]
    elif orientation == 3:
        pixels = pixels[::-1, ::-1]
    elif orientation == 4:
        pixels = pixels[::-1]
    elif orientation == 5:
        pixels = pixels.swapaxes(0, 1)
    elif orientation == 6:
        pixels = np.rot90(pixels, -1)
    elif orientation == 7:
        pixels = pixels[::-1, ::-1].swapaxes(0, 1)
    elif orientation == 8:
        pixels = np.rot90(pixels, 1)
    return np.ascontiguousarray(pixels)


def from_eight_bit(values: np.ndarray) -> np.ndarray:
    """8-bit values on the 16-bit scale (255 → 65535)."""
    return values.astype(np.uint16) * 257


def probability_to_sixteen_bit(probability: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The model's probability (float HxW at model resolution) upsampled in float to (width, height) and written
    with 65,536 levels: a 16-bit cut-out's soft edges keep the model's gradations, not 256 steps widened."""
    upsampled = Image.fromarray(np.asarray(probability, np.float32), "F").resize(size, Image.Resampling.BILINEAR)
    return (np.asarray(upsampled) * 65535.0 + 0.5).clip(0, 65535).astype(np.uint16)


def resize_deep(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Lanczos resize of an HxWxC uint16 array, channel by channel in float (no 8-bit step)."""
    channels = [Image.fromarray(pixels[..., c].astype(np.float32), "F").resize(size, Image.Resampling.LANCZOS)
                for c in range(pixels.shape[2])]
    stacked = np.stack([np.asarray(c) for c in channels], axis=2)
    return (stacked + 0.5).clip(0, 65535).astype(np.uint16)


def _tiff_strip(pixels: np.ndarray, level: int) -> bytes:
    """One strip, horizontally differenced (TIFF predictor 2) and deflated."""
    differenced = pixels.copy()
    differenced[:, 1:] -= pixels[:, :-1]  # uint16 wraps mod 2**16, as the predictor wants
    return zlib.compress(differenced.astype("<u2" if pixels.dtype == np.uint16 else np.uint8).tobytes(), level)


def encode_tiff16(pixels: np.ndarray, icc_profile: bytes | None = None,
                  exif_tags: Image.Exif | None = None, level: int = 6,
                  extra_sample: int = _TIFF_EXTRA_SAMPLE_UNASSOCIATED_ALPHA) -> bytes:
    """A little-endian 16-bit (or, given uint8, 8-bit) RGB or RGBA TIFF (deflate, predictor 2), with the ICC
    profile and plain EXIF tags. ``extra_sample``: what the fourth channel is (transparency by default, or
    :data:`TIFF_EXTRA_SAMPLE_UNSPECIFIED` for a mask kept beside the whole photo).

    Pillow writes colour TIFFs in 8 bits only and cannot mark a fourth channel as anything but transparency; its
    tag writer is reused for the directory.
    """
    if pixels.dtype not in (np.uint16, np.uint8) or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"encode_tiff16 takes HxWx3 or HxWx4 uint16 pixels, not {pixels.shape} {pixels.dtype}")
    bits = 16 if pixels.dtype == np.uint16 else 8
    height, width, channels = pixels.shape
    if width == 0 or height == 0:
        raise ValueError("cannot write an empty image")
    rows_per_strip = max(1, TIFF_STRIP_BYTES // (width * channels * bits // 8))
    tops = range(0, height, rows_per_strip)
    with ThreadPoolExecutor(thread_name_prefix="tiff") as pool:  # zlib releases the GIL
        strips = list(pool.map(lambda top: _tiff_strip(pixels[top:top + rows_per_strip], level), tops))
    offsets, position = [], 0  # from the end of the directory: Pillow's writer adds where the strips start
    for strip in strips:
        offsets.append(position)
        position += len(strip)
    directory = TiffImagePlugin.ImageFileDirectory_v2(prefix=b"II")
    if exif_tags is not None:
        for tag, value in exif_tags.items():
            directory[tag] = value
    values: dict[int, tuple[int, object]] = {
        256: (TiffTags.LONG, width),
        257: (TiffTags.LONG, height),
        258: (TiffTags.SHORT, (bits,) * channels),
        259: (TiffTags.SHORT, _TIFF_ADOBE_DEFLATE),
        262: (TiffTags.SHORT, 2),  # RGB
        273: (TiffTags.LONG, tuple(offsets)),
        277: (TiffTags.SHORT, channels),
        278: (TiffTags.LONG, rows_per_strip),
        279: (TiffTags.LONG, tuple(len(s) for s in strips)),
        284: (TiffTags.SHORT, 1),  # chunky
        317: (TiffTags.SHORT, _TIFF_HORIZONTAL_PREDICTOR),
        339: (TiffTags.SHORT, (1,) * channels),  # unsigned integers
    }
    if channels == 4:
        values[338] = (TiffTags.SHORT, (extra_sample,))
    if icc_profile:
        values[_TIFF_ICC_TAG] = (TiffTags.UNDEFINED, icc_profile)
    for tag, (kind, value) in values.items():
        directory.tagtype[tag] = kind
        directory[tag] = value
    header = b"II*\x00" + (8).to_bytes(4, "little")
    return header + directory.tobytes(8) + b"".join(strips)
