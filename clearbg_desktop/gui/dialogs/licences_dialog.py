"""Help ▸ About ▸ Licences: the bundle's THIRD_PARTY_NOTICES.txt (every library and model it carries, their
licences and texts, and what Qt's LGPLv3 lets you do), readable in the app because a frozen app's folder is not
where users look."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from clearbg_desktop.core.build_info import notices_text

FROM_SOURCE = ("This ClearBG runs from source, so there is no bundle and no notices file: the licence of each\n"
               "package is in its own metadata (pip show -v NAME). `python installer/notices.py OUT.txt` writes the\n"
               "notices a bundle built from this environment would carry.\n\n"
               "ClearBG itself is Apache-2.0; the U²-Net weights are Apache-2.0 (Qin et al. 2020); Qt and PySide6\n"
               "are LGPLv3.\n")


class LicencesDialog(QDialog):
    """The notices, read-only, in a fixed-width font (they hold tables and licence texts laid out for one)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("LicencesDialog")
        self.setWindowTitle("ClearBG: licences")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        text = notices_text()
        self.from_bundle = text is not None
        layout = QVBoxLayout(self)
        intro = QLabel("ClearBG is Apache-2.0. It carries the software and models below, each under its own licence."
                       if self.from_bundle else "Licences")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.view = QPlainTextEdit(text if text is not None else FROM_SOURCE)
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setMinimumSize(760, 480)
        layout.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def show_licences(parent: QWidget | None) -> LicencesDialog:
    dialog = LicencesDialog(parent)
    dialog.open()
    return dialog
