"""The editor as a photographer meets it: no lost edits, no stuck jobs, honest devices (issue #19)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PIL import Image
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMessageBox

from clearbg_desktop.core.imaging.export import ExportOptions
from tests.conftest import make_photo
from tests.gui.test_brushes import drag, open_photo
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def camera_jpeg(path: Path) -> Path:
    exif = Image.Exif()
    exif[0x010F] = "Camera"
    exif.get_ifd(0x8769)[0x9003] = "2026:11:30 10:00:00"  # a sub-IFD, as in every camera JPEG
    make_photo((200, 150)).save(path, exif=exif)
    return path


def test_quitting_with_unexported_edits_asks_and_cancel_keeps_the_window(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    assert window.quit_guard.question() == ""  # a fresh cut-out loses nothing
    drag(qtbot, window.canvas, [(50, 50), (120, 60)])
    assert window.quit_guard.unexported_documents() == [document]
    window.close()
    assert window.isVisible()
    box = window.messages.shown
    assert box is not None and box.objectName() == "QuitQuestion" and "p.png" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible()
    discard = next(b for b in box.buttons() if b.text() == "Discard and quit")
    window.close()
    window.messages.shown.buttons()  # asked again
    next(b for b in window.messages.shown.buttons() if b.text() == "Discard and quit").click()
    assert not window.isVisible()
    assert discard is not None


def test_an_export_makes_the_photo_clean_again(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path)
    drag(qtbot, window.canvas, [(50, 50), (120, 60)])
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        window.exporter.export_to(tmp_path / "out.png", ExportOptions())
    assert window.quit_guard.unexported_documents() == [] and window.quit_guard.question() == ""


def test_a_running_batch_is_named_when_quitting(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(30):
        make_photo((600, 400), seed=index).save(photos / f"b{index}.jpg")
    window.batch.start([photos], tmp_path / "out", ExportOptions(), "small", "skip")
    question = window.quit_guard.question()
    assert "batch export" in question and "of 30 photos" in question
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        window.batch.worker.cancel()


def test_a_failed_tiff_export_of_a_camera_jpeg_reaches_the_user(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = camera_jpeg(tmp_path / "camera.jpg")
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
        window.exporter.export_to(tmp_path / "camera-cutout.tif", ExportOptions(format="tiff", keep_exif=True))
    with Image.open(blocker.args[0]) as written:
        written.load()
        assert written.mode == "RGBA"
    # An export that cannot be written at all: the message names the file and the status bar moves on.
    (tmp_path / "blocked").write_text("a file where a folder should be")
    with qtbot.waitSignal(window.exporter.failed, timeout=WAIT_MS) as failed:
        window.exporter.export_to(tmp_path / "blocked" / "x.png", ExportOptions())
    assert "x.png" in failed.args[0]
    assert window.messages.shown is not None and "x.png" in window.messages.shown.text()
    assert not window.exporter.jobs


@pytest.mark.parametrize("stage", ["decode", "model", "encode"])
def test_a_failure_in_any_batch_stage_ends_the_batch_with_a_report(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    from clearbg_desktop.core.batch import running, writing

    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        make_photo(seed=index).save(photos / f"p{index}.jpg")
    if stage == "decode":
        real_load = running.load_image
        monkeypatch.setattr(running, "load_image", lambda p: (_ for _ in ()).throw(MemoryError())
                            if Path(p).name == "p1.jpg" else real_load(p))
    elif stage == "model":
        from clearbg_desktop.core.inference.segmenter import Segmenter

        real_predict = Segmenter.predict_alpha
        monkeypatch.setattr(Segmenter, "predict_alpha", lambda self, rgb: (_ for _ in ()).throw(
            RuntimeError("model blew up")) if rgb.size == (160, 120) and rgb.getpixel((0, 0)) ==
            Image.open(photos / "p1.jpg").convert("RGB").getpixel((0, 0)) else real_predict(self, rgb))
    else:
        real_export = writing.export_photo
        monkeypatch.setattr(writing, "export_photo", lambda loaded, alpha, target, options, overwrite=False,
                            workers=None, probability=None: (_ for _ in ()).throw(
                                RuntimeError("Error setting from dictionary")) if loaded.path.name == "p1.jpg"
                            else real_export(loaded, alpha, target, options, overwrite=overwrite, workers=workers,
                                             probability=probability))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([photos], tmp_path / "out", ExportOptions(), "small", "skip")
    report = blocker.args[0]
    assert len(report.done) == 2 and len(report.failed) == 1
    assert report.failed[0].item.source.name == "p1.jpg" and report.failed[0].message
    assert window.batch.qthread is None  # not "running" any more: a new batch can start
    window.batch.summary.close()


def test_a_batch_whose_model_cannot_load_says_so_and_ends(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    make_photo().save(photos / "p.jpg")
    window.batch.start([photos], tmp_path / "out", ExportOptions(), "no-such-model", "skip")
    qtbot.waitUntil(lambda: window.batch.qthread is None, timeout=WAIT_MS)
    assert "no-such-model" in window.messages.shown.text()


def test_no_key_sequence_is_bound_twice(window: MainWindow) -> None:
    bound: Counter[str] = Counter()
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            text = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            if text:
                bound[text] += 1
    repeated = {key: count for key, count in bound.items() if count > 1}
    assert not repeated, f"bound more than once: {repeated}"
    redo = {s.toString(QKeySequence.SequenceFormat.PortableText) for s in window.window_actions.redo.shortcuts()}
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= redo
    assert "Ctrl+," in {s.toString(QKeySequence.SequenceFormat.PortableText)
                        for s in window.window_actions.preferences.shortcuts()}


def test_redo_works_from_the_keyboard(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    document = open_photo(qtbot, window, tmp_path)
    before = document.alpha.copy()
    drag(qtbot, window.canvas, [(50, 50), (120, 60)])
    after = document.alpha.copy()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # keys before the window is active can be lost on a loaded machine
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert (document.alpha == before).all()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert (document.alpha == after).all()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert (document.alpha == after).all()


def test_preferences_offer_only_devices_the_machine_has(qtbot: QtBot, window: MainWindow) -> None:
    from clearbg_desktop.core.inference.segmenter import device_availability
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    dialog = PreferencesDialog(window.settings, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.pending(), timeout=WAIT_MS)  # torch is asked off the GUI thread
    availability = device_availability()
    model = dialog.device_box.model()
    for row in range(dialog.device_box.count()):
        device = dialog.device_box.itemData(row)
        assert model.item(row).isEnabled() == (availability[device] == ""), device
        if availability[device]:
            assert "not available" in dialog.device_box.itemText(row)
    assert availability["cpu"] == "" and availability["auto"] == ""
    window.apply_preferences("cpu", "small")
    assert "cuda" not in window.status.model_label.text().lower()


@pytest.mark.slow
def test_models_tab_adds_and_removes_a_model_file(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    weights = tmp_path / "mine.pth"
    torch.save(build_model("small").state_dict(), weights)
    dialog = PreferencesDialog(window.settings, window)
    qtbot.addWidget(dialog)
    assert dialog.add_file(weights)
    names = [dialog.models_table.item(r, 0).text() for r in range(dialog.models_table.rowCount())]
    assert "mine" in names and dialog.model_box.findData("mine") >= 0
    row = names.index("mine")
    dialog.models_table.selectRow(row)
    assert dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    assert "mine" not in [dialog.models_table.item(r, 0).text() for r in range(dialog.models_table.rowCount())]
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    assert not dialog.add_file(bad)
    dialog.close()


def test_switching_photo_drops_the_refine_preview_and_the_panel_values(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    paths = []
    for index in range(2):
        paths.append(tmp_path / f"s{index}.png")
        make_photo(seed=index).save(paths[-1])
    with qtbot.waitSignals([window.document_ready] * 2, timeout=WAIT_MS):
        window.open_paths(paths)
    first, second = window.workspace.documents
    window.show_document(first)
    original = first.alpha.copy()
    window.panels.refine_panel.feather.setValue(12)
    assert window.panels.refine_panel.value_labels[window.panels.refine_panel.feather].text() == "12"
    qtbot.waitUntil(lambda: "preview" in window.statusBar().currentMessage(), timeout=WAIT_MS)
    assert not (first.alpha == original).all()
    window.show_document(second)
    window.show_document(first)
    assert (first.alpha == original).all()
    assert window.panels.refine_panel.feather.value() == 0
    assert window.panels.refine_panel.value_labels[window.panels.refine_panel.feather].text() == "0"
    assert "preview" not in window.statusBar().currentMessage().replace("preview dropped", "")


def test_the_status_bar_shows_while_the_model_runs(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "busy.png"
    make_photo((400, 300)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
        assert window.status.busy_label.isVisibleTo(window) and "Model running" in window.status.busy_label.text()
        assert "Cutting out busy.png" in window.statusBar().currentMessage()
    assert not window.status.busy_label.isVisibleTo(window)
    assert "U²-Net" in window.status.model_label.text() and "CPU" in window.status.model_label.text()


def test_jpeg_export_names_its_flat_background(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm

    form = ExportOptionsForm(ExportOptions())
    qtbot.addWidget(form)
    form.format_box.setCurrentIndex(form.format_box.findData("jpg"))
    assert "JPEG has no transparency" in form.background_box.currentText()
    form.format_box.setCurrentIndex(form.format_box.findData("png"))
    assert form.background_box.currentText() == "Transparent"


LAYOUT_PROBE = """
import json, sys
from PySide6.QtWidgets import QApplication
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.window.main_window import MainWindow

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

