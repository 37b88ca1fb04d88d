"""Project files (``.clearbg``): an editing session on one photo, saved and reopened with its undo history.

Why: photographers work on a photo over several sittings; a project keeps the mask, the model's own mask
(for Reset), every undoable edit and the refine and export settings, and names the photo by path and
SHA-256 so a moved or changed photo is noticed. The photo itself is not copied into the project.

A project is a zip: ``project.json`` (what and how), ``mask.png`` and ``predicted.png`` (16-bit greyscale
PNGs of the masks), and ``history/NNNN.before`` / ``.after`` (each undoable edit's rectangle, zlib, as
``MaskEdit`` keeps them in memory). Reading it checks every part and raises ``ProjectError`` with a
sentence for the user; a project from a newer ClearBG is refused rather than half-read.

Why ~420 lines: writing and reading the format sit side by side so that every field written is checked on the way
back in, in the same order; a fuzz test (tests/core/editing/test_project_fuzz.py) holds the two together.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from clearbg_desktop import __version__
from clearbg_desktop.core.editing.flags import check_flag
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.deep_colour import from_eight_bit
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.formats import DEFAULT_MAX_PIXELS
from clearbg_desktop.core.imaging.loading import LoadedImage, load_image
from clearbg_desktop.core.imaging.png_encoder import encode_png16
from clearbg_desktop.core.paths import open_regular_file

PROJECT_SUFFIX = ".clearbg"
FORMAT = "clearbg-project"
FORMAT_VERSION = 1
MAX_JSON_BYTES = 4 * 2**20  # a project.json with the longest history saved takes ~2 MB
MAX_EDITS = 20_000  # undo steps a project keeps (the oldest go first)
MAX_LABEL_CHARS = 200
MAX_REASON_CHARS = 240
MAX_PATH_CHARS = 4096
PNG_OVERHEAD = 64 * 1024
MAX_INFLATION = 4  # members declare at most this many times the file's size (they are stored, not deflated)
INFLATION_SLACK = 2**20
MASK_MODES = ("I;16", "I;16B", "I;16L", "I", "L")


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
    origin: Path | None = None  # an autosave's: the project file the work came from, so recovery saves there
    flag: str | None = None  # the shoot's flag for the photo (core.editing.shoot.FLAGS)


def is_project_file(path: Path) -> bool:
    return path.suffix.lower() == PROJECT_SUFFIX


def _mask_png(alpha: np.ndarray) -> bytes:
    return encode_png16(from_eight_bit(alpha), level=6)


def _kept_history(history: list[MaskEdit], position: int) -> tuple[list[MaskEdit], int]:
    """At most :data:`MAX_EDITS` edits, so that every saved project can be opened again: the oldest undo steps
    go first (they are in the saved mask already), then the furthest redo steps."""
    dropped = min(position, max(0, len(history) - MAX_EDITS))
    return history[dropped:][:MAX_EDITS], position - dropped


def project_bytes(project: Project) -> bytes:
    """The ``.clearbg`` file's bytes."""
    if not 0 <= project.position <= len(project.history):
        raise ValueError(f"history position {project.position} outside 0..{len(project.history)}")
    history, position = _kept_history(project.history, project.position)
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "saved_by": f"ClearBG {__version__}",
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "photo": {"path": str(project.photo_path), "sha256": project.photo_sha256,
                  "width": int(project.alpha.shape[1]), "height": int(project.alpha.shape[0])},
        "model": {"name": project.model, "weights_sha256": project.weights_sha256},
        "export": project.export_options.to_dict(),
        "history": {"position": position,
                    "edits": [{"label": e.label, "box": list(e.box)} for e in history]},
        "has_predicted": project.predicted is not None,
        "origin": str(project.origin) if project.origin is not None else None,
        "flag": project.flag,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.json", json.dumps(description, indent=1), zipfile.ZIP_DEFLATED)
        archive.writestr("mask.png", _mask_png(project.alpha))  # PNGs and patches are compressed already
        if project.predicted is not None:
            archive.writestr("predicted.png", _mask_png(project.predicted))
        for number, edit in enumerate(history):
            before, after = edit.packed
            archive.writestr(f"history/{number:04d}.before", before)
            archive.writestr(f"history/{number:04d}.after", after)
    return buffer.getvalue()


def save_project(project: Project, target: Path, private: bool = False) -> Path:
    """Write atomically (a crash mid-save keeps the previous file), replacing an older save of it.

    ``private``: readable by this user only whatever the umask (autosaves hold someone's unsaved work).
    """
    return write_atomic(project_bytes(project), target, overwrite=True, mode=0o600 if private else None)


