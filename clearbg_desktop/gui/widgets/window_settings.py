"""The QSettings file (geometry, window state, recent files), opened so that Qt never writes through a symlink.

Why: Qt saves that file through a link (its QSaveFile follows it), so a ``ClearBG.conf`` linked to another file
would have that file replaced by window geometry and photo paths. The JSON files ClearBG writes replace a link
instead (``write_atomic``); this does the same for Qt's file before Qt writes it: the link becomes a regular file
holding what it pointed to, the file it pointed to is left as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings

from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
from clearbg_desktop.core.paths import read_user_file

MAX_QSETTINGS_BYTES = 1024 * 1024  # geometry, dock layout and ten recent paths take a few KB


def window_qsettings() -> QSettings:
    """A ``QSettings()`` whose file is not a symlink (any link there is replaced first)."""
    qsettings = QSettings()
    path = Path(qsettings.fileName())
    if path.is_symlink():
        try:
            kept = read_user_file(path, MAX_QSETTINGS_BYTES)
        except OSError:
            kept = b""  # a link to nothing, a folder or a device: the window starts at its default size
        try:
            write_atomic(kept, path, overwrite=True, mode=0o600)
        except OutputError as exc:
            logging.getLogger("clearbg").warning("could not replace the symlink %s (%s)", path, exc)
        qsettings = QSettings()  # reads the regular file now in the link's place
    return qsettings
