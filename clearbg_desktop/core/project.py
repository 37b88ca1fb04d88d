"""Project files (``.clearbg``): an editing session on one photo, saved and reopened with its undo history.

Why: photographers work on a photo over several sittings; a project keeps the mask, the model's own mask
(for Reset), every undoable edit and the refine and export settings, and names the photo by path and
SHA-256 so a moved or changed photo is noticed. The photo itself is not copied into the project.

A project is a zip: ``project.json`` (what and how), ``mask.png`` and ``predicted.png`` (16-bit greyscale
PNGs of the masks), and ``history/NNNN.before`` / ``.after`` (each undoable edit's rectangle, zlib, as
``MaskEdit`` keeps them in memory). Reading it checks every part and raises ``ProjectError`` with a
sentence for the user; a project from a newer ClearBG is refused rather than half-read.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop import __version__
from clearbg_desktop.core.deep_colour import from_eight_bit
from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.image_io import LoadedImage, load_image, write_atomic
from clearbg_desktop.core.mask_edits import MaskEdit
from clearbg_desktop.core.png_encoder import encode_png16

PROJECT_SUFFIX = ".clearbg"
FORMAT = "clearbg-project"
FORMAT_VERSION = 1
MAX_MEMBER_BYTES = 2**31  # a zip bomb's member is refused before it is inflated


class ProjectError(Exception):
    """A project file could not be read or its photo not found; the message is written for the user."""


@dataclass
class Project:
    """Everything a project file holds. ``history[:position]`` are applied to ``alpha``; the rest can be redone."""

    photo_path: Path
    photo_sha256: str
    alpha: np.ndarray
    predicted: np.ndarray | None = None
    model: str = "small"
    weights_sha256: str | None = None
    export_options: ExportOptions = field(default_factory=ExportOptions)
    history: list[MaskEdit] = field(default_factory=list)
    position: int = 0
    saved_at: str = ""


def is_project_file(path: Path) -> bool:
    return path.suffix.lower() == PROJECT_SUFFIX


def _mask_png(alpha: np.ndarray) -> bytes:
    return encode_png16(from_eight_bit(alpha), level=6)


def project_bytes(project: Project) -> bytes:
    """The ``.clearbg`` file's bytes."""
    if not 0 <= project.position <= len(project.history):
        raise ValueError(f"history position {project.position} outside 0..{len(project.history)}")
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "saved_by": f"ClearBG {__version__}",
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "photo": {"path": str(project.photo_path), "sha256": project.photo_sha256,
                  "width": int(project.alpha.shape[1]), "height": int(project.alpha.shape[0])},
        "model": {"name": project.model, "weights_sha256": project.weights_sha256},
        "export": project.export_options.to_dict(),
        "history": {"position": project.position,
                    "edits": [{"label": e.label, "box": list(e.box)} for e in project.history]},
        "has_predicted": project.predicted is not None,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.json", json.dumps(description, indent=1), zipfile.ZIP_DEFLATED)
        archive.writestr("mask.png", _mask_png(project.alpha))  # PNGs and patches are compressed already
        if project.predicted is not None:
            archive.writestr("predicted.png", _mask_png(project.predicted))
        for number, edit in enumerate(project.history):
            before, after = edit.packed
            archive.writestr(f"history/{number:04d}.before", before)
            archive.writestr(f"history/{number:04d}.after", after)
    return buffer.getvalue()


def save_project(project: Project, target: Path) -> Path:
    """Write atomically (a crash mid-save keeps the previous file), replacing an older save of it."""
    return write_atomic(project_bytes(project), target, overwrite=True)


def _member(archive: zipfile.ZipFile, name: str, path: Path) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise ProjectError(f"{path.name}: damaged project, {name} is missing") from None
    if info.file_size > MAX_MEMBER_BYTES:
        raise ProjectError(f"{path.name}: damaged project, {name} claims {info.file_size / 2**30:.0f} GiB")
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ProjectError(f"{path.name}: damaged project, {name} cannot be read ({exc})") from None


