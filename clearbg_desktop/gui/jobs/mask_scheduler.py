"""Masks for a whole shoot, made in the background: the photo on screen and its neighbours first
(``core.editing.mask_queue``), one photo at a time in the model's hands, with "masks 120 of 500", Pause and Cancel in
the status bar.

One request at a time (not all 500 queued in the worker's event queue) is what lets the order follow the user:
the next photo is chosen when the model is free, from where the user is now.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_queue import MaskQueue
from clearbg_desktop.core.editing.memory_budget import Residency
from clearbg_desktop.gui.jobs.batch_runner import BatchRunner
from clearbg_desktop.gui.jobs.inference_worker import SegmentRequest
from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.window_context import WindowContext


class MaskProgress(QWidget):
    """The status bar's "masks 120 of 500" with Pause/Resume and Cancel (hidden when nothing waits)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MaskProgress")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("", self)
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setObjectName("PauseMasks")
        self.pause_button.setToolTip("Stop making masks after the photo in hand; Resume goes on")
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("CancelMasks")
        self.cancel_button.setToolTip("Make no more masks for the photos still waiting (Re-run model makes one)")
        for widget in (self.label, self.pause_button, self.cancel_button):
            layout.addWidget(widget)
        for button in (self.pause_button, self.cancel_button):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a click leaves the keyboard with the photo
        self.setVisible(False)


class MaskScheduler(QObject):
    """The queue of photos waiting for their mask, and what is in the model's hands now.

    Signals:
        requested(object): send this SegmentRequest to the model (the window submits it and calls ``sent``).
    """

    requested = Signal(object)

    def __init__(self, context: WindowContext, filmstrip: Filmstrip, residency: Residency, batch: BatchRunner) -> None:
        super().__init__(context.parent)
        self.context, self.filmstrip, self.residency, self.batch = context, filmstrip, residency, batch
        self.queue = MaskQueue()
        self._in_flight: dict[int, tuple[int, bool]] = {}  # request id -> (doc id, a mask was asked for)
        self._queued: set[int] = set()  # request ids sent from the queue (they count in "masks 120 of 500")
        self.progress = MaskProgress(context.parent)
        self.progress.pause_button.clicked.connect(self.toggle_pause)
        self.progress.cancel_button.clicked.connect(self.cancel)
        context.status.addPermanentWidget(self.progress)

    @property
    def busy(self) -> set[int]:
        """Doc ids in the model's hands now (their pixels must stay)."""
        return {doc_id for doc_id, _ in self._in_flight.values()}

    def enqueue(self, document: Document) -> None:
        """Wait for the model; ``dispatch`` starts it (after the window has chosen what to show)."""
        self.queue.add(document.doc_id)
        self._show_progress()

    def discard(self, document: Document) -> None:
        self.queue.discard(document.doc_id)
        self._show_progress()

    def sent(self, request: SegmentRequest) -> None:
        self._in_flight[request.request_id] = (request.doc_id, request.segment)

    def settled(self, request_id: int, photo_only: bool = False) -> None:
        """The worker is done with ``request_id`` (``photo_only``: it decoded; a mask may still follow)."""
        entry = self._in_flight.get(request_id)
        if entry is None or (photo_only and entry[1]):
            return
        del self._in_flight[request_id]
        if request_id in self._queued:
            self._queued.discard(request_id)
            self.queue.finished_one()
        self.dispatch()

    def dispatch(self) -> None:
        """Send the next photo to the model when it is free."""
        workspace = self.context.workspace
        while not self._in_flight:
            current = workspace.current
            doc_id = self.queue.take_next(self.filmstrip.order(), None if current is None else current.doc_id)
            if doc_id is None:
                break
            document = workspace.by_id(doc_id)
            if document is None:
                continue
            request_id = workspace.new_request(doc_id)
            self._queued.add(request_id)
            if document.loaded is not None:
                self.requested.emit(SegmentRequest(request_id, doc_id, loaded=document.loaded))
            else:  # a photo not on screen needs no full pixels for its mask: decoded reduced (unless small)
                shown = document is current or not document.can_evict or doc_id in self.batch.review_outputs
                reduce_from = None if shown else self.residency.small_bytes
                self.requested.emit(SegmentRequest(request_id, doc_id, path=document.path, reduce_from=reduce_from))
        self._show_progress()

    def toggle_pause(self) -> None:
        self.queue.paused = not self.queue.paused
        self.progress.pause_button.setText("Resume" if self.queue.paused else "Pause")
        self.dispatch()

    def cancel(self) -> None:
        dropped = self.queue.cancel()
        self.progress.pause_button.setText("Pause")
        self.context.status.showMessage(f"Masks cancelled for {dropped} photo(s) (Re-run model makes one)", 5000)
        self._show_progress()

    def _show_progress(self) -> None:
        text = self.queue.progress_text()
        self.progress.label.setText(text)
        self.progress.setVisible(bool(text))
