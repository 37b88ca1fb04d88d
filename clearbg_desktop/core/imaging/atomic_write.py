"""Saving without ever losing a file: a temporary file in the target folder, then a rename, so a crash or a cancel
never leaves a half-written output, and an existing file is never replaced unless the caller asks. Also the
errors an output can meet (exists, disk full) and the clean-up of part files a killed run left behind.

Used for every file the app writes: outputs, projects, settings, presets, weights.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


class OutputError(Exception):
    """An output could not be written; the message is written for the user."""


class OutputExistsError(OutputError):
    """The output file exists and overwriting was not requested."""


class OutputSpaceError(OutputError):
    """The disk (or the user's quota) is full: the next output will not fit either, so a batch stops here."""


FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _full_disk(exc: OSError, folder: Path) -> OutputSpaceError | None:
    if exc.errno not in FULL_DISK_ERRNOS:
        return None
    return OutputSpaceError(f"no space left on the disk of {folder} ({exc.strerror})")


PART_PREFIX = ".clearbg."  # temporary files are ``.clearbg.<pid>-<random>.part``, short whatever the target
PART_SUFFIX = ".part"
STALE_PART_SECONDS = 600  # a part file of the old name pattern (no pid) older than this is abandoned


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary files of our own pattern that a killed run left in ``folder``.

    Ours are ``.clearbg.<pid>-<random>.part`` (before: ``.<stem>.<pid>-<random>.part``): one whose writer
    process is gone is abandoned. The oldest pattern (``.<stem>.<random>.part``, no pid) counts as abandoned
    after ten minutes.
    """
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    pattern = re.compile(r"^\..+\.(?:(\d+)-)?[a-z0-9_]{8}\.part$")
    for path in folder.glob(".*.part"):
        match = pattern.match(path.name)
        if not match or not path.is_file():
            continue
        pid = match.group(1)
        try:
            stale = (not pid_alive(int(pid))) if pid else time.time() - path.stat().st_mtime > STALE_PART_SECONDS
            if stale:
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def _part_file(folder: Path) -> tempfile._TemporaryFileWrapper[bytes]:
    """A new part file in ``folder`` (``.clearbg.<pid>-<random>.part``, cleaned by remove_stale_parts if left)."""
    try:
        return tempfile.NamedTemporaryFile(dir=folder, prefix=f"{PART_PREFIX}{os.getpid()}-", suffix=PART_SUFFIX,
                                           delete=False)
    except OSError as exc:
        raise _full_disk(exc, folder) or OutputError(f"cannot write to the folder {folder}: {exc.strerror}") from None


def write_atomic(data: bytes, target: str | os.PathLike[str], overwrite: bool = False,
                 mode: int | None = None) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder, then rename.

    Without ``overwrite`` an existing target is never replaced, even if it appears between the
    check and the rename (a hard link is created atomically and fails if the name is taken). The
    temporary name is short whatever the target's (a 251-byte name is legal, its ``.NAME.….part`` would
    not be). ``mode``: the file's permissions whatever the umask (0o600 for private files); by default new
    files follow the umask and a replaced file keeps its mode.
    """
    target = Path(target)
    folder = target.parent
    if not folder.is_dir():
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from None
    try:
        exists = target.exists()
    except OSError as exc:  # a name too long for the file system, for one
        raise OutputError(f"cannot write {target.name}: {exc.strerror or exc}") from None
    if not overwrite and exists:
        raise OutputExistsError(f"{target.name} already exists in {folder}; not overwriting it")
    handle = _part_file(folder)
    temp = Path(handle.name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            if mode is not None:
                os.chmod(temp, mode)
            else:
                os.chmod(temp, stat.S_IMODE(target.stat().st_mode) if overwrite and target.exists()
                         else 0o666 & ~current_umask())
        except OSError:
            pass  # file systems without modes (some network shares) keep their own
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise OutputExistsError(
                    f"{target.name} already exists in {folder}; not overwriting it"
                ) from None
            except OSError as exc:
                if exc.errno == errno.ENAMETOOLONG:
                    raise
                # File systems without hard links: the exists() check above is the guard.
                os.replace(temp, target)
    except OSError as exc:
        raise _full_disk(exc, folder) or OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return target


@contextmanager
def atomic_stream(target: str | os.PathLike[str], mode: int | None = None) -> Iterator[BinaryIO]:
    """A file to write ``target`` into piece by piece (a session of 300 photos is too large to hold in memory),
    replacing it only when the ``with`` block ends without an exception: a crash, a cancel (raise out of the
    block) or a full disk leaves the previous file as it was and no part file behind."""
    target = Path(target)
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {exc.strerror}") from None
    handle = _part_file(folder)
    temp = Path(handle.name)
    try:
        with handle:
            yield handle  # type: ignore[misc]  # a binary file, as BinaryIO says
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.chmod(temp, mode if mode is not None else stat.S_IMODE(target.stat().st_mode) if target.exists()
                     else 0o666 & ~current_umask())
        except OSError:
            pass  # file systems without modes (some network shares) keep their own
        os.replace(temp, target)
    except OSError as exc:
        raise _full_disk(exc, folder) or OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        temp.unlink(missing_ok=True)
