"""Issue #29, the photographer's loop without traps: edits reach every export, quitting and closing never lose
work or leave a process behind, the batch review shows what the batch wrote."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from clearbg_desktop.core.imaging.export import ExportOptions
from tests.conftest import make_photo
from tests.gui.test_brushes import drag
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.core.editing.document import Document
    from clearbg_desktop.gui.window.main_window import MainWindow


def button(box: QMessageBox, text: str):  # noqa: ANN201 - a QAbstractButton
    return next(b for b in box.buttons() if b.text() == text)


def open_shoot(qtbot: QtBot, window: MainWindow, folder: Path, count: int) -> list[Document]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        paths.append(folder / f"p{index}.png")
        make_photo((400, 300), seed=index).save(paths[-1])
    documents = []
    for path in paths:
        with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
            window.open_paths([path])
        documents.append(blocker.args[0])
    return documents


def edit_two(qtbot: QtBot, window: MainWindow, documents: list[Document]) -> None:
    """Invert one photo's mask, paint on another: both differ from the model's mask."""
    window.show_document(documents[1])
    window.window_actions.invert.trigger()
    window.show_document(documents[3])
    window.canvas.zoom_actual()
    window.canvas.centerOn(0, 0)
    window.window_actions.invert.trigger()
    window.brush_bar.size_box.setValue(40)
    drag(qtbot, window.canvas, [(40, 100), (200, 120), (360, 140)])
    for document in (documents[1], documents[3]):
        assert not np.array_equal(document.alpha, document.predicted)


def written_alpha(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.getchannel("A"))


def test_export_all_open_photos_writes_each_edited_mask(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = open_shoot(qtbot, window, tmp_path / "shoot", 5)
    edit_two(qtbot, window, documents)
    assert len(window.quit_guard.unexported_documents()) == 2
    out = tmp_path / "out"
    window.window_actions.export_all.trigger()
    dialog = window.batch.export_all_dialog
    assert dialog is not None and dialog.isVisible() and dialog.photos.count() == 5
    dialog.output.setText(str(out))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    report = blocker.args[0]
    assert len(report.done) == 5 and not report.failed
    for document in documents:
        np.testing.assert_array_equal(written_alpha(out / f"{document.path.stem}-cutout.png"), document.alpha)
    assert window.quit_guard.unexported_documents() == []  # written: nothing left to lose
    assert window.batch.summary is not None and window.batch.summary.isVisible()


def test_a_batch_of_photos_open_in_the_window_uses_their_edits(qtbot: QtBot, window: MainWindow,
                                                               tmp_path: Path) -> None:
    documents = open_shoot(qtbot, window, tmp_path / "shoot", 5)
    edit_two(qtbot, window, documents)
    out = tmp_path / "out"
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([tmp_path / "shoot"], out, ExportOptions(), "small", "skip")
    assert len(blocker.args[0].done) == 5
    for document in documents:
        np.testing.assert_array_equal(written_alpha(out / f"{document.path.stem}-cutout.png"), document.alpha)


QUIT_SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.app import create_application
    from clearbg_desktop.gui.window.main_window import MainWindow

    photos, out = Path(sys.argv[1]), Path(sys.argv[2])
    app = create_application(sys.argv[:1])
    window = MainWindow(AppSettings(device="cpu"))
    window.show()
    window.batch.start([photos], out, ExportOptions(), "small", "skip")
    state = {"quit_at": None}

    def quit_when_started():
        if window.batch.progress is None or window.batch.progress.value() < 1:
            QTimer.singleShot(10, quit_when_started)
            return
        window.close()  # Ctrl+Q: asks
        box = window.messages.shown
        assert box.objectName() == "QuitQuestion" and "running" in box.text(), box.text()
        state["quit_at"] = time.monotonic()
        next(b for b in box.buttons() if b.text() == "Quit anyway").click()

    def watch():
        if state["quit_at"] is not None and not window.isVisible():
            shown = [w.objectName() or type(w).__name__ for w in QApplication.topLevelWidgets() if w.isVisible()]
            if shown:
                print("SHOWN AFTER QUIT:", shown, flush=True)
        QTimer.singleShot(20, watch)

    QTimer.singleShot(0, quit_when_started)
    QTimer.singleShot(0, watch)
    QTimer.singleShot(60_000, lambda: app.exit(3))  # a hang fails the test instead of blocking it
    code = app.exec()
    print(f"EXITED {time.monotonic() - state['quit_at']:.1f} s after quit; written "
          f"{len(list(out.glob('*.png')))}", flush=True)
    sys.exit(code)
""")


