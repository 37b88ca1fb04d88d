"""What the export, Export all and batch dialogs build alike: the output folder with its Folder… button, the
policy for outputs already there, the red line that says what to fix, and the Export/Start + Cancel buttons."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

EXISTING_LABELS = [("Skip (resume a cancelled job)", "skip"), ("Keep both (rename)", "rename"),
                   ("Overwrite", "overwrite")]


def output_folder_row(parent: QWidget, folder: str) -> tuple[QHBoxLayout, QLineEdit]:
    """A folder field and its Folder… button (which opens at the folder typed)."""
    edit = QLineEdit(folder, parent)
    browse = QPushButton("Folder…", parent)

    def choose() -> None:
        chosen = QFileDialog.getExistingDirectory(parent, "Output folder", edit.text())
        if chosen:
            edit.setText(chosen)

    browse.clicked.connect(choose)
    row = QHBoxLayout()
    row.addWidget(edit)
    row.addWidget(browse)
    return row, edit


def existing_outputs_box(parent: QWidget, policy: str) -> QComboBox:
    """Skip, keep both or overwrite, starting at ``policy``."""
    box = QComboBox(parent)
    for label, value in EXISTING_LABELS:
        box.addItem(label, value)
    box.setCurrentIndex(max(0, box.findData(policy)))
    return box


def error_label(parent: QWidget) -> QLabel:
    """Where a dialog says, in red, why it cannot go on yet."""
    label = QLabel(parent)
    label.setStyleSheet("color: #c0392b")
    return label


def accept_buttons(dialog: QDialog, text: str, on_accept: Callable[[], None],
                   accept: QDialogButtonBox.StandardButton = QDialogButtonBox.StandardButton.Ok) -> QDialogButtonBox:
    """``accept`` (renamed ``text``; it runs ``on_accept``, which checks before accepting) and Cancel."""
    buttons = QDialogButtonBox(accept | QDialogButtonBox.StandardButton.Cancel, dialog)
    buttons.button(accept).setText(text)
    buttons.accepted.connect(on_accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
