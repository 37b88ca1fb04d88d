"""A picture to the bytes of an 8-bit file (PNG through our own multi-threaded encoder where it can, WebP, TIFF,
JPEG), with the ICC profile and the EXIF each format can hold. 16-bit and layered outputs: ``core.imaging.export``'s
writers (``deep_colour``, ``png_encoder``, ``psd_writer``).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
from clearbg_desktop.core.imaging.formats import SAVE_FORMATS
from clearbg_desktop.core.imaging.metadata import tiff_safe_exif
from clearbg_desktop.core.imaging.png_encoder import can_encode as can_encode_png
from clearbg_desktop.core.imaging.png_encoder import encode_png


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
