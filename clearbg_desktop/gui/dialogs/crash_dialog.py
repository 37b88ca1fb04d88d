"""Crash reports in the window: an unexpected exception in a slot or a worker writes a report (``core.crash_report``)
to the log folder and shows it, with "Copy report" and "Open log folder".

Why a hook and not try/except everywhere: an exception in a Qt slot or a worker thread would otherwise be printed
to a console a frozen Windows app does not have, and the user would see nothing, or a window that stopped
responding. ``sys.excepthook`` gets the exceptions of slots (PySide prints them through it) on any thread, and
``threading.excepthook`` those of Python threads; both hand the report to the GUI thread by a queued signal.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.crash_report import report_text, set_unexpected_handler, write_report
from clearbg_desktop.core.paths import log_dir

log = logging.getLogger("clearbg.crash")


class CrashDialog(QDialog):
    """The report as text the user can read before sending it, and the two things to do with it."""

    def __init__(self, text: str, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CrashDialog")
        self.setWindowTitle("ClearBG: something went wrong")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.text = text
        self.path = path
        layout = QVBoxLayout(self)
        kept = f" It is kept in the log folder as {path.name}." if path else ""
        intro = QLabel("ClearBG met an error it did not expect. Your open photos are still open; saving your work now "
                       f"is a good idea.{kept} The report holds no photo and no folder names outside ClearBG's own; "
                       "you can read all of it below before you send it.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.view = QPlainTextEdit(text)
        self.view.setReadOnly(True)
        self.view.setMinimumSize(640, 320)
        layout.addWidget(self.view)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy report")
        self.folder_button = QPushButton("Open log folder")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.folder_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        self.folder_button.clicked.connect(self._on_folder_clicked)
        layout.addWidget(buttons)

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setText("Copied")

    def _on_folder_clicked(self) -> None:
        folder = self.path.parent if self.path else log_dir()
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class CrashReporter(QObject):
    """Turns uncaught exceptions into reports and one dialog at a time.

    Signals:
        reported(str, str): a report was made: its text and the file it was written to ("" when it could not be).
    """

    reported = Signal(str, str)

    def __init__(self, context: Callable[[], Mapping[str, str]] | None = None,
                 parent_widget: Callable[[], QWidget | None] | None = None) -> None:
        super().__init__()
        self._context = context
        self._parent_widget = parent_widget
        self._previous_hook: Callable[..., Any] | None = None
        self._previous_thread_hook: Callable[..., Any] | None = None
        self.dialog: CrashDialog | None = None
        self.reports: list[Path] = []
        self.reported.connect(self._on_reported, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous_hook, sys.excepthook = sys.excepthook, self._excepthook
        self._previous_thread_hook, threading.excepthook = threading.excepthook, self._thread_excepthook
        set_unexpected_handler(self._on_unexpected)

    def uninstall(self) -> None:
        if self._previous_hook is not None and sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_hook
        if self._previous_thread_hook is not None and threading.excepthook == self._thread_excepthook:
            threading.excepthook = self._previous_thread_hook
        set_unexpected_handler(None)

    def _on_unexpected(self, exc: BaseException, where: str) -> None:
        """``core.crash_report.note_unexpected``: an error a worker caught but did not expect."""
        self.report(type(exc), exc, exc.__traceback__, where=f"{where}, in {self._where()}")

    def _excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if self._previous_hook is not None:
            self._previous_hook(kind, value, tb)  # logged (app.setup_logging) and printed as before
        if not issubclass(kind, KeyboardInterrupt):
            self.report(kind, value, tb, where=self._where())

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if self._previous_thread_hook is not None:
            self._previous_thread_hook(args)
        if args.exc_value is not None and not issubclass(args.exc_type, SystemExit):
            name = args.thread.name if args.thread is not None else "?"
            self.report(args.exc_type, args.exc_value, args.exc_traceback, where=f"Python thread {name!r}")

    @staticmethod
    def _where() -> str:
        app = QApplication.instance()
        if app is not None and QThread.currentThread() == app.thread():
            return "the window (GUI thread)"
        name = QThread.currentThread().objectName() or threading.current_thread().name
        return f"a worker thread ({name})"

    def report(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None, where: str) -> Path | None:
        """Write the report (any thread) and ask the GUI thread to show it. Never raises: it runs inside a hook."""
        try:
            context = dict(self._context()) if self._context else {}
        except Exception as exc:  # the window may be half torn down: the report goes without its context
            context = {"Context": f"unavailable ({type(exc).__name__})"}
        try:
            text = report_text(kind, value, tb, where=where, context=context)
        except Exception:
            log.exception("could not make a crash report")
            return None
        path: Path | None
        try:
            path = write_report(text)
            self.reports.append(path)
            log.error("crash report written: %s", path.name)
        except OSError as exc:
            log.error("could not write the crash report: %s", exc)
            path = None
        self.reported.emit(text, str(path) if path else "")
        return path

    def _on_reported(self, text: str, path: str) -> None:
        if self.dialog is not None:  # one dialog at a time: a repeating error is in the log folder, not 50 windows
            return
        parent = self._parent_widget() if self._parent_widget else None
        self.dialog = CrashDialog(text, Path(path) if path else None, parent)
        self.dialog.finished.connect(self._on_dialog_finished)
        self.dialog.open()

    def _on_dialog_finished(self) -> None:
        self.dialog = None
