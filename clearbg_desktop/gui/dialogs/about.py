"""Help ▸ About: the version and the commit it was built from, the model in use and its weights file (name, hash,
lineage, licence), every installed model's hash prefix, and a Licences button for the third-party notices."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from clearbg_desktop.core.build_info import build_info, model_versions
from clearbg_desktop.core.inference.model_choice import model_label, resolve_model
from clearbg_desktop.core.inference.weights import WeightsError, find_weights
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.licences_dialog import show_licences
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
        licence = entry.card.get("licence")
        if isinstance(licence, str) and licence:  # a model the user imported shows its own terms
            weights += f"<br><b>Model licence:</b> {html.escape(licence)}"
    except WeightsError as exc:
        weights = str(exc)
    info = build_info()
    built = f", built {info['built']}" if info["built"] else ""
    models = "<br>".join(html.escape(line) for line in model_versions())
    return (
        f"<h3>ClearBG {info['version']}</h3><p>Background removal that runs on your computer.</p>"
        f"<p><b>Build:</b> commit {info['commit']}{built}</p>"
        f"<p><b>Model:</b> {model_label(resolve_model(settings.model).name)} ({model_description})<br>"
        f"<b>Device preference:</b> {settings.device}<br><b>Weights:</b> {weights}</p>"
        f"<p><b>Installed models:</b><br>{models}</p>"
        "<p>ClearBG is Apache-2.0. Qt and PySide6 are LGPLv3; <b>Licences</b> lists everything the app carries.</p>"
    )


def show_about(parent: QWidget, settings: AppSettings, model_description: str) -> QMessageBox:
    box = QMessageBox(QMessageBox.Icon.Information, "About ClearBG", about_text(settings, model_description),
                      QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("AboutBox")
    box.setIconPixmap(app_icon().pixmap(64, 64))
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    licences = box.addButton("Licences…", QMessageBox.ButtonRole.ActionRole)
    licences.setObjectName("LicencesButton")
    licences.clicked.connect(lambda: show_licences(parent))  # the box closes; the notices open over the window
    box.open()
    return box
