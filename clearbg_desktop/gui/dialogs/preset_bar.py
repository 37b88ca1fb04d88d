"""The preset row above the export options: choose a preset, save the options as one, share or import a file.

Signals:
    chosen(object): the ExportOptions of the preset the user picked (the form shows them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QMessageBox, QPushButton, QWidget

from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.presets import (
    ExportPreset,
    PresetError,
    all_presets,
    check_name,
    presets_json,
    read_presets,
)
from clearbg_desktop.core.settings import AppSettings


class PresetBar(QWidget):
    chosen = Signal(object)

    def __init__(self, settings: AppSettings, current: Callable[[], ExportOptions],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self._current = current
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.box = QComboBox(self)
        self.box.setObjectName("PresetChoice")
        self.save_button = QPushButton("Save as preset…", self)
        self.import_button = QPushButton("Import…", self)
        self.share_button = QPushButton("Share…", self)
        self.share_button.setToolTip("Write your presets to a small JSON file to share with a team")
        row.addWidget(self.box, 1)
        for button in (self.save_button, self.import_button, self.share_button):
            row.addWidget(button)
        self.refresh()
        self.box.activated.connect(self._on_activated)
        self.save_button.clicked.connect(lambda: self.save_current())
        self.import_button.clicked.connect(lambda: self.import_file())
        self.share_button.clicked.connect(lambda: self.share_file())

    def presets(self) -> list[ExportPreset]:
        return all_presets(self._settings.export_presets)

    def refresh(self, select: str | None = None) -> None:
        self.box.clear()
        self.box.addItem("Choose a preset…", None)
        for preset in self.presets():
            self.box.addItem(preset.name if preset.built_in else f"{preset.name} (yours)", preset.name)
        self.box.setCurrentIndex(max(0, self.box.findData(select)))
        self.share_button.setEnabled(bool(self._settings.export_presets))

    def choose(self, name: str) -> None:
        """Pick a preset by name, as a click would."""
        self.box.setCurrentIndex(self.box.findData(name))
        self._on_activated(self.box.currentIndex())

    def save_current(self, name: str | None = None) -> bool:
        """The form's options as a preset of the user's, saved with the settings."""
        try:
            options = self._current()
        except ValueError as exc:
            self._warn(str(exc))
            return False
        if name is None:
            name, ok = QInputDialog.getText(self, "Save as preset", "Preset name:")
            if not ok:
                return False
        try:
            name = check_name(name)
        except PresetError as exc:
            self._warn(str(exc))
            return False
        self._settings.export_presets[name] = options.to_dict()
        self._saved()
        self.refresh(select=name)
        return True

    def import_file(self, path: Path | None = None) -> int:
        """A shared presets file's presets added to the user's (same names replaced); how many."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Import presets", "", "ClearBG presets (*.json)")
            if not chosen:
                return 0
            path = Path(chosen)
        try:
            presets, skipped = read_presets(path)  # each preset checked like the CLI's, its background image too
        except PresetError as exc:
            self._warn(str(exc))
            return 0
        for preset in presets:
            self._settings.export_presets[preset.name] = preset.options.to_dict()
        self.refresh(select=presets[0].name)
        if skipped:
            self._warn(f"{len(presets)} preset(s) imported; {len(skipped)} left out:\n" + "\n".join(skipped[:10]))
        self._saved()
        return len(presets)

    def share_file(self, path: Path | None = None) -> Path | None:
        """The user's presets as a small JSON file."""
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Share presets", "clearbg-presets.json",
                                                    "ClearBG presets (*.json)")
            if not chosen:
                return None
            path = Path(chosen)
        mine = [preset for preset in self.presets() if not preset.built_in]
        try:
            return write_atomic(presets_json(mine).encode(), path, overwrite=True)
        except OutputError as exc:
            self._warn(f"The presets were not shared: {exc}")
            return None

    def _on_activated(self, index: int) -> None:
        name = self.box.itemData(index)
        preset = next((p for p in self.presets() if p.name == name), None)
        if preset is not None:
            self.chosen.emit(preset.options)

    def _saved(self) -> None:
        """Save the settings; say so when they could not be (the presets stay for this session)."""
        if self._settings.save() is None:
            self._warn(f"The presets are kept until ClearBG quits, but not saved: {self._settings.not_saved}")

    def _warn(self, message: str) -> None:
        QMessageBox.warning(self, "Presets", message)