app = QApplication([])
window = MainWindow(AppSettings(device="cpu"))
window.resize(int(sys.argv[1]), 640)
window.show()
for _ in range(20):
    app.processEvents()
toolbar = window.window_actions.toolbar
print(json.dumps({
    "canvas": window.canvas.width(),
    "docks": [d.width() for d in (window.panels.photos_dock, window.panels.refine_dock, window.panels.history_dock)],
    "undo_visible": toolbar.widgetForAction(window.window_actions.undo).isVisible(),
    "redo_visible": toolbar.widgetForAction(window.window_actions.redo).isVisible(),
    "refine_needs": window.panels.refine_panel.minimumSizeHint().width(),
    "refine_has": window.panels.refine_scroller.viewport().width(),
}))
window.quit_guard.confirmed = True
window.close()
"""


@pytest.mark.parametrize("width", [1000, 1280])
@pytest.mark.parametrize("scale", ["1", "1.5", "2"])
def test_the_photo_is_the_largest_thing_at_every_scale(tmp_path: Path, random_weights: Path, scale: str,
                                                       width: int) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_SCALE_FACTOR": scale,
           "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "CLEARBG_RESOURCES": str(random_weights.parent)}
    result = subprocess.run([sys.executable, "-c", LAYOUT_PROBE, str(width)], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    layout = json.loads(result.stdout.strip().splitlines()[-1])
    assert layout["canvas"] > max(layout["docks"]), layout
    assert layout["undo_visible"] and layout["redo_visible"], layout
    assert layout["refine_needs"] <= layout["refine_has"], layout  # nothing in the refine panel is cut off


def test_fit_to_window_follows_a_resize_until_a_zoom_is_chosen(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "wide.png"
    make_photo((800, 600)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    window.canvas.zoom_fit()
    before = window.canvas.zoom
    window.resize(1400, 900)
    qtbot.waitUntil(lambda: window.canvas.zoom > before * 1.05, timeout=5000)
    window.canvas.zoom_actual()
    window.resize(1000, 700)
    qtbot.wait(50)
    assert window.canvas.zoom == pytest.approx(1.0)


def test_no_stale_brush_circle_after_panning(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint, Qt

    open_photo(qtbot, window, tmp_path, size=(1600, 1200))
    viewport = window.canvas.viewport()
    qtbot.mouseMove(viewport, QPoint(200, 200))
    assert window.canvas.tool.outline.isVisible()
    qtbot.mousePress(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(200, 200))
    qtbot.mouseMove(viewport, QPoint(120, 140))
    qtbot.mouseRelease(viewport, Qt.MouseButton.MiddleButton, pos=QPoint(120, 140))
    assert not window.canvas.tool.outline.isVisible()


def test_a_photographers_loop(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Open 5 photos, fix 2 with the brush, export all, quit with one unexported edit (asked), reopen."""
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.main_window import MainWindow

    paths = []
    for index in range(5):
        paths.append(tmp_path / f"shot{index}.jpg")
        make_photo((400, 300), seed=index).save(paths[-1])
    with qtbot.waitSignals([window.document_ready] * 5, timeout=WAIT_MS):
        window.open_paths(paths)
    for document in window.workspace.documents[:2]:
        window.show_document(document)
        window.canvas.zoom_actual()
        window.canvas.centerOn(0, 0)
        drag(qtbot, window.canvas, [(40, 40), (160, 90)])
    assert len(window.quit_guard.unexported_documents()) == 2
    out = tmp_path / "out"
    for document in window.workspace.documents:
        window.show_document(document)
        with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
            window.exporter.export_to(out / f"{document.title}.png", ExportOptions())
    assert len(list(out.glob("*.png"))) == 5 and window.quit_guard.unexported_documents() == []
    window.show_document(window.workspace.documents[2])
    window.canvas.zoom_actual()
    window.canvas.centerOn(0, 0)
    drag(qtbot, window.canvas, [(40, 40), (160, 90)])
    window.close()
    assert window.isVisible() and "shot2.jpg" in window.messages.shown.text()
    next(b for b in window.messages.shown.buttons() if b.text() == "Discard and quit").click()
    assert not window.isVisible()
    reopened = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(reopened)
    reopened.show()
    assert str(paths[-1]) in reopened.context.recent.files()[0] or any("shot" in p for p in reopened.context.recent.files())
    with qtbot.waitSignal(reopened.document_ready, timeout=WAIT_MS):
        reopened.open_paths([paths[2]])
    reopened.quit_guard.confirmed = True
    reopened.close()


