"""An open photo in the editor: the photo, the model's alpha and the user's edited alpha.

A photo not on screen may give its full-resolution pixels back (``evict``) to keep a whole shoot within the
memory budget (``core.editing.memory_budget``): it keeps its preview, thumbnail and masks (compressed, exactly), and
is decoded again from its file when shown or exported (``reload_photo``). Its undo history holds the document,
not the arrays, so edits survive the round trip.
"""

from __future__ import annotations

import itertools
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.editing.project import Project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import ImageLoadError, LoadedImage, load_image
from clearbg_desktop.core.imaging.output_file import export_photo

FileStamp = tuple[int, str]  # (size, SHA-256) of a photo's file: see file_stamp

_ids = itertools.count(1)


@dataclass(frozen=True)
class BatchReview:
    """A batch output opened for review: exporting again replaces ``output`` (after asking)."""

    output: Path
    doubt: float
    reasons: tuple[str, ...]
    options: ExportOptions


def _deflate(mask: np.ndarray) -> bytes:
    """Each row as its difference from the row above (mod 256, as PNG's Up filter), deflated: a mask's soft
    edges are smooth gradients, and their differences deflate to about half (a 24 MP mask, 520 -> 290 KB)."""
    delta = np.empty_like(mask)
    delta[0] = mask[0]
    np.subtract(mask[1:], mask[:-1], out=delta[1:])  # uint8: wraps mod 256, undone exactly by the cumsum
    return zlib.compress(delta.data, 1)


@dataclass(frozen=True)
class PackedMasks:
    """The edited and the predicted alpha, deflated (exact; a 24 MP mask is a few hundred KB)."""

    shape: tuple[int, int]
    alpha: bytes
    predicted: bytes | None  # None: no prediction kept
    same: bool  # the prediction equals the edited alpha (stored once)

    @classmethod
    def pack(cls, alpha: np.ndarray, predicted: np.ndarray | None) -> PackedMasks:
        packed = _deflate(np.ascontiguousarray(alpha, np.uint8))
        same = predicted is not None and predicted.shape == alpha.shape and np.array_equal(predicted, alpha)
        other = None if predicted is None or same else _deflate(np.ascontiguousarray(predicted, np.uint8))
        return cls((alpha.shape[0], alpha.shape[1]), packed, other, same)

    def _inflate(self, data: bytes) -> np.ndarray:
        mask = np.frombuffer(bytearray(zlib.decompress(data)), dtype=np.uint8).reshape(self.shape)  # writable
        for row in range(1, mask.shape[0]):  # row by row: 6x faster than np.cumsum(axis=0) on a 24 MP mask
            np.add(mask[row - 1], mask[row], out=mask[row])
        return mask

    def unpack_alpha(self) -> np.ndarray:
        return self._inflate(self.alpha)

    def unpack(self) -> tuple[np.ndarray, np.ndarray | None]:
        alpha = self.unpack_alpha()
        if self.same:
            return alpha, alpha.copy()
        return alpha, None if self.predicted is None else self._inflate(self.predicted)

    @property
    def nbytes(self) -> int:
        return len(self.alpha) + len(self.predicted or b"")


class PhotoGoneError(ImageLoadError):
    """An evicted photo's file is missing or changed: its full pixels cannot come back (its masks are kept)."""


