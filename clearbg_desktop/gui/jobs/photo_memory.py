"""A whole shoot in bounded memory (#32): thumbnails off the GUI thread, full pixels only for the photo on
screen and a recent one or two within the budget (``core.editing.memory_budget``), decoding again on the way back.

Shown again, an evicted photo appears at once from its preview and at full resolution when decoded; if its
file vanished meanwhile the user reads why, and its masks and edits stay (``core.editing.document.reload_photo``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.memory_budget import CLOSE_TO_BUDGET, MIB, Residency, clamp_budget_mib, trim_heap
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.jobs.decode_jobs import DecodeSignals, decode_job, thumbnail_job
from clearbg_desktop.gui.jobs.decoded_views import DecodedViews, PreviewViews
from clearbg_desktop.gui.jobs.mask_scheduler import MaskScheduler
from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.qimage import array_to_qimage
from clearbg_desktop.gui.widgets.window_context import WindowContext


def budgeted_residency(settings: AppSettings) -> Residency:
    """Which photos keep their full pixels, within the budget the settings give (clamped to what is sane)."""
    return Residency(clamp_budget_mib(settings.memory_budget_mib) * MIB)


class PhotoMemory(QObject):
    """The open photos' pixels within the budget (``residency``, which the mask scheduler reads too).

    Signals:
        show_requested(object): the Document on screen got its full pixels back: the window shows it again.
    """

    show_requested = Signal(object)

    def __init__(self, context: WindowContext, residency: Residency, canvas: MaskCanvas, filmstrip: Filmstrip,
                 masks: MaskScheduler) -> None:
        super().__init__(context.parent)
        self.context, self.residency = context, residency
        self.canvas, self.filmstrip, self.masks = canvas, filmstrip, masks
        self.signals = DecodeSignals(self)
        self.signals.thumbnailed.connect(self._on_thumbnailed)
        self.signals.decoded.connect(self._on_decoded)
        self.signals.failed.connect(self._on_failed)
        # Each its own thread: a shoot's thumbnails never wait behind a decode, nor a decode behind them.
        self.thumbnail_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearbg-thumbnails")
        self.decode_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clearbg-decode")
        self._decoding: set[int] = set()
        self.label = QLabel("", context.parent)
        self.label.setObjectName("MemoryLabel")
        self.label.setVisible(False)
        context.status.addPermanentWidget(self.label)

    def set_budget_mib(self, budget_mib: int) -> None:
        """Preferences ▸ Memory for photos: kept from now on (and saved with the settings)."""
        self.context.settings.memory_budget_mib = clamp_budget_mib(budget_mib)
        self.residency.budget_bytes = self.context.settings.memory_budget_mib * MIB
        self.enforce()

    # ----- thumbnails --------------------------------------------------------------------
    def keep_views(self, document: Document, views: DecodedViews | PreviewViews) -> None:
        """What a photo keeps when its full pixels are evicted: preview and thumbnail."""
        document.preview, document.thumbnail = views.preview, views.thumbnail
        self.filmstrip.set_thumbnail(document.doc_id, views.thumbnail)

    def request_thumbnail(self, document: Document) -> None:
        if document.path is not None:
            self.thumbnail_pool.submit(thumbnail_job, self.signals, document.doc_id, document.path)

    def _on_thumbnailed(self, doc_id: int, thumbnail: np.ndarray) -> None:
        document = self.context.workspace.by_id(doc_id)
        if document is not None and document.thumbnail is None:  # a full decode's thumbnail is better
            self.filmstrip.set_thumbnail(doc_id, thumbnail)

    # ----- eviction ----------------------------------------------------------------------
    def photo_bytes(self) -> tuple[dict[int, int], int]:
        """(full-resolution bytes per photo holding any, bytes every photo keeps anyway)."""
        documents = self.context.workspace.documents
        resident = {d.doc_id: n for d in documents if (n := d.resident_bytes()) > 0}
        return resident, sum(d.kept_bytes() for d in documents)

    def enforce(self) -> list[Document]:
        """Evict what the budget and the recent-photos rule say; returns the evicted photos."""
        workspace = self.context.workspace
        current = workspace.current
        pinned = {d.doc_id for d in workspace.documents if not d.can_evict or d.doc_id in self.masks.busy}
        if current is not None:
            pinned.add(current.doc_id)
        resident, kept = self.photo_bytes()
        evicted = []
        for doc_id in self.residency.evictions(resident, kept, pinned):
            document = workspace.by_id(doc_id)
            if document is not None:
                document.evict()
                evicted.append(document)
        if evicted:
            trim_heap()
        self._show_use()
        return evicted

    def _show_use(self) -> None:
        resident, kept = self.photo_bytes()
        used, budget = sum(resident.values()) + kept, self.residency.budget_bytes
        self.label.setVisible(used >= CLOSE_TO_BUDGET * budget)
        self.label.setText(f"Photos: {used / MIB / 1024:.1f} of {budget / MIB / 1024:.1f} GiB")
        self.label.setToolTip("Memory the open photos use, of the budget in Preferences; photos not on screen "
                              "keep a preview and their masks, and are decoded again when shown")

    # ----- showing -----------------------------------------------------------------------
    def show(self, document: Document) -> None:
        """The window shows ``document``: if its pixels are not in memory, its preview now and a decode."""
        self.residency.touch(document.doc_id)
        if document.loaded is not None or document.path is None or document.restore is not None:
            self.enforce()
            return
        if document.error is not None and not document.evicted:
            return  # could not be decoded at all
        picture = document.preview
        image = QImage.fromData(picture) if picture is not None else (
            array_to_qimage(document.thumbnail) if document.thumbnail is not None else QImage())
        if not image.isNull():
            self.canvas.show_preview(image)
        if not document.evicted and (document.doc_id in self.masks.queue or document.doc_id in self.masks.busy):
            return  # the model decodes it next (the shown photo goes first): one 24 MP decode, not two at once
        if document.doc_id not in self._decoding:
            self._decoding.add(document.doc_id)
            self.decode_pool.submit(decode_job, self.signals, document)

    def _on_decoded(self, doc_id: int, loaded: LoadedImage, views: DecodedViews) -> None:
        self._decoding.discard(doc_id)
        document = self.context.workspace.by_id(doc_id)
        if document is None or document.loaded is not None:
            return  # closed meanwhile, or the model's decode came first
        if views.preview is not None:
            self.keep_views(document, views)
        document.set_photo(loaded, views.rgb, views.display)
        if document is self.context.workspace.current:
            self.show_requested.emit(document)  # enforces the budget too
        else:
            self.enforce()

    def _on_failed(self, doc_id: int, message: str) -> None:
        self._decoding.discard(doc_id)
        document = self.context.workspace.by_id(doc_id)
        if document is None or document.loaded is not None:
            return
        if document.evicted:  # its masks and history stay; the preview stays on screen
            self.context.status.showMessage(message, 10000)
            self.context.messages.show_error("Could not show the photo at full resolution", message)

    def forget(self, document: Document) -> None:
        self.residency.forget(document.doc_id)

    def stop(self) -> None:
        """Quitting: drop waiting thumbnails and decodes, wait for the ones running."""
        for pool in (self.thumbnail_pool, self.decode_pool):
            pool.shutdown(wait=True, cancel_futures=True)
