"""Icons from ``resources/`` (frozen bundle, checkout or installed package alike)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from clearbg_desktop.core.paths import resources_dir


def app_icon() -> QIcon:
    icon = QIcon()
    path = resources_dir() / "icons" / "clearbg.png"
    if path.exists():
        icon.addFile(str(path))
    return icon
