"""Where every output goes: one function that names the outputs of a batch, Export all and project exports.

Cameras restart at ``IMG_0001.JPG`` on every card, so many photos of one job share a name. The rules, which the
user guide's "Nothing lost" section states for users:

- every output path of a job is distinct, compared as a case-insensitive file system would (``a.png`` and
  ``A.PNG`` are one file on macOS and Windows);
- photos whose outputs would share a path are *all* told apart by a tag made from their own file: the
  extension (``a-cutout-jpg.png``), else the parent folder's name (``IMG_0001-cutout-card2.png``), else a
  short hash of the photo's full path. A photo's name depends only on its own path and on whether it
  collides, never on the order of the inputs, so re-running the same job plans the same names (resume works)
  and adding a photo never hands its name to another photo's output;
- an output is never one of the photos: a planned path that is an input (the same path, or the same file
  through a link or a case-insensitive file system) is refused, never written;
- a name or path longer than the file system allows is refused for that photo alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from clearbg_desktop.core.imaging.export import ExportOptions, output_name
from clearbg_desktop.core.paths import real_path

#: POSIX limits most file systems share (ext4, APFS, NTFS through long paths): bytes per name and per path.
NAME_MAX_BYTES = 255
PATH_MAX_BYTES = 4096
#: A folder name used as a tag must be short and plain; anything else falls back to the hash tag.
_PLAIN_TAG = re.compile(r"^[\w.+ ]{1,40}$")
_HASH_LEVEL = 3


@dataclass(frozen=True)
class OutputRequest:
    """One photo's wish: its output is named from ``source`` and goes to ``folder`` under the output folder.

    ``source`` may be a name without a file (a pasted image's title); only existing files count as originals.
    """

    source: Path
    folder: Path = Path()
    options: ExportOptions | None = None  # its own (name template, format) when not the job's: Export all (#40)


@dataclass(frozen=True)
class PlannedOutput:
    """The output path of one request, or why it cannot be written (``problem``; then nothing is written)."""

    target: Path
    problem: str = ""


def collision_key(relative: Path) -> str:
    """How a case-insensitive, normalising file system (macOS, Windows) compares two names."""
    return unicodedata.normalize("NFC", str(relative)).casefold()


def _tag(request: OutputRequest, level: int, index: int) -> str:
    """The request's tag at ``level``: 1 its extension, 2 its folder's name, 3 a hash of its path, 4+ more."""
    if level == 1 and request.source.suffix:
        return request.source.suffix.lstrip(".").lower()
    if level == 2:
        parent = real_path(request.source).parent.name
        if _PLAIN_TAG.match(parent) and parent.strip() == parent:
            return parent
    if level >= 2:
        digest = hashlib.sha256(os.fsencode(real_path(request.source))).hexdigest()[:8]
        # Past the hash (the same photo requested twice, or a name equal to another's tag): its place in the job.
        return digest if level <= _HASH_LEVEL else f"{digest}-{index}" + (f"-{level}" if level > _HASH_LEVEL + 1 else "")
    return ""


def _tagged(name: str, tag: str) -> str:
    if not tag:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{tag}.{suffix}" if dot else f"{name}-{tag}"


def plan_outputs(requests: Sequence[OutputRequest], output_dir: Path, options: ExportOptions, model: str,
                 originals: Iterable[Path] = (), taken: frozenset[str] | set[str] = frozenset()
                 ) -> list[PlannedOutput]:
    """One :class:`PlannedOutput` per request, in order: distinct paths, none of them an original.

    ``originals``: every photo of the job (and any other file that must never be replaced); the requests'
    own existing files always count. ``taken``: :func:`collision_key` of outputs planned earlier in the same
    job (a project exported beside the photos of a batch), which these requests must not reuse.
    """
    base = [output_name(request.source, request.options or options, model) for request in requests]
    levels = [0] * len(requests)
    names = list(base)
    for _ in range(4 * _HASH_LEVEL):
        groups: dict[str, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            groups[collision_key(request.folder / names[index])].append(index)
        colliding = [members for key, members in groups.items() if len(members) > 1 or key in taken]
        if not colliding:
            break
        for members in colliding:
            for index in members:
                levels[index] += 1
                # A level whose tag is empty or repeats the lower one (no extension, not a plain folder name)
                # tells nothing apart: go on to the next.
                while True:
                    tag = _tag(requests[index], levels[index], index)
                    if tag or levels[index] > _HASH_LEVEL:
                        break
                    levels[index] += 1
                names[index] = _tagged(base[index], tag)
    output_dir = Path(output_dir)
    protected = _Originals([request.source for request in requests], originals)
    planned = []
    seen: set[str] = set()
    for request, name in zip(requests, names, strict=True):
        target = output_dir / request.folder / name
        key = collision_key(request.folder / name)
        problem = "no name could tell its output apart from another photo's" if key in seen | taken else ""
        seen.add(key)
        planned.append(PlannedOutput(target, problem or _problem(target, name, protected)))
    return planned


class _Originals:
    """The files a job must never write over, known by path and, where they exist, by device and inode."""

    def __init__(self, sources: Iterable[Path], extra: Iterable[Path]) -> None:
        self.paths: set[Path] = set()
        self.inodes: set[tuple[int, int]] = set()
        for path in [*sources, *extra]:
            self.paths.add(real_path(path))
            try:
                status = os.stat(path)
            except (OSError, ValueError):
                continue
            self.inodes.add((status.st_dev, status.st_ino))

    def holds(self, target: Path) -> bool:
        if real_path(target) in self.paths:
            return True
        try:
            status = os.stat(target)
        except (OSError, ValueError):
            return False
        return (status.st_dev, status.st_ino) in self.inodes


def replaces_original(target: Path, originals: Iterable[Path]) -> bool:
    """The last check before a file is written: is ``target`` one of ``originals`` (by path, link or inode)?"""
    return _Originals([], originals).holds(target)


def _problem(target: Path, name: str, originals: _Originals) -> str:
    if len(os.fsencode(name)) > NAME_MAX_BYTES:
        return (f"the output name {name[:40]!r}… is {len(os.fsencode(name))} bytes, longer than a file name may be "
                f"({NAME_MAX_BYTES}); choose a shorter name template")
    if len(os.fsencode(real_path(target))) > PATH_MAX_BYTES:
        return f"the output path is longer than the file system allows ({PATH_MAX_BYTES} bytes); choose a shorter output folder"
    if originals.holds(target):
        return (f"its output {target.name} would replace an original photo, which is never done; choose another "
                "output folder or a name template other than {name}")
    return ""


def folder_labels(folders: Sequence[Path]) -> dict[Path, Path]:
    """Sub-folders of the output folder for a job over several folders: each folder's own name, or as many of its
    parents' names as tell two same-named folders apart (``card1/DCIM`` and ``card2/DCIM``)."""
    resolved = {folder: real_path(folder) for folder in folders}
    depth = dict.fromkeys(folders, 1)

    def label(folder: Path) -> Path:
        parts = [part for part in resolved[folder].parts if part not in (os.sep, resolved[folder].anchor)]
        return Path(*parts[-depth[folder]:]) if parts else Path("root")

    for _ in range(max((len(path.parts) for path in resolved.values()), default=1)):
        groups: dict[str, list[Path]] = defaultdict(list)
        for folder in folders:
            groups[collision_key(label(folder))].append(folder)
        clashes = [members for members in groups.values() if len(members) > 1]
        if not clashes:
            break
        for members in clashes:
            for folder in members:
                depth[folder] += 1
    return {folder: label(folder) for folder in folders}
