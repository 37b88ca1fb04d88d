"""Where ClearBG finds its bundled resources and keeps user files (platformdirs)."""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

import platformdirs

APP_NAME = "ClearBG"
APP_AUTHOR = "ClearBG"


def resources_dir() -> Path:
    """The ``resources/`` folder: frozen bundle, source checkout, or installed package data.

    ``CLEARBG_RESOURCES`` overrides it (tests, unusual installs).
    """
    override = os.environ.get("CLEARBG_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "resources"  # wheel: package data


def bundled_weights_dir() -> Path:
    return resources_dir() / "weights"


def user_models_dir() -> Path:
    """Extra or newer weights a user installs; same manifest format as the bundled folder."""
    override = os.environ.get("CLEARBG_USER_MODELS")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)) / "models"


def config_dir() -> Path:
    override = os.environ.get("CLEARBG_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    override = os.environ.get("CLEARBG_LOG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    """User data that is neither settings nor logs: autosaved projects (``CLEARBG_DATA_DIR`` overrides)."""
    override = os.environ.get("CLEARBG_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def autosave_dir() -> Path:
    return data_dir() / "autosave"


def open_regular_file(path: Path) -> BinaryIO:
    """``path`` opened for reading, if it is a regular file (a symlink to one is followed); OSError otherwise.

    Why: a plain ``open`` of a FIFO blocks until something writes to it — forever, for a project, a session or a
    settings file someone replaced by one. Opened without blocking, the kind is checked on the open file itself.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "it is not a regular file (a pipe or a device)", str(path))
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_user_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a small file ClearBG keeps (settings, caches); OSError when it cannot be one.

    Why: anything can stand where such a file should be (a folder, a FIFO that would block a plain ``open``
    forever, a device, 300 MB of junk). The file is opened without blocking, must be a regular file (a symlink to
    one is read; writers replace the link), and is read only up to ``max_bytes``.
    """
    with open_regular_file(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"larger than {max_bytes // 1024} KB, far larger than it should be", str(path))
    return data


def path_kind(path: Path) -> str:
    """"dir", "file", "other" (a FIFO, a device, a socket) or "missing"; else why the path cannot even be looked
    at ("cannot be read: File name too long", "… Permission denied") — never an exception, so a batch or the CLI
    names one bad path instead of stopping."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return "missing"
    except (OSError, ValueError) as exc:
        return f"cannot be read: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(status.st_mode):
        return "dir"
    return "file" if stat.S_ISREG(status.st_mode) else "other"


def real_path(path: Path) -> Path:
    """``path`` with links and ``..`` resolved, as far as the system can tell; the absolute path where it cannot
    (a name too long, a loop): photos and outputs are compared by it, never an exception."""
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return Path(os.path.abspath(path))
