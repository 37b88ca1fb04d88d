"""The main window driven as a user would: drops, opens, bad files, views, closing mid-inference."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from clearbg_desktop.core.editing.preview import VIEW_MODES
from tests.conftest import make_photo

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


WAIT_MS = 60_000


def drop_files(widget: QWidget, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, drop)


def test_drop_opens_photo_and_shows_its_mask(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "drop me.jpg"
    make_photo((320, 240)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        drop_files(window, [photo])
    document = blocker.args[0]
    assert document.alpha.shape == (240, 320) and document.alpha.dtype == np.uint8
    assert window.workspace.current is document and window.canvas.document is document
    shown = window.canvas.displayed_array()
    assert shown.shape == (240, 320, 4)  # cut-out view: RGBA
    assert np.array_equal(shown[..., 3], document.alpha)
    assert window.context.recent.files()[0].endswith("drop me.jpg")


def test_drop_several_makes_a_filmstrip(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    paths = []
    for index in range(3):
        paths.append(tmp_path / f"p{index}.png")
        make_photo(seed=index).save(paths[-1])
    (tmp_path / "readme.txt").write_text("not a photo")
    with qtbot.waitSignals([window.document_ready] * 3, timeout=WAIT_MS):
        drop_files(window, paths + [tmp_path / "readme.txt"])
    assert window.filmstrip.count() == 3
    window.filmstrip.setCurrentRow(0)
    assert window.workspace.current.title == "p0.png"


def test_open_action_path_and_corrupt_file_keep_the_window_usable(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    good = tmp_path / "good.jpg"
    make_photo().save(good)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([good])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(good.read_bytes()[:200])
    with qtbot.waitSignal(window.document_failed, timeout=WAIT_MS) as blocker:
        window.open_paths([broken])
    assert "broken.jpg" in blocker.args[1]
    assert window.messages.shown is not None and "broken.jpg" in window.messages.shown.text()
    assert "broken.jpg" in window.statusBar().currentMessage()
    window.messages.shown.accept()
    assert [d.title for d in window.workspace.documents] == ["good.jpg"]  # the good photo is still open
    assert window.workspace.current.title == "good.jpg" and window.workspace.current.alpha is not None
    assert broken.read_bytes() == good.read_bytes()[:200]


def test_gui_thread_is_never_blocked_during_inference(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "big.jpg"
    make_photo((3000, 2000)).save(photo, quality=90)  # 6 MP: decode + inference + upsample
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    timer.stop()
    window.set_view_mode("mask")  # (rendering a 6 MP view runs on the GUI thread by design)
    assert len(gaps) > 5
    assert max(gaps[1:]) < 0.25, f"longest event-loop gap {max(gaps) * 1000:.0f} ms"


def test_closing_during_inference_stops_the_thread(qtbot: QtBot, random_weights: Path, tmp_path: Path) -> None:
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.main_window import MainWindow

    photo = tmp_path / "p.jpg"
    make_photo((2000, 1500)).save(photo)
    win = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(win)
    win.show()
    win.open_paths([photo])
    assert win.inference.qthread.isRunning()
    win.close()
    assert not win.inference.qthread.isRunning()


def test_view_modes_switch_and_screenshots(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    make_photo((320, 240)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    seen = {}
    for mode in VIEW_MODES:
        window.window_actions.views[mode].trigger()
        assert window.canvas.view_mode == mode
        seen[mode] = window.canvas.displayed_array()
        assert window.grab().save(str(tmp_path / f"view-{mode}.png"))
    assert seen["cutout"].shape[2] == 4 and seen["mask"].shape[2] == 3
    assert np.array_equal(seen["original"], window.workspace.current.rgb)
    assert not np.array_equal(seen["overlay"], seen["original"])
    window.canvas.set_comparing(True)  # hold-to-compare shows the original
    assert np.array_equal(window.canvas.displayed_array(), window.workspace.current.rgb)
    window.canvas.set_comparing(False)
    window.canvas.zoom_actual()
    assert window.canvas.zoom == pytest.approx(1.0)
    window.window_actions.zoom_in.trigger()
    assert window.canvas.zoom == pytest.approx(1.25)


def test_paste_image_from_clipboard(qtbot: QtBot, window: MainWindow) -> None:
    image = QImage(120, 90, QImage.Format.Format_RGB32)
    image.fill(0xFF3366AA)
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.window_actions.paste.trigger()
    assert blocker.args[0].title == "Pasted image 1" and blocker.args[0].alpha.shape == (90, 120)


def test_missing_weights_is_a_message_not_a_traceback(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.main_window import MainWindow

    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "nothing"))
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    win = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.document_failed, timeout=WAIT_MS) as blocker:
        win.open_paths([photo])
    assert "no weights for the 'small' model" in blocker.args[1]
    assert win.workspace.current is not None and win.workspace.current.loaded is not None  # the photo stays open
    win.close()


def test_preferences_and_about(qtbot: QtBot, window: MainWindow) -> None:
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    dialog = PreferencesDialog(window.settings, window)
    qtbot.addWidget(dialog)
    dialog.device_box.setCurrentIndex(dialog.device_box.findData("cpu"))
    assert dialog.model() == "auto"  # nobody chose a model: the default follows what is installed
    window.apply_preferences(dialog.device(), dialog.model())
    assert AppSettings.load().device == "cpu"
    window.window_actions.about.trigger()
    assert "SHA-256" in window.messages.shown.text() and "small" in window.messages.shown.text()
    window.messages.shown.accept()


@pytest.mark.slow
def test_screenshot_command(random_weights: Path, tmp_path: Path) -> None:
    photo = tmp_path / "p.jpg"
    make_photo((320, 240)).save(photo)
    out = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, "-m", "clearbg_desktop", "--screenshot", str(out), "--view", "overlay", "--size", "800x600",
         str(photo)], capture_output=True, text=True, timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    assert QImage(str(out)).size().width() == 800
    bad = subprocess.run([sys.executable, "-m", "clearbg_desktop", "--screenshot", str(out), str(tmp_path / "no.jpg")],
                         capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert bad.returncode == 1 and "not found" in bad.stderr