@dataclass(eq=False)
class Document:
    """Editing state kept free of Qt, so export and batch read exactly what the user sees.

    ``predicted`` is the model's alpha (for "Reset mask"); ``alpha`` is the current, edited one. Both are
    inflated again on first use after an eviction.
    """

    title: str
    path: Path | None = None
    loaded: LoadedImage | None = None
    _predicted: np.ndarray | None = field(default=None, repr=False)
    _alpha: np.ndarray | None = field(default=None, repr=False)
    error: str | None = None
    doc_id: int = field(default_factory=lambda: next(_ids))
    _rgb: np.ndarray | None = field(default=None, repr=False)
    preview_rgb: np.ndarray | None = field(default=None, repr=False)  # decontaminated colours, while previewed
    display_rgb: np.ndarray | None = field(default=None, repr=False)  # in screen colours, when they differ
    project_path: Path | None = None  # the .clearbg it was last saved to or opened from
    photo_sha256: str | None = None  # of the photo file, once a project needed it
    export_options: ExportOptions | None = None  # this photo's own (from its project or its last export)
    restore: Project | None = field(default=None, repr=False)  # a project to put back once the photo is decoded
    recovered_from: Path | None = None  # the crash autosave it was recovered from, until restored
    review: BatchReview | None = None  # opened to review a batch output
    probability: np.ndarray | None = field(default=None, repr=False)  # the model's, at its resolution (float32)

    def model_probability(self) -> np.ndarray | None:
        """The model's probability while the mask is still exactly the model's (a 16-bit export then takes its
        65,536 levels from it); None once the mask was edited."""
        if self.probability is None or not self.has_mask or self.mask_edited:  # never inflates packed masks
            return None
        return self.probability
    size: tuple[int, int] | None = None  # (width, height), once decoded
    preview: bytes | None = field(default=None, repr=False)  # JPEG in screen colours, shown while decoding again
    thumbnail: np.ndarray | None = field(default=None, repr=False)  # in screen colours
    file_stamp: FileStamp | None = None  # (size, SHA-256) of the file when decoded: changed means replaced
    _packed: PackedMasks | None = field(default=None, repr=False)
    flag: str | None = None  # done | needs-work | reject (core.editing.shoot.FLAGS), None: unflagged
    doubt: float | None = None  # how much its mask deserves a look (core.inference.doubt), once it has one
    mask_thumbnail: np.ndarray | None = field(default=None, repr=False)  # the mask at the thumbnail's size
    taken: float | None = None  # capture time (core.editing.shoot.taken_at), read once when the grid sorts by it
    revision: int = 0  # counts every move of its history: a session rewrites only photos changed since written
    object_box: tuple[str, tuple[float, float, float, float]] | None = None  # the last object box: mode, fractions

    @property
    def ready(self) -> bool:
        return self.loaded is not None and self.has_mask

    @property
    def has_mask(self) -> bool:
        """A mask is known (in memory or packed), without inflating it."""
        return self._alpha is not None or self._packed is not None

    @property
    def evicted(self) -> bool:
        """Decoded once, its full pixels given back since: shown and exported after decoding it again."""
        return self.loaded is None and self.size is not None

    @property
    def alpha(self) -> np.ndarray | None:
        self._inflate()
        return self._alpha

    @alpha.setter
    def alpha(self, value: np.ndarray | None) -> None:
        self._inflate()
        self._alpha = value

    @property
    def predicted(self) -> np.ndarray | None:
        self._inflate()
        return self._predicted

    @predicted.setter
    def predicted(self, value: np.ndarray | None) -> None:
        self._inflate()
        self._predicted = value

    def _inflate(self) -> None:
        if self._packed is not None:
            self._alpha, self._predicted = self._packed.unpack()
            self._packed = None

    def mask_for_export(self) -> np.ndarray | None:
        """The edited alpha, inflated for this use only when packed (an export must not undo an eviction)."""
        if self._alpha is not None:
            return self._alpha
        return None if self._packed is None else self._packed.unpack_alpha()

    @property
    def exportable(self) -> bool:
        """Has a mask and a photo, in memory or decodable again from its file (export all takes it)."""
        return self.has_mask and (self.loaded is not None or self.evicted)

    @property
    def mask_edited(self) -> bool:
        """The user changed the model's mask (answered without inflating packed masks)."""
        if self._packed is not None:
            return self._packed.predicted is not None or not self._packed.same
        return self._alpha is not None and self._predicted is not None and not np.array_equal(self._alpha,
                                                                                                self._predicted)

    def export_source(self) -> Callable[[], tuple[LoadedImage, Image.Image]]:
        """The photo and its edited mask as they are now, for an export that runs later: an evicted photo is
        decoded again then (one at a time in a whole-shoot export), not now."""
        loaded, alpha, packed = self.loaded, None if self._alpha is None else self._alpha.copy(), self._packed
        assert alpha is not None or packed is not None, "no mask to export"

        def source() -> tuple[LoadedImage, Image.Image]:
            mask = alpha if alpha is not None else packed.unpack_alpha()  # type: ignore[union-attr]
            return loaded if loaded is not None else reload_photo(self), Image.fromarray(mask, "L")

        return source

    def resident_bytes(self) -> int:
        """Full-resolution data held now: what evicting would give back (roughly, Pillow's RGB is 4 B/px)."""
        total = 0
        if self.loaded is not None:
            width, height = self.loaded.size
            total += width * height * (5 if self.loaded.source_alpha is not None else 4)
            total += 0 if self.loaded.deep is None else self.loaded.deep.nbytes
        for array in (self._rgb, self.display_rgb, self.preview_rgb, self._alpha, self._predicted):
            total += 0 if array is None else array.nbytes
        return total

    def kept_bytes(self) -> int:
        """What the photo keeps however it is evicted: preview, thumbnail, packed masks."""
        return (len(self.preview or b"") + (0 if self.thumbnail is None else self.thumbnail.nbytes)
                + (0 if self._packed is None else self._packed.nbytes))

    @property
    def can_evict(self) -> bool:
        """Only a photo that can be decoded again from its file (not a pasted one, not a project being opened)."""
        return self.path is not None and self.restore is None

    def evict(self) -> None:
        """Give back the full-resolution pixels and pack the masks (both exact; see ``reload_photo``)."""
        if self._alpha is not None:
            self._packed = PackedMasks.pack(self._alpha, self._predicted)
            self._alpha = self._predicted = None
        if self.can_evict and self.loaded is not None:
            self.loaded = None
            self._rgb = self.display_rgb = self.preview_rgb = None

    @property
    def view_rgb(self) -> np.ndarray:
        """What the canvas shows: the photo (in screen colours), or its colour-decontaminated preview while on."""
        if self.preview_rgb is not None:
            return self.preview_rgb
        return self.display_rgb if self.display_rgb is not None else self.rgb

    @property
    def rgb(self) -> np.ndarray:
        """The photo as a read-only HxWx3 uint8 array (computed once)."""
        if self._rgb is None:
            assert self.loaded is not None, "document has no photo yet"
            self._rgb = np.asarray(self.loaded.rgb)
        return self._rgb

    def set_photo(self, loaded: LoadedImage, rgb: np.ndarray | None = None,
                  display_rgb: np.ndarray | None = None) -> None:
        """``rgb``: the photo already as an array (decoded off the GUI thread), if at hand; ``display_rgb``: the
        same in screen colours, for a photo whose colour profile differs from the screen's."""
        self.loaded = loaded
        self._rgb = rgb
        self.display_rgb = display_rgb
        self.error = None
        self.size = loaded.size
        if self.path is not None and self.file_stamp is None:
            self.file_stamp = file_stamp(self.path)

    def restore_packed(self, size: tuple[int, int], masks: PackedMasks, stamp: FileStamp | None) -> None:
        """A photo of a reopened session: its masks as saved (packed), its pixels decoded again when shown, as after
        an eviction (``stamp``: the file's, checked then)."""
        self.size, self._packed, self.file_stamp = size, masks, stamp
        self._alpha = self._predicted = None

    def packed_masks(self) -> PackedMasks | None:
        """The masks as packed now (None while they are in memory): immutable, so another thread may read them."""
        return self._packed

    def set_prediction(self, alpha: np.ndarray) -> None:
        self.predicted = alpha
        self.alpha = alpha.copy()

    def alpha_image(self) -> Image.Image:
        assert self.alpha is not None
        return Image.fromarray(self.alpha, "L")


