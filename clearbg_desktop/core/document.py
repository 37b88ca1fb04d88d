"""An open photo in the editor: the photo, the model's alpha and the user's edited alpha."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.image_io import LoadedImage
from clearbg_desktop.core.project import Project

_ids = itertools.count(1)


@dataclass(frozen=True)
class BatchReview:
    """A batch output opened for review: exporting again replaces ``output`` (after asking)."""

    output: Path
    doubt: float
    reasons: tuple[str, ...]
    options: ExportOptions


@dataclass(eq=False)
class Document:
    """Editing state kept free of Qt, so export and batch read exactly what the user sees.

    ``predicted`` is the model's alpha (for "Reset mask"); ``alpha`` is the current, edited one.
    """

    title: str
    path: Path | None = None
    loaded: LoadedImage | None = None
    predicted: np.ndarray | None = None
    alpha: np.ndarray | None = None
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

    @property
    def ready(self) -> bool:
        return self.loaded is not None and self.alpha is not None

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

    def set_prediction(self, alpha: np.ndarray) -> None:
        self.predicted = alpha
        self.alpha = alpha.copy()

    def alpha_image(self) -> Image.Image:
        assert self.alpha is not None
        return Image.fromarray(self.alpha, "L")