def _mask(data: bytes, name: str, size: tuple[int, int], path: Path) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            values = np.asarray(image).astype(np.uint32)
    except Exception as exc:  # noqa: BLE001 - any decoder error is a damaged project
        raise ProjectError(f"{path.name}: damaged project, {name} is not a readable mask ({exc})") from None
    if values.shape != (size[1], size[0]):
        raise ProjectError(f"{path.name}: damaged project, {name} is {values.shape[1]}×{values.shape[0]}, "
                           f"the photo {size[0]}×{size[1]}")
    return ((values + 128) // 257).astype(np.uint8) if values.max(initial=0) > 255 else values.astype(np.uint8)


def read_project(path: Path) -> Project:
    """Read and check a ``.clearbg`` file (the photo is not opened here: see :func:`open_photo`)."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ProjectError(f"{path.name}: file not found") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ProjectError(f"{path.name}: not a ClearBG project (not a zip file, or truncated: {exc})") from None
    with archive:
        if "project.json" not in archive.namelist():
            raise ProjectError(f"{path.name}: not a ClearBG project (a zip file without project.json)")
        try:
            description = json.loads(_member(archive, "project.json", path))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{path.name}: damaged project, project.json is not valid JSON ({exc})") from None
        if not isinstance(description, dict) or description.get("format") != FORMAT:
            raise ProjectError(f"{path.name}: not a ClearBG project (project.json is something else)")
        version = description.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ProjectError(f"{path.name}: saved by a newer ClearBG ({description.get('saved_by', '?')}, "
                               f"format {version}); this version reads format {FORMAT_VERSION}: please update")
        try:
            photo = description["photo"]
            size = (int(photo["width"]), int(photo["height"]))
            alpha = _mask(_member(archive, "mask.png", path), "mask.png", size, path)
            predicted = (_mask(_member(archive, "predicted.png", path), "predicted.png", size, path)
                         if description.get("has_predicted") else None)
            history = []
            for number, entry in enumerate(description["history"]["edits"]):
                left, top, right, bottom = (int(v) for v in entry["box"])
                if not (0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]):
                    raise ValueError(f"edit {number} lies outside the photo")
                history.append(MaskEdit.from_packed(
                    (left, top, right, bottom), (bottom - top, right - left), str(entry["label"]),
                    _member(archive, f"history/{number:04d}.before", path),
                    _member(archive, f"history/{number:04d}.after", path)))
            position = int(description["history"]["position"])
            if not 0 <= position <= len(history):
                raise ValueError(f"history position {position} outside 0..{len(history)}")
            model = description.get("model") or {}
            return Project(
                photo_path=Path(photo["path"]),
                photo_sha256=str(photo["sha256"]),
                alpha=alpha,
                predicted=predicted,
                model=str(model.get("name") or "small"),
                weights_sha256=model.get("weights_sha256"),
                export_options=ExportOptions.from_dict(description.get("export") or {}),
                history=history,
                position=position,
                saved_at=str(description.get("saved_at", "")),
            )
        except ProjectError:
            raise
        except (KeyError, TypeError, ValueError, zlib.error) as exc:
            raise ProjectError(f"{path.name}: damaged project ({type(exc).__name__}: {exc})") from None


def photo_matches(project: Project, candidate: Path) -> bool:
    try:
        return candidate.is_file() and sha256_file(candidate) == project.photo_sha256
    except OSError:
        return False


def open_photo(project: Project, project_path: Path, candidate: Path | None = None) -> LoadedImage:
    """Load the project's photo: ``candidate`` when given, else where it was saved, else beside the project.

    Raises ``ProjectError`` naming what is wrong: not found (the caller asks the user for it), or a file
    whose content differs from the one the mask was drawn on.
    """
    places = [candidate] if candidate is not None else [project.photo_path,
                                                         project_path.parent / project.photo_path.name]
    found = next((p for p in places if p.is_file()), None)
    if found is None:
        raise ProjectError(f"{project_path.name}: its photo {project.photo_path.name} was not found at "
                           f"{project.photo_path}")
    if not photo_matches(project, found):
        raise ProjectError(f"{found.name} is not the photo {project_path.name} was saved with (its content "
                           "differs: SHA-256 mismatch)")
    loaded = load_image(found)
    if loaded.size != (project.alpha.shape[1], project.alpha.shape[0]):
        raise ProjectError(f"{found.name}: {loaded.size[0]}×{loaded.size[1]} does not match the project's mask")
    return loaded


def export_from_project(project_path: Path, target: Path, options: ExportOptions | None = None,
                        overwrite: bool = False) -> Path:
    """What ``clearbg-cli project.clearbg -o out/`` does: the saved mask and settings, written to ``target``."""
    from clearbg_desktop.core.export import export_photo

    project = read_project(project_path)
    loaded = open_photo(project, project_path)
    return export_photo(loaded, Image.fromarray(project.alpha, "L"), target, options or project.export_options,
                        overwrite=overwrite)
