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

    from clearbg_desktop.gui.window.main_window import MainWindow

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
        with Image.open(out / f"{document.path.stem}-main.jpg") as written:  # small photos: never enlarged
            assert written.size[0] == written.size[1] < 2000 and written.mode == "RGB"
            corner = np.asarray(written)[:20, :20]
            assert corner.min() >= 245  # on white


def test_the_users_presets_are_saved_shared_and_imported(qtbot: QtBot, tmp_path: Path) -> None:
    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm

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


def test_split_view_shows_the_original_left_of_a_divider_the_user_drags(qtbot: QtBot, window: MainWindow,
                                                                        tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    document = open_shoot(qtbot, window, tmp_path / "shoot", 1)[0]
    window.set_view_mode("mask")  # black and white: the original's colours show where it is drawn
    window.window_actions.split.trigger()
    canvas = window.canvas
    assert canvas.split and window.window_actions.split.isChecked() and canvas.divider_fraction == 0.5
    qtbot.waitUntil(lambda: not canvas.is_rendering, timeout=WAIT_MS)
    shot = canvas.viewport().grab().toImage()
    left, right = canvas.mapFromScene(QPointF(5, 60)), canvas.mapFromScene(QPointF(document.loaded.size[0] - 5, 60))
    mask_value = int(document.alpha[60, document.loaded.size[0] - 5])
    assert abs(shot.pixelColor(right).red() - mask_value) < 8  # right of the divider: the mask view
    original = np.asarray(document.view_rgb)[60, 5]
    seen = shot.pixelColor(left)
    assert abs(seen.red() - int(original[0])) < 40 and abs(seen.green() - int(original[1])) < 40
    divider = canvas.mapFromScene(QPointF(document.loaded.size[0] / 2, 60))
    target = canvas.mapFromScene(QPointF(document.loaded.size[0] * 0.25, 60))
    viewport = canvas.viewport()
    for point, cursor in ((divider, Qt.CursorShape.SplitHCursor), (target, Qt.CursorShape.ArrowCursor)):
        QApplication.sendEvent(viewport, QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(point),
                                                     QPointF(viewport.mapToGlobal(QPoint(point))),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton,
                                                     Qt.KeyboardModifier.NoModifier))
        assert viewport.cursor().shape() == cursor  # hovering the divider says it can be dragged
    for kind, point, buttons in ((QMouseEvent.Type.MouseButtonPress, divider, Qt.MouseButton.LeftButton),
                                 (QMouseEvent.Type.MouseMove, target, Qt.MouseButton.LeftButton),
                                 (QMouseEvent.Type.MouseButtonRelease, target, Qt.MouseButton.NoButton)):
        event = QMouseEvent(kind, QPointF(point), QPointF(viewport.mapToGlobal(QPoint(point))), Qt.MouseButton.LeftButton,
                            buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)
    assert abs(canvas.divider_fraction - 0.25) < 0.05
    assert window.undo.stacks[document.doc_id].count() == 0  # dragging the divider painted nothing
    window.window_actions.split.trigger()
    assert not canvas.split