@pytest.mark.slow
def test_quitting_during_a_batch_stops_it_and_leaves_no_process(random_weights: Path, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(17):
        make_photo((1600, 1200), seed=index).save(photos / f"b{index:02d}.jpg")
    script = tmp_path / "quit_during_batch.py"
    script.write_text(QUIT_SCRIPT)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, str(script), str(photos), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SHOWN AFTER QUIT" not in result.stdout, result.stdout
    seconds, written = result.stdout.split("EXITED ")[1].split(" s after quit; written ")
    assert float(seconds) < 10
    assert int(written) < 17  # stopped after the photo in hand


def test_a_batch_that_ends_under_the_quit_prompt_updates_it(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        make_photo((200, 150), seed=index).save(photos / f"b{index}.jpg")
    window.quit_guard.confirmed = False
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        window.batch.start([photos], tmp_path / "out", ExportOptions(), "small", "skip")
        window.close()
        box = window.messages.shown
        assert box.objectName() == "QuitQuestion" and "running" in box.text()
    assert window.isVisible() and box.isVisible()
    assert window.batch.summary is None  # no dialog over the prompt
    assert "running" not in box.text() and "ended" in box.text()
    button(box, "Quit anyway").click()
    assert not window.isVisible()


def test_close_photo_asks_before_dropping_unsaved_edits(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    clean, edited = open_shoot(qtbot, window, tmp_path / "shoot", 2)
    window.window_actions.invert.trigger()
    assert window.isWindowModified()
    window.window_actions.close_doc.trigger()  # Ctrl+W
    box = window.messages.shown
    assert box.objectName() == "CloseQuestion" and edited.title in box.text()
    assert {b.text() for b in box.buttons()} >= {"Save", "Export…", "Discard"}
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert edited in window.workspace.documents
    window.window_actions.close_doc.trigger()
    button(window.messages.shown, "Discard").click()
    assert edited not in window.workspace.documents and window.workspace.current is clean
    window.window_actions.close_doc.trigger()  # nothing to lose: no question
    assert window.workspace.documents == []


def test_quit_prompt_export_writes_every_listed_photo_then_quits(qtbot: QtBot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    documents = open_shoot(qtbot, window, tmp_path / "shoot", 5)
    edit_two(qtbot, window, documents)
    window.quit_guard.confirmed = False
    window.close()
    box = window.messages.shown
    assert box.objectName() == "QuitQuestion"
    button(box, "Export…").click()
    dialog = window.batch.export_all_dialog
    assert dialog is not None and dialog.isVisible()
    assert [dialog.photos.item(i).text() for i in range(dialog.photos.count())] == ["p1.png", "p3.png"]
    out = tmp_path / "out"
    dialog.output.setText(str(out))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    for document in (documents[1], documents[3]):
        np.testing.assert_array_equal(written_alpha(out / f"{document.path.stem}-cutout.png"), document.alpha)


def filmstrip_text(window: MainWindow, document: Document) -> str:
    strip = window.filmstrip
    rows = range(strip.count())
    texts = [strip.row_text(i) for i in rows] if hasattr(strip, "row_text") else [strip.item(i).text() for i in rows]
    return next(t for t in texts if t.startswith(document.title))


def test_review_shows_the_mask_the_batch_wrote_once_per_photo(qtbot: QtBot, window: MainWindow,
                                                              tmp_path: Path) -> None:
    from clearbg_desktop.core.imaging.refine import RefineSettings
    from clearbg_desktop.core.inference.doubt import doubt_of

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for seed in range(3):
        make_photo((200, 150), seed=seed).save(shoot / f"p{seed}.jpg")
    out = tmp_path / "out"
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):  # its own settings: not the window's masks
        window.batch.start([shoot], out, ExportOptions(refine=RefineSettings(threshold=128)), "small", "skip")
    window.batch.summary.close()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([shoot / "p0.jpg"])  # already open when reviewed
    documents = window.batch.review(threshold=0.0)
    for document in documents:
        qtbot.waitUntil(lambda d=document: d.ready, timeout=WAIT_MS)
    assert len(documents) == 3 and len(window.workspace.documents) == 3  # p0.jpg reviewed in place
    reviewed = [d for d in documents if d.path.name != "p0.jpg"]
    for document in reviewed:
        np.testing.assert_array_equal(document.alpha, written_alpha(document.review.output))
        assert not np.array_equal(document.alpha, np.asarray(window.inference.worker.segmenter.predict_alpha(
            document.loaded.rgb)))  # the window's model would have shown another mask
    assert window.open_paths([shoot / "p1.jpg"])[0] in reviewed and len(window.workspace.documents) == 3
    fixed = reviewed[0]
    window.show_document(fixed)
    fixed.alpha[...] = 0
    window.window_actions.export.trigger()
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        button(window.messages.shown, "Replace").click()
    new = doubt_of(fixed.alpha).score
    assert fixed.review.doubt == new and filmstrip_text(window, fixed).splitlines()[-1] == f"⚠ {new:.2f}"


def test_recovered_work_saves_to_its_project_and_autosave_is_a_preference(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QFileDialog

    from clearbg_desktop.core.editing.project import read_project

    document = open_shoot(qtbot, window, tmp_path / "shoot", 1)[0]
    project = tmp_path / "work.clearbg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(project), ""))
    window.window_actions.save.trigger()
    window.window_actions.invert.trigger()  # edited after saving, then a crash
    written = window.projects.autosave()
    crashed = written[0].with_name("999999999-1.clearbg")
    written[0].rename(crashed)
    edited = document.alpha.copy()
    window.window_actions.close_doc.trigger()
    button(window.messages.shown, "Discard").click()
    box = window.projects.offer_recovery()
    assert box is not None and "p0.png" in box.text() and "work.clearbg" in box.text()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        button(box, "Recover").click()
    recovered = blocker.args[0]
    assert recovered.project_path == project and window.isWindowModified()

    def no_dialog(*_: object, **__: object) -> tuple[str, str]:
        raise AssertionError("Ctrl+S asked for a new file")

    monkeypatch.setattr(QFileDialog, "getSaveFileName", no_dialog)
    window.window_actions.save.trigger()
    np.testing.assert_array_equal(read_project(project).alpha, edited)
    assert not window.isWindowModified()
    dialog = window.open_preferences()
    dialog.autosave_box.setValue(7)
    dialog.accept()
    assert window.settings.autosave_minutes == 7 and window.projects.autosave_timer.interval() == 7 * 60_000


def test_holding_backslash_compares_wherever_the_focus_is(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    open_shoot(qtbot, window, tmp_path / "shoot", 1)
    window.filmstrip.setFocus()
    for widget in (window.filmstrip, window.panels.refine_panel.apply_button):
        qtbot.keyPress(widget, Qt.Key.Key_Backslash)
        assert window.canvas.comparing
        qtbot.keyRelease(widget, Qt.Key.Key_Backslash)
        assert not window.canvas.comparing


def test_a_brush_press_during_a_refine_preview_says_why_and_reset_clears_the_status(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QToolTip

    from clearbg_desktop.core.imaging.refine import RefineSettings
    from tests.gui.test_brushes import view_point

    open_shoot(qtbot, window, tmp_path / "shoot", 1)
    window.refine.request(RefineSettings(feather=3.0))
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Refinement preview"), timeout=WAIT_MS)
    before = window.workspace.current.alpha.copy()
    qtbot.mousePress(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window.canvas, 100, 100))
    qtbot.mouseRelease(window.canvas.viewport(), Qt.MouseButton.LeftButton, pos=view_point(window.canvas, 100, 100))
    message = window.statusBar().currentMessage()
    assert "brush is paused" in message and "Apply" in message and "Reset" in message
    assert QToolTip.text() == message
    np.testing.assert_array_equal(window.workspace.current.alpha, before)
    window.panels.refine_panel.reset_button.click()
    assert not window.statusBar().currentMessage().startswith("Refinement preview")


def test_the_jpeg_size_estimate_is_close_to_the_file_written(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    import re

    open_shoot(qtbot, window, tmp_path / "shoot", 1)
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("jpg", "png"):
        window.window_actions.export.trigger()
        dialog = window.exporter.dialog
        dialog.folder_edit.setText(str(out))
        dialog.form.format_box.setCurrentIndex(dialog.form.format_box.findData(fmt))
        with qtbot.waitSignal(dialog.filled, timeout=WAIT_MS):  # the estimate is made off the GUI thread
            dialog.refresh()
        number, unit = re.search(r"about ([\d.]+) (bytes|KB|MB)", dialog.size_label.text()).groups()
        estimate = float(number) * {"bytes": 1, "KB": 1024, "MB": 1024 ** 2}[unit]
        with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        written = Path(blocker.args[0]).stat().st_size
        assert abs(estimate / written - 1) < 0.15, (fmt, estimate, written)


def test_small_traps_enter_esc_recent_names_and_failure_lines(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import Qt

    from clearbg_desktop.core.batch import BatchItem, BatchReport, FileResult
    from clearbg_desktop.core.imaging.refine import RefineSettings
    from clearbg_desktop.gui.dialogs.batch_dialog import BatchSummaryDialog

    document = open_shoot(qtbot, window, tmp_path / "a", 1)[0]
    open_shoot(qtbot, window, tmp_path / "b", 1)
    labels = [a.text() for a in window.window_actions.recent_menu.actions()]
    assert len(labels) == 2 and labels[0] != labels[1] and all("p0.png — " in label for label in labels)
    window.show_document(document)
    before = document.alpha.copy()
    window.refine.request(RefineSettings(threshold=250))
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Refinement preview"), timeout=WAIT_MS)
    window.filmstrip.setFocus()
    qtbot.keyClick(window.filmstrip, Qt.Key.Key_Escape)  # Esc: Reset
    np.testing.assert_array_equal(document.alpha, before)
    window.panels.refine_panel.threshold.setValue(250)
    window.panels.refine_panel.threshold_enabled.setChecked(True)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Refinement preview"), timeout=WAIT_MS)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)  # Enter: Apply (the preview on screen, or when it is ready)
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() == "Refinement applied", timeout=WAIT_MS)
    assert window.isWindowModified()
    report = BatchReport([FileResult(BatchItem(tmp_path / "x.jpg", tmp_path / "x.png"), "failed", "x.jpg: broken")])
    summary = BatchSummaryDialog(report, tmp_path, window)
    assert summary.failures.item(0).text() == "x.jpg: broken"


def runs_along(image, y: int, left: int, right: int) -> list[int]:  # noqa: ANN001 - a QImage
    """Lengths of the runs of one colour along row ``y`` of a screen grab."""
    runs, previous = [0], None
    for x in range(left, right):
        colour = image.pixel(x, y)
        if colour == previous:
            runs[-1] += 1
        else:
            runs.append(1)
        previous = colour
    return runs[2:-1]  # whole runs only


def test_brush_and_checkerboard_keep_their_screen_size_on_a_large_photo(qtbot: QtBot, window: MainWindow,
                                                                        tmp_path: Path) -> None:
    from PySide6.QtCore import QPoint

    photo = tmp_path / "large.png"
    make_photo((3000, 2000)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    document = blocker.args[0]
    canvas = window.canvas
    qtbot.waitUntil(lambda: not canvas.is_rendering, timeout=WAIT_MS)
    assert canvas.zoom < 0.3
    document.alpha[...] = 0
    with qtbot.waitSignal(canvas.rendered, timeout=WAIT_MS):
        canvas.refresh()
    grab = canvas.viewport().grab().toImage()
    middle = canvas.mapFromScene(1500, 1000)
    runs = runs_along(grab, middle.y(), canvas.mapFromScene(100, 0).x(), canvas.mapFromScene(2900, 0).x())
    assert len(runs) > 20 and all(9 <= run <= 11 for run in runs), runs  # 10 px cells, not a grey moiré
    window.brush_bar.size_box.setValue(40)
    window.brush_bar.hardness_slider.setValue(100)
    qtbot.mouseMove(canvas.viewport(), QPoint(middle.x(), middle.y()))
    assert canvas.tool.outline.rect().width() == pytest.approx(40 / canvas.zoom, rel=0.01)
    drag(qtbot, canvas, [(1000, 1000), (2000, 1000)])
    painted = np.flatnonzero(document.alpha[:, 1500])
    assert painted.size == pytest.approx(40 / canvas.zoom, rel=0.1)  # 40 px on screen, not a 40 px hairline


def test_brush_sliders_show_their_values(qtbot: QtBot, window: MainWindow) -> None:
    bar = window.brush_bar
    bar.hardness_slider.setValue(35)
    bar.opacity_slider.setValue(80)
    assert bar.value_labels[bar.hardness_slider].text() == "35 %"
    assert bar.value_labels[bar.opacity_slider].text() == "80 %"
    assert bar.value_labels[bar.opacity_slider].isVisible()


def light_pixels(window: MainWindow) -> int:
    image = window.canvas.viewport().grab().toImage()
    return sum(QColor(image.pixel(x, y)).lightness() > 150
               for x in range(0, image.width(), 2) for y in range(image.height() // 2 - 30, image.height() // 2 + 30))


def test_the_empty_window_hints_the_title_names_the_project_and_no_circle_outlives_its_photo(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QFileDialog

    assert light_pixels(window) > 50  # "Drop photos here or press Ctrl+O" on the empty canvas
    document = open_shoot(qtbot, window, tmp_path / "shoot", 1)[0]
    assert window.windowTitle() == "p0.png[*] — ClearBG"
    project = tmp_path / "work.clearbg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(project), ""))
    window.window_actions.save.trigger()
    assert document.project_path == project and window.windowTitle() == "p0.png — work.clearbg[*] — ClearBG"
    window.set_view_mode("mask")  # a white subject on black: the hint's test must not see it
    qtbot.mouseMove(window.canvas.viewport(), QPoint(100, 100))
    assert window.canvas.tool.outline.isVisible()
    window.window_actions.close_doc.trigger()  # Ctrl+W
    assert not window.canvas.tool.outline.isVisible()
    assert window.windowTitle() == "ClearBG[*]" and light_pixels(window) > 50


@pytest.mark.slow
def test_importing_rembg_models_skips_installed_content_and_says_what_it_added(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    pytest.importorskip("onnx")
    from clearbg_desktop.core.inference.model_library import add_model_file, installed_models
    from tests.core.inference.test_official_weights import export_onnx, randomised

    rembg = tmp_path / "u2net-home"
    rembg.mkdir()
    export_onnx(randomised("small", seed=0), rembg / "u2netp.onnx", size=320)
    export_onnx(randomised("small", seed=1), rembg / "silueta.onnx", size=320)
    shutil.copy(rembg / "u2netp.onnx", tmp_path / "mine.onnx")
    add_model_file(tmp_path / "mine.onnx", "mine")  # the same weights, installed before under another name
    monkeypatch.setenv("U2NET_HOME", str(rembg))
    dialog = window.open_preferences()
    assert dialog.import_rembg_models() == ["silueta.onnx"]
    names = [row.name for row in installed_models()]
    assert "silueta" in names and "u2netp" not in names and names.count("mine") == 1
    assert dialog.import_progress is not None and dialog.import_progress.maximum() == 2
    assert dialog.models_note.text() == ("1 model added from rembg: silueta.onnx; "
                                         "already installed: u2netp.onnx (as mine).")
    dialog.reject()


def test_the_batch_dialog_keeps_its_own_photos_and_format(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    open_shoot(qtbot, window, shoot, 1)
    extra = tmp_path / "extra.jpg"
    make_photo(seed=9).save(extra)
    window.batch.open_dialog([shoot, extra])  # a dropped folder and photo
    dialog = window.batch.dialog
    dialog.form.format_box.setCurrentIndex(dialog.form.format_box.findData("webp"))
    dialog.output.setText(str(tmp_path / "batch-out"))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()
    window.batch.summary.accept()
    window.window_actions.export.trigger()  # a single JPEG for the web meanwhile
    single = window.exporter.dialog
    single.folder_edit.setText(str(tmp_path / "single"))
    single.form.format_box.setCurrentIndex(single.form.format_box.findData("jpg"))
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        single.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    window.window_actions.batch.trigger()  # File ▸ Batch export…
    again = window.batch.dialog
    assert again is not dialog and again.input_paths() == [shoot, extra]
    assert again.form.format_box.currentData() == "webp"
    again.reject()


SCALE_PROBE = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QPoint, QRect
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.app import create_application
    from clearbg_desktop.gui.window.main_window import MainWindow

    app = create_application(sys.argv[:1])
    window = MainWindow(AppSettings(device="cpu"))
    window.show()
    if sys.argv[1] == "shrink":  # the user makes the window small at this scale, then quits
        window.resize(610, 550)
    for _ in range(20):
        app.processEvents()
    apply = window.panels.refine_panel.apply_button
    corner = apply.mapTo(window, QPoint(0, 0))
    print(json.dumps({
        "size": [window.width(), window.height()],
        "screen": [window.screen().availableGeometry().width(), window.screen().availableGeometry().height()],
        "canvas": window.canvas.width() * window.canvas.height(),
        "docks": [d.width() * d.height() for d in (window.panels.photos_dock, window.panels.refine_dock, window.panels.history_dock)],
        "buttons_visible": apply.isVisible() and window.panels.refine_panel.reset_button.isVisible(),
        "buttons_scroll": window.panels.refine_scroller.isAncestorOf(apply),
        "buttons_inside": window.rect().contains(QRect(corner, apply.size())),
    }))
    window.quit_guard.confirmed = True
    window.close()
""")


@pytest.mark.slow
def test_each_scale_keeps_its_own_window_and_apply_reset_never_scroll(tmp_path: Path, random_weights: Path) -> None:
    import json

    screens = tmp_path / "screen.json"  # a 1600×1000 screen, whatever the offscreen default
    screens.write_text(json.dumps({"screens": [{"name": "s", "x": 0, "y": 0, "width": 1600, "height": 1000,
                                                "logicalDpi": 96, "dpr": 1}]}))
    script = tmp_path / "scale_probe.py"
    script.write_text(SCALE_PROBE)

    def run(scale: str, action: str = "look") -> dict:
        env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screens}", "QT_SCALE_FACTOR": scale,
               "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "CLEARBG_RESOURCES": str(random_weights.parent),
               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        result = subprocess.run([sys.executable, str(script), action], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert run("1.5", "shrink")["size"] == [610, 550]
    for scale in ("1", "1.5", "2", "1"):  # 1.5's small window stays at 1.5; 2 restores nothing from 1
        layout = run(scale)
        screen_w, screen_h = layout["screen"]
        width, height = layout["size"]
        assert min(900, screen_w // 2) <= width <= screen_w and min(600, screen_h // 2) <= height <= screen_h, (
            scale, layout)
        assert layout["canvas"] > max(layout["docks"]), (scale, layout)
        assert layout["buttons_visible"] and layout["buttons_inside"] and not layout["buttons_scroll"], (scale, layout)
