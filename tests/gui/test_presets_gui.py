"""Presets in the window: chosen for Export all, saved as the user's, shared and imported as a file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from clearbg_desktop.core.settings import AppSettings
from tests.gui.test_photographers_loop import WAIT_MS, open_shoot

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.main_window import MainWindow

MARKET = "Marketplace main image (white square, subject 85 %)"


def test_a_preset_chosen_for_export_all_shapes_every_output(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = open_shoot(qtbot, window, tmp_path / "shoot", 3)
    window.window_actions.export_all.trigger()
    dialog = window.batch.export_all_dialog
    assert dialog is not None and dialog.form.presets is not None
    dialog.form.presets.choose(MARKET)
    options = dialog.form.options()
    assert options.format == "jpg" and options.subject_fill == 0.85 and dialog.form.square.isChecked()
    out = tmp_path / "out"
    dialog.output.setText(str(out))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert len(blocker.args[0].done) == len(documents)
    for document in documents:
        with Image.open(out / f"{document.path.stem}-main.jpg") as written:
            assert written.size == (2000, 2000) and written.mode == "RGB"
            corner = np.asarray(written)[:20, :20]
            assert corner.min() >= 245  # on white


def test_the_users_presets_are_saved_shared_and_imported(qtbot: QtBot, tmp_path: Path) -> None:
    from clearbg_desktop.core.export import ExportOptions
    from clearbg_desktop.gui.export_form import ExportOptionsForm

    settings = AppSettings()
    form = ExportOptionsForm(ExportOptions(), settings=settings)
    qtbot.addWidget(form)
    assert form.presets is not None
    form.presets.choose("Web JPEG on white, 2048 px")
    form.quality.setValue(70)
    assert form.presets.save_current("Studio web")
    assert AppSettings.load().export_presets["Studio web"]["quality"] == 70
    shared = form.presets.share_file(tmp_path / "team.json")
    assert shared is not None and shared.is_file()
    colleague = AppSettings(export_presets={})
    other = ExportOptionsForm(ExportOptions(), settings=colleague)
    qtbot.addWidget(other)
    assert other.presets is not None and other.presets.import_file(shared) == 1
    other.presets.choose("Studio web")
    assert other.options().quality == 70 and other.options().resize_long_edge == 2048
    assert other.presets.box.currentText() == "Studio web (yours)"
