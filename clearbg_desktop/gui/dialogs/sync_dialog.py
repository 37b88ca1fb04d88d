"""Sync settings: which parts of one photo's settings go onto the photos selected in the grid (Lightroom's Sync…)."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from clearbg_desktop.core.editing.shoot import SYNC_PARTS
from clearbg_desktop.gui.dialogs.dialog_parts import accept_buttons

PART_LABELS = {
    "refine": "&Refinement on export (feather, grow/shrink, decontaminate colours)",
    "background": "&Background (transparent, colour or image)",
    "export": "&Export options (format, size, crop, square frame, names, shadow)",
}


class SyncDialog(QDialog):
    """Ticks for each part of :data:`SYNC_PARTS`; OK syncs them (one undo step on each photo)."""

    def __init__(self, source: str, count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SyncDialog")
        self.setWindowTitle("Sync settings")
        column = QVBoxLayout(self)
        column.addWidget(QLabel(f"Copy these settings of {source} onto the {count} selected photo(s):", self))
        self.boxes: dict[str, QCheckBox] = {}
        for part in SYNC_PARTS:
            box = QCheckBox(PART_LABELS[part], self)
            box.setChecked(True)
            box.toggled.connect(self._update)
            column.addWidget(box)
            self.boxes[part] = box
        column.addWidget(QLabel("Each photo's masks are not changed; Undo takes a photo's settings back.", self))
        self.buttons = accept_buttons(self, "&Sync", self.accept)
        column.addWidget(self.buttons)
        self._update()

    def parts(self) -> set[str]:
        return {part for part, box in self.boxes.items() if box.isChecked()}

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.parts()))
