"""Help ▸ About names the build and the models (#43), and About ▸ Licences shows the bundle's notices."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton

from clearbg_desktop import __version__
from clearbg_desktop.core.inference.weights import find_weights
from clearbg_desktop.gui.dialogs.licences_dialog import FROM_SOURCE, LicencesDialog

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def test_about_names_version_commit_models_and_opens_the_licences(qtbot: QtBot, window) -> None:
    window.show_about()
    box = window.messages.shown
    assert isinstance(box, QMessageBox)
    text = box.text()
    assert f"ClearBG {__version__}" in text
    assert "commit " in text and "commit unknown" not in text
    assert f"small: {find_weights('small').path.name} SHA-256 {find_weights('small').short_hash}" in text
    assert "LGPLv3" in text
    button = box.findChild(QPushButton, "LicencesButton")
    assert button is not None
    button.click()
    qtbot.waitUntil(lambda: window.findChild(LicencesDialog) is not None)
    dialog = window.findChild(LicencesDialog)
    assert not dialog.from_bundle and dialog.view.toPlainText() == FROM_SOURCE  # a checkout has no notices file
    dialog.close()


def test_licences_show_the_bundle_notices(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "THIRD_PARTY_NOTICES.txt").write_text("ClearBG 0.1.0: third-party notices\n  python  PySide6  LGPL\n",
                                                      encoding="utf-8")
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path))
    dialog = LicencesDialog()
    qtbot.addWidget(dialog)
    assert dialog.from_bundle
    assert dialog.view.toPlainText().startswith("ClearBG 0.1.0: third-party notices")
    assert dialog.view.isReadOnly()
