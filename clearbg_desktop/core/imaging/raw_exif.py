"""A camera RAW's metadata, carried into its outputs as a JPEG's EXIF is: camera, lens, date, exposure, copyright.

Three sources, the first that gives anything wins: a TIFF-based RAW's own IFDs (DNG, NEF, CR2, ARW, PEF…), the
embedded JPEG preview's EXIF (CR3 and RAF keep the camera's full EXIF there), and what LibRaw itself read. Runs
where LibRaw runs (the helper process); damaged metadata is left out, never fatal.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def _exif_from_tiff_header(path: str) -> bytes | None:
    """IFD0 and the Exif IFD of a TIFF-based RAW (DNG, NEF, CR2, ARW, PEF…), as Pillow reads a TIFF's EXIF."""
    with open(path, "rb") as handle:
        head = handle.read(4 * 2**20)
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    exif = Image.Exif()
    exif.load(b"Exif\x00\x00" + head)
    return _carried(exif)


def _carried(exif: Image.Exif) -> bytes | None:
    """The tags a photographer expects carried (camera, lens, date, exposure, copyright) as EXIF bytes."""
    keep = {0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298, 0x010E}
    kept = Image.Exif()
    for tag in keep:
        value = exif.get(tag)
        if isinstance(value, str | bytes | int | float):
            kept[tag] = value
    try:
        sub = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 - a damaged Exif IFD: the IFD0 tags still go
        sub = {}
    exif_keep = {0x829A, 0x829D, 0x8827, 0x8822, 0x9003, 0x9004, 0x920A, 0x9209, 0xA433, 0xA434, 0xA435,
                 0x9010, 0x9011, 0xA431}
    carried_sub = {tag: value for tag, value in sub.items() if tag in exif_keep and not isinstance(value, dict)}
    if carried_sub:
        kept[0x8769] = carried_sub
    if not len(kept):
        return None
    try:
        return kept.tobytes()
    except Exception:  # noqa: BLE001 - an odd value type: leave the metadata out
        return None


def _exif_from_libraw(raw: Any, make_model: tuple[str, str] | None) -> bytes | None:
    """The camera metadata LibRaw itself read, for RAWs that are not TIFFs (CR3, RAF, CRW, MRW, X3F…)."""
    exif = Image.Exif()
    if make_model:
        exif[0x010F], exif[0x0110] = make_model
    sub: dict[int, object] = {}
    try:
        other, lens = raw.other, raw.lens
        if other.timestamp is not None:
            stamp = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")
            exif[0x0132] = stamp
            sub[0x9003] = stamp
        if other.iso_speed:
            sub[0x8827] = int(other.iso_speed)
        if other.artist:
            exif[0x013B] = str(other.artist)
        if lens.model:
            sub[0xA434] = str(lens.model)
        if lens.make:
            sub[0xA433] = str(lens.make)
    except Exception:  # noqa: BLE001 - metadata LibRaw could not give: left out
        pass
    if sub:
        exif[0x8769] = sub
    try:
        return exif.tobytes() if len(exif) else None
    except Exception:  # noqa: BLE001
        return None


#: The largest embedded preview read only for its EXIF (a camera's is 0.3-3 MB).
MAX_PREVIEW_EXIF_BYTES = 16 * 2**20


def _exif_from_preview(raw: Any) -> bytes | None:
    """The EXIF of the embedded JPEG preview: CR3 and RAF keep the camera's full EXIF there, not in a TIFF IFD."""
    import rawpy

    thumb = raw.extract_thumb()
    if thumb.format != rawpy.ThumbFormat.JPEG or len(thumb.data) > MAX_PREVIEW_EXIF_BYTES:
        return None
    with Image.open(io.BytesIO(bytes(thumb.data))) as preview:
        return _carried(preview.getexif())


def camera_exif(path: str, raw: Any) -> bytes | None:
    """The camera's metadata: from a TIFF-based RAW's own IFDs, else its preview's EXIF, else what LibRaw read."""
    for source in (lambda: _exif_from_tiff_header(path), lambda: _exif_from_preview(raw)):
        try:
            found = source()
        except Exception:  # noqa: BLE001 - damaged metadata: the next source
            continue
        if found:
            return found
    return _exif_from_libraw(raw, None)
