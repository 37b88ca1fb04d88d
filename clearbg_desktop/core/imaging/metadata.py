"""Which of a photo's EXIF travels into its outputs: never the orientation (the pixels are turned upright), never
the tags that describe how the source file stored its pixels, and for a TIFF only the plain IFD0 tags.
"""

from __future__ import annotations

from PIL import Image

#: The EXIF orientation tag: loading turns the pixels upright, so outputs never carry it.
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
