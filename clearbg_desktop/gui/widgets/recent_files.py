"""File ▸ Open Recent: the last photos and projects opened, kept in QSettings (not in the settings file: it is
window state, like the geometry), and the folder the Open dialog starts in."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMenu

from clearbg_desktop.gui.widgets.window_settings import window_qsettings

MAX_RECENT = 10


class RecentFiles(QObject):
    """The recent files and, once ``show_in`` gave it one, the menu that lists them.

    Signals:
        chosen(object): the user picked a recent file (its Path).
    """

    chosen = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.qsettings = window_qsettings()
        self.menu: QMenu | None = None

    def files(self) -> list[str]:
        value = self.qsettings.value("recentFiles", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(v) for v in items]

    def remember(self, path: Path) -> None:
        files = [str(path.resolve())] + [f for f in self.files() if f != str(path.resolve())]
        self.qsettings.setValue("recentFiles", files[:MAX_RECENT])
        self.rebuild_menu()

    def last_folder(self) -> str:
        files = self.files()
        return str(Path(files[0]).parent) if files else str(Path.home())

    def show_in(self, menu: QMenu) -> None:
        self.menu = menu
        self.rebuild_menu()

    def rebuild_menu(self) -> None:
        if self.menu is None:
            return
        files = self.files()
        self.menu.clear()
        names = [Path(name).name for name in files]
        for name in files:
            label = Path(name).name
            if names.count(label) > 1:  # two "101.jpg" from two shoots: say which folder
                label = f"{label} — {Path(name).parent}"
            action = self.menu.addAction(label)
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, n=name: self.chosen.emit(Path(n)))
        self.menu.setEnabled(bool(files))
