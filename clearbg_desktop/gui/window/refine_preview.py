"""Refine edge: a live preview computed off the GUI thread, then applied as one undoable step.

Refining a 24 MP mask (matting, feather) takes a noticeable moment; on the GUI thread it froze the slider.
Each preview runs in the thread pool on a copy of the mask as it was before refining; a newer request, a
cancel or another photo makes an older result stale (a token), so only the latest preview is shown, and an
older job still running is told to stop. A job shows its progress in the status bar and Esc (Reset) cancels
it; Apply never blocks the window: it takes the preview on screen, or applies the job's result when it ends.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import QProgressBar, QToolTip

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.imaging.refine import RefineCancelled, RefineSettings, decontaminate_colors, refine_alpha
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.widgets.colour_space import to_display
from clearbg_desktop.gui.widgets.refine_panel import RefinePanel
from clearbg_desktop.gui.widgets.window_context import WindowContext

PROGRESS_AFTER_MS = 300
BRUSH_PAUSED = "The brush is paused while the refinement is previewed: Apply (Enter) or Reset (Esc) it first"


class PreviewSignals(QObject):
    """Signals:
    ready(int, object, object): the request's token, the refined mask (HxW uint8, None when it failed or was
        cancelled) and the decontaminated colours (HxWx3 uint8) when asked for, else None.
    progressed(int, float): the request's token and how far it got (0..1)."""

    ready = Signal(int, object, object)
    progressed = Signal(int, float)


class PreviewJob(QRunnable):
    def __init__(self, token: int, rgb: Image.Image, base: np.ndarray, settings: RefineSettings,
                 icc_profile: bytes | None = None) -> None:
        super().__init__()
        self.signals = PreviewSignals()
        self.token = token
        self.settings = settings
        self.cancel_event = threading.Event()
        self._args = (rgb, base, settings, icc_profile)

    def _progress(self, fraction: float) -> bool:
        self.signals.progressed.emit(self.token, fraction)
        return not self.cancel_event.is_set()

    def run(self) -> None:
        rgb, base, settings, icc_profile = self._args
        colours = None
        try:
            alpha = refine_alpha(rgb, Image.fromarray(base, "L"), settings, progress=self._progress)
            if settings.decontaminate and not self.cancel_event.is_set():
                colours = to_display(np.asarray(decontaminate_colors(rgb, alpha)), icc_profile)
            refined = None if self.cancel_event.is_set() else np.asarray(alpha)
        except RefineCancelled:
            refined = None
        except Exception:  # noqa: BLE001 - a failed preview shows nothing; Apply recomputes and reports
            refined = None
        self.signals.ready.emit(self.token, refined, colours)


