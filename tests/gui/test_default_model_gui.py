"""The window without the full model: one line that says so, an offer to get it, the small model meanwhile;
then getting it from Preferences makes it the model of the next photo."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.model_choice import MISSING_FULL_NOTE
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from clearbg_desktop.core.settings import AppSettings
from tests.conftest import make_photo

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

WAIT_MS = 60_000


@pytest.fixture
def without_full_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Bundled folder as a fresh offline install has it: small present, full listed but not fetched."""
    weights = tmp_path / "resources" / "weights"
    torch.manual_seed(0)
    write_weights_folder(build_model("small"), weights, "small", input_size=64)
    manifest = json.loads((weights / "manifest.json").read_text())
    manifest["models"]["full"] = {"file": "u2net_full.pt", "sha256": "0" * 64, "variant": "full", "storage": "fp16"}
    (weights / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "resources"))
    return weights


@pytest.mark.slow
def test_the_window_says_the_full_model_is_missing_and_offers_it(qtbot: QtBot, without_full_model: Path,
                                                                 tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                 ) -> None:
    from clearbg_desktop.core.inference import official_weights
    from clearbg_desktop.core.inference.official_weights import OfficialModel
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog
    from clearbg_desktop.gui.window.main_window import MainWindow
    from tests.core.inference.test_official_weights import RangeHandler

    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    note = window.status.note_button
    assert note.isVisible() and note.toolTip() == MISSING_FULL_NOTE
    assert "U²-Net small" in window.results.model_description
    dialog = PreferencesDialog(window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.model_box.itemText(0) == "Automatic: U²-Net small (fastest)" and dialog.model() == "auto"
    assert dialog.model_box.findData("full") < 0  # listed, not installed: not a choice yet
    assert not dialog.get_full_button.isHidden()
    cells = {dialog.models_table.item(r, 0).text(): dialog.models_table.item(r, 2).text()
             for r in range(dialog.models_table.rowCount())}
    assert cells["full"] == "not installed"

    # "Get the full model…" against a local server standing in for the release: a (random) full U²-Net whose
    # MD5 is made the official one for this test.
    served = tmp_path / "served"
    served.mkdir()
    torch.save(build_model("full").state_dict(), served / "u2net.pth")
    payload_md5 = hashlib.md5((served / "u2net.pth").read_bytes()).hexdigest()
    monkeypatch.setitem(official_weights.OFFICIAL_MODELS, "u2net",
                        OfficialModel("u2net", "u2net.pth", "", payload_md5, "U²-Net, general use"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        dialog.full_model_installed.connect(
            lambda: window.apply_preferences(window.settings.device, window.settings.model))
        with qtbot.waitSignal(dialog.full_model_installed, timeout=WAIT_MS * 2):
            dialog.get_full_model(url=f"http://127.0.0.1:{httpd.server_address[1]}/u2net.pth")
        dialog.wait_for_downloads()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert dialog.model_box.itemText(0) == "Automatic: U²-Net (best quality)"
    assert dialog.get_full_button.isHidden()
    dialog.close()
    second = tmp_path / "q.jpg"
    make_photo(seed=1).save(second)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS * 2):
        window.open_paths([second])
    assert "U²-Net full" in window.results.model_description and not window.status.note_button.isVisible()
    window.quit_guard.confirmed = True
    window.close()


def test_preferences_show_each_familys_model_and_ask_for_a_restrictive_licence(
        qtbot: QtBot, random_weights: Path, tmp_path: Path) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog
    from tests.core.inference.test_model_families import stand_in

    dialog = PreferencesDialog(AppSettings(device="cpu"), None)
    qtbot.addWidget(dialog)
    assert dialog.add_file(stand_in(tmp_path / "isnet-general-use.onnx", 1024, 6))
    bria = stand_in(tmp_path / "bria-rmbg-2.0.onnx", 1024, 1, sigmoid=True)
    asked: list[str] = []

    def answer(button: QMessageBox.StandardButton) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        box.button(button).click()

    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.No))
    assert not dialog.add_file(bria)  # declined: nothing added
    QTimer.singleShot(50, lambda: answer(QMessageBox.StandardButton.Yes))
    assert dialog.add_file(bria)
    assert len(asked) == 2 and "non-commercial" in asked[0]
    rows = {dialog.models_table.item(r, 0).text(): [dialog.models_table.item(r, c).text() for c in range(8)]
            for r in range(dialog.models_table.rowCount())}
    assert rows["isnet-general-use"][1] == "IS-Net, 1024 px"
    assert rows["bria-rmbg-2.0"][1] == "BRIA RMBG 2.0, 1024 px" and rows["bria-rmbg-2.0"][5].startswith("CC BY-NC")
    dialog.close()


