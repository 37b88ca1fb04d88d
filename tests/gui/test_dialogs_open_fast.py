"""#37.4: dialogs open at once and fill in what takes time (preview, size estimate, the machine's devices).

Behaviour, not time: right after the action the dialog is shown with placeholders; the slow results arrive
later from the job thread; a newer option change drops an older estimate; closing the dialog while a job
runs shows nothing and leaves the cursor as it was. (bench/dialog_open.py measures the times.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication

from tests.conftest import make_photo
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def open_photo(qtbot: QtBot, window: MainWindow, folder: Path, size: tuple[int, int] = (480, 360)):
    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "portrait.jpg"
    make_photo(size).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    return blocker.args[0]


def test_export_dialog_is_shown_before_its_preview_and_estimate_which_fill_in(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path / "shoot")
    window.window_actions.export.trigger()  # no event is processed until the asserts below
    dialog = window.exporter.dialog
    assert dialog is not None and dialog.isVisible()
    assert "estimating" in dialog.size_label.text() and dialog.preview.pixmap().isNull()
    assert QApplication.overrideCursor() is not None
    assert QApplication.overrideCursor().shape() == Qt.CursorShape.BusyCursor  # taken, and still working
    qtbot.waitUntil(lambda: "about" in dialog.size_label.text() and not dialog.preview.pixmap().isNull(),
                    timeout=WAIT_MS)
    assert QApplication.overrideCursor() is None  # nothing left to wait for
    dialog.reject()


def test_a_newer_option_change_drops_the_older_estimate(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from clearbg_desktop.core.imaging.output_size import estimate_output_bytes
    from clearbg_desktop.gui.dialogs.export_dialog import format_bytes

    document = open_photo(qtbot, window, tmp_path / "shoot")
    window.window_actions.export.trigger()
    dialog = window.exporter.dialog
    estimates: list[object] = []
    dialog.jobs.delivered.connect(lambda kind, result: estimates.append(result) if kind == "estimate" else None)
    form = dialog.form
    form.format_box.setCurrentIndex(form.format_box.findData("png"))
    dialog.refresh()  # a PNG estimate on its way…
    form.format_box.setCurrentIndex(form.format_box.findData("jpg"))
    with qtbot.waitSignal(dialog.filled, timeout=WAIT_MS):
        dialog.refresh()  # …made stale by a JPEG one before any result came back
    jpeg = estimate_output_bytes(document.loaded, Image.fromarray(document.alpha, "L"), dialog.options())
    assert estimates == [jpeg]  # only the newest arrived; the older ones were dropped
    assert f"about {format_bytes(jpeg)}" in dialog.size_label.text()
    dialog.reject()


def test_closing_the_export_dialog_while_it_estimates_shows_nothing_and_restores_the_cursor(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from clearbg_desktop.gui.dialogs.dialog_jobs import DialogJobs

    open_photo(qtbot, window, tmp_path / "shoot", (1600, 1200))
    window.window_actions.export.trigger()
    dialog = window.exporter.dialog
    arrived: list[str] = []
    dialog.jobs.delivered.connect(lambda kind, _result: arrived.append(kind))
    dialog.reject()  # while the preview and estimate are still being made
    dialog.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert QApplication.overrideCursor() is None
    later = DialogJobs()  # jobs run in order: once these are delivered, the closed dialog's have ended
    ended: list[str] = []
    later.delivered.connect(lambda kind, _result: ended.append(kind))
    later.submit("quick", lambda: "done")
    later.submit("slow", lambda: "done", slow=True)
    qtbot.waitUntil(lambda: sorted(ended) == ["quick", "slow"], timeout=WAIT_MS)
    qtbot.wait(50)
    assert arrived == [] and QApplication.overrideCursor() is None
    window.window_actions.export.trigger()  # and the next dialog works as before
    qtbot.waitUntil(lambda: "about" in window.exporter.dialog.size_label.text(), timeout=WAIT_MS)
    window.exporter.dialog.reject()


def test_preferences_open_before_the_machine_is_asked_for_its_devices(qtbot: QtBot, window: MainWindow) -> None:
    from clearbg_desktop.core.inference.devices import DEVICE_CHOICES, preferred_device_type

    dialog = window.open_preferences()  # asking torch for the devices imports it: seconds on a first open
    assert dialog.isVisible()
    assert not dialog.device_box.isEnabled() and "checking" in dialog.device_box.currentText()
    assert dialog.device() == window.settings.device  # OK meanwhile keeps the device as it is
    with qtbot.waitSignal(dialog.devices_found, timeout=WAIT_MS):
        pass
    assert dialog.device_box.isEnabled() and dialog.device_box.count() == len(DEVICE_CHOICES)
    assert dialog.device() == window.settings.device
    assert f"Automatic uses: {preferred_device_type().upper()}" == dialog.auto_label.text()
    assert QApplication.overrideCursor() is None
    dialog.reject()


def test_batch_dialog_opens_before_its_folders_are_counted(qtbot: QtBot, tmp_path: Path) -> None:
    """A remembered folder may hold a whole photo library: the dialog is shown, the time warning follows."""
    from clearbg_desktop.core.inference.model_library import add_model_file
    from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.dialogs.batch_dialog import BatchDialog
    from tests.core.inference.test_model_families import stand_in

    add_model_file(stand_in(tmp_path / "isnet-general-use.onnx", 1024, 6), "isnet-general-use")
    record_seconds_per_photo("isnet-general-use", "cpu", 12.0, 2)
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for seed in range(3):
        make_photo(seed=seed).save(shoot / f"p{seed}.jpg")
    dialog = BatchDialog(AppSettings(device="cpu", model="isnet-general-use"), [shoot])
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.pending() and not dialog.time_warning.isVisible()  # not counted yet
    qtbot.waitUntil(lambda: dialog.time_warning.isVisible(), timeout=WAIT_MS)
    assert "for 3 photos" in dialog.time_warning.text() and QApplication.overrideCursor() is None
    dialog.reject()


def test_a_quick_job_does_not_wait_behind_a_slow_one_already_running(qtbot: QtBot) -> None:
    """A preview after an option change comes while the last estimate, which cannot be stopped, still runs."""
    import threading

    from clearbg_desktop.gui.dialogs.dialog_jobs import DialogJobs

    jobs = DialogJobs()
    release = threading.Event()
    delivered: list[tuple[str, object]] = []
    jobs.delivered.connect(lambda kind, result: delivered.append((kind, result)))
    jobs.submit("estimate", lambda: release.wait(WAIT_MS / 1000) and 42, slow=True)
    jobs.submit("preview", lambda: "pixels")
    qtbot.waitUntil(lambda: delivered == [("preview", "pixels")], timeout=WAIT_MS)
    assert jobs.pending("estimate") and QApplication.overrideCursor() is not None
    release.set()
    qtbot.waitUntil(lambda: ("estimate", 42) in delivered, timeout=WAIT_MS)
    assert not jobs.pending() and QApplication.overrideCursor() is None
