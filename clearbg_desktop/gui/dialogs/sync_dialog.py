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
    """Ticks for each part of :data:`SYNC_PARTS` and the object box (off unless asked: it runs the model on each
    photo); OK syncs them (one undo step on each photo)."""

    def __init__(self, source: str, count: int, parent: QWidget | None = None, has_box: bool = False) -> None:
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
        self.box = QCheckBox("Its object &box: the model on the same place of each photo (a fixed framing)", self)
        self.box.setToolTip("The last box drawn with the Object tool (W) on this photo, at the same place relative to "
                            "each photo's size, in the same mode (replace, add or subtract): one undo step each")
        self.box.setEnabled(has_box)
        self.box.toggled.connect(self._update)
        column.addWidget(self.box)
        column.addWidget(QLabel("Settings do not touch the masks; Undo takes a photo's settings (or its box) back.",
                                self))
        self.buttons = accept_buttons(self, "&Sync", self.accept)
        column.addWidget(self.buttons)
        self._update()

    def parts(self) -> set[str]:
        """The settings parts ticked, and "box" for the object box."""
        ticked = {part for part, box in self.boxes.items() if box.isChecked()}
        return ticked | {"box"} if self.box.isChecked() else ticked

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.parts()))
