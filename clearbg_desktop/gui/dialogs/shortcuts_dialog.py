"""Help ▸ Keyboard shortcuts and Help ▸ User guide.

The shortcut list is read from the window's QActions when the dialog opens, so it never goes stale: a key
added to an action shows up here with no second list to keep in step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.paths import resources_dir

USER_GUIDE = Path("docs") / "user-guide.md"
NOT_ACTIONS = (  # keys the canvas reads itself: held or combined with the mouse, so no menu entry can show them
    ("On the photo", "Original while held", "\\"),
    ("On the photo", "Pan", "Space + drag, or the middle button"),
    ("On the photo", "Zoom", "Mouse wheel, or pinch"),
)
ShortcutRow = tuple[str, str, str]  # where it is (a menu), what it does, its keys


class ShortcutsDialog(QDialog):
    """Every key of the window, by menu, from the actions themselves."""

    def __init__(self, rows: list[ShortcutRow], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Command", "Keys"])
        self.tree.setRootIsDecorated(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        sections: dict[str, QTreeWidgetItem] = {}
        for section, command, keys in [*rows, *NOT_ACTIONS]:
            if section not in sections:
                sections[section] = QTreeWidgetItem(self.tree, [section])
                font = sections[section].font(0)
                font.setBold(True)
                sections[section].setFont(0, font)
                sections[section].setFirstColumnSpanned(True)
            QTreeWidgetItem(sections[section], [command, keys])
        self.tree.expandAll()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(460, 560)

    def rows(self) -> list[ShortcutRow]:
        """What the dialog lists, as (section, command, keys) (tests read it)."""
        listed = []
        for index in range(self.tree.topLevelItemCount()):
            section = self.tree.topLevelItem(index)
            assert section is not None
            for child in range(section.childCount()):
                item = section.child(child)
                assert item is not None
                listed.append((section.text(0), item.text(0), item.text(1)))
        return listed


def user_guide_path() -> Path | None:
    """The guide in a source checkout (``docs/`` beside ``resources/``) or bundled under ``resources/``."""
    resources = resources_dir()
    for candidate in (resources.parent / USER_GUIDE, resources / USER_GUIDE):
        if candidate.is_file():
            return candidate
    return None


def open_user_guide(parent: QWidget) -> QMessageBox | None:
    """Opens the guide in the desktop's Markdown viewer or browser; where that cannot be done, a message says where
    the guide is (returned, so the window keeps it reachable)."""
    guide = user_guide_path()
    if guide is not None and QDesktopServices.openUrl(QUrl.fromLocalFile(str(guide))):
        return None
    if guide is not None:
        text = (f"No program on this computer opens the user guide. It is a Markdown text file here:\n\n{guide}\n\n"
                "Any text editor or web browser shows it.")
    else:
        text = ("This installation does not include the user guide. It is docs/user-guide.md in ClearBG's source, "
                "beside README.md.")
    box = QMessageBox(QMessageBox.Icon.Information, "User guide", text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("UserGuideBox")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the path can be copied
    box.open()
    return box