# ----- reading: every file a user opens is hostile input --------------------------------------------------
# Sizes are bounded before anything is inflated, from what the photo's size allows: a 16-bit mask PNG cannot
# need more than its raw pixels plus zlib's and PNG's overhead, a history patch not more than zlib's bound for
# its rectangle, project.json not more than a long history's labels. Members are stored, not deflated, by
# project_bytes (PNGs and patches are compressed already), so all of them together cannot declare much more
# than the file's own size: a small file declaring GiBs is a zip bomb.

def _png_bound(width: int, height: int) -> int:
    raw = width * height * 2 + height  # 16-bit pixels plus one filter byte per row
    return raw + raw // 100 + PNG_OVERHEAD


def _patch_bound(pixels: int) -> int:
    return pixels + pixels // 1000 + 64  # zlib's compressBound, rounded up


def _damaged(path: Path, reason: str) -> ProjectError:
    """One line for the user, whatever a decoder's message held."""
    line = " ".join(reason.split())
    return ProjectError(f"{path.name}: damaged project, {line[:MAX_REASON_CHARS]}")


def _member(archive: zipfile.ZipFile, name: str, path: Path, limit: int) -> bytes:
    """The member's bytes, refused before reading when it declares more than ``limit`` (zipfile then stops
    inflating at the declared size and checks the CRC, so a member cannot give more than it declares)."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise _damaged(path, f"{name} is missing") from None
    if info.file_size > limit:
        raise _damaged(path, f"{name} declares {info.file_size:,} bytes where at most {limit:,} can be right")
    if info.flag_bits & 0x1:
        raise _damaged(path, f"{name} is encrypted")
    try:
        return archive.read(info)
    except NotImplementedError:
        raise _damaged(path, f"{name} is compressed in a way ClearBG does not read") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:
        raise _damaged(path, f"{name} cannot be read ({exc})") from None


def _mask(data: bytes, name: str, size: tuple[int, int], path: Path) -> np.ndarray:
    """A 16-bit (or 8-bit) greyscale PNG of exactly ``size``, checked from its header before it is decoded."""
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            if image.size != size:
                raise _damaged(path, f"{name} is {image.size[0]}×{image.size[1]}, the photo {size[0]}×{size[1]}")
            if image.mode not in MASK_MODES:
                raise _damaged(path, f"{name} is not a greyscale mask (mode {image.mode})")
            image.load()
            values = np.asarray(image)
    except ProjectError:
        raise
    except UnidentifiedImageError:
        raise _damaged(path, f"{name} is not a PNG") from None
    except Exception as exc:  # noqa: BLE001 - any decoder error is a damaged project
        raise _damaged(path, f"{name} is not a readable mask ({exc})") from None
    if values.shape != (size[1], size[0]):
        raise _damaged(path, f"{name} does not hold {size[0]}×{size[1]} values")
    if values.dtype == np.uint8 or values.max(initial=0) <= 255:
        return values.astype(np.uint8)
    wide = values.astype(np.uint32)
    wide += 128
    wide //= 257
    return wide.astype(np.uint8)


def _patch(data: bytes, pixels: int, name: str, path: Path) -> None:
    """Inflate at most one byte more than the rectangle holds: exactly its bytes, nothing after the stream."""
    inflater = zlib.decompressobj()
    try:
        unpacked = len(inflater.decompress(data, pixels + 1))
    except zlib.error as exc:
        raise _damaged(path, f"{name} is not a compressed patch ({exc})") from None
    if unpacked != pixels or not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        raise _damaged(path, f"{name} does not hold exactly its rectangle's {pixels:,} values")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a project can hold")


def _typed(value: object, kinds: type | tuple[type, ...], what: str) -> Any:
    """``value`` when it is of ``kinds`` (a bool is not a number here), else ValueError naming ``what``."""
    if value is None:
        raise ValueError(f"{what} is missing")
    if isinstance(value, bool) and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ValueError(f"{what} must not be true or false")
    if not isinstance(value, kinds):
        raise ValueError(f"{what} has the wrong type ({type(value).__name__})")
    return value


def _text(value: object, what: str, longest: int) -> str:
    text = _typed(value, str, what)
    if len(text) > longest or "\0" in text:
        raise ValueError(f"{what} is not a plausible text ({len(text)} characters)")
    return str(text)


def _digest(value: object, what: str) -> str:
    text = _typed(value, str, what)
    if not re.fullmatch(r"[0-9a-f]{64}", text):
        raise ValueError(f"{what} is not a SHA-256")
    return str(text)


def _size(photo: dict) -> tuple[int, int]:
    width, height = (_typed(photo.get(key), int, f"the photo's {key}") for key in ("width", "height"))
    if width < 1 or height < 1 or width * height > DEFAULT_MAX_PIXELS:
        raise ValueError(f"the photo's size {width}×{height} is not one ClearBG opens")
    return int(width), int(height)


def _edit(entry: object, number: int, size: tuple[int, int]) -> tuple[tuple[int, int, int, int], str]:
    """One history entry's rectangle (inside the photo) and label."""
    fields: dict = _typed(entry, dict, f"edit {number}")
    label = _text(fields.get("label"), f"edit {number}'s label", MAX_LABEL_CHARS)
    box = _typed(fields.get("box"), list, f"edit {number}'s rectangle")
    if len(box) != 4:
        raise ValueError(f"edit {number}'s rectangle does not have four sides")
    left, top, right, bottom = (int(_typed(v, int, f"edit {number}'s rectangle")) for v in box)
    if not (0 <= left < right <= size[0] and 0 <= top < bottom <= size[1]):
        raise ValueError(f"edit {number} lies outside the photo")
    return (left, top, right, bottom), label


