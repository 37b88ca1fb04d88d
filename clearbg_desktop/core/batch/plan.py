"""What a batch will do, before it starts: the photos found in the inputs (bounded, unreadable folders said),
each with its planned output (``naming.plan_outputs``), and the plan's problems (an output that is an input)."""


from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.batch.naming import (
    OutputRequest,
    folder_labels,
    plan_outputs,
)
from clearbg_desktop.core.batch.records import OutputRecords
from clearbg_desktop.core.imaging.export import (
    ExportOptions,
    looks_like_output,
)
from clearbg_desktop.core.imaging.formats import is_supported_image
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.paths import path_kind

if TYPE_CHECKING:
    import numpy as np


EXISTING_POLICIES = ("skip", "rename", "overwrite")


#: Doubt from which an exported photo is listed for review: about the most doubtful tenth of people-val
#: (bench/doubt_calibration.py).
DEFAULT_REVIEW_THRESHOLD = 0.5


@dataclass(frozen=True)
class BatchItem:
    source: Path
    target: Path


@dataclass(frozen=True, eq=False)
class EditedPhoto:
    """A photo the user edited in the window: exported with this mask (no decoding, no model) and these options."""

    loaded: LoadedImage | None  # None: decoded when its turn comes, by ``source``
    alpha: Image.Image | None
    options: ExportOptions | None = None  # None: the job's
    # A photo whose full pixels were evicted (#32): decoded again only when it is exported, so exporting a
    # whole shoot holds one photo at a time. Raises ImageLoadError when its file is gone.
    source: Callable[[], tuple[LoadedImage, Image.Image]] | None = None
    probability: np.ndarray | None = None  # the model's, while the mask is still exactly the model's (16-bit)

    def photo(self) -> tuple[LoadedImage, Image.Image]:
        if self.loaded is not None and self.alpha is not None:
            return self.loaded, self.alpha
        assert self.source is not None
        return self.source()


@dataclass
class BatchPlan:
    """What a job will do: one item per photo, plus the files it will ignore (not images).

    ``edited`` holds the items whose mask comes from the window (the user's edits), not from the model.
    ``problems`` holds the items that cannot be written, with why (an output that would replace an original, a
    name too long, a photo whose path cannot be read): they fail, alone, without being decoded.
    """

    items: list[BatchItem]
    ignored: list[Path] = field(default_factory=list)
    output_dir: Path | None = None
    edited: dict[BatchItem, EditedPhoto] = field(default_factory=dict)
    problems: dict[BatchItem, str] = field(default_factory=dict)
    model: str = "small"  # the model name the template's {model} gives (outputs are recognised by their names)
    # The subject's boxes (``clearbg-cli --box``, a product on a turntable): each photo's mask is the object box's
    # (``core.inference.box_prompt.mask_of_boxes``), nothing outside them. Empty: the model on the whole photo.
    boxes: tuple[tuple[float, float, float, float], ...] = ()

    @property
    def needs_model(self) -> bool:
        return any(item not in self.edited and item not in self.problems for item in self.items)

    @property
    def replaces_originals(self) -> list[BatchItem]:
        """Items refused because their output would be one of the photos (the whole job should be refused)."""
        return [item for item, problem in self.problems.items() if "original photo" in problem]


