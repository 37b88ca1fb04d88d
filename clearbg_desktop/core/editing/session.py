"""A shoot saved as one file (``.clearbg-session``): every open photo with its mask, undo history, flag and export
settings, their order, the photo on screen and how the grid showed them.

Why one file: a shoot of 300 photos would otherwise take 300 save dialogs to keep. It is not a second format:
a session is a zip whose members ``photos/NNNN.clearbg`` are the exact bytes of each photo's ``.clearbg``
project, read back with the project's own checks and limits (``core.editing.project``), beside a small
``session.json``. Members are stored, not deflated (projects are compressed already), so no member can declare
more than the file holds. A photo still waiting for its mask is kept by its path only, and cut out again when
the session is reopened; a crash autosave uses that for photos whose mask is still exactly the model's.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard

from clearbg_desktop import __version__
from clearbg_desktop.core.editing.flags import FLAG_FILTERS, check_flag
from clearbg_desktop.core.editing.project import (
    MAX_PATH_CHARS,
    Project,
    ProjectError,
    project_bytes,
    read_project_bytes,
)
from clearbg_desktop.core.editing.shoot import SORT_ORDERS
from clearbg_desktop.core.imaging.atomic_write import atomic_stream
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.paths import open_regular_file

SESSION_SUFFIX = ".clearbg-session"
FORMAT = "clearbg-session"
FORMAT_VERSION = 1
MAX_PHOTOS = 5_000  # a shoot; more is not a session someone made by hand
MAX_JSON_BYTES = 4 * 2**20  # 5,000 photos with 4,096-character paths stay well under this
GRID_SIZE_RANGE = (64, 512)  # px, the grid slider's ends


class SessionError(Exception):
    """A session file could not be read or written; the message is written for the user."""


@dataclass(frozen=True)
class GridView:
    """How the grid showed the shoot."""

    shown: bool = False
    sort: str = "name"
    filter: str = "all"
    size: int = 160

    @classmethod
    def from_dict(cls, data: object) -> GridView:
        if not isinstance(data, dict):
            raise ValueError("its grid settings are not a table")
        shown, sort, wanted, size = (data.get("shown", False), data.get("sort", "name"), data.get("filter", "all"),
                                     data.get("size", 160))
        if not isinstance(shown, bool):
            raise ValueError("the grid's 'shown' is not true or false")
        if sort not in SORT_ORDERS:
            raise ValueError(f"the grid's order {sort!r:.40} is not one of {', '.join(SORT_ORDERS)}")
        if wanted not in FLAG_FILTERS:
            raise ValueError(f"the grid's filter {wanted!r:.40} is not one of {', '.join(FLAG_FILTERS)}")
        if isinstance(size, bool) or not isinstance(size, int) or not GRID_SIZE_RANGE[0] <= size <= GRID_SIZE_RANGE[1]:
            raise ValueError(f"the grid's thumbnail size {size!r:.20} is not {GRID_SIZE_RANGE[0]}-{GRID_SIZE_RANGE[1]}")
        return cls(shown, sort, wanted, size)


@dataclass
class SessionPhoto:
    """One photo of a session. Written: ``project`` (its mask and history), ``reuse`` (the member's bytes,
    unchanged since a session file was written or read) or neither (kept by path: cut out again on reopening).
    Read: ``member`` names its project in the file (None: by path only)."""

    photo_path: Path
    flag: str | None = None
    project: Project | None = field(default=None, repr=False)
    reuse: bytes | None = field(default=None, repr=False)
    member: str | None = None
    export_options: ExportOptions | None = None  # a photo kept by path: its own settings (synced, pasted…)


@dataclass
class Session:
    """What ``session.json`` says: the photos in their order, the one on screen, the grid."""

    photos: list[SessionPhoto]
    current: int | None = None
    grid: GridView = field(default_factory=GridView)
    saved_at: str = ""
    origin: Path | None = None  # a crash autosave's: the session file the shoot came from, so recovery saves there


def is_session_file(path: Path) -> bool:
    return path.name.lower().endswith(SESSION_SUFFIX)


def _member_name(number: int) -> str:
    return f"photos/{number:04d}.clearbg"


def write_session(target: Path, photos: Iterable[SessionPhoto], current: int | None = None,
                  grid: GridView | None = None, private: bool = False, origin: Path | None = None) -> Iterator[int]:
    """Write the session, one photo at a time (yields how many are written, so a caller shows progress and can
    cancel by closing the generator: the previous file then stays as it was, and no part file is left).

    ``photos`` may make each ``project`` lazily (a generator over the open photos), so that a shoot of 300 photos
    never holds more than one photo's masks for writing. ``private``: readable by this user only (autosaves).
    """
    entries: list[dict[str, Any]] = []
    written = 0
    with atomic_stream(target, mode=0o600 if private else None) as handle, \
            zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for number, photo in enumerate(photos):
            if number >= MAX_PHOTOS:
                raise SessionError(f"a session holds at most {MAX_PHOTOS:,} photos")
            entry: dict[str, Any] = {"photo": str(photo.photo_path), "flag": check_flag(photo.flag), "project": None}
            data = photo.reuse
            if data is None and photo.project is not None:
                photo.project.flag = photo.flag
                data = project_bytes(photo.project)
            if data is not None:
                entry["project"] = _member_name(number)
                archive.writestr(entry["project"], data)
            elif photo.export_options is not None:
                entry["export"] = photo.export_options.to_dict()
            entries.append(entry)
            written += 1
            yield written
        description = {"format": FORMAT, "format_version": FORMAT_VERSION, "saved_by": f"ClearBG {__version__}",
                       "saved_at": datetime.now(UTC).isoformat(timespec="seconds"), "photos": entries,
                       "current": current, "grid": asdict(grid or GridView()),
                       "origin": None if origin is None else str(origin)}
        archive.writestr("session.json", json.dumps(description, indent=1), zipfile.ZIP_DEFLATED)


# ----- reading: a session file is hostile input like any project ---------------------------------------------

def _damaged(path: Path, reason: str) -> SessionError:
    line = " ".join(reason.split())
    return SessionError(f"{path.name}: damaged session, {line[:240]}")


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _description(archive: zipfile.ZipFile, path: Path) -> dict:
    try:
        info = archive.getinfo("session.json")
    except KeyError:
        raise SessionError(f"{path.name}: not a ClearBG session (a zip file without session.json)") from None
    if info.file_size > MAX_JSON_BYTES:
        raise _damaged(path, f"session.json declares {info.file_size:,} bytes (at most {MAX_JSON_BYTES:,})")
    try:
        description = json.loads(archive.read(info), parse_constant=_reject_constant)
    except RecursionError:
        raise _damaged(path, "session.json is nested too deeply") from None
    except (ValueError, zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise _damaged(path, f"session.json cannot be read ({exc})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise SessionError(f"{path.name}: not a ClearBG session (session.json is something else)")
    version = description.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _damaged(path, f"its format version {version!r:.20} is not a version number")
    if version > FORMAT_VERSION:
        raise SessionError(f"{path.name}: saved by a newer ClearBG (format {version!r:.20}); this version reads format "
                           f"{FORMAT_VERSION}: please update")
    return description


def _usable_path(value: object) -> TypeGuard[str]:
    """A path as session.json may name one: text, not empty, within the project's bound, no NUL."""
    return isinstance(value, str) and bool(value) and len(value) <= MAX_PATH_CHARS and "\0" not in value


