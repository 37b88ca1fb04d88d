"""Help ▸ About: the version, the model in use and its weights file (name, hash, lineage)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from clearbg_desktop import __version__
from clearbg_desktop.core.inference.model_choice import model_label, resolve_model
from clearbg_desktop.core.inference.weights import WeightsError, find_weights
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.widgets.resources import app_icon


def about_text(settings: AppSettings, model_description: str) -> str:
    try:
        entry = find_weights(resolve_model(settings.model).name)
        weights = f"{entry.path.name}, SHA-256 {entry.sha256[:16]}…"
        init = entry.card.get("init") or {}
        trained = entry.card.get("training", {})
        if init:
            weights += f", from {init.get('file')}"
        if trained.get("images_seen"):
            weights += f", trained on {trained['images_seen']} images"
    except WeightsError as exc:
        weights = str(exc)
    return (
        f"<h3>ClearBG {__version__}</h3><p>Background removal that runs on your computer.</p>"
        f"<p><b>Model:</b> {model_label(resolve_model(settings.model).name)} ({model_description})<br>"
        f"<b>Device preference:</b> {settings.device}<br><b>Weights:</b> {weights}</p>"
    )


def show_about(parent: QWidget, settings: AppSettings, model_description: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About ClearBG", about_text(settings, model_description),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("AboutBox")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
