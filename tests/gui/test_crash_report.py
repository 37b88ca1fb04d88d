"""Crash reports in the window (#43): an exception in a slot and in a worker each write a report to the log
folder and show it once, with "Copy report" and "Open log folder"."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QObject, QThread, QTimer, Signal
from PySide6.QtGui import QGuiApplication

from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.paths import log_dir
from clearbg_desktop.gui.dialogs.crash_dialog import CrashDialog, CrashReporter
from clearbg_desktop.gui.window.app import install_crash_reports

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

# pytest-qt would take the exceptions itself (and fail the test): here the app's own hook must see them.
pytestmark = pytest.mark.qt_no_exception_capture


class Boom(RuntimeError):
    pass


class Worker(QObject):
    """A worker object on its own QThread, as the app's inference and decode workers are."""

    start = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.start.connect(self.run)

    def run(self) -> None:
        raise Boom("in the worker, while cutting out '/home/ann/Kunde/IMG_0042.jpg'")


@pytest.fixture
def reporter(window) -> Iterator[CrashReporter]:  # type: ignore[no-untyped-def]
    installed = install_crash_reports(window)
    yield installed
    installed.uninstall()
    if installed.dialog is not None:
        installed.dialog.close()


def _reports() -> list[Path]:
    return sorted(log_dir().glob("crash-*.txt"))


def test_an_exception_in_a_slot_writes_a_report_and_shows_it(qtbot: QtBot, window, reporter: CrashReporter,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    def slot() -> None:
        raise Boom("in a slot of the window")

    qtbot.waitUntil(lambda: bool(window.results.model_description), timeout=20000)
    QTimer.singleShot(0, slot)
    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible(), timeout=5000)
    dialog = reporter.dialog
    assert isinstance(dialog, CrashDialog) and dialog.parent() is window
    [path] = _reports()
    text = path.read_text(encoding="utf-8")
    assert dialog.text == text
    assert "Where: the window (GUI thread)" in text
    assert "Boom: in a slot of the window" in text and "in slot" in text
    assert "Model: U²-Net small (fastest) (setting: auto)" in text and f"Engine: {window.results.model_description}\n" in text
    assert "Device preference: cpu" in text and "Open photos: 0" in text
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == text
    assert "Boom" in capsys.readouterr().err  # still printed/logged as before
    dialog.close()
    qtbot.waitUntil(lambda: reporter.dialog is None)


def test_an_exception_in_a_worker_thread_is_reported_on_the_gui_thread(qtbot: QtBot, window,
                                                                      reporter: CrashReporter) -> None:
    thread = QThread()
    thread.setObjectName("test-worker")
    worker = Worker()
    worker.moveToThread(thread)
    thread.start()
    try:
        worker.start.emit()
        qtbot.waitUntil(lambda: reporter.dialog is not None, timeout=5000)
    finally:
        thread.quit()
        thread.wait()
    [path] = _reports()
    text = path.read_text(encoding="utf-8")
    assert "Where: a worker thread (test-worker)" in text and "Boom: in the worker" in text
    assert "Kunde" not in text and "IMG_0042" not in text and "<path>.jpg" in text


class CatchingWorker(Worker):
    """A worker whose catch-all turns every error into a message (as the app's jobs do) and notes the unexpected."""

    failed = Signal(str)

    def run(self) -> None:
        try:
            {}["missing"]  # a bug, not a bad photo
        except Exception as exc:
            note_unexpected(exc, "test job")
            self.failed.emit(str(exc))


def test_an_error_a_worker_catches_but_did_not_expect_is_reported(qtbot: QtBot, window,
                                                                  reporter: CrashReporter) -> None:
    thread = QThread()
    thread.setObjectName("catching-worker")
    worker = CatchingWorker()
    worker.moveToThread(thread)
    told: list[str] = []
    worker.failed.connect(told.append)
    thread.start()
    try:
        worker.start.emit()
        qtbot.waitUntil(lambda: bool(told) and reporter.dialog is not None, timeout=5000)
    finally:
        thread.quit()
        thread.wait()
    assert "Where: test job, in a worker thread (catching-worker)" in reporter.dialog.text
    assert "KeyError: 'missing'" in reporter.dialog.text and told == ["'missing'"]  # the user is told as before
    reporter.uninstall()
    note_unexpected(KeyError("after"), "no window")  # nobody registered: nothing happens, nothing raises
    assert len(_reports()) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_python_thread_and_a_repeat_make_reports_but_one_dialog(qtbot: QtBot, window,
                                                                 reporter: CrashReporter) -> None:
    def crash() -> None:
        raise Boom("in a Python thread")

    for _ in range(3):
        thread = threading.Thread(target=crash, name="clearbg-test-thread")
        thread.start()
        thread.join()
    qtbot.waitUntil(lambda: reporter.dialog is not None, timeout=5000)
    qtbot.wait(50)
    assert len(_reports()) == 3
    assert "Where: Python thread 'clearbg-test-thread'" in reporter.dialog.text
    assert len(window.findChildren(CrashDialog)) == 1


def test_the_dialog_opens_the_log_folder(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    from PySide6.QtGui import QDesktopServices

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    dialog = CrashDialog("report", log_dir() / "crash-1.txt")
    qtbot.addWidget(dialog)
    dialog.folder_button.click()
    assert opened == [str(log_dir())]


def test_a_bug_in_a_window_job_is_said_and_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The window's jobs catch everything so the user always hears of it; a bug among those also makes a report."""
    from clearbg_desktop.core.crash_report import set_unexpected_handler
    from clearbg_desktop.core.editing.document import Document
    from clearbg_desktop.gui.jobs import decode_jobs

    def broken(document: Document) -> None:
        raise KeyError("a bug")

    monkeypatch.setattr(decode_jobs, "reload_photo", broken)  # a fault injected where the job calls the core
    noted: list[str] = []
    said: list[str] = []
    set_unexpected_handler(lambda exc, where: noted.append(where))
    signals = decode_jobs.DecodeSignals()
    signals.failed.connect(lambda _doc_id, message: said.append(message))
    try:
        decode_jobs.decode_job(signals, Document(title="p.jpg", path=tmp_path / "p.jpg"))
    finally:
        set_unexpected_handler(None)
    assert noted == ["decoding a photo"] and "KeyError" in said[0]