def test_decontaminate_is_previewed_and_reset_restores_the_colours(qtbot: QtBot, window: MainWindow,
                                                                    tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    document.alpha[:, :200] = 128  # a wide soft edge beside solid subject: decontamination has work to do
    document.alpha[:, 200:] = 255
    window.panels.refine_panel.decontaminate.setChecked(True)
    qtbot.waitUntil(lambda: document.preview_rgb is not None, timeout=WAIT_MS)
    assert document.view_rgb is document.preview_rgb and not (document.preview_rgb == document.rgb).all()
    window.panels.refine_panel.reset()
    assert document.preview_rgb is None and document.view_rgb is document.rgb


def test_toolbar_buttons_have_icons_and_keep_their_width(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    toolbar = window.window_actions.toolbar
    for action in (window.window_actions.open, window.window_actions.export, window.window_actions.undo,
                   window.window_actions.redo, window.window_actions.fit):
        assert not action.icon().isNull(), action.text()
    undo_button = toolbar.widgetForAction(window.window_actions.undo)
    width_before = undo_button.sizeHint().width()
    open_photo(qtbot, window, tmp_path)
    drag(qtbot, window.canvas, [(50, 50), (120, 60)])  # the undo text becomes "Undo Restore stroke"
    assert "stroke" in window.window_actions.undo.text().lower()
    assert undo_button.sizeHint().width() == width_before


def test_filmstrip_names_line_up_and_batch_failures_are_not_cut_off(qtbot: QtBot, window: MainWindow,
                                                                   tmp_path: Path) -> None:
    from clearbg_desktop.core.batch import BatchItem, BatchReport, FileResult
    from clearbg_desktop.gui.dialogs.batch_dialog import BatchSummaryDialog

    strip = window.filmstrip
    assert strip.uniformItemSizes() and not strip.wordWrap()  # every row the same: names start at one x
    reason = "a very long reason " * 12
    report = BatchReport(results=[FileResult(BatchItem(tmp_path / "deep" / "photo.jpg", tmp_path / "o.png"),
                                             "failed", reason)])
    summary = BatchSummaryDialog(report, tmp_path, window)
    qtbot.addWidget(summary)
    assert summary.failures.wordWrap()
    item = summary.failures.item(0)
    assert reason.strip() in item.text() and str(tmp_path / "deep" / "photo.jpg") in item.toolTip()


@pytest.mark.slow
def test_models_tab_downloads_an_official_file_and_installs_it(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a local HTTP server: progress, hash check, conversion into the models list."""
    import functools
    import hashlib
    import http.server
    import threading

    import torch

    from clearbg_desktop.core.inference import official_weights
    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.official_weights import OfficialModel
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog
    from tests.core.inference.test_official_weights import RangeHandler

    served = tmp_path / "served"
    served.mkdir()
    torch.save(build_model("small").state_dict(), served / "weights.pth")
    payload = (served / "weights.pth").read_bytes()
    monkeypatch.setitem(official_weights.OFFICIAL_MODELS, "testmodel",
                        OfficialModel("testmodel", "testmodel.pth", "", hashlib.md5(payload).hexdigest(), "test"))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        dialog = PreferencesDialog(window.settings, window)
        qtbot.addWidget(dialog)
        dialog.download("testmodel", url=f"http://127.0.0.1:{httpd.server_address[1]}/weights.pth")
        qtbot.waitUntil(lambda: dialog.model_box.findData("testmodel") >= 0, timeout=WAIT_MS)
        dialog.wait_for_downloads()
        dialog.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
