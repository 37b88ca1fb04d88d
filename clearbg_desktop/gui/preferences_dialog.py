"""Preferences: which model and which device the worker uses."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QWidget

from clearbg_desktop.core.segmenter import DEVICE_CHOICES, choose_device
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.core.weights import WeightsError, available_models

DEVICE_LABELS = {"auto": "Automatic (best available)", "cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (Metal)",
                 "cpu": "CPU"}


class PreferencesDialog(QDialog):
    """Model and device choice; only models whose weights are installed are offered."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        layout = QFormLayout(self)
        self.device_box = QComboBox(self)
        for device in DEVICE_CHOICES:
            self.device_box.addItem(DEVICE_LABELS[device], device)
        self.device_box.setCurrentIndex(max(0, self.device_box.findData(settings.device)))
        layout.addRow("Device:", self.device_box)
        layout.addRow("", QLabel(f"Automatic uses: {choose_device('auto').type.upper()}", self))
        self.model_box = QComboBox(self)
        try:
            models = available_models()
        except WeightsError:
            models = {}
        for name, entry in sorted(models.items()):
            self.model_box.addItem(f"U²-Net {name} ({entry.short_hash})", name)
        if self.model_box.count() == 0:
            self.model_box.addItem(f"{settings.model} (weights not found)", settings.model)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(settings.model)))
        layout.addRow("Model:", self.model_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)

    def device(self) -> str:
        return str(self.device_box.currentData())

    def model(self) -> str:
        return str(self.model_box.currentData())