def _photo(entry: object, number: int, members: dict[str, zipfile.ZipInfo], file_size: int) -> SessionPhoto:
    if not isinstance(entry, dict):
        raise ValueError(f"photo {number + 1} is not a table")
    text = entry.get("photo")
    if not _usable_path(text):
        raise ValueError(f"photo {number + 1} has no usable path")
    member = entry.get("project")
    if member is not None:
        if member != _member_name(number):
            raise ValueError(f"photo {number + 1} names the member {member!r:.60}, not {_member_name(number)}")
        info = members.get(member)
        if info is None:
            raise ValueError(f"{member} is missing")
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1 or info.file_size > file_size:
            raise ValueError(f"{member} is not stored as ClearBG writes it")
    export = entry.get("export")
    try:
        options = None if export is None or member is not None else ExportOptions.from_dict(export)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"photo {number + 1}'s export settings are not valid: {exc}") from None
    return SessionPhoto(Path(text), flag=check_flag(entry.get("flag")), member=member, export_options=options)


def read_session(path: Path) -> Session:
    """Read and check ``session.json`` and the shape of the file; each photo's project is read on its own
    (``read_session_photo``), so a damaged photo costs that photo, not the session. Raises only SessionError."""
    try:
        handle = open_regular_file(path)
    except FileNotFoundError:
        raise SessionError(f"{path.name}: file not found") from None
    except OSError as exc:
        raise SessionError(f"{path.name}: cannot be opened ({exc.strerror or exc})") from None
    try:
        archive = zipfile.ZipFile(handle)
        file_size = os.fstat(handle.fileno()).st_size
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        handle.close()
        raise SessionError(f"{path.name}: not a ClearBG session (not a zip file, or truncated: {exc})") from None
    with handle, archive:
        try:
            infos = archive.infolist()
            if len(infos) > MAX_PHOTOS + 1:
                raise ValueError(f"it has {len(infos):,} members")
            description = _description(archive, path)
            photos = description.get("photos")
            if not isinstance(photos, list) or len(photos) > MAX_PHOTOS:
                raise ValueError(f"its photo list is not a list of at most {MAX_PHOTOS:,}")
            members = {info.filename: info for info in infos}
            entries = [_photo(entry, number, members, file_size) for number, entry in enumerate(photos)]
            current = description.get("current")
            if current is not None and (isinstance(current, bool) or not isinstance(current, int)
                                        or not 0 <= current < len(entries)):
                raise ValueError(f"the photo on screen {current!r:.20} is not one of its photos")
            grid = GridView.from_dict(description.get("grid", {}))
            saved_at = description.get("saved_at", "")
            origin = description.get("origin")
            if origin is not None and not _usable_path(origin):
                raise ValueError("its origin is not a usable path")
        except SessionError:
            raise
        except MemoryError:
            raise SessionError(f"{path.name}: not enough memory to open the session") from None
        except Exception as exc:  # noqa: BLE001 - hostile input: one line for the user, never a traceback
            raise _damaged(path, str(exc) or type(exc).__name__) from None
    return Session(entries, current, grid, saved_at[:200] if isinstance(saved_at, str) else "",
                   None if origin is None else Path(origin))


def read_member(path: Path, member: str) -> bytes:
    """A photo's project bytes as stored (for reuse when the session is written again unchanged)."""
    try:
        with open_regular_file(path) as handle, zipfile.ZipFile(handle) as archive:
            info = archive.getinfo(member)
            if info.file_size > os.fstat(handle.fileno()).st_size:
                raise ValueError(f"{member} declares more than the file holds")
            return archive.read(info)
    except (KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise SessionError(f"{path.name}: {member} cannot be read ({exc})") from None


def read_session_photo(path: Path, photo: SessionPhoto) -> tuple[Project, bytes]:
    """The photo's project, checked as any ``.clearbg`` is, and its bytes. Raises ProjectError or SessionError."""
    assert photo.member is not None
    data = read_member(path, photo.member)
    project = read_project_bytes(data, Path(f"{path.name} ({photo.photo_path.name})"))
    if project.photo_path.name != photo.photo_path.name:
        raise ProjectError(f"{path.name}: {photo.member} is the project of {project.photo_path.name}, not of "
                           f"{photo.photo_path.name}")
    project.flag = photo.flag
    return project, data