class RefinePreview(QObject):
    """Connects the Refine edge panel to the shown photo."""

    def __init__(self, context: WindowContext, panel: RefinePanel, canvas: MaskCanvas) -> None:
        super().__init__(context.parent)
        self.context, self.panel, self.canvas = context, panel, canvas
        self.base: tuple[Document, np.ndarray] | None = None  # the photo and its mask before refining
        self._tokens = itertools.count(1)
        self._latest = 0
        self._jobs: set[PreviewJob] = set()
        self._latest_settings: RefineSettings | None = None  # what the latest request previews
        self._shown: tuple[RefineSettings, np.ndarray] | None = None  # the preview on screen, for Apply to reuse
        # Apply pressed while its refinement was still being computed: applied when the job ends.
        self._pending_apply: tuple[Document, np.ndarray, RefineSettings] | None = None
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("RefineProgress")
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(150)  # one line in any status bar (with the Esc hint it wrapped, clipped)
        self.progress_bar.setFormat("Refining %p%")
        self.progress_bar.setToolTip("Refining the mask; Esc or Reset cancels")
        self.progress_bar.hide()
        context.status.addPermanentWidget(self.progress_bar)
        panel.preview_requested.connect(self.request)
        panel.applied.connect(self.apply)
        panel.cancelled.connect(self.cancel)
        canvas.viewport().installEventFilter(self)
        # Enter applies and Esc resets a preview on screen, wherever the focus is (the brush waits on them)
        self.shortcuts = [QShortcut(QKeySequence(key), context.parent, slot) for key, slot in (
            (Qt.Key.Key_Return, panel.apply_button.click), (Qt.Key.Key_Enter, panel.apply_button.click),
            (Qt.Key.Key_Escape, panel.reset_button.click))]
        self._enable_shortcuts(False)

    def _enable_shortcuts(self, enabled: bool) -> None:
        for shortcut in self.shortcuts:
            shortcut.setEnabled(enabled)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        """A brush press while a preview is on screen does nothing: say why, in the status bar and at the cursor."""
        if (event.type() == QEvent.Type.MouseButtonPress and self.base is not None
                and not self.canvas.painting_enabled):
            assert isinstance(event, QMouseEvent)
            if event.button() == Qt.MouseButton.LeftButton:
                self.context.status.showMessage(BRUSH_PAUSED, 8000)
                QToolTip.showText(event.globalPosition().toPoint(), BRUSH_PAUSED, self.canvas)
        return False

    def request(self, settings: RefineSettings) -> None:
        document = self.context.workspace.current
        if document is None or document.alpha is None or document.loaded is None:
            return
        if self.base is None or self.base[0] is not document:
            self.base = (document, document.alpha.copy())
        self._start(document, self.base[1], settings)
        self.context.status.showMessage("Refining…")

    def _start(self, document: Document, base: np.ndarray, settings: RefineSettings) -> None:
        self._stop_jobs()  # an older preview is stale: its CPU goes to this one
        self._latest = next(self._tokens)
        self._latest_settings = settings
        assert document.loaded is not None
        job = PreviewJob(self._latest, document.loaded.rgb, base, settings, document.loaded.icc_profile)
        job.setAutoDelete(False)
        self._jobs.add(job)
        job.signals.ready.connect(self._on_ready)
        job.signals.progressed.connect(self._on_progressed)
        self.canvas.painting_enabled = False  # painting over a preview would be lost on cancel
        self._enable_shortcuts(True)
        self.progress_bar.setValue(0)
        QThreadPool.globalInstance().start(job)
        # Shown only for a refinement that takes a while (matting a large photo): a quick preview never flashes it.
        QTimer.singleShot(PROGRESS_AFTER_MS, lambda token=self._latest: self._show_progress(token))

    def _show_progress(self, token: int) -> None:
        if token == self._latest and any(job.token == token for job in self._jobs):
            self.progress_bar.show()

    def _stop_jobs(self) -> None:
        for job in self._jobs:
            job.cancel_event.set()

    def _on_progressed(self, token: int, fraction: float) -> None:
        if token == self._latest:
            self.progress_bar.setValue(round(100 * fraction))

    def _on_ready(self, token: int, refined: np.ndarray | None, colours: np.ndarray | None) -> None:
        self._jobs = {job for job in self._jobs if job.token != token}
        if token == self._latest:
            self.progress_bar.hide()
        pending, self._pending_apply = (self._pending_apply, None) if token == self._latest else (None, None)
        if pending is not None:
            document, base, settings = pending
            if refined is None:
                self.context.messages.show_error("Refinement failed", "The refinement could not be computed; the "
                                                 "mask is as it was.")
                self._restore(document, base)
            elif document.alpha is not None and document.alpha.shape == refined.shape:
                self._finish_apply(document, base, refined, settings)
            return
        if token != self._latest or self.base is None or refined is None:
            return  # stale: a newer request, a cancel or another photo came first
        document = self.base[0]
        if document.alpha is None or document.alpha.shape != refined.shape:
            return
        document.alpha[...] = refined
        document.preview_rgb = colours
        self._shown = (self._latest_settings, refined) if self._latest_settings is not None else None
        if document is self.context.workspace.current:
            self.canvas.refresh()
        self.context.status.showMessage("Refinement preview: Apply to keep it, Reset to drop it")

    def apply(self, settings: RefineSettings) -> None:
        """Applies exactly these settings: the preview on screen when it is of them, else when the refinement of
        them (already running, or started now) ends; the window stays responsive and Esc cancels meanwhile."""
        document = self.context.workspace.current
        if document is None or document.alpha is None or document.loaded is None:
            return
        had_preview = self.base is not None and self.base[0] is document
        base = self.base[1] if self.base is not None and had_preview else document.alpha.copy()
        shown, self._shown = self._shown, None
        if had_preview and shown is not None and shown[0] == settings:
            self.base, self._latest = None, next(self._tokens)
            self._stop_jobs()
            self._finish_apply(document, base, shown[1], settings)  # no second (24 MP: 1 GiB) pass
            return
        self.base = (document, base)
        running = any(job.token == self._latest and job.settings == settings for job in self._jobs)
        if not running:
            self._start(document, base, settings)
        self._pending_apply = (document, base, settings)
        self.progress_bar.show()  # the status message beside it says that Esc cancels
        self.context.status.showMessage("Applying the refinement… (Esc cancels)")

    def _finish_apply(self, document: Document, base: np.ndarray, refined: np.ndarray,
                      settings: RefineSettings) -> None:
        self.base = None
        assert document.alpha is not None
        document.alpha[...] = refined
        document.preview_rgb = None  # decontamination is an export setting (kept below), not an edit of the photo
        self.canvas.painting_enabled = True
        self._enable_shortcuts(False)
        if not np.array_equal(base, refined):
            self.context.undo.push(document, MaskEdit.whole(base, refined, "Refine edge"))
        self.canvas.refresh()
        self.context.settings.export = self.context.settings.export.with_changes(
            refine=RefineSettings(decontaminate=settings.decontaminate))
        self.panel.reset()
        self.context.status.showMessage("Refinement applied", 3000)

    def _restore(self, document: Document, base: np.ndarray) -> None:
        document.preview_rgb = None
        if document.alpha is not None and document.alpha.shape == base.shape:
            document.alpha[...] = base
        if document is self.context.workspace.current:
            self.canvas.refresh()

    def cancel(self) -> None:
        """Back to the mask before refining; a running refinement is stopped, late previews are dropped."""
        self._latest = next(self._tokens)
        self._shown = None
        self._stop_jobs()
        self.progress_bar.hide()
        pending, self._pending_apply = self._pending_apply, None
        if self.base is not None:
            document, base = self.base
            self.base = None
            self._restore(document, base)
            self.context.status.showMessage("Refinement cancelled" if pending else "Refinement reset", 3000)
        self.canvas.painting_enabled = True
        self._enable_shortcuts(False)

    def leave(self, document: Document) -> None:
        """Another photo is about to be shown: a preview of this one is dropped, and the panel says so."""
        if self.base is not None and self.base[0] is not document:
            self.panel.reset()  # emits cancelled -> cancel()
            self.context.status.showMessage("Refinement preview dropped: the photo changed", 4000)
        self.cancel()

    def wait(self) -> None:
        QThreadPool.globalInstance().waitForDone()
