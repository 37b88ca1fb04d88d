"""A tool's edit worked out off the GUI thread: a lasso's edge solve or a click on a 24 MP mask takes a second or
more, and the window must not freeze meanwhile. The job sees a snapshot of the mask; its edit is applied on the
GUI thread only if the mask under it is still what the job saw (an undo meanwhile is never silently reverted)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.editing.mask_edits import MaskEdit

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
        signals.computed.emit(number, doc_id, None, f"That edit failed ({type(exc).__name__}: {exc})")


def still_applies(alpha: np.ndarray, edit: MaskEdit) -> bool:
    """The mask under the edit is what the job worked from (nothing was painted or undone there meanwhile)."""
    left, top, right, bottom = edit.box
    return bool(np.array_equal(alpha[top:bottom, left:right], edit.before))
