"""Export dialog and batch export from the menu, driven through the real dialogs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QPushButton

from tests.conftest import make_photo
from tests.gui.test_main_window import WAIT_MS, drop_files

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.dialogs.export_dialog import ExportDialog
    from clearbg_desktop.gui.window.main_window import MainWindow



def open_photo(qtbot: QtBot, window: MainWindow, folder: Path, name: str = "portrait.jpg"):
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / name
    make_photo((240, 180)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    return blocker.args[0]


def run_export_dialog(qtbot: QtBot, window: MainWindow, configure: Callable[[ExportDialog], None]) -> str:
    window.window_actions.export.trigger()
    dialog = window.exporter.dialog
    assert dialog.isVisible()
    configure(dialog)
    with qtbot.waitSignal(dialog.filled, timeout=WAIT_MS):  # the preview and estimate are made off the GUI thread
        dialog.refresh()
    assert not dialog.preview.pixmap().isNull() and "Estimated size: about" in dialog.size_label.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    return blocker.args[0]


def test_export_each_format_through_the_dialog(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path / "shoot")
    out = tmp_path / "exports"
    out.mkdir()
    expected = {"png": "RGBA", "webp": "RGBA", "tiff": "RGBA", "jpg": "RGB"}
    for fmt, mode in expected.items():
        def configure(dialog: ExportDialog, fmt=fmt):
            dialog.folder_edit.setText(str(out))
            form = dialog.form
            form.format_box.setCurrentIndex(form.format_box.findData(fmt))
            form.template.setText("{name}-{format}")
            form.set_color(QColor(0, 0, 255))

        written = Path(run_export_dialog(qtbot, window, configure))
        assert written.name == f"portrait-{fmt}{'.tif' if fmt == 'tiff' else '.' + fmt}"
        with Image.open(written) as image:
            assert image.mode == mode and image.size == (240, 180)
            if fmt == "jpg":  # flattened on the chosen colour where the mask is 0
                rgb = np.asarray(image, np.int16)
                background = document.alpha < 10
                if background.any():
                    assert np.abs(rgb[background] - [0, 0, 255]).mean() < 40
            else:
                assert np.array_equal(np.asarray(image.getchannel("A")), document.alpha)
    assert window.settings.export.format == "jpg"  # remembered


def test_mask_only_and_template(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path / "shoot")

    def configure(dialog: ExportDialog):
        dialog.folder_edit.setText(str(tmp_path))
        dialog.form.mask_only.setChecked(True)
        dialog.form.template.setText("{name}_mask")

    written = Path(run_export_dialog(qtbot, window, configure))
    assert written.name == "portrait_mask.png"
    with Image.open(written) as image:
        assert image.mode == "L"


def test_never_overwrites_without_asking(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path / "shoot")
    window.settings.last_export_folder = str(tmp_path)
    target = tmp_path / "portrait-cutout.png"
    target.write_bytes(b"precious")
    window.window_actions.reexport.trigger()  # Ctrl+Shift+E with the remembered settings
    box = window.messages.shown
    assert box.objectName() == "OverwriteQuestion" and "already exists" in box.text()
    assert target.read_bytes() == b"precious"
    keep = next(b for b in box.buttons() if b.text() == "Keep both")
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
        keep.click()
    assert Path(blocker.args[0]).name == "portrait-cutout (2).png"
    assert target.read_bytes() == b"precious"
    window.window_actions.reexport.trigger()
    box = window.messages.shown
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert target.read_bytes() == b"precious"
    window.window_actions.reexport.trigger()
    replace = next(b for b in window.messages.shown.buttons() if b.text() == "Replace")
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        replace.click()
    assert target.read_bytes() != b"precious"


def make_shoot(root: Path, count: int) -> Path:
    (root / "sub").mkdir(parents=True)
    for index in range(count):
        make_photo(seed=index).save(root / ("sub" if index % 2 else "") / f"p{index}.jpg")
    (root / "notes.txt").write_text("not a photo")
    good = (root / "p0.jpg").read_bytes()
    (root / "corrupt.jpg").write_bytes(good[:300])
    return root


def test_dropped_folder_offers_batch_export_and_reports(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shoot = make_shoot(tmp_path / "shoot", 4)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p0-cutout.png").write_bytes(b"already done")
    drop_files(window, [shoot])
    qtbot.waitUntil(lambda: window.batch.dialog is not None and window.batch.dialog.isVisible(), timeout=5000)
    dialog = window.batch.dialog
    assert dialog.input_paths() == [shoot]
    dialog.output.setText(str(out))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    report = blocker.args[0]
    assert (len(report.done), len(report.skipped), len(report.failed)) == (3, 1, 1)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "p0-cutout.png", "p2-cutout.png", "sub/p1-cutout.png", "sub/p3-cutout.png"]
    assert (out / "p0-cutout.png").read_bytes() == b"already done"
    summary = window.batch.summary
    assert summary.isVisible() and "corrupt.jpg" in summary.failures.item(0).text()
    assert report.log_path is not None and "corrupt.jpg" in report.log_path.read_text()
    summary.accept()
    assert window.batch.qthread is None


@pytest.mark.slow
def test_cancel_mid_batch_then_resume(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shoot = tmp_path / "many"
    shoot.mkdir()
    for index in range(10):
        make_photo((1600, 1200), seed=index).save(shoot / f"p{index:02d}.jpg")
    out = tmp_path / "out"
    options = window.settings.export

    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([shoot], out, options, "small", "skip")
        qtbot.waitUntil(lambda: window.batch.progress.value() >= 2, timeout=WAIT_MS)
        assert "photos/s" in window.batch.progress.labelText() and "ETA" in window.batch.progress.labelText()
        cancel_button = window.batch.progress.findChild(QPushButton)
        cancel_button.click()  # the progress dialog's Cancel
    first = blocker.args[0]
    assert first.cancelled and 2 <= len(first.done) < 10
    written = sorted(out.iterdir())
    assert all(p.suffix == ".png" and not p.name.startswith(".") for p in written)
    for path in written:
        with Image.open(path) as image:
            image.load()
    window.batch.summary.accept()
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([shoot], out, options, "small", "skip")
    second = blocker.args[0]
    assert not second.cancelled and len(second.skipped) == len(written) and len(second.done) == 10 - len(written)
    assert len(list(out.iterdir())) == 10


def test_the_dialog_checks_sizes_as_the_core_and_the_cli_do(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Issue #28.4: one set of limits; and an output too large for this photo is refused before it is made."""
    from clearbg_desktop.core.imaging.export import LONG_EDGE_MAX, PERCENT_RANGE

    open_photo(qtbot, window, tmp_path / "shoot")
    window.window_actions.export.trigger()
    dialog = window.exporter.dialog
    form = dialog.form
    form.resize_box.setCurrentIndex(form.resize_box.findData("percent"))
    assert form.resize_value.maximum() == PERCENT_RANGE[1]
    form.resize_box.setCurrentIndex(form.resize_box.findData("long"))
    assert form.resize_value.maximum() == LONG_EDGE_MAX
    form.resize_value.setValue(LONG_EDGE_MAX)  # 30000×22500 from a 240×180 photo: 675 MP
    dialog.refresh()
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert "more than the 90 MP limit" in dialog.error_label.text() and not save.isEnabled()
    form.resize_value.setValue(2400)
    dialog.refresh()
    assert dialog.error_label.text() == "" and save.isEnabled()
    dialog.reject()


