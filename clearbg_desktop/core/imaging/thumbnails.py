"""Filmstrip thumbnails without decoding the whole photo: the JPEG's embedded EXIF thumbnail, or a reduced
decode (Pillow's draft mode decodes a JPEG at 1/2, 1/4 or 1/8 scale for a fraction of the time); a camera RAW's
embedded JPEG preview (no demosaic just to show a thumbnail), or its half-size decode when it has none.

A shoot of 500 photos fills its filmstrip in seconds this way; a full decode of each would take minutes.
Every photo is hostile input: the same pixel limits as ``loading.load_image`` apply before anything is
decoded, and an embedded thumbnail is used only when it is small and decodes to a sane size.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from clearbg_desktop.core.imaging.formats import DEFAULT_MAX_PIXELS
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_reduced, open_without_bomb_warning
from clearbg_desktop.core.imaging.metadata import EXIF_ORIENTATION_TAG
from clearbg_desktop.core.imaging.raw_decode import raw_preview
from clearbg_desktop.core.imaging.raw_libraw import RawDecodeError, RawLimits, default_max_bytes, is_raw

MAX_EMBEDDED_BYTES = 512 * 1024  # an EXIF thumbnail is some 10-60 KB; more is suspicious
_JPEG_OFFSET, _JPEG_LENGTH = 0x0201, 0x0202


@dataclass(frozen=True)
class QuickThumbnail:
    image: Image.Image  # RGB, upright, within the asked size
    icc_profile: bytes | None
    source: str  # "exif" | "draft" | "full" | "raw-preview" | "raw-half"


def _embedded(opened: Image.Image, size: tuple[int, int]) -> Image.Image | None:
    """The EXIF thumbnail (upright), when it is there, small and at least half the asked size."""
    raw = opened.info.get("exif")
    if not isinstance(raw, bytes) or not raw.startswith(b"Exif\x00\x00"):
        return None
    try:
        ifd1 = opened.getexif().get_ifd(ExifTags.IFD.IFD1)
        offset, length = int(ifd1.get(_JPEG_OFFSET, 0)), int(ifd1.get(_JPEG_LENGTH, 0))
    except Exception:  # noqa: BLE001 - damaged EXIF: decode the photo instead
        return None
    if not 0 < length <= MAX_EMBEDDED_BYTES or offset <= 0 or 6 + offset + length > len(raw):
        return None
    try:
        with Image.open(io.BytesIO(raw[6 + offset:6 + offset + length])) as thumb:
            if thumb.format != "JPEG" or thumb.width * thumb.height > 1_000_000:
                return None
            if thumb.width < size[0] // 2 and thumb.height < size[1] // 2:
                return None
            thumb.load()
            image = thumb.convert("RGB")
    except Exception:  # noqa: BLE001
        return None
    orientation = int(opened.getexif().get(EXIF_ORIENTATION_TAG, 1) or 1)
    turn = _TURNS.get(orientation)  # the embedded thumbnail is stored as the sensor saw it, like the photo
    return image if turn is None else image.transpose(turn)


_TURNS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
          5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
          8: Image.Transpose.ROTATE_90}  # as ImageOps.exif_transpose


def quick_thumbnail(path: Path, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS) -> QuickThumbnail:
    """A thumbnail of ``path`` within ``size``; raises ImageLoadError with one line when it cannot be read."""
    if is_raw(path):
        return _raw_thumbnail(path, size, max_pixels)
    try:
        with open_without_bomb_warning(path) as opened:
            if opened.width * opened.height > max_pixels:
                raise ImageLoadError(f"{path.name}: larger than the {max_pixels / 1e6:.0f} MP limit")
            icc = opened.info.get("icc_profile")
            embedded = _embedded(opened, size) if opened.format == "JPEG" else None
            if embedded is not None:
                embedded.thumbnail(size, Image.Resampling.BILINEAR)
                return QuickThumbnail(embedded, icc, "exif")
            source = "full"
            if opened.format == "JPEG":
                opened.draft("RGB", (size[0] * 2, size[1] * 2))
                source = "draft"
            upright = ImageOps.exif_transpose(opened)
            image = upright.convert("RGB")
            image.thumbnail(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            return QuickThumbnail(image, icc, source)
    except ImageLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file never escapes as a traceback
        raise ImageLoadError(f"{path.name}: no thumbnail ({str(exc) or type(exc).__name__})") from None


def _raw_thumbnail(path: Path, size: tuple[int, int], max_pixels: int) -> QuickThumbnail:
    """The RAW's embedded preview (upright), or its reduced decode when it has none that reads or the largest is
    under half the asked size (some cameras keep only a 160 px one)."""
    try:
        preview = raw_preview(path, RawLimits(max_pixels, default_max_bytes()))
    except RawDecodeError as exc:
        raise ImageLoadError(f"{path.name}: no thumbnail ({exc})") from None
    if preview is not None and max(preview.image.size) >= max(size) // 2:
        image = preview.image
        image.thumbnail(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        return QuickThumbnail(image, None, "raw-preview")
    reduced = load_reduced(path, max(size), max_pixels)
    image = reduced.rgb
    image.thumbnail(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return QuickThumbnail(image, reduced.icc_profile, "raw-half")
