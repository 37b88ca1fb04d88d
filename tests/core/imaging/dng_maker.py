"""Camera RAW test files made from real photos at test time: a Bayer-mosaic DNG that LibRaw demosaics.

Why by hand: no sample RAW files may be fetched here, and a DNG is a TIFF whose tags are documented (Adobe DNG
specification 1.4): IFD0 carries the camera's names, orientation, colour matrix and as-shot white balance; one
sub-IFD holds the CFA mosaic (PhotometricInterpretation 32803), another the embedded JPEG preview. The photo's
sRGB values are made linear, multiplied by the as-shot neutral (what the sensor records under that light) and
mosaicked RGGB, so a decoder that applies the camera's white balance gives the photo back.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
from PIL import Image

#: XYZ (D65) to linear sRGB: as ColorMatrix1 it makes the "camera" space linear sRGB.
XYZ_TO_SRGB = np.array([[3.2404542, -1.5371385, -0.4985314],
                        [-0.9692660, 1.8760108, 0.0415560],
                        [0.0556434, -0.2040259, 1.0572252]])
AS_SHOT_NEUTRAL = (0.5, 1.0, 0.7)  # a warm light: red and blue recorded weaker than green
WHITE_LEVEL = 16383  # 14-bit, as most cameras
BLACK_LEVEL = 512

_SHORT, _LONG, _RATIONAL, _SRATIONAL, _ASCII, _BYTE, _UNDEFINED = 3, 4, 5, 10, 2, 1, 7
_SIZES = {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _SRATIONAL: 8, _ASCII: 1, _BYTE: 1, _UNDEFINED: 1}


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    v = values.astype(np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def mosaic(rgb8: np.ndarray, neutral: tuple[float, float, float] = AS_SHOT_NEUTRAL) -> np.ndarray:
    """HxWx3 uint8 sRGB -> HxW uint16 RGGB sensor values (black and white levels as the DNG says)."""
    linear = srgb_to_linear(rgb8) * np.asarray(neutral)
    sensor = (linear * (WHITE_LEVEL - BLACK_LEVEL) + BLACK_LEVEL + 0.5).astype(np.uint16)
    cfa = np.empty(rgb8.shape[:2], np.uint16)
    cfa[0::2, 0::2] = sensor[0::2, 0::2, 0]
    cfa[0::2, 1::2] = sensor[0::2, 1::2, 1]
    cfa[1::2, 0::2] = sensor[1::2, 0::2, 1]
    cfa[1::2, 1::2] = sensor[1::2, 1::2, 2]
    return cfa


def camera_tone(rgb8: np.ndarray) -> np.ndarray:
    """A camera JPEG engine's look: a third of a stop brighter, an S-curve, a little more saturation."""
    v = rgb8.astype(np.float64) / 255.0
    v = np.clip(v * 1.26, 0, 1)
    v = 0.7 * v + 0.3 * (0.5 - 0.5 * np.cos(np.pi * v))  # S-curve: deeper shadows, brighter highlights
    grey = v.mean(axis=2, keepdims=True)
    v = np.clip(grey + (v - grey) * 1.15, 0, 1)
    return (v * 255 + 0.5).astype(np.uint8)


def _rational(value: float, signed: bool = False) -> tuple[int, int]:
    denominator = 10000
    return round(value * denominator), denominator


class _Ifd:
    """One TIFF directory being built: tags and where their out-of-line values go."""

    def __init__(self) -> None:
        self.tags: dict[int, tuple[int, list | bytes]] = {}

    def add(self, tag: int, kind: int, values: list | bytes | str) -> None:
        if isinstance(values, str):
            values = values.encode("ascii") + b"\0"
        self.tags[tag] = (kind, values)

    def count(self, tag: int) -> int:
        kind, values = self.tags[tag]
        return len(values)


def _pack_values(kind: int, values: list | bytes) -> bytes:
    if kind in (_ASCII, _BYTE, _UNDEFINED):
        return bytes(values)
    if kind == _SHORT:
        return struct.pack(f"<{len(values)}H", *values)
    if kind == _LONG:
        return struct.pack(f"<{len(values)}I", *values)
    if kind in (_RATIONAL, _SRATIONAL):
        flat = [n for pair in values for n in pair]
        return struct.pack(f"<{len(flat)}{'i' if kind == _SRATIONAL else 'I'}", *flat)
    raise ValueError(kind)