def _walk(folder: Path, recursive: bool, unreadable: dict[Path, str]) -> Iterator[tuple[Path, str]]:
    """Every visible non-folder entry under ``folder`` with its kind, sorted. A folder that cannot be listed (no
    permission, a path over the system's limit) goes into ``unreadable`` with why, never silently left out.
    Symlinked folders are not followed (a link loop cannot trap the walk), as ``Path.rglob`` did."""

    def cannot_list(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        unreadable[where] = f"the folder {str(where)[:200]} cannot be read ({error.strerror or error}): its photos " \
                            "were not looked at"

    entries = []
    for root, folders, names in os.walk(folder, onerror=cannot_list):
        entries += [Path(root, name) for name in names if not name.startswith(".")]
        if not recursive:
            break
        folders.sort()
    for path in sorted(entries):
        kind = path_kind(path)
        if kind != "dir":
            yield path, kind


def plan_batch(
    inputs: Sequence[Path | str],
    output_dir: Path | str,
    options: ExportOptions,
    recursive: bool = True,
    model: str = "small",
) -> BatchPlan:
    """Map every photo under ``inputs`` to an output path (named by :func:`core.batch.naming.plan_outputs`).

    One folder's photos go to ``output_dir/<relative folder>/``; with several folders, each folder's tree goes
    under its own name (``output_dir/card1/…``, ``output_dir/card2/…``); single files go to ``output_dir/``.
    """
    output_dir = Path(output_dir)
    resolved_output = output_dir.resolve()
    sources: list[tuple[Path, Path]] = []  # (photo, relative output folder)
    ignored: list[Path] = []
    unreadable: dict[Path, str] = {}
    seen: set[Path] = set()

    records = OutputRecords()

    def ours(path: Path) -> bool:
        """Outputs of this or an earlier run: in the output folder and named like an output, or anywhere that the
        record of its folder says ClearBG wrote it (an earlier run into another output folder, in another format)."""
        resolved = path.resolve()
        inside = resolved.parent == resolved_output or resolved_output in resolved.parents
        return (inside and looks_like_output(resolved, options, model)) or \
            records.of(path.parent).owner(path) is not None

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key in seen:
            return  # the same photo named twice (a file and its folder, or twice on the command line)
        seen.add(key)
        sources.append((path, relative))

    entries = [(Path(raw), path_kind(Path(raw))) for raw in inputs]
    folders = [entry for entry, kind in entries if kind == "dir"]
    labels = folder_labels(folders) if len({entry.resolve() for entry in folders}) > 1 else {}
    for entry, kind in entries:
        if kind == "dir":
            resolved_entry = entry.resolve()
            skip_subtree = resolved_output != resolved_entry and resolved_entry in resolved_output.parents
            for path, found in _walk(entry, recursive, unreadable):
                if found not in ("file", "other", "missing") and is_supported_image(path):
                    unreadable[path] = f"{path.name}: {found}"
                    continue
                if skip_subtree and resolved_output in path.resolve().parents:
                    continue  # an output folder inside the input folder holds only outputs
                if ours(path):
                    continue  # never re-process our own outputs
                if found == "file" and is_supported_image(path):
                    add(path, labels.get(entry, Path()) / path.parent.relative_to(entry))
                else:
                    ignored.append(path)
        elif kind == "file" and is_supported_image(entry):
            if not ours(entry):
                add(entry, Path())
        elif kind not in ("file", "other", "missing", "dir") and is_supported_image(entry):
            unreadable[entry] = f"{entry.name[:80]}: {kind}"
        else:
            ignored.append(entry)
    planned = plan_outputs([OutputRequest(path, relative) for path, relative in sources], output_dir, options,
                           model, originals=[path for path, _ in sources])
    plan = BatchPlan(items=[], ignored=ignored, output_dir=output_dir, model=model)
    for (path, _), output in zip(sources, planned, strict=True):
        item = BatchItem(path, output.target)
        plan.items.append(item)
        if output.problem:
            plan.problems[item] = output.problem
    for path, problem in unreadable.items():
        item = BatchItem(path, output_dir)
        plan.items.append(item)
        plan.problems[item] = problem
    return plan


def count_photos(inputs: Sequence[Path | str], recursive: bool = True, limit: int = 100_000) -> int:
    """How many photos a batch over ``inputs`` would see (by extension; up to ``limit``), for its time warning."""
    count = 0
    for raw in inputs:
        entry = Path(raw)
        if entry.is_dir():
            pattern = entry.rglob("*") if recursive else entry.glob("*")
            for path in pattern:
                if count >= limit:
                    return count
                count += path.is_file() and not path.name.startswith(".") and is_supported_image(path)
        elif entry.is_file() and is_supported_image(entry):
            count += 1
    return count