def test_copy_puts_the_cutout_on_the_clipboard_with_its_transparency(qtbot: QtBot, random_weights: Path,
                                                                     tmp_path: Path) -> None:
    """Edit ▸ Copy cut-out (Ctrl+C): PNG with alpha for apps that read it, the cut-out on white for the rest."""
    import io

    import numpy as np
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    from clearbg_desktop.gui.widgets.qimage import qimage_to_rgba_array
    from clearbg_desktop.gui.window.main_window import MainWindow

    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    QGuiApplication.clipboard().clear()
    window.window_actions.copy.trigger()
    assert "Nothing to copy" in window.statusBar().currentMessage()
    photo = tmp_path / "p.jpg"
    make_photo((160, 120)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    document = blocker.args[0]
    document.alpha[:, :40] = 0  # an edit: the copy is of what the user sees
    window.window_actions.copy.trigger()
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.hasFormat("image/png") and mime.hasImage()
    with Image.open(io.BytesIO(bytes(mime.data("image/png")))) as png:
        assert png.mode == "RGBA" and png.size == (160, 120)
        alpha = np.asarray(png)[..., 3]
    np.testing.assert_array_equal(alpha, document.alpha)
    # The plain image, for apps that drop the alpha (BMP, a Windows DIB, JPEG): the cut-out composed on white.
    plain = qimage_to_rgba_array(QGuiApplication.clipboard().image())
    assert plain.shape == (120, 160, 4) and (plain[..., 3] == 255).all()
    photo, alpha = np.asarray(document.loaded.rgb).astype(int), document.alpha.astype(int)[..., None]
    expected = (photo * alpha + 255 * (255 - alpha) + 127) // 255
    assert np.abs(plain[..., :3].astype(int) - expected).max() <= 1
    assert (plain[document.alpha == 0][:, :3] == 255).all()
    assert "with transparency" in window.statusBar().currentMessage()
    window.quit_guard.confirmed = True
    window.close()


def test_a_sixteen_bit_export_from_the_window_takes_its_alpha_from_the_models_probability(
        qtbot: QtBot, random_weights: Path, tmp_path: Path) -> None:
    """An unedited mask exported to 16-bit PNG has the model's 65,536 levels, not 256 widened; once edited, the
    edited 8-bit mask is what is written."""
    import numpy as np

    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.core.imaging.loading import load_image
    from clearbg_desktop.core.imaging.png_encoder import encode_png16
    from clearbg_desktop.gui.window.main_window import MainWindow

    photo = tmp_path / "deep.png"
    rgb16 = (np.asarray(make_photo((160, 120)), np.uint16) * 257).astype(np.uint16)
    photo.write_bytes(encode_png16(rgb16, 1))
    assert load_image(photo).deep is not None
    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    document = blocker.args[0]
    assert document.model_probability() is not None
    out = tmp_path / "out.png"
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        window.exporter.export_to(out, ExportOptions(format="png"))
    from tests.core.imaging.test_deep_colour import read_sixteen_bits

    alpha16 = read_sixteen_bits(out)[..., 3].astype(np.int64)
    assert np.abs(alpha16 / 257 - document.alpha).max() <= 2  # the same mask…
    assert (alpha16 % 257).any() and len(np.unique(alpha16)) > 3 * len(np.unique(document.alpha))  # …finer levels
    from PySide6.QtWidgets import QDialogButtonBox  # Export all open photos does the same

    window.window_actions.export_all.trigger()
    dialog = window.batch.export_all_dialog
    assert dialog is not None
    dialog.output.setText(str(tmp_path / "all"))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    written = read_sixteen_bits(next((tmp_path / "all").glob("*.png")))[..., 3].astype(np.int64)
    np.testing.assert_array_equal(written, alpha16)
    document.alpha[:10, :10] = 0  # an edit: the probability no longer describes the mask
    assert document.model_probability() is None
    window.quit_guard.confirmed = True
    window.close()
