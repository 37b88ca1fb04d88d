"""The main window wires the parts together: the canvas and docks, the inference worker's results, and the
photos of the session (``core/editing/workspace.py``); actions, exports, batches and refining have modules of their own."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QResizeEvent,
    QUndoGroup,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QUndoView,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, Brush, MaskEdit
from clearbg_desktop.core.editing.project import PROJECT_SUFFIX, is_project_file
from clearbg_desktop.core.editing.workspace import Workspace
from clearbg_desktop.core.imaging.image_io import INPUT_SUFFIXES, LoadedImage
from clearbg_desktop.core.inference.model_choice import model_label, resolve_model
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.about import show_about
from clearbg_desktop.gui.actions import WindowActions
from clearbg_desktop.gui.batch_runner import BatchRunner
from clearbg_desktop.gui.canvas import MaskCanvas
from clearbg_desktop.gui.export_runner import ExportRunner
from clearbg_desktop.gui.filmstrip import Filmstrip, dropped_photos
from clearbg_desktop.gui.hold_compare import HoldToCompare
from clearbg_desktop.gui.mask_scheduler import MaskScheduler
from clearbg_desktop.gui.photo_memory import PhotoMemory
from clearbg_desktop.gui.project_files import ProjectFiles
from clearbg_desktop.gui.qimage import loaded_from_clipboard
from clearbg_desktop.gui.quit_guard import QuitGuard
from clearbg_desktop.gui.refine_panel import RefinePanel
from clearbg_desktop.gui.refine_preview import RefinePreview
from clearbg_desktop.gui.resources import app_icon
from clearbg_desktop.gui.status_bar import StatusBar
from clearbg_desktop.gui.undo import MaskEditCommand
from clearbg_desktop.gui.workers import DecodedViews, PreviewViews, SegmentRequest, WorkerThread

SIDE_PANEL_SHARE = 0.2  # of the window's width, for each side's panels
MIN_RIGHT_PANEL, MIN_PHOTOS_PANEL = 240, 150  # px: the refine controls with their scroll bar; a thumbnail
# A restored window smaller than this (of the screen, up to a ceiling) or larger than the screen opens at the
# default size instead: a window made small at 200 % is a postage stamp at 100 %.
MIN_WINDOW_SHARE, MIN_WINDOW_CEILING = 0.5, (900, 600)
DEFAULT_WINDOW_SHARE, DEFAULT_WINDOW_CEILING = 0.85, (1600, 1000)


class MainWindow(QMainWindow):
    """ClearBG's editor window.

    Signals:
        document_ready(object): a Document got its mask (tests and --screenshot wait on it).
        document_failed(object, str): a Document could not be opened or segmented.
        folder_dropped(list): folders were dropped; the batch dialog takes them.
    """

    document_ready = Signal(object)
    document_failed = Signal(object, str)
    folder_dropped = Signal(list)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("ClearBG[*]")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings.load()
        self.qsettings = QSettings()
        self.workspace = Workspace()
        self._pasted = itertools.count(1)
        self.model_description = "not loaded yet"
        self.message_box: QMessageBox | None = None
        self.undo_group = QUndoGroup(self)
        self.undo_stacks: dict[int, QUndoStack] = {}
        self.canvas = MaskCanvas(self)
        self.canvas.set_brush(Brush(self.settings.brush_size, self.settings.brush_hardness, self.settings.brush_opacity))
        self.canvas.stroke_finished.connect(self._on_stroke_finished)
        self.setCentralWidget(self.canvas)
        self._build_docks()
        self.status = StatusBar(model_label(resolve_model(self.settings.model).name), self)
        self.status.get_full_model_clicked.connect(self.get_full_model)
        self.setStatusBar(self.status)
        self.model_label, self.busy_label = self.status.model_label, self.status.busy_label
        self.canvas.zoom_changed.connect(self.status.set_zoom)
        self.exporter = ExportRunner(self)
        self.batch = BatchRunner(self)
        self.refine = RefinePreview(self)
        self.quit_guard = QuitGuard(self)
        self.hold_compare = HoldToCompare(self)
        self.projects = ProjectFiles(self)
        self.masks = MaskScheduler(self)  # a shoot's masks, the shown photo first (#32)
        self.photo_memory = PhotoMemory(self)  # full pixels within the memory budget (#32)
        self.undo_group.cleanChanged.connect(lambda clean: self.setWindowModified(not clean))
        self.window_actions = WindowActions(self)
        self.brush_bar = self.window_actions.brush_bar
        self.brush_bar.brush_changed.connect(self._on_brush_changed)
        self.window_actions.rebuild_recent_menu()
        self.folder_dropped.connect(self.batch.open_dialog)
        self.inference = WorkerThread(self.settings.model, self.settings.device, self)
        worker = self.inference.worker
        worker.model_loading.connect(self.statusBar().showMessage)
        worker.model_ready.connect(self._on_model_ready)
        worker.model_note.connect(self.status.show_note)
        worker.photo_loaded.connect(self._on_photo_loaded)
        worker.previewed.connect(self._on_previewed)
        worker.probability_ready.connect(self._on_probability)
        worker.finished.connect(self._on_segmented)
        worker.failed.connect(self._on_failed)
        self._restore_window_state()
        self._update_actions()

    # ----- construction ------------------------------------------------------------------
    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.filmstrip = Filmstrip(self)
        self.filmstrip.document_chosen.connect(self._on_document_chosen)
        self.photos_dock = self._dock("Photos", "PhotosDock", self.filmstrip, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.refine_panel = RefinePanel(self)
        self.refine_scroller = scroller = QScrollArea(self)
        scroller.setWidget(self.refine_panel)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        refine = QWidget(self)
        column = QVBoxLayout(refine)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(scroller, 1)
        column.addWidget(self.refine_panel.button_row)  # under the scroll area: never scrolled out of sight
        self.refine_dock = self._dock("Refine edge", "RefineDock", refine, Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_view = QUndoView(self.undo_group, self)
        self.history_view.setEmptyLabel("Model prediction")
        self.history_dock = self._dock("History", "HistoryDock", self.history_view,
                                       Qt.DockWidgetArea.RightDockWidgetArea)

    # ----- opening photos ----------------------------------------------------------------
    def open_paths(self, paths: list[Path]) -> list[Document]:
        """Open photos (folders go to ``folder_dropped``); returns the new documents."""
        folders = [p for p in paths if p.is_dir()]
        if folders:
            self.folder_dropped.emit(folders)
        opened: list[Document] = []
        for path in (p for p in paths if is_project_file(p)):
            reopened = self.projects.open(path)
            if reopened is not None:
                opened.append(reopened)
        for path in (p for p in paths if not p.is_dir() and not is_project_file(p)):
            already = self.open_document_of(path)
            if already is not None:  # one entry per photo: opening it again shows it
                opened.append(already)
                continue
            document = Document(title=path.name, path=path)
            self.add_document(document)
            self.masks.enqueue(document)
            self.window_actions.remember_recent(path)
            opened.append(document)
        if opened:
            self.show_document(opened[-1])
        self.masks.dispatch()
        return opened

    def open_document_of(self, path: Path) -> Document | None:
        """The open photo of this file, if any."""
        key = path.resolve()
        return next((d for d in self.workspace.documents if d.path is not None and d.path.resolve() == key), None)

    def open_loaded(self, title: str, loaded: LoadedImage) -> Document:
        document = Document(title=title, loaded=loaded)
        self.add_document(document)
        self.submit(SegmentRequest(self.workspace.new_request(document.doc_id), document.doc_id, loaded=loaded))
        self.show_document(document)
        return document

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(INPUT_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open photos or projects", self.window_actions.last_folder(),
            f"Photos and projects ({patterns} *{PROJECT_SUFFIX});;Images ({patterns});;"
            f"ClearBG projects (*{PROJECT_SUFFIX});;All files (*)")
        if files:
            self.open_paths([Path(f) for f in files])

    def paste_from_clipboard(self) -> Document | None:
        loaded = loaded_from_clipboard()
        if loaded is None:
            self.statusBar().showMessage("The clipboard holds no image", 5000)
            return None
        return self.open_loaded(f"Pasted image {next(self._pasted)}", loaded)

    def add_document(self, document: Document) -> None:
        self.workspace.add(document)
        stack = QUndoStack(self)
        self.undo_group.addStack(stack)
        self.undo_stacks[document.doc_id] = stack
        self.filmstrip.add(document)
        self.photo_memory.request_thumbnail(document)

    def submit(self, request: SegmentRequest) -> None:
        self.status.set_pending(self.workspace.pending)
        document = self.workspace.by_id(request.doc_id)
        if document is not None:
            self.statusBar().showMessage(f"Cutting out {document.title}…")
        self.masks.sent(request)
        self.inference.submit.emit(request)

    # ----- worker results ----------------------------------------------------------------
    def _on_model_ready(self, description: str) -> None:
        self.model_description = description
        self.model_label.setText(description)
        self.statusBar().showMessage(f"{description} ready", 3000)

    def _on_photo_loaded(self, request_id: int, doc_id: int, loaded: LoadedImage, views: DecodedViews) -> None:
        self.masks.settled(request_id, photo_only=True)
        document = self.workspace.by_id(doc_id)
        if document is None or not self.workspace.is_latest(request_id, doc_id):
            return
        if document.loaded is loaded and document.alpha is not None:
            return  # a re-run of the model on the photo already shown
        document.set_photo(loaded, views.rgb, views.display)
        self.keep_views(document, views)
        if document.restore is not None:  # a reopened project: its mask and history, no model run
            self.workspace.finish(doc_id)
            self.projects.restore(document)
            self.status.set_pending(self.workspace.pending)
            if document is self.workspace.current:
                self.canvas.set_document(document)
            self._update_actions()
            if document.ready:
                self.statusBar().showMessage(f"{document.title}: project opened", 4000)
                self.document_ready.emit(document)
            return
        if document is self.workspace.current:
            self.canvas.set_document(document)
        if doc_id in self.batch.review_outputs:  # a batch output under review: the mask the batch wrote
            mask, note = self.batch.review_mask(document)
            if mask is not None:
                self._on_segmented(request_id, doc_id, mask)
            else:
                self.submit(SegmentRequest(self.workspace.new_request(doc_id), doc_id, loaded=loaded))
            self.statusBar().showMessage(note, 15000)
            return
        if loaded.notes:
            self.statusBar().showMessage(f"{document.title}: {'; '.join(loaded.notes)}", 8000)

    def _on_previewed(self, request_id: int, doc_id: int, views: PreviewViews) -> None:
        """A photo not on screen decoded reduced for its mask (#32): it keeps its preview and thumbnail, as an
        evicted one, and is decoded at full resolution when shown."""
        self.masks.settled(request_id, photo_only=True)
        document = self.workspace.by_id(doc_id)
        if document is None or not self.workspace.is_latest(request_id, doc_id) or document.loaded is not None:
            return
        document.size, document.error = views.size, None
        if document.file_stamp is None:
            document.file_stamp = views.file_stamp
        self.keep_views(document, views)
        if views.notes:
            self.statusBar().showMessage(f"{document.title}: {'; '.join(views.notes)}", 8000)
        if document is self.workspace.current:  # shown meanwhile: its preview now, full pixels decoded
            self.photo_memory.show(document)

    def keep_views(self, document: Document, views: DecodedViews | PreviewViews) -> None:
        """What a photo keeps when its full pixels are evicted: preview and thumbnail."""
        document.preview, document.thumbnail = views.preview, views.thumbnail
        self.filmstrip.set_thumbnail(document.doc_id, views.thumbnail)

    def _on_probability(self, request_id: int, doc_id: int, probability: np.ndarray) -> None:
        document = self.workspace.by_id(doc_id)
        deep = document is not None and document.loaded is not None and document.loaded.deep is not None
        if deep and self.workspace.is_latest(request_id, doc_id):  # kept only where a 16-bit export needs it
            document.probability = probability  # type: ignore[union-attr]

    def _on_segmented(self, request_id: int, doc_id: int, alpha: np.ndarray) -> None:
        self.masks.settled(request_id)
        document = self.workspace.by_id(doc_id)
        if document is None or not self.workspace.is_latest(request_id, doc_id):
            return  # closed meanwhile, or superseded by a newer request
        self.workspace.finish(doc_id)
        if document.alpha is not None and document.alpha.shape == alpha.shape:  # a re-run: undoable
            edit = MaskEdit.whole(document.alpha, alpha, "Re-run model")
            document.predicted = alpha
            self.push_edit(document, edit)
        else:
            document.set_prediction(alpha)
        self.status.set_pending(self.workspace.pending)
        if document is self.workspace.current and document.loaded is not None:  # else its decode shows it
            self.canvas.set_document(document, fit=False)
        self.statusBar().showMessage(f"{document.title}: mask ready", 4000)
        self._update_actions()
        self.document_ready.emit(document)
        self.photo_memory.enforce()

    def _on_failed(self, request_id: int, doc_id: int, message: str) -> None:
        self.masks.settled(request_id)
        document = self.workspace.by_id(doc_id)
        if document is None or not self.workspace.is_latest(request_id, doc_id):
            return
        self.workspace.finish(doc_id)
        document.error = message
        self.status.set_pending(self.workspace.pending)
        self.statusBar().showMessage(message, 10000)
        if document.loaded is None:  # nothing to show: drop it from the list, keep everything else
            self.remove_document(document)
        self.show_error("ClearBG could not process a photo", message)
        self.document_failed.emit(document, message)

    def show_error(self, title: str, message: str) -> None:
        """A window-modal message that does not block the event loop (work keeps going)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("ErrorMessage")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.message_box = box

    # ----- documents ---------------------------------------------------------------------
    def show_document(self, document: Document) -> None:
        self.refine.leave(document)
        self.workspace.current = document
        stack = self.undo_stacks.get(document.doc_id)
        if stack is not None:
            self.undo_group.setActiveStack(stack)
        self.filmstrip.select(document.doc_id)
        self.canvas.set_document(document)
        self.photo_memory.show(document)  # evicted: its preview now, full pixels when decoded again
        self.update_title()
        self.setWindowModified(stack is not None and not stack.isClean())
        self._update_actions()

    def update_title(self) -> None:
        """The photo, and the project it is saved in: Ctrl+S writes there, so the user should see where."""
        document = self.workspace.current
        if document is None:
            self.setWindowTitle("ClearBG[*]")
            return
        project = f" — {document.project_path.name}" if document.project_path is not None else ""
        self.setWindowTitle(f"{document.title}{project}[*] — ClearBG")

    def _on_document_chosen(self, doc_id: int) -> None:
        document = self.workspace.by_id(doc_id)
        if document is not None and document is not self.workspace.current:
            self.show_document(document)

    def remove_document(self, document: Document) -> None:
        self.filmstrip.remove(document.doc_id)
        self.masks.discard(document)
        self.photo_memory.forget(document)
        was_current = document is self.workspace.current
        following = self.workspace.remove(document)
        stack = self.undo_stacks.pop(document.doc_id, None)
        if stack is not None:
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        if was_current and following is not None:
            self.show_document(following)
        elif was_current:
            self.canvas.set_document(None)
            self.update_title()
        self.status.set_pending(self.workspace.pending)
        self._update_actions()

    def close_current(self) -> None:
        """Ctrl+W: asks first when the photo has unsaved edits."""
        document = self.workspace.current
        if document is not None and self.quit_guard.close_document(document):
            self.remove_document(document)

    def rerun_model(self) -> None:
        document = self.workspace.current
        if document is None or document.loaded is None:
            return
        request_id = self.workspace.new_request(document.doc_id)
        self.submit(SegmentRequest(request_id, document.doc_id, loaded=document.loaded))
        self.statusBar().showMessage(f"Re-running the model on {document.title}…")

    def reset_mask(self) -> None:
        document = self.workspace.current
        if document is not None and document.predicted is not None and document.alpha is not None:
            self._apply_whole(document, document.predicted, "Reset mask")

    def invert_mask(self) -> None:
        document = self.workspace.current
        if document is not None and document.alpha is not None:
            self._apply_whole(document, 255 - document.alpha, "Invert mask")

    # ----- edits and undo ----------------------------------------------------------------
    def _apply_whole(self, document: Document, new_alpha: np.ndarray, label: str) -> None:
        assert document.alpha is not None
        edit = MaskEdit.whole(document.alpha, new_alpha, label)
        edit.apply(document.alpha)
        self.push_edit(document, edit)

    def push_edit(self, document: Document, edit: MaskEdit) -> None:
        """The edit is already in ``document.alpha``; record it (and repaint) via the undo stack."""
        self.undo_stacks[document.doc_id].push(MaskEditCommand(document, edit, self.repaint_edit))

    def repaint_edit(self, document: Document, box: Box) -> None:
        if document is self.workspace.current and not self.projects.restoring:
            self.canvas.repaint_region(box)

    def _on_stroke_finished(self, edit: MaskEdit) -> None:
        if self.workspace.current is not None:
            self.push_edit(self.workspace.current, edit)

    def _on_brush_changed(self, brush: Brush) -> None:
        self.canvas.set_brush(brush)
        self.settings.brush_size, self.settings.brush_hardness = int(brush.size), brush.hardness
        self.settings.brush_opacity = brush.opacity

    def _update_actions(self) -> None:
        current = self.workspace.current
        self.window_actions.update_enabled(current is not None and current.loaded is not None,
                                    current is not None and current.alpha is not None)

    # ----- view, preferences, about ------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        self.window_actions.views[mode].setChecked(True)
        self.canvas.set_view_mode(mode)

    def choose_background_color(self) -> None:
        color = QColorDialog.getColor(self.canvas.background_color, self, "Background colour")
        if color.isValid():
            self.canvas.set_background_color(color)
            self.set_view_mode("color")

    def apply_preferences(self, device: str, model: str) -> None:
        self.settings.device, self.settings.model = device, model
        self.settings.save()
        label = model_label(resolve_model(model).name)
        self.model_label.setText(f"Model: {label} (loads with the next photo)")
        self.inference.reconfigure.emit(model, device)
        self.statusBar().showMessage(f"{label}: used from the next photo", 5000)

    def get_full_model(self) -> None:  # the status bar's "Full model not installed: get it…"
        from clearbg_desktop.gui.preferences_dialog import open_preferences

        open_preferences(self).get_full_model()

    def show_about(self) -> None:  # Help ▸ About
        self.message_box = show_about(self, self.settings, self.model_description)

    # ----- recent files and window state -------------------------------------------------
    def scale_group(self) -> str:
        """Where this screen scale's geometry and dock layout are kept: sizes in logical pixels mean another
        window at 150 % than at 100 %, so each scale keeps its own."""
        ratio = self.screen().devicePixelRatio() if self.screen() is not None else 1.0
        return f"scale{round(ratio * 100)}"

    def _restore_window_state(self) -> None:
        group = self.scale_group()
        geometry = self.qsettings.value(f"{group}/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)  # type: ignore[arg-type]
        if geometry is None or not self._fits_the_screen():
            self._default_size()
        state = self.qsettings.value(f"{group}/windowState")
        if state is not None:
            self.restoreState(state)  # type: ignore[arg-type]

    def _fits_the_screen(self) -> bool:
        if self.isMaximized() or self.isFullScreen() or self.screen() is None:
            return True
        screen = self.screen().availableGeometry()
        if screen.width() <= 0:
            return True
        low_w = min(MIN_WINDOW_CEILING[0], int(screen.width() * MIN_WINDOW_SHARE))
        low_h = min(MIN_WINDOW_CEILING[1], int(screen.height() * MIN_WINDOW_SHARE))
        frame = self.frameGeometry()
        return (low_w <= self.width() and frame.width() <= screen.width() and low_h <= self.height()
                and frame.height() <= screen.height() and screen.intersects(frame))

    def _default_size(self) -> None:
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        if screen is None or screen.width() <= 0:
            self.resize(1280, 820)
            return
        self.resize(min(DEFAULT_WINDOW_CEILING[0], int(screen.width() * DEFAULT_WINDOW_SHARE)),
                    min(DEFAULT_WINDOW_CEILING[1], int(screen.height() * DEFAULT_WINDOW_SHARE)))
        self.move(screen.center() - self.rect().center())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """The photo stays the largest thing in the window at any size and scale: side panels have a ceiling."""
        width = event.size().width()
        right = max(min(MIN_RIGHT_PANEL, int(width * 0.35)), int(width * SIDE_PANEL_SHARE))
        self.photos_dock.setMaximumWidth(max(MIN_PHOTOS_PANEL, int(width * SIDE_PANEL_SHARE)))
        for dock in (self.refine_dock, self.history_dock):
            dock.setMaximumWidth(right)
        self.refine_scroller.setMinimumWidth(min(right, self.refine_panel.fit_width(right)))  # never cut off
        super().resizeEvent(event)

    # ----- quitting ----------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.quit_guard.may_close():
            event.ignore()
            return
        group = self.scale_group()
        self.qsettings.setValue(f"{group}/geometry", self.saveGeometry())
        self.qsettings.setValue(f"{group}/windowState", self.saveState())
        self.inference.stop()
        self.batch.stop(closing=True)
        QThreadPool.globalInstance().waitForDone()  # exports and previews in flight finish (atomically)
        self.photo_memory.stop()
        self.projects.clean_quit()
        self.settings.save()
        super().closeEvent(event)

    # ----- drag and drop -----------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if dropped_photos(event.mimeData())[0]:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        wanted, skipped = dropped_photos(event.mimeData())
        if skipped:
            self.statusBar().showMessage(f"Ignored {skipped} file(s) that are not photos", 5000)
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.open_paths(wanted))  # after the drop returns: the source app is not kept waiting