def _layout(ifds: list[_Ifd], blobs: dict[tuple[int, int], bytes], start: int) -> bytes:
    """Write ``ifds`` one after another from file offset ``start``: each followed by its out-of-line values.

    ``blobs[(ifd index, tag)]`` are data (strips) whose offsets the tag receives. Sub-IFD pointers (tag 330) and
    the Exif pointer (34665) in IFD0 get the offsets of the IFDs listed in them by index.
    """
    # Two passes: first the sizes, then the bytes with every offset known.
    for index, tag in blobs:
        ifds[index].tags[tag] = (_LONG, [0])

    def ifd_size(ifd: _Ifd) -> int:
        extra = 0
        for kind, values in ifd.tags.values():
            size = 4 * len(values) if kind == -1 else len(_pack_values(kind, values))
            if size > 4:
                extra += size + (size & 1)
        return 2 + 12 * len(ifd.tags) + 4 + extra

    offsets, position = [], start
    for ifd in ifds:
        offsets.append(position)
        position += ifd_size(ifd)
    blob_offsets = {}
    for key, blob in blobs.items():
        blob_offsets[key] = position
        position += len(blob) + (len(blob) & 1)
    out = bytearray()
    for index, ifd in enumerate(ifds):
        for key, offset in blob_offsets.items():
            if key[0] == index:
                ifd.tags[key[1]] = (_LONG, [offset])
        for tag, (kind, values) in list(ifd.tags.items()):
            if kind == -1:  # a pointer to other IFDs by index
                ifd.tags[tag] = (_LONG, [offsets[i] for i in values])  # type: ignore[union-attr]
        here = offsets[index]
        extra_at = here + 2 + 12 * len(ifd.tags) + 4
        entries, extra = bytearray(), bytearray()
        for tag in sorted(ifd.tags):
            kind, values = ifd.tags[tag]
            packed = _pack_values(kind, values)
            count = len(values)
            if len(packed) <= 4:
                entries += struct.pack("<HHI", tag, kind, count) + packed.ljust(4, b"\0")
            else:
                entries += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += packed + (b"\0" if len(packed) & 1 else b"")
        out += struct.pack("<H", len(ifd.tags)) + entries + struct.pack("<I", 0) + extra
    for key in blob_offsets:
        blob = blobs[key]
        out += blob + (b"\0" if len(blob) & 1 else b"")
    return bytes(out)


