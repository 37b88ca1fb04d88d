"""A dialog's slow work (size estimates, previews, what the machine has) off the GUI thread, newest first.

Dialogs open at once and fill in what takes time (#37: the Export dialog took 3–8 s on a 20 MP photo, the
first Preferences 2–7 s while it imported torch). Each job has a kind ("preview", "estimate"…); a newer job of
the same kind makes the older one stale: it is skipped if it has not started, and its result is dropped if it
has. Results travel as plain Python objects and numpy arrays, never QPixmap.

The work runs on two daemon threads shared by all dialogs, one for quick jobs (a preview) and one for slow ones
(a size estimate, importing torch): a preview never waits behind an estimate already running, which cannot be
stopped; a slow job left running when the app quits never holds the quit back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)


@dataclass
class _Job:
    owner: DialogJobs
    kind: str
    token: int
    work: Callable[[], Any]
    slow: bool


class _JobThread:
    """One daemon thread running the jobs in the order they came, skipping stale ones."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: _Job) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job.owner.is_stale(job.kind, job.token):
                continue  # a newer job of this kind came, or the dialog closed, before this one started
            try:
                result, error = job.work(), ""
            except Exception as exc:  # noqa: BLE001 - said in the dialog, never lost in a thread
                log.warning("dialog job %s failed", job.kind, exc_info=True)
                result, error = None, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
            try:
                job.owner.arrived.emit(job.kind, job.token, result, error)
            except RuntimeError:
                pass  # the dialog is gone: nobody to tell


_QUICK, _SLOW = _JobThread("clearbg-dialog-quick"), _JobThread("clearbg-dialog-slow")


class DialogJobs(QObject):
    """The background jobs of one dialog. While any is pending the cursor shows busy (the arrow with an
    hourglass: the dialog can be used meanwhile); :meth:`stop` (the dialog closed) drops every result.

    Signals:
        delivered(str, object): kind, the result of the newest job of that kind.
        failed(str, str): kind, a message for the user.
        arrived(str, int, object, str): internal, from the job thread: kind, token, result, error.
    """

    delivered = Signal(str, object)
    failed = Signal(str, str)
    arrived = Signal(str, int, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tokens: dict[str, int] = {}
        self._pending: set[str] = set()
        self._lock = threading.Lock()  # tokens are read by the job thread
        self._busy_cursor = False
        self._waiting: list[_Job] = []
        self.arrived.connect(self._on_arrived, Qt.ConnectionType.QueuedConnection)

    def submit(self, kind: str, work: Callable[[], Any], slow: bool = False) -> None:
        """Run ``work()`` off the GUI thread (``slow``: behind other slow jobs, not quick ones); any older ``kind``
        job's result will be dropped.

        The job starts once the event loop runs again: a dialog is painted before its work begins to take the
        CPU and the interpreter from it (a first import of torch alone made the first paint 0.2–0.3 s late)."""
        with self._lock:
            token = self._tokens.get(kind, 0) + 1
            self._tokens[kind] = token
        self._pending.add(kind)
        self._set_busy(True)
        if not self._waiting:
            QTimer.singleShot(0, self._release)
        self._waiting.append(_Job(self, kind, token, work, slow))

    def _release(self) -> None:
        waiting, self._waiting = self._waiting, []
        for job in waiting:
            if not self.is_stale(job.kind, job.token):
                (_SLOW if job.slow else _QUICK).submit(job)

    def pending(self, kind: str | None = None) -> bool:
        """Whether a result (of ``kind``, or of any kind) is still to come."""
        return bool(self._pending) if kind is None else kind in self._pending

    def stop(self) -> None:
        """Drop every result still to come (the dialog closed)."""
        with self._lock:
            for kind in self._tokens:
                self._tokens[kind] += 1
        self._pending.clear()
        self._set_busy(False)

    def is_stale(self, kind: str, token: int) -> bool:
        """Thread-safe: whether a newer job of ``kind`` was submitted, or the jobs were stopped."""
        with self._lock:
            return self._tokens.get(kind) != token

    def _on_arrived(self, kind: str, token: int, result: object, error: str) -> None:
        if self.is_stale(kind, token):
            return
        self._pending.discard(kind)
        if not self._pending:
            self._set_busy(False)
        if error:
            self.failed.emit(kind, error)
        else:
            self.delivered.emit(kind, result)

    def _set_busy(self, busy: bool) -> None:
        if busy == self._busy_cursor:
            return
        self._busy_cursor = busy
        if busy:
            QApplication.setOverrideCursor(Qt.CursorShape.BusyCursor)
        else:
            QApplication.restoreOverrideCursor()
