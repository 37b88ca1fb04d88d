"""A shoot seen as a whole: the order the grid shows its photos in, their capture times, cut-out thumbnails and
counts. Qt-free, so the grid, Export all and the session file share one set of rules (flags: ``flags.py``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.imaging.export import ExportOptions

SORT_ORDERS = ("name", "time", "doubt")
#: What Sync can copy from one photo's settings to others: export-time refinement (feather, shift, decontaminate…),
#: the background, and everything else of the export (format, size, crop, names, shadow).
SYNC_PARTS = ("refine", "background", "export")
_EXIF_DATETIME_ORIGINAL, _EXIF_IFD = 0x9003, 0x8769


def taken_at(path: Path | None) -> float:
    """When the photo was taken: EXIF DateTimeOriginal when the file has it (copying a card loses the file's
    own time), else the file's modification time; 0 for a pasted image. Reads only the file's header."""
    if path is None:
        return 0.0
    try:
        with Image.open(path) as image:
            text = image.getexif().get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL)
        if isinstance(text, str):
            return datetime.strptime(text.strip()[:19], "%Y:%m:%d %H:%M:%S").timestamp()
    except (OSError, ValueError, SyntaxError, TypeError, Image.DecompressionBombError):
        pass  # no EXIF, a RAW Pillow cannot open, a malformed date: the file's time then
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def sort_key(order: str, document: Document, taken: Callable[[Document], float]) -> tuple:
    """How the grid orders photos: by name (natural: IMG_2 before IMG_10), capture time, or doubt (most first;
    photos without a mask yet last)."""
    name = natural_key(document.title)
    if order == "time":
        return (taken(document), name)
    if order == "doubt":
        return (-(document.doubt if document.doubt is not None else -1.0), name)
    return (name,)


def natural_key(text: str) -> tuple:
    """IMG_2 before IMG_10, case ignored."""
    parts: list[tuple[int, object]] = []
    number = ""
    word = ""
    for char in text.casefold():
        if char.isdigit():
            if word:
                parts.append((1, word))
                word = ""
            number += char
        else:
            if number:
                parts.append((0, int(number)))
                number = ""
            word += char
    if number:
        parts.append((0, int(number)))
    if word:
        parts.append((1, word))
    return tuple(parts)


def mask_thumbnail(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The mask at a thumbnail's ``size`` (width, height), for the grid's cut-out thumbnails: a few ms at 24 MP
    (Pillow reduces by whole factors first)."""
    image = Image.fromarray(alpha, "L")
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))


@dataclass(frozen=True)
class ShootCounts:
    """What the grid's bar says: how many photos carry each flag."""

    total: int
    done: int
    needs_work: int
    rejected: int

    @classmethod
    def of(cls, documents: Iterable[Document]) -> ShootCounts:
        flags = [d.flag for d in documents]
        return cls(len(flags), flags.count("done"), flags.count("needs-work"), flags.count("reject"))

    def __str__(self) -> str:
        return (f"{self.total} photos · {self.done} done · {self.needs_work} need work · {self.rejected} rejected")


def synced_options(target: ExportOptions, source: ExportOptions, parts: set[str]) -> ExportOptions:
    """``target`` with the ``parts`` of ``source`` (:data:`SYNC_PARTS`) copied over; the rest stays the target's."""
    result = source if "export" in parts else target
    result = result.with_changes(refine=(source if "refine" in parts else target).refine,
                                 background=(source if "background" in parts else target).background)
    return result