def file_stamp(path: Path) -> FileStamp | None:
    """The file's size and SHA-256 when it was decoded: a photo rewritten in place with the same size and its
    time kept (``cp -p``, ``rsync -t`` of an edited copy) is still told apart. 7 ms per 12 MB here."""
    try:
        size = os.stat(path).st_size
        return size, sha256_file(path)
    except OSError:
        return None


def reload_photo(document: Document) -> LoadedImage:
    """The photo of ``document`` decoded again from its file (after an eviction), checked to be the same file.

    Raises PhotoGoneError with one line for the user when it is missing or was replaced; the document's masks
    and history are untouched either way.
    """
    if document.loaded is not None:
        return document.loaded
    path = document.path
    kept = "its mask and edits are kept; put the file back to see or export it at full resolution"
    if path is None:
        raise PhotoGoneError(f"{document.title} has no file to decode again")
    if not path.is_file():
        raise PhotoGoneError(f"{document.title}: the file {path} is missing (moved or deleted?); {kept}")
    stamp = file_stamp(path)
    if document.file_stamp is not None and stamp != document.file_stamp:
        raise PhotoGoneError(f"{document.title}: the file {path} changed since it was opened; {kept}")
    loaded = load_image(path)
    if document.size is not None and loaded.size != document.size:
        raise PhotoGoneError(f"{document.title}: the file {path} is no longer the photo that was opened; {kept}")
    return loaded


def export_document(document: Document, target: Path, options: ExportOptions, overwrite: bool = False) -> Path:
    """Export a photo with its edited mask, whether or not its full pixels are in memory (decoded again if not;
    the document stays evicted)."""
    alpha = document.mask_for_export()
    if alpha is None:
        raise ValueError(f"{document.title} has no mask yet")
    return export_photo(reload_photo(document), Image.fromarray(alpha, "L"), target, options, overwrite=overwrite)
