"""Where each output goes and how it is written: placed against the output records (skip, rename, overwrite,
never a file ClearBG did not write) and exported atomically, a name taken meanwhile passed over."""


from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.records import OutputRecords
from clearbg_desktop.core.imaging.atomic_write import OutputExistsError
from clearbg_desktop.core.imaging.export import ExportOptions, looks_like_output, next_free_path
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.paths import path_kind

if TYPE_CHECKING:
    import numpy as np


def place_output(records: OutputRecords, target: Path, source: Path, existing: str, options: ExportOptions,
               model: str) -> tuple[str, Path, str]:
    """(what to do, where, why) for a photo planned at ``target``: "failed" with why when something that is not an
    output is in the way (a folder, a FIFO, a file ClearBG did not write: Existing outputs never reaches those),
    else :meth:`OutputRecords.decide`'s answer ("skipped", or the policy to write with)."""
    in_place = path_kind(target)
    if in_place in ("dir", "other"):
        what = "a folder" if in_place == "dir" else "a FIFO, device or socket"
        return "failed", target, f"its output {target.name} cannot be written: {what} is in its place, which is " \
                                 "never replaced"
    action, where = records.decide(target, source, existing, in_place == "file",
                                   looks_like_output(target, options, model))
    if action == "refused":
        return "failed", target, (f"its output name {target.name} is taken by a file ClearBG did not write (a "
                                  "photo?), which is never replaced; choose another output folder or name template, "
                                  "or Keep both")
    return action, where, ""


RENAME_TRIES = 20


def write_output(loaded: LoadedImage, alpha: Image.Image, target: Path, options: ExportOptions, existing: str,
            workers: int | None = None, probability: np.ndarray | None = None) -> Path:
    """Export without replacing, unless ``existing`` is overwrite; with rename, a name another run took
    meanwhile is passed over for the next free one."""
    for _ in range(RENAME_TRIES - 1):
        try:
            return export_photo(loaded, alpha, target, options, overwrite=existing == "overwrite", workers=workers,
                                probability=probability)
        except OutputExistsError:
            if existing != "rename":
                raise
            target = next_free_path(target)
    return export_photo(loaded, alpha, target, options, overwrite=existing == "overwrite", workers=workers,
                        probability=probability)