def make_dng(photo: Image.Image | np.ndarray, path: Path, *, orientation: int = 1, preview_long_side: int = 256,
             make: str = "ClearBG Camera Co", model: str = "Mosaic One", lens: str = "ClearBG 35mm F1.4",
             date: str = "2026:12:06 10:20:30", neutral: tuple[float, float, float] = AS_SHOT_NEUTRAL,
             preview_tone: bool = False) -> Path:
    """Write ``photo`` (sRGB, stored as the sensor saw it, i.e. before ``orientation``) as a Bayer DNG at ``path``.

    The photo is cropped to even sides. The embedded preview is a baseline JPEG of the same picture,
    ``preview_long_side`` px on its long side (0: none); ``preview_tone``: rendered as a camera's JPEG engine
    would (brighter and contrastier than the RAW's neutral decode), not as the same pixels.
    """
    rgb = np.asarray(photo.convert("RGB") if isinstance(photo, Image.Image) else photo, np.uint8)
    height, width = (rgb.shape[0] // 2) * 2, (rgb.shape[1] // 2) * 2
    rgb = rgb[:height, :width]
    cfa = mosaic(rgb, neutral)

    ifd0, raw, exif = _Ifd(), _Ifd(), _Ifd()
    ifds = [ifd0, raw, exif]
    blobs: dict[tuple[int, int], bytes] = {}
    thumb = Image.fromarray(rgb).resize((max(8, width // 16), max(8, height // 16)))
    ifd0.add(254, _LONG, [1])  # a reduced-resolution image: the small uncompressed thumbnail
    ifd0.add(256, _LONG, [thumb.width])
    ifd0.add(257, _LONG, [thumb.height])
    ifd0.add(258, _SHORT, [8, 8, 8])
    ifd0.add(259, _SHORT, [1])
    ifd0.add(262, _SHORT, [2])
    ifd0.add(271, _ASCII, make)
    ifd0.add(272, _ASCII, model)
    ifd0.add(274, _SHORT, [orientation])
    ifd0.add(277, _SHORT, [3])
    ifd0.add(278, _LONG, [thumb.height])
    ifd0.add(279, _LONG, [thumb.width * thumb.height * 3])
    ifd0.add(284, _SHORT, [1])
    ifd0.add(306, _ASCII, date)
    ifd0.add(50706, _BYTE, [1, 4, 0, 0])  # DNGVersion
    ifd0.add(50707, _BYTE, [1, 1, 0, 0])  # DNGBackwardVersion
    ifd0.add(50708, _ASCII, f"{make} {model}")  # UniqueCameraModel
    matrix = XYZ_TO_SRGB  # ColorMatrix1: XYZ -> camera
    ifd0.add(50721, _SRATIONAL, [_rational(v) for v in matrix.ravel()])
    ifd0.add(50728, _RATIONAL, [_rational(v) for v in neutral])  # AsShotNeutral
    ifd0.add(50778, _SHORT, [21])  # CalibrationIlluminant1: D65
    blobs[(0, 273)] = np.asarray(thumb).tobytes()
    sub_ifds = [1]

    raw.add(254, _LONG, [0])  # the main image
    raw.add(256, _LONG, [width])
    raw.add(257, _LONG, [height])
    raw.add(258, _SHORT, [16])
    raw.add(259, _SHORT, [1])
    raw.add(262, _SHORT, [32803])  # CFA
    raw.add(277, _SHORT, [1])
    raw.add(278, _LONG, [height])
    raw.add(279, _LONG, [width * height * 2])
    raw.add(284, _SHORT, [1])
    raw.add(33421, _SHORT, [2, 2])  # CFARepeatPatternDim
    raw.add(33422, _BYTE, [0, 1, 1, 2])  # CFAPattern: RGGB
    raw.add(50710, _BYTE, [0, 1, 2])  # CFAPlaneColor
    raw.add(50711, _SHORT, [1])  # CFALayout: rectangular
    raw.add(50714, _LONG, [BLACK_LEVEL])  # BlackLevel
    raw.add(50717, _LONG, [WHITE_LEVEL])  # WhiteLevel
    raw.add(50719, _LONG, [0, 0])  # DefaultCropOrigin
    raw.add(50720, _LONG, [width, height])  # DefaultCropSize
    blobs[(1, 273)] = cfa.astype("<u2").tobytes()

    if preview_long_side:
        scale = preview_long_side / max(width, height)
        preview_image = Image.fromarray(rgb).resize((max(8, round(width * scale)), max(8, round(height * scale))),
                                                    Image.Resampling.LANCZOS)
        if preview_tone:
            preview_image = Image.fromarray(camera_tone(np.asarray(preview_image)))
        buffer = io.BytesIO()
        preview_image.save(buffer, format="JPEG", quality=90)
        preview = _Ifd()
        preview.add(254, _LONG, [1])
        preview.add(256, _LONG, [preview_image.width])
        preview.add(257, _LONG, [preview_image.height])
        preview.add(258, _SHORT, [8, 8, 8])
        preview.add(259, _SHORT, [7])  # JPEG
        preview.add(262, _SHORT, [6])  # YCbCr
        preview.add(277, _SHORT, [3])
        preview.add(278, _LONG, [preview_image.height])
        preview.add(279, _LONG, [len(buffer.getvalue())])
        preview.add(284, _SHORT, [1])
        ifds.append(preview)
        blobs[(3, 273)] = buffer.getvalue()
        sub_ifds.append(3)
    ifd0.tags[330] = (-1, sub_ifds)  # type: ignore[assignment]  # SubIFDs
    ifd0.tags[34665] = (-1, [2])  # type: ignore[assignment]  # the Exif IFD

    exif.add(36867, _ASCII, date)  # DateTimeOriginal
    exif.add(42036, _ASCII, lens)  # LensModel
    exif.add(33434, _RATIONAL, [(1, 250)])  # ExposureTime
    exif.add(33437, _RATIONAL, [(28, 10)])  # FNumber
    exif.add(34855, _SHORT, [200])  # ISO

    # IFD0 must come first (the header points at it); the rest follow in order.
    body = _layout(ifds, blobs, 8)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + body)
    return path