def _description(archive: zipfile.ZipFile, path: Path) -> dict:
    """project.json, parsed within bounds: its size, its depth, no NaN or Infinity."""
    data = _member(archive, "project.json", path, MAX_JSON_BYTES)
    try:
        description = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise _damaged(path, "project.json is nested too deeply") from None
    except ValueError as exc:  # also JSONDecodeError, UnicodeDecodeError and the constants refused above
        raise _damaged(path, f"project.json is not valid JSON ({exc})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ProjectError(f"{path.name}: not a ClearBG project (project.json is something else)")
    version = description.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _damaged(path, f"its format version {version!r:.20} is not a version number")
    if version > FORMAT_VERSION:
        saved_by = description.get("saved_by")
        raise ProjectError(f"{path.name}: saved by a newer ClearBG "
                           f"({saved_by[:60] if isinstance(saved_by, str) else '?'}, format {version!r:.20}); this "
                           f"version reads format {FORMAT_VERSION}: please update")
    return description


def _read(archive: zipfile.ZipFile, path: Path, file_size: int) -> Project:
    members = archive.infolist()
    if len(members) > 2 * MAX_EDITS + 8:
        raise _damaged(path, f"it has {len(members):,} members")
    declared = sum(info.file_size for info in members if info.filename != "project.json")
    if declared > MAX_INFLATION * file_size + INFLATION_SLACK:
        raise _damaged(path, f"its members declare {declared:,} bytes in a file of {file_size:,} "
                             "(a zip bomb?)")
    description = _description(archive, path)
    try:
        photo = _typed(description.get("photo"), dict, "the photo")
        size = _size(photo)
        photo_path = _text(photo.get("path"), "the photo's path", MAX_PATH_CHARS)
        photo_sha256 = _digest(photo.get("sha256"), "the photo's SHA-256")
        has_predicted = _typed(description.get("has_predicted", False), bool, "has_predicted")
        history_entry = _typed(description.get("history"), dict, "the history")
        edits = _typed(history_entry.get("edits"), list, "the history's edits")
        if len(edits) > MAX_EDITS:
            raise ValueError(f"its history has {len(edits):,} edits, more than {MAX_EDITS:,}")
        entries = [_edit(entry, number, size) for number, entry in enumerate(edits)]
        position = _typed(history_entry.get("position"), int, "the history's position")
        if not 0 <= position <= len(edits):
            raise ValueError(f"history position {position} outside 0..{len(edits)}")
        model = _typed(description.get("model") or {}, dict, "the model")
        model_name = _text(model.get("name") or "small", "the model's name", MAX_LABEL_CHARS)
        weights = model.get("weights_sha256")
        weights_sha256 = None if weights is None else _digest(weights, "the model's SHA-256")
        export = description.get("export")
        try:
            export_options = ExportOptions() if export is None else ExportOptions.from_dict(export)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"its export settings are not valid: {exc}") from None
        saved_at = description.get("saved_at", "")
        saved_at = saved_at[:MAX_LABEL_CHARS] if isinstance(saved_at, str) else ""
        origin = description.get("origin")
        origin_path = None if origin is None else Path(_text(origin, "the project's origin", MAX_PATH_CHARS))
        flag = check_flag(description.get("flag"))
    except ValueError as exc:
        raise _damaged(path, str(exc)) from None
    mask_limit = _png_bound(*size)
    alpha = _mask(_member(archive, "mask.png", path, mask_limit), "mask.png", size, path)
    predicted = (_mask(_member(archive, "predicted.png", path, mask_limit), "predicted.png", size, path)
                 if has_predicted else None)
    history = []
    for number, ((left, top, right, bottom), label) in enumerate(entries):
        pixels = (right - left) * (bottom - top)
        patches = []
        for side in ("before", "after"):
            name = f"history/{number:04d}.{side}"
            patch = _member(archive, name, path, _patch_bound(pixels))
            _patch(patch, pixels, name, path)
            patches.append(patch)
        history.append(MaskEdit.from_packed((left, top, right, bottom), (bottom - top, right - left), label,
                                            *patches))
    return Project(photo_path=Path(photo_path), photo_sha256=photo_sha256, alpha=alpha, predicted=predicted,
                   model=model_name, weights_sha256=weights_sha256, export_options=export_options,
                   history=history, position=position, saved_at=saved_at, origin=origin_path, flag=flag)


