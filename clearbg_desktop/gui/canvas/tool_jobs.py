"""A tool's edit worked out off the GUI thread: a lasso's edge solve or a click on a 24 MP mask takes a second or
more, and the window must not freeze meanwhile. The job sees a snapshot of the mask; its edit is applied on the
GUI thread only if the mask under it is still what the job saw (an undo meanwhile is never silently reverted)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.gui.tools.base import ToolHost

EditCompute = Callable[[np.ndarray], "MaskEdit | None"]  # the mask's snapshot -> the edit, or None: no change

TOOL_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearbg-tool")


class ToolJobSignals(QObject):
    """Signals:
        computed(int, int, object, str): job number, doc id, the MaskEdit or None, an error for the user or "".
    """

    computed = Signal(int, int, object, str)


def tool_job(signals: ToolJobSignals, number: int, doc_id: int, compute: EditCompute, snapshot: np.ndarray) -> None:
    try:
        signals.computed.emit(number, doc_id, compute(snapshot), "")
    except MemoryError:
        signals.computed.emit(number, doc_id, None, "Not enough memory for that edit")
    except Exception as exc:  # noqa: BLE001 - a tool's failure reaches the user; the window goes on
        note_unexpected(exc, "a canvas tool's edit")  # a bug, not a bad photo: a crash report too
        signals.computed.emit(number, doc_id, None, f"That edit failed ({type(exc).__name__}: {exc})")


class ToolJobs:
    """The canvas's tool jobs, one at a time. ``finished`` gets each edit applied (the canvas's ``stroke_finished``,
    which puts it on the undo stack)."""

    def __init__(self, canvas: ToolHost, finished: Callable[[MaskEdit], object]) -> None:
        self.canvas = canvas
        self.finished = finished
        self.started = self.done = 0
        self.signals = ToolJobSignals()  # no parent: a job in flight may outlive the canvas
        self.signals.computed.connect(self._on_computed)

    @property
    def busy(self) -> bool:
        return self.started > self.done

    def start(self, compute: EditCompute, message: str) -> bool:
        document = self.canvas.document
        if document is None or document.alpha is None:
            return False
        self.started += 1
        self.canvas.say(message, 0)  # until its result says otherwise
        TOOL_POOL.submit(tool_job, self.signals, self.started, document.doc_id, compute, document.alpha.copy())
        return True

    def _on_computed(self, number: int, doc_id: int, edit: MaskEdit | None, error: str) -> None:
        self.done = number
        canvas, document = self.canvas, self.canvas.document
        if error:
            canvas.say(error)
        elif edit is None:
            canvas.say("That changed nothing")
        elif document is None or document.doc_id != doc_id or document.alpha is None:
            canvas.say("The photo was changed before the edit was ready; it was not applied")
        elif not still_applies(document.alpha, edit):
            canvas.say("The mask changed while the edit was worked out; it was not applied: try again")
        else:
            edit.apply(document.alpha)
            canvas.repaint_region(edit.box)
            canvas.say(f"{edit.label}: done (Ctrl+Z undoes it)")
            self.finished(edit)


def still_applies(alpha: np.ndarray, edit: MaskEdit) -> bool:
    """The mask under the edit is what the job worked from (nothing was painted or undone there meanwhile)."""
    left, top, right, bottom = edit.box
    return bool(np.array_equal(alpha[top:bottom, left:right], edit.before))
