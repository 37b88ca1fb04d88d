"""A layered Photoshop file for the hand-off: the photo as one layer, the cut-out as that layer's mask.

Why our own writer: of the maintained Python libraries, ``psd-tools`` reads layer masks but does not write them,
and Pillow reads PSD only. The format is documented (Adobe Photoshop File Formats Specification, "Layer and Mask
Information Section"), and one layer with one user mask needs a small part of it: the header, the ICC profile and
EXIF as image resources, one layer record with channels R, G, B and -2 (the user mask), and the merged image for
readers that do not read layers. The mask stays editable in Photoshop, GIMP, Affinity and Krita: nothing is
baked, and painting on the mask brings the background back.

Layer channels are ZIP-compressed with prediction (compression 3, what Photoshop writes for 16-bit); the merged
image is PackBits as literal runs only (the spec allows only raw or RLE there for every reader; literal runs
cost 1 byte in 128 over raw and need no per-byte loop in Python). 8 or 16 bits per channel, RGB.
"""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_SIDE = 30_000  # the PSD format's limit (PSB, the large format, goes beyond; no photo does)
_RESOURCE_ICC = 1039
_RESOURCE_EXIF = 1058
_COMPRESSION_RLE = 1
_COMPRESSION_ZIP_PREDICTED = 3
_MASK_CHANNEL = -2
_LITERAL_RUN = 128  # PackBits: a header byte n (0..127) is followed by n + 1 literal bytes


def _big_endian(channel: np.ndarray) -> bytes:
    return channel.astype(">u2" if channel.dtype == np.uint16 else np.uint8).tobytes()


def _zip_predicted(channel: np.ndarray, level: int) -> bytes:
    """Compression 3: each row differenced from its left neighbour (mod 2**bits), big-endian, deflated."""
    differenced = channel.copy()
    differenced[:, 1:] -= channel[:, :-1]  # unsigned wraps, as the predictor wants
    return zlib.compress(_big_endian(differenced), level)


def _literal_rle(planes: np.ndarray) -> bytes:
    """PackBits of every row of ``planes`` (C x H x W, big-endian samples) as literal runs, with the row-length
    table that comes first (2 bytes per row, every row of every channel)."""
    channels, height, width = planes.shape
    rows = np.frombuffer(_big_endian(planes.reshape(channels * height, width)), np.uint8)
    row_bytes = rows.size // (channels * height)
    rows = rows.reshape(channels * height, row_bytes)
    runs = -(-row_bytes // _LITERAL_RUN)
    padded = np.zeros((channels * height, runs * _LITERAL_RUN), np.uint8)
    padded[:, :row_bytes] = rows
    chunks = padded.reshape(channels * height, runs, _LITERAL_RUN)
    headers = np.full((channels * height, runs, 1), _LITERAL_RUN - 1, np.uint8)
    last = row_bytes - (runs - 1) * _LITERAL_RUN
    headers[:, -1, 0] = last - 1
    packed = np.concatenate([headers, chunks], axis=2).reshape(channels * height, -1)
    packed = packed[:, :runs * (_LITERAL_RUN + 1) - (_LITERAL_RUN - last)]  # drop the last run's padding
    lengths = np.full(channels * height, packed.shape[1], ">u2")
    return lengths.tobytes() + packed.tobytes()


def _resource(resource_id: int, data: bytes) -> bytes:
    padded = data + (b"\0" if len(data) & 1 else b"")
    return b"8BIM" + struct.pack(">H", resource_id) + b"\0\0" + struct.pack(">I", len(data)) + padded


def _pascal(name: str, multiple: int) -> bytes:
    encoded = name.encode("latin-1", "replace")[:255]
    data = bytes([len(encoded)]) + encoded
    return data + b"\0" * (-len(data) % multiple)


def _unicode_name(name: str) -> bytes:
    """The 'luni' block: the layer's name in UTF-16 (the Pascal name is Latin-1 only)."""
    text = name.encode("utf-16-be")
    data = struct.pack(">I", len(name)) + text
    data += b"\0" * (-len(data) % 4)
    return b"8BIM" + b"luni" + struct.pack(">I", len(data)) + data


def encode_psd(photo: np.ndarray, mask: np.ndarray, *, icc_profile: bytes | None = None, exif: bytes | None = None,
               layer_name: str = "Photo", level: int = 6) -> bytes:
    """The PSD's bytes: ``photo`` (HxWx3, uint8 or uint16) as a layer whose mask is ``mask`` (HxW, same type).

    The merged image (what a reader that ignores layers shows) is the photo with the mask applied on white.
    """
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"encode_psd takes HxWx3 uint8 or uint16 pixels, not {photo.shape} {photo.dtype}")
    if mask.shape != photo.shape[:2] or mask.dtype != photo.dtype:
        raise ValueError(f"the mask must be {photo.shape[:2]} {photo.dtype}, not {mask.shape} {mask.dtype}")
    height, width = mask.shape
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"a PSD holds 1 to {MAX_SIDE} px per side, not {width}×{height}")
    depth = 16 if photo.dtype == np.uint16 else 8
    top = 65535 if depth == 16 else 255

    header = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, height, width, depth, 3)
    colour_mode = struct.pack(">I", 0)
    resources = b""
    if icc_profile:
        resources += _resource(_RESOURCE_ICC, icc_profile)
    if exif:
        resources += _resource(_RESOURCE_EXIF, exif[6:] if exif.startswith(b"Exif\0\0") else exif)
    image_resources = struct.pack(">I", len(resources)) + resources

    planes = [np.ascontiguousarray(photo[..., c]) for c in range(3)] + [np.ascontiguousarray(mask)]
    with ThreadPoolExecutor(thread_name_prefix="psd") as pool:  # zlib releases the GIL
        compressed = list(pool.map(lambda plane: _zip_predicted(plane, level), planes))
    channel_ids = (0, 1, 2, _MASK_CHANNEL)
    record = struct.pack(">iiiiH", 0, 0, height, width, len(channel_ids))
    for channel_id, data in zip(channel_ids, compressed, strict=True):
        record += struct.pack(">hI", channel_id, 2 + len(data))
    record += b"8BIMnorm" + struct.pack(">BBBB", 255, 0, 0, 0)  # opacity, clipping, flags (visible), filler
    mask_data = struct.pack(">iiiiBB2x", 0, 0, height, width, 0, 0)  # default colour black: hidden outside
    extra = (struct.pack(">I", len(mask_data)) + mask_data + struct.pack(">I", 0)
             + _pascal(layer_name, 4) + _unicode_name(layer_name))
    record += struct.pack(">I", len(extra)) + extra
    channel_data = b"".join(struct.pack(">H", _COMPRESSION_ZIP_PREDICTED) + data for data in compressed)
    layer_info = struct.pack(">h", 1) + record + channel_data
    layer_info += b"\0" * (len(layer_info) & 1)
    layer_info = struct.pack(">I", len(layer_info)) + layer_info
    global_mask = struct.pack(">I", 0)
    layers = layer_info + global_mask
    layer_section = struct.pack(">I", len(layers)) + layers

    weight = mask.astype(np.float32) / top
    merged = photo.astype(np.float32) * weight[..., None] + top * (1.0 - weight[..., None])
    merged_planes = (merged + 0.5).clip(0, top).astype(photo.dtype).transpose(2, 0, 1)
    image_data = struct.pack(">H", _COMPRESSION_RLE) + _literal_rle(merged_planes)
    return header + colour_mode + image_resources + layer_section + image_data
