"""Which files open and which files are written: input suffixes (HEIC through pillow-heif, AVIF through Pillow,
camera RAW through LibRaw), the output formats and their labels, and the size limits every photo is held to
before anything is decoded.
"""

from __future__ import annotations

from pathlib import Path

from PIL import features

from clearbg_desktop.core.imaging.raw_libraw import RAW_SUFFIXES

# HEIC/HEIF (iPhones, many Androids) through pillow-heif, a required dependency: Pillow reads AVIF itself (since
# 11.3, libavif in its wheels) but not HEIC. Guarded all the same, so a broken libheif costs HEIC, not the app.
try:
    from pillow_heif import register_heif_opener  # type: ignore[import-not-found,unused-ignore]

    register_heif_opener()
    HEIF_SUPPORTED = True
except ImportError:
    HEIF_SUPPORTED = False
AVIF_SUPPORTED = bool(features.check("avif"))

#: Largest photo accepted, in pixels. 100 MP medium-format files exceed it on purpose: at that
#: size a full-resolution alpha, cut-out and preview need several GiB.
DEFAULT_MAX_PIXELS = 90_000_000
MIN_SIDE = 8
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


def is_supported_image(path: Path) -> bool:
    return path.suffix.lower() in INPUT_SUFFIXES
