"""Refine edge: a live preview computed off the GUI thread, then applied as one undoable step.

Refining a 24 MP mask (matting, feather) takes a noticeable moment; on the GUI thread it froze the slider.
Each preview runs in the thread pool on a copy of the mask as it was before refining; a newer request, a
cancel or another photo makes an older result stale (a token), so only the latest preview is shown.
"""

from __future__ import annotations

import itertools

import numpy as np
from PIL import Image
from PySide6.QtCore import QEvent, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QKeySequence, QMouseEvent, QShortcut
from PySide6.QtWidgets import QToolTip

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.imaging.refine import RefineSettings, decontaminate_colors, refine_alpha
from clearbg_desktop.gui.canvas import MaskCanvas
from clearbg_desktop.gui.colour_space import to_display
from clearbg_desktop.gui.refine_panel import RefinePanel
from clearbg_desktop.gui.window_context import WindowContext

BRUSH_PAUSED = "The brush is paused while the refinement is previewed: Apply (Enter) or Reset (Esc) it first"


class PreviewSignals(QObject):
    """Signals:
    ready(int, object, object): the request's token, the refined mask (HxW uint8) and the decontaminated
        colours (HxWx3 uint8) when asked for, else None."""

    ready = Signal(int, object, object)


class PreviewJob(QRunnable):
    def __init__(self, token: int, rgb: Image.Image, base: np.ndarray, settings: RefineSettings,
                 icc_profile: bytes | None = None) -> None:
        super().__init__()
        self.signals = PreviewSignals()
        self.token = token
        self._args = (rgb, base, settings, icc_profile)

    def run(self) -> None:
        rgb, base, settings, icc_profile = self._args
        colours = None
        try:
            alpha = refine_alpha(rgb, Image.fromarray(base, "L"), settings)
            if settings.decontaminate:
                colours = to_display(np.asarray(decontaminate_colors(rgb, alpha)), icc_profile)
            refined = np.asarray(alpha)
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
        self._latest = next(self._tokens)
        self._latest_settings = settings
        job = PreviewJob(self._latest, document.loaded.rgb, self.base[1], settings, document.loaded.icc_profile)
        job.setAutoDelete(False)
        self._jobs.add(job)
        job.signals.ready.connect(self._on_ready)
        self.canvas.painting_enabled = False  # painting over a preview would be lost on cancel
        self._enable_shortcuts(True)
        self.context.status.showMessage("Refining…")
        QThreadPool.globalInstance().start(job)

    def _on_ready(self, token: int, refined: np.ndarray | None, colours: np.ndarray | None) -> None:
        self._jobs = {job for job in self._jobs if job.token != token}
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
        """Applies exactly these settings: the preview on screen when it is of them, else computed here (after any
        preview still running, so one photo is never refined twice at once)."""
        document = self.context.workspace.current
        if document is None or document.alpha is None or document.loaded is None:
            return
        had_preview = self.base is not None and self.base[0] is document
        base = self.base[1] if self.base is not None and had_preview else document.alpha.copy()
        shown, self._shown = self._shown, None
        self.base, self._latest = None, next(self._tokens)
        if had_preview and shown is not None and shown[0] == settings:
            refined = shown[1]  # the preview on screen is these settings: no second (24 MP: 1 GiB) pass
        else:
            QThreadPool.globalInstance().waitForDone()  # never two refinements of one photo in memory at once
            refined = np.asarray(refine_alpha(document.loaded.rgb, Image.fromarray(base, "L"), settings))
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

    def cancel(self) -> None:
        """Back to the mask before refining; late previews are dropped."""
        self._latest = next(self._tokens)
        self._shown = None
        if self.base is not None:
            document, base = self.base
            self.base = None
            document.preview_rgb = None
            if document.alpha is not None:
                document.alpha[...] = base
            if document is self.context.workspace.current:
                self.canvas.refresh()
            self.context.status.showMessage("Refinement reset", 3000)  # not "Refinement preview…" any more
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