def test_a_layered_psd_through_the_dialog_keeps_the_photo_and_its_mask(qtbot: QtBot, window: MainWindow,
                                                                        tmp_path: Path) -> None:
    """#38: the formats come from the core's list; a PSD turns off what a layered file cannot keep (mask only, a
    background, the square frame) instead of failing, and its layer mask is the window's mask."""
    from psd_tools import PSDImage

    document = open_photo(qtbot, window, tmp_path / "shoot")
    out = tmp_path / "exports"
    out.mkdir()

    def configure(dialog: ExportDialog) -> None:
        dialog.folder_edit.setText(str(out))
        form = dialog.form
        form.mask_only.setChecked(True)  # left from an earlier export: a PSD keeps the photo anyway
        form.square.setChecked(True)
        form.format_box.setCurrentIndex(form.format_box.findData("psd"))
        assert not form.mask_only.isEnabled() and not form.square.isEnabled()
        assert "layered" in form.mask_only.toolTip()
        labels = [form.format_box.itemText(i) for i in range(form.format_box.count())]
        assert "PSD (photo layer + editable mask)" in labels and "TIFF (photo + mask channel)" in labels

    written = Path(run_export_dialog(qtbot, window, configure))
    assert written.suffix == ".psd"
    psd = PSDImage.open(written)
    [layer] = list(psd)
    assert layer.mask is not None and (psd.width, psd.height) == (240, 180)
    mask = np.asarray(layer.mask.topil(), np.int16)
    assert np.abs(mask - document.alpha.astype(np.int16)).max() <= 1
    assert window.settings.export.format == "psd"