def read_project(path: Path) -> Project:
    """Read and check a ``.clearbg`` file (the photo is not opened here: see :func:`open_photo`).

    Raises only ``ProjectError``, with one line for the user, whatever the file holds.
    """
    try:
        handle = open_regular_file(path)
    except FileNotFoundError:
        raise ProjectError(f"{path.name}: file not found") from None
    except OSError as exc:
        raise ProjectError(f"{path.name}: cannot be opened ({exc.strerror or exc})") from None
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
            size = os.fstat(handle.fileno()).st_size
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise ProjectError(f"{path.name}: not a ClearBG project (not a zip file, or truncated: {exc})") from None
        with archive:
            return _read_checked(archive, path, size)


def read_project_bytes(data: bytes, name: Path) -> Project:
    """A project held inside another file (each photo of a session file), with the same checks; ``name`` is
    what a message calls it."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ProjectError(f"{name.name}: not a ClearBG project (not a zip file, or truncated: {exc})") from None
    with archive:
        return _read_checked(archive, name, len(data))


def _read_checked(archive: zipfile.ZipFile, path: Path, size: int) -> Project:
    if "project.json" not in archive.namelist():
        raise ProjectError(f"{path.name}: not a ClearBG project (a zip file without project.json)")
    try:
        return _read(archive, path, size)
    except ProjectError:
        raise
    except MemoryError:
        raise ProjectError(f"{path.name}: not enough memory to open the project") from None
    except Exception as exc:  # noqa: BLE001 - hostile input: one line for the user, never a traceback
        raise _damaged(path, str(exc) or type(exc).__name__) from None


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


def background_beside(options: ExportOptions, project_path: Path) -> ExportOptions:
    """The options with an image background taken from beside the project, for exports nobody confirms (CLI).

    A project names its background image by path, and a project can come from anyone: used as written, it
    could put any picture readable on this disk into the output. So without a person to ask, the image is
    looked for by name in the project's own folder only; ``ProjectError`` when it is not there.
    """
    background = options.background
    if background.kind != "image" or background.image_path is None:
        return options
    folder = project_path.resolve().parent
    name = Path(background.image_path).name
    candidate = folder / name
    try:
        beside = bool(name) and candidate.is_file() and candidate.resolve().parent == folder
    except (OSError, ValueError, RuntimeError):
        beside = False
    if not beside:
        raise ProjectError(f"{project_path.name}: its background image {name or background.image_path!r} is not "
                           f"beside the project; copy it into {folder} to use it, or open the project in ClearBG")
    try:
        checked = Background.parse(str(candidate))
    except ValueError as exc:
        raise ProjectError(f"{project_path.name}: {exc}") from None
    return options.with_changes(background=replace(background, image_path=checked.image_path))


def export_from_project(project_path: Path, target: Path, options: ExportOptions | None = None,
                        overwrite: bool = False) -> Path:
    """What ``clearbg-cli project.clearbg -o out/`` does: the saved mask and settings, written to ``target``.

    The project's own settings use an image background only from beside the project (:func:`background_beside`).
    """
    from clearbg_desktop.core.imaging.output_file import export_photo

    project = read_project(project_path)
    chosen = options or background_beside(project.export_options, project_path)
    loaded = open_photo(project, project_path)
    return export_photo(loaded, Image.fromarray(project.alpha, "L"), target, chosen, overwrite=overwrite)
