"""What a decoded photo gives the window beside its pixels: a screen-sized preview and a thumbnail, made off the GUI
thread; and the one-at-a-time full decode (two 24 MP decodes at once would double the peak memory)."""


from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.editing.document import FileStamp
from clearbg_desktop.core.imaging.loading import LoadedImage, load_image
from clearbg_desktop.gui.widgets.colour_space import to_display

THUMBNAIL_SIZE = (192, 144)


PREVIEW_SIDE = 1600  # px, the long side of the preview shown while an evicted photo is decoded again


@dataclass(frozen=True)
class DecodedViews:
    rgb: np.ndarray
    thumbnail: np.ndarray  # in display colours
    display: np.ndarray | None = None  # the photo in display colours, when they differ from its own
    preview: bytes | None = None  # JPEG in display colours, at most PREVIEW_SIDE (kept when the photo is evicted)


@dataclass(frozen=True)
class PreviewViews:
    """What the window keeps of a photo decoded reduced for its mask (it is then as if evicted)."""

    size: tuple[int, int]  # the full photo's (width, height)
    thumbnail: np.ndarray  # in display colours
    preview: bytes  # as DecodedViews.preview
    file_stamp: FileStamp | None  # of the file before it was decoded (a later change means replaced)
    notes: tuple[str, ...] = ()


def _fitted(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    scale = min(box[0] / image.width, box[1] / image.height, 1.0)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def preview_and_thumbnail(rgb: Image.Image, icc_profile: bytes | None) -> tuple[bytes, np.ndarray]:
    preview = _fitted(rgb, (PREVIEW_SIDE, PREVIEW_SIDE))
    thumbnail = to_display(np.asarray(_fitted(preview, THUMBNAIL_SIZE)), icc_profile)
    buffer = io.BytesIO()
    Image.fromarray(to_display(np.asarray(preview), icc_profile)).save(buffer, "JPEG", quality=88)
    return buffer.getvalue(), thumbnail


def decoded_views(loaded: LoadedImage, previews: bool = True) -> DecodedViews:
    """Everything the window shows of a decoded photo, made off the GUI thread (``previews=False``: a photo
    decoded again keeps the preview and thumbnail it has)."""
    preview, thumbnail = (preview_and_thumbnail(loaded.rgb, loaded.icc_profile) if previews
                          else (None, np.zeros((1, 1, 3), np.uint8)))
    rgb = np.asarray(loaded.rgb)
    display = to_display(rgb, loaded.icc_profile)
    return DecodedViews(rgb, thumbnail, display if display is not rgb else None, preview)


# Full-resolution decodes at once, whoever asks (the model's decode of the shown photo, a switch back to an evicted
# one): each is ~200 MiB at 24 MP while it runs, and two overlapping made the peak of a whole shoot (#32).
FULL_DECODES = threading.BoundedSemaphore(1)


def decode_full(path: Path) -> LoadedImage:
    with FULL_DECODES:
        return load_image(path)
