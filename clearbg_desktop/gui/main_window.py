"""The main window: documents, menus, the canvas, and the inference worker's results."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QSettings, QSize, Qt, QThread, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
    QResizeEvent,
    QUndoGroup,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QStyle,
    QUndoView,
    QWidget,
)

from clearbg_desktop import __version__
from clearbg_desktop.core.document import Document
from clearbg_desktop.core.image_io import INPUT_SUFFIXES, LoadedImage, is_supported_image
from clearbg_desktop.core.mask_edits import Box, Brush, MaskEdit
from clearbg_desktop.core.preview import VIEW_MODES
from clearbg_desktop.core.refine import RefineSettings, refine_alpha
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.core.weights import WeightsError, find_weights
from clearbg_desktop.gui.brush_tool import BrushOptionsBar
from clearbg_desktop.gui.canvas import MaskCanvas
from clearbg_desktop.gui.qimage import qimage_to_rgba_array
from clearbg_desktop.gui.refine_panel import RefinePanel
from clearbg_desktop.gui.resources import app_icon
from clearbg_desktop.gui.undo import MaskEditCommand
from clearbg_desktop.gui.workers import BatchWorker, ExportJob, SegmentRequest, WorkerThread

MAX_RECENT = 10
VIEW_LABELS = {
    "cutout": "Cut-out on &checkerboard",
    "color": "Cut-out on c&olour",
    "overlay": "Mask &overlay",
    "mask": "&Mask only",
    "original": "O&riginal",
}


SIDE_PANEL_SHARE = 0.2  # of the window's width, for each side's panels


def unique_shortcuts(standard: QKeySequence.StandardKey, *extra: str) -> list[QKeySequence]:
    """The platform's keys for ``standard`` plus ``extra``, each once: a sequence bound twice on one
    action makes Qt report "Ambiguous shortcut overload" and do nothing (Ctrl+Shift+Z on Linux)."""
    sequences = QKeySequence.keyBindings(standard) + [QKeySequence(text) for text in extra]
    unique: dict[str, QKeySequence] = {}
    for sequence in sequences:
        key = sequence.toString(QKeySequence.SequenceFormat.PortableText)
        if key:
            unique.setdefault(key, sequence)
    return list(unique.values())


class MainWindow(QMainWindow):
    """ClearBG's editor window.

    Signals:
        document_ready(object): a Document got its mask (tests and --screenshot wait on it).
        document_failed(object, str): a Document could not be opened or segmented.
        folder_dropped(list): folders were dropped; the batch dialog takes them.
        exported(str): an export was written (its path).
        export_failed(str): an export could not be written (the message).
        batch_finished(object): a batch job ended (its BatchReport).
    """

    document_ready = Signal(object)
    document_failed = Signal(object, str)
    folder_dropped = Signal(list)
    exported = Signal(str)
    export_failed = Signal(str)
    batch_finished = Signal(object)

    def __init__(self, settings: AppSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("ClearBG")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings.load()
        self.qsettings = QSettings()
        self.documents: list[Document] = []
        self.current: Document | None = None
        self._request_ids = itertools.count(1)
        self._latest_request: dict[int, int] = {}
        self._pasted = itertools.count(1)
        self.model_description = "not loaded yet"
        self.message_box: QMessageBox | None = None
        self.undo_group = QUndoGroup(self)
        self.undo_stacks: dict[int, QUndoStack] = {}
        self._refine_base: tuple[Document, np.ndarray] | None = None
        self._export_jobs: set[ExportJob] = set()
        self.batch_thread: QThread | None = None
        self.batch_worker: BatchWorker | None = None
        self.batch_dialog = None
        self.batch_progress = None
        self.batch_summary = None
        self.export_dialog = None
        self._batch_names: list[str] = []
        self._batch_output = Path()
        self._quit_confirmed = False
        self._export_origin: dict[ExportJob, tuple[int, int]] = {}  # job -> (doc id, undo index exported)

        self.canvas = MaskCanvas(self)
        self.canvas.set_brush(Brush(self.settings.brush_size, self.settings.brush_hardness, self.settings.brush_opacity))
        self.canvas.stroke_finished.connect(self._on_stroke_finished)
        self.setCentralWidget(self.canvas)
        self._build_filmstrip()
        self._build_refine_and_history()
        self._build_status_bar()
        self._build_actions()
        self._build_menus_and_toolbar()

        self.folder_dropped.connect(self.open_batch_dialog)
        self.inference = WorkerThread(self.settings.model, self.settings.device, self)
        worker = self.inference.worker
        worker.model_loading.connect(self._on_model_loading)
        worker.model_ready.connect(self._on_model_ready)
        worker.photo_loaded.connect(self._on_photo_loaded)
        worker.finished.connect(self._on_segmented)
        worker.failed.connect(self._on_failed)
        self.canvas.zoom_changed.connect(self._on_zoom_changed)
        self._restore_window_state()
        self._update_actions()

    # ----- construction ------------------------------------------------------------------
    def _build_filmstrip(self) -> None:
        self.filmstrip = QListWidget(self)
        self.filmstrip.setObjectName("Filmstrip")
        self.filmstrip.setIconSize(QSize(96, 72))
        self.filmstrip.currentRowChanged.connect(self._on_filmstrip_row_changed)
        self.filmstrip.setUniformItemSizes(True)
        self.filmstrip.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.filmstrip.setWordWrap(False)
        self.filmstrip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        dock = QDockWidget("Photos", self)
        dock.setObjectName("PhotosDock")
        dock.setWidget(self.filmstrip)

        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.photos_dock = dock

    def _build_refine_and_history(self) -> None:
        self.refine_panel = RefinePanel(self)
        self.refine_panel.preview_requested.connect(self._on_refine_preview_requested)
        self.refine_panel.applied.connect(self._on_refine_applied)
        self.refine_panel.cancelled.connect(self._on_refine_cancelled)
        refine_dock = QDockWidget("Refine edge", self)
        refine_dock.setObjectName("RefineDock")
        scroller = QScrollArea(self)
        scroller.setWidget(self.refine_panel)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        refine_dock.setWidget(scroller)

        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, refine_dock)
        self.refine_dock = refine_dock
        self.history_view = QUndoView(self.undo_group, self)
        self.history_view.setEmptyLabel("Model prediction")
        history_dock = QDockWidget("History", self)
        history_dock.setObjectName("HistoryDock")
        history_dock.setWidget(self.history_view)

        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, history_dock)
        self.history_dock = history_dock

    def _build_status_bar(self) -> None:
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(140)
        self.busy.setVisible(False)
        self.busy_label = QLabel("", self)
        self.busy_label.setObjectName("BusyLabel")
        self.busy_label.setVisible(False)
        self.zoom_label = QLabel("", self)
        self.model_label = QLabel(f"Model: {self.settings.model}", self)
        self.model_label.setObjectName("ModelLabel")
        self.model_label.setToolTip("The model and the device actually in use")
        self.statusBar().addPermanentWidget(self.model_label)
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.statusBar().addPermanentWidget(self.busy_label)
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().showMessage("Drop photos here, or File ▸ Open")

    def _action(self, text: str, slot, shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,  # type: ignore[no-untyped-def]
                checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.paste_action = self._action("&Paste image", self.paste_from_clipboard, QKeySequence.StandardKey.Paste)
        self.close_doc_action = self._action("&Close photo", self.close_current, QKeySequence.StandardKey.Close)
        self.export_action = self._action("&Export…", self.open_export_dialog, "Ctrl+E")
        self.reexport_action = self._action("Export again with last settings", self.export_again, "Ctrl+Shift+E")
        self.batch_action = self._action("&Batch export…", lambda: self.open_batch_dialog([]), "Ctrl+Shift+B")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.rerun_action = self._action("&Re-run model", self.rerun_model, "Ctrl+R")
        self.reset_action = self._action("Re&set mask", self.reset_mask)
        self.invert_action = self._action("&Invert mask", self.invert_mask, "Ctrl+I")
        self.fit_action = self._action("&Fit to window", self.canvas.zoom_fit, "Ctrl+0")
        self.actual_action = self._action("&Actual size (100%)", self.canvas.zoom_actual, "Ctrl+1")
        self.zoom_in_action = self._action("Zoom &in", self.canvas.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out_action = self._action("Zoom &out", self.canvas.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.compare_action = self._action("&Before/after (hold \\)", self._on_compare_toggled, "Ctrl+B",
                                           checkable=True)
        self.background_color_action = self._action("Background &colour…", self.choose_background_color)
        self.preferences_action = self._action("&Preferences…", self.open_preferences)
        self.preferences_action.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        self.about_action = self._action("&About ClearBG", self.show_about)
        self.view_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for index, mode in enumerate(VIEW_MODES, start=1):
            action = self._action(VIEW_LABELS[mode], lambda _=False, m=mode: self.set_view_mode(m), f"{index}",
                                  checkable=True)
            group.addAction(action)
            self.view_actions[mode] = action
        self.view_actions[self.canvas.view_mode].setChecked(True)
        self.undo_action = self.undo_group.createUndoAction(self, "&Undo")
        self.undo_action.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Undo, "Ctrl+Z"))
        self.redo_action = self.undo_group.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
        self.addAction(self.undo_action)
        self.addAction(self.redo_action)

    def _build_menus_and_toolbar(self) -> None:
        bar = self.menuBar()
        self.file_menu = bar.addMenu("&File")
        self.file_menu.addAction(self.open_action)
        self.recent_menu = self.file_menu.addMenu("Open &Recent")
        self.file_menu.addAction(self.paste_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.export_action)
        self.file_menu.addAction(self.reexport_action)
        self.file_menu.addAction(self.batch_action)
        self.file_menu.addSeparator()
        self.file_menu.addAction(self.close_doc_action)
        self.file_menu.addAction(self.quit_action)
        self.edit_menu = bar.addMenu("&Edit")
        self.edit_menu.addAction(self.undo_action)
        self.edit_menu.addAction(self.redo_action)
        self.edit_menu.addSeparator()
        self.edit_menu.addAction(self.preferences_action)
        self.view_menu = bar.addMenu("&View")
        for action in self.view_actions.values():
            self.view_menu.addAction(action)
        self.view_menu.addAction(self.background_color_action)
        self.view_menu.addSeparator()
        for action in (self.compare_action, self.fit_action, self.actual_action, self.zoom_in_action,
                       self.zoom_out_action):
            self.view_menu.addAction(action)
        self.view_menu.addSeparator()
        for dock in (self.photos_dock, self.refine_dock, self.history_dock):
            self.view_menu.addAction(dock.toggleViewAction())
        self.image_menu = bar.addMenu("&Image")
        for action in (self.rerun_action, self.reset_action, self.invert_action):
            self.image_menu.addAction(action)
        self.help_menu = bar.addMenu("&Help")
        self.help_menu.addAction(self.about_action)
        self._set_toolbar_icons()
        self.toolbar = self.addToolBar("Main")
        self.toolbar.setObjectName("MainToolbar")
        self.toolbar.addAction(self.open_action)
        self.toolbar.addAction(self.export_action)
        self.toolbar.addSeparator()
        for mode in ("cutout", "overlay", "mask", "original"):
            self.toolbar.addAction(self.view_actions[mode])
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.compare_action)
        self.toolbar.addAction(self.fit_action)
        self.toolbar.addSeparator()
        self.toolbar.addAction(self.undo_action)
        self.toolbar.addAction(self.redo_action)
        self.brush_bar = BrushOptionsBar(self.canvas.brush, self)
        self.brush_bar.brush_changed.connect(self._on_brush_changed)
        for action in (self.brush_bar.toggle_action, self.brush_bar.smaller_action, self.brush_bar.bigger_action):
            self.addAction(action)
            self.image_menu.addAction(action)
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.brush_bar)
        self._rebuild_recent_menu()

    def _set_toolbar_icons(self) -> None:
        """Theme icons (freedesktop names) with Qt's own as the fallback; icon-only buttons keep one width
        while the Undo/Redo text changes ("Undo Brush stroke"), and the full text stays in the tooltip."""
        style = self.style()
        for action, theme, fallback in (
            (self.open_action, "document-open", QStyle.StandardPixmap.SP_DialogOpenButton),
            (self.export_action, "document-save-as", QStyle.StandardPixmap.SP_DialogSaveButton),
            (self.fit_action, "zoom-fit-best", QStyle.StandardPixmap.SP_TitleBarMaxButton),
            (self.undo_action, "edit-undo", QStyle.StandardPixmap.SP_ArrowBack),
            (self.redo_action, "edit-redo", QStyle.StandardPixmap.SP_ArrowForward),
        ):
            action.setIcon(QIcon.fromTheme(theme, style.standardIcon(fallback)))
        for mode, short in zip(("cutout", "overlay", "mask", "original"), ("Cut-out", "Overlay", "Mask", "Original"),
                               strict=True):
            self.view_actions[mode].setIconText(short)
        self.compare_action.setIconText("Before/after")

    # ----- opening photos ----------------------------------------------------------------
    def open_paths(self, paths: list[Path]) -> list[Document]:
        """Open photos (folders go to ``folder_dropped``); returns the new documents."""
        folders = [p for p in paths if p.is_dir()]
        if folders:
            self.folder_dropped.emit(folders)
        opened = []
        for path in paths:
            if path.is_dir():
                continue
            document = Document(title=path.name, path=path)
            self._add_document(document)
            self._submit(SegmentRequest(next(self._request_ids), document.doc_id, path=path))
            self._remember_recent(path)
            opened.append(document)
        if opened:
            self.show_document(opened[0] if len(opened) == 1 else opened[-1])
        return opened

    def open_loaded(self, title: str, loaded: LoadedImage) -> Document:
        document = Document(title=title, loaded=loaded)
        self._add_document(document)
        self._submit(SegmentRequest(next(self._request_ids), document.doc_id, loaded=loaded))
        self.show_document(document)
        return document

    def open_dialog(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(INPUT_SUFFIXES))
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", self._last_folder(),
                                                f"Images ({patterns});;All files (*)")
        if files:
            self.open_paths([Path(f) for f in files])

    def paste_from_clipboard(self) -> Document | None:
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.statusBar().showMessage("The clipboard holds no image", 5000)
            return None
        rgba = qimage_to_rgba_array(image)
        alpha = rgba[..., 3]
        loaded = LoadedImage(
            rgb=Image.fromarray(rgba[..., :3].copy(), "RGB"),
            source_alpha=None if alpha.min() == 255 else Image.fromarray(alpha.copy(), "L"),
        )
        return self.open_loaded(f"Pasted image {next(self._pasted)}", loaded)

    def _add_document(self, document: Document) -> None:
        self.documents.append(document)
        stack = QUndoStack(self)
        self.undo_group.addStack(stack)
        self.undo_stacks[document.doc_id] = stack
        item = QListWidgetItem(document.title)
        item.setData(Qt.ItemDataRole.UserRole, document.doc_id)
        item.setToolTip(str(document.path) if document.path else document.title)
        self.filmstrip.addItem(item)

    def _submit(self, request: SegmentRequest) -> None:
        self._latest_request[request.doc_id] = request.request_id
        self._update_busy()
        document = self.document_by_id(request.doc_id)
        if document is not None:
            self.statusBar().showMessage(f"Cutting out {document.title}…")
        self.inference.submit.emit(request)

    def document_by_id(self, doc_id: int) -> Document | None:
        return next((d for d in self.documents if d.doc_id == doc_id), None)

    def _is_current_request(self, request_id: int, doc_id: int) -> bool:
        return self._latest_request.get(doc_id) == request_id

    # ----- worker results ----------------------------------------------------------------
    def _on_model_loading(self, message: str) -> None:
        self.statusBar().showMessage(message)

    def _on_model_ready(self, description: str) -> None:
        self.model_description = description
        self.model_label.setText(description)
        self.statusBar().showMessage(f"{description} ready", 3000)

    def _on_photo_loaded(self, request_id: int, doc_id: int, loaded: LoadedImage, views) -> None:  # type: ignore[no-untyped-def]
        document = self.document_by_id(doc_id)
        if document is None or not self._is_current_request(request_id, doc_id):
            return
        if document.loaded is loaded and document.alpha is not None:
            return  # a re-run of the model on the photo already shown
        document.set_photo(loaded, views.rgb)
        self._set_thumbnail(document, views.thumbnail)
        if document is self.current:
            self.canvas.set_document(document)
        if loaded.notes:
            self.statusBar().showMessage(f"{document.title}: {'; '.join(loaded.notes)}", 8000)

    def _on_segmented(self, request_id: int, doc_id: int, alpha: np.ndarray) -> None:
        document = self.document_by_id(doc_id)
        if document is None or not self._is_current_request(request_id, doc_id):
            return  # closed meanwhile, or superseded by a newer request
        del self._latest_request[doc_id]
        if document.alpha is not None and document.alpha.shape == alpha.shape:  # a re-run: undoable
            edit = MaskEdit.whole(document.alpha, alpha, "Re-run model")
            document.predicted = alpha
            self._push_edit(document, edit)
        else:
            document.set_prediction(alpha)
        self._update_busy()
        if document is self.current:
            self.canvas.set_document(document, fit=False)
        self.statusBar().showMessage(f"{document.title}: mask ready", 4000)
        self._update_actions()
        self.document_ready.emit(document)

    def _on_failed(self, request_id: int, doc_id: int, message: str) -> None:
        document = self.document_by_id(doc_id)
        if document is None or not self._is_current_request(request_id, doc_id):
            return
        del self._latest_request[doc_id]
        document.error = message
        self._update_busy()
        self.statusBar().showMessage(message, 10000)
        if document.loaded is None:  # nothing to show: drop it from the list, keep everything else
            self._remove_document(document)
        self.show_error("ClearBG could not process a photo", message)
        self.document_failed.emit(document, message)

    def show_error(self, title: str, message: str) -> None:
        """A window-modal message that does not block the event loop (work keeps going)."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setObjectName("ErrorMessage")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.message_box = box

    def _update_busy(self) -> None:
        """The spinner and its words stay while any photo is with the model."""
        pending = len(self._latest_request)
        self.busy.setVisible(pending > 0)
        self.busy_label.setVisible(pending > 0)
        self.busy_label.setText(f"Model running ({pending} photo{'s' if pending != 1 else ''})")

    def _set_thumbnail(self, document: Document, thumbnail: np.ndarray) -> None:
        from PySide6.QtGui import QPixmap

        from clearbg_desktop.gui.qimage import array_to_qimage

        for row in range(self.filmstrip.count()):
            item = self.filmstrip.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == document.doc_id:
                item.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(thumbnail))))

    # ----- documents ---------------------------------------------------------------------
    def show_document(self, document: Document) -> None:
        if self._refine_base is not None and self._refine_base[0] is not document:
            self.refine_panel.reset()  # drops the preview (cancelled -> _on_refine_cancelled) and the panel's values
            self.statusBar().showMessage("Refinement preview dropped: the photo changed", 4000)
        self._on_refine_cancelled()
        self.current = document
        self.undo_group.setActiveStack(self.undo_stacks.get(document.doc_id))
        for row in range(self.filmstrip.count()):
            if self.filmstrip.item(row).data(Qt.ItemDataRole.UserRole) == document.doc_id:
                if self.filmstrip.currentRow() != row:
                    self.filmstrip.setCurrentRow(row)
        self.canvas.set_document(document)
        self.setWindowTitle(f"{document.title} — ClearBG")
        self._update_actions()

    def _on_filmstrip_row_changed(self, row: int) -> None:
        if 0 <= row < self.filmstrip.count():
            document = self.document_by_id(self.filmstrip.item(row).data(Qt.ItemDataRole.UserRole))
            if document is not None and document is not self.current:
                self.show_document(document)

    def _remove_document(self, document: Document) -> None:
        for row in range(self.filmstrip.count()):
            if self.filmstrip.item(row).data(Qt.ItemDataRole.UserRole) == document.doc_id:
                self.filmstrip.takeItem(row)
                break
        self.documents.remove(document)
        self._latest_request.pop(document.doc_id, None)
        stack = self.undo_stacks.pop(document.doc_id, None)
        if stack is not None:
            self.undo_group.removeStack(stack)
            stack.deleteLater()
        if document is self.current:
            self.current = None
            if self.documents:
                self.show_document(self.documents[-1])
            else:
                self.canvas.set_document(None)
                self.setWindowTitle("ClearBG")
        self._update_busy()
        self._update_actions()

    def close_current(self) -> None:
        if self.current is not None:
            self._remove_document(self.current)

    def rerun_model(self) -> None:
        document = self.current
        if document is None or document.loaded is None:
            return
        self._submit(SegmentRequest(next(self._request_ids), document.doc_id, loaded=document.loaded))
        self.statusBar().showMessage(f"Re-running the model on {document.title}…")

    def reset_mask(self) -> None:
        document = self.current
        if document is not None and document.predicted is not None and document.alpha is not None:
            self._apply_whole(document, document.predicted, "Reset mask")

    def invert_mask(self) -> None:
        document = self.current
        if document is not None and document.alpha is not None:
            self._apply_whole(document, 255 - document.alpha, "Invert mask")

    # ----- edits and undo ----------------------------------------------------------------
    def _apply_whole(self, document: Document, new_alpha: np.ndarray, label: str) -> None:
        assert document.alpha is not None
        edit = MaskEdit.whole(document.alpha, new_alpha, label)
        edit.apply(document.alpha)
        self._push_edit(document, edit)

    def _push_edit(self, document: Document, edit: MaskEdit) -> None:
        """The edit is already in ``document.alpha``; record it (and repaint) via the undo stack."""
        stack = self.undo_stacks[document.doc_id]
        stack.push(MaskEditCommand(document, edit, self._repaint_edit))

    def _repaint_edit(self, document: Document, box: Box) -> None:
        if document is self.current:
            self.canvas.repaint_region(box)

    def _on_stroke_finished(self, edit: MaskEdit) -> None:
        if self.current is not None:
            self._push_edit(self.current, edit)

    def _on_brush_changed(self, brush: Brush) -> None:
        self.canvas.set_brush(brush)
        self.settings.brush_size, self.settings.brush_hardness = int(brush.size), brush.hardness
        self.settings.brush_opacity = brush.opacity

    # ----- edge refinement (live preview, applied as one undoable step) ------------------
    def _on_refine_preview_requested(self, settings: RefineSettings) -> None:
        document = self.current
        if document is None or document.alpha is None or document.loaded is None:
            return
        if self._refine_base is None or self._refine_base[0] is not document:
            self._refine_base = (document, document.alpha.copy())
        base = self._refine_base[1]
        refined = np.asarray(refine_alpha(document.loaded.rgb, Image.fromarray(base, "L"), settings))
        document.alpha[...] = refined
        self.canvas.painting_enabled = False  # painting over a preview would be lost on cancel
        self.canvas.refresh()
        self.statusBar().showMessage("Refinement preview: Apply to keep it, Reset to drop it")

    def _on_refine_applied(self, settings: RefineSettings) -> None:
        document = self.current
        if document is None or document.alpha is None:
            return
        self._on_refine_preview_requested(settings)
        assert self._refine_base is not None
        base = self._refine_base[1]
        self._refine_base = None
        self.canvas.painting_enabled = True
        if not np.array_equal(base, document.alpha):
            edit = MaskEdit.whole(base, document.alpha, "Refine edge")
            self._push_edit(document, edit)
        self.settings.export = self.settings.export.with_changes(refine=RefineSettings(
            decontaminate=settings.decontaminate))
        self.refine_panel.reset()
        self.statusBar().showMessage("Refinement applied", 3000)

    def _on_refine_cancelled(self) -> None:
        if self._refine_base is not None:
            document, base = self._refine_base
            self._refine_base = None
            if document.alpha is not None:
                document.alpha[...] = base
            if document is self.current:
                self.canvas.refresh()
        self.canvas.painting_enabled = True

    def _update_actions(self) -> None:
        has_photo = self.current is not None and self.current.loaded is not None
        has_mask = self.current is not None and self.current.alpha is not None
        for action in (self.rerun_action, self.fit_action, self.actual_action, self.zoom_in_action,
                       self.zoom_out_action, self.close_doc_action):
            action.setEnabled(has_photo)
        for action in (self.reset_action, self.invert_action, self.export_action, self.reexport_action):
            action.setEnabled(has_mask)

    # ----- view --------------------------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        self.view_actions[mode].setChecked(True)
        self.canvas.set_view_mode(mode)

    def choose_background_color(self) -> None:
        color = QColorDialog.getColor(self.canvas.background_color, self, "Background colour")
        if color.isValid():
            self.canvas.set_background_color(color)
            self.set_view_mode("color")

    def _on_compare_toggled(self, checked: bool) -> None:
        self.canvas.set_comparing(checked)

    def _on_zoom_changed(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")

    # ----- preferences and about ---------------------------------------------------------
    def open_preferences(self) -> None:
        from clearbg_desktop.gui.preferences_dialog import PreferencesDialog

        dialog = PreferencesDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.device(), dialog.model()))
        dialog.open()

    def apply_preferences(self, device: str, model: str) -> None:
        self.settings.device, self.settings.model = device, model
        self.settings.save()
        self.model_label.setText(f"Model: {model} (loads with the next photo)")
        self.inference.reconfigure.emit(model, device)
        self.statusBar().showMessage(f"Model {model}: used from the next photo (the device in use is shown once it loads)",
                                     5000)

    def about_text(self) -> str:
        try:
            entry = find_weights(self.settings.model)
            weights = f"{entry.path.name}, SHA-256 {entry.sha256[:16]}…"
            trained = entry.card.get("training", {})
            if trained:
                weights += f", trained on {trained.get('images_seen', '?')} images"
        except WeightsError as exc:
            weights = str(exc)
        return (
            f"<h3>ClearBG {__version__}</h3><p>Background removal that runs on your computer.</p>"
            f"<p><b>Model:</b> U²-Net {self.settings.model} ({self.model_description})<br>"
            f"<b>Device preference:</b> {self.settings.device}<br><b>Weights:</b> {weights}</p>"
        )

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About ClearBG", self.about_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setObjectName("AboutBox")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.message_box = box

    # ----- recent files and window state -------------------------------------------------
    def recent_files(self) -> list[str]:
        value = self.qsettings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember_recent(self, path: Path) -> None:
        files = [str(path.resolve())] + [f for f in self.recent_files() if f != str(path.resolve())]
        self.qsettings.setValue("recentFiles", files[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.recent_files()
        for name in files:
            action = self.recent_menu.addAction(Path(name).name)
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, n=name: self.open_paths([Path(n)]))
        self.recent_menu.setEnabled(bool(files))

    def _last_folder(self) -> str:
        files = self.recent_files()
        return str(Path(files[0]).parent) if files else str(Path.home())

    def _restore_window_state(self) -> None:
        geometry = self.qsettings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            screen = self.screen().availableGeometry() if self.screen() is not None else None
            if screen is not None and screen.width() > 0:
                self.resize(min(1600, int(screen.width() * 0.85)), min(1000, int(screen.height() * 0.85)))
            else:
                self.resize(1280, 820)
        state = self.qsettings.value("windowState")
        if state is not None:
            self.restoreState(state)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """The photo stays the largest thing in the window at any size and scale: side panels have a ceiling."""
        limit = max(140, int(event.size().width() * SIDE_PANEL_SHARE))
        for dock in (self.photos_dock, self.refine_dock, self.history_dock):
            dock.setMaximumWidth(limit)
        self.refine_panel.fit_width(limit)
        super().resizeEvent(event)

    def unexported_documents(self) -> list[Document]:
        """Photos with edits (strokes, refinements, re-runs) made since their last export."""
        return [d for d in self.documents if d.doc_id in self.undo_stacks and not self.undo_stacks[d.doc_id].isClean()]

    def quit_question(self) -> str:
        """What quitting now would lose, in words; empty when nothing."""
        parts = []
        unexported = self.unexported_documents()
        if unexported:
            names = ", ".join(d.title for d in unexported[:5]) + (" …" if len(unexported) > 5 else "")
            parts.append(f"{len(unexported)} photo(s) have edits that were never exported: {names}.")
        if self.batch_thread is not None:
            done = self.batch_progress.value() if self.batch_progress is not None else 0
            parts.append(f"A batch export to {self._batch_output} is running ({max(done, 0)} of "
                         f"{len(self._batch_names)} photos done); quitting stops it after the current photo.")
        return " ".join(parts)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        question = "" if self._quit_confirmed else self.quit_question()
        if question:
            event.ignore()
            self._ask_before_quitting(question)
            return
        self.qsettings.setValue("geometry", self.saveGeometry())
        self.qsettings.setValue("windowState", self.saveState())
        self.inference.stop()
        self._stop_batch()
        QThreadPool.globalInstance().waitForDone()  # exports in flight finish writing (atomically)
        self.settings.save()
        super().closeEvent(event)

    def _ask_before_quitting(self, question: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit ClearBG?", question, QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("QuitQuestion")
        unexported = self.unexported_documents()
        export = box.addButton("Export…", QMessageBox.ButtonRole.AcceptRole) if unexported else None
        discard = box.addButton("Quit anyway" if not unexported else "Discard and quit",
                                QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def chosen(button) -> None:  # type: ignore[no-untyped-def]
            if button is discard:
                self._quit_confirmed = True
                self.close()
            elif export is not None and button is export:
                self.show_document(unexported[0])
                self.open_export_dialog()

        box.buttonClicked.connect(chosen)
        box.open()
        self.message_box = box

    # ----- export ------------------------------------------------------------------------
    def open_export_dialog(self) -> None:
        from clearbg_desktop.gui.export_dialog import ExportDialog, default_folder

        document = self.current
        if document is None or not document.ready:
            return
        folder = default_folder(document, self.settings.last_export_folder)
        dialog = ExportDialog(document, self.settings.export, folder, self.settings.model, self)
        dialog.accepted.connect(lambda: self._on_export_dialog_accepted(dialog))
        dialog.open()
        self.export_dialog = dialog

    def _on_export_dialog_accepted(self, dialog) -> None:  # type: ignore[no-untyped-def]
        options = dialog.options()
        target = dialog.target()
        self.settings.export = options
        self.settings.last_export_folder = str(target.parent)
        self.settings.save()
        self.export_to(target, options)

    def export_again(self) -> None:
        """Ctrl+Shift+E: same options and folder as the last export, no dialog."""
        from clearbg_desktop.core.export import output_name
        from clearbg_desktop.gui.export_dialog import default_folder

        document = self.current
        if document is None or not document.ready:
            return
        folder = default_folder(document, self.settings.last_export_folder)
        source = document.path or Path(document.title.replace(" ", "-"))
        self.export_to(folder / output_name(source, self.settings.export, self.settings.model), self.settings.export)

    def export_to(self, target: Path, options) -> None:  # type: ignore[no-untyped-def]
        """Write the current document; asks before replacing an existing file."""
        document = self.current
        if document is None or document.loaded is None or document.alpha is None:
            return
        if not target.exists():
            self._start_export(document, target, options, overwrite=False)
            return
        from clearbg_desktop.core.export import next_free_path

        box = QMessageBox(QMessageBox.Icon.Question, "File exists",
                          f"{target.name} already exists in {target.parent}.", QMessageBox.StandardButton.Cancel,
                          self)
        box.setObjectName("OverwriteQuestion")
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep both", QMessageBox.ButtonRole.AcceptRole)
        alpha = document.alpha.copy()

        def chosen(button) -> None:  # type: ignore[no-untyped-def]
            if button is replace:
                self._start_export(document, target, options, overwrite=True, alpha=alpha)
            elif button is keep:
                self._start_export(document, next_free_path(target), options, overwrite=False, alpha=alpha)
            else:
                self.statusBar().showMessage("Export cancelled", 3000)

        box.buttonClicked.connect(chosen)
        box.open()
        self.message_box = box

    def _start_export(self, document: Document, target: Path, options, overwrite: bool,  # type: ignore[no-untyped-def]
                      alpha: np.ndarray | None = None) -> None:
        assert document.loaded is not None and document.alpha is not None
        job = ExportJob(document.loaded, document.alpha.copy() if alpha is None else alpha, target, options,
                        overwrite)
        job.setAutoDelete(False)
        self._export_jobs.add(job)
        stack = self.undo_stacks.get(document.doc_id)
        if stack is not None:
            self._export_origin[job] = (document.doc_id, stack.index())
        # Bound methods (not lambdas): queued into the GUI thread, where the receiver lives.
        job.signals.finished.connect(self._on_export_finished)
        job.signals.failed.connect(self._on_export_failed)
        self.statusBar().showMessage(f"Exporting {target.name}…")
        QThreadPool.globalInstance().start(job)

    def _on_export_finished(self, job: ExportJob, path: str) -> None:
        self._export_jobs.discard(job)
        doc_id, index = self._export_origin.pop(job, (-1, -1))
        stack = self.undo_stacks.get(doc_id)
        if stack is not None and stack.index() == index:
            stack.setClean()  # what was exported is what the photo holds now
        self.statusBar().showMessage(f"Exported {path}", 8000)
        self.exported.emit(path)

    def _on_export_failed(self, job: ExportJob, message: str) -> None:
        self._export_jobs.discard(job)
        self._export_origin.pop(job, None)
        self.show_error("Export failed", message)
        self.export_failed.emit(message)

    # ----- batch export ------------------------------------------------------------------
    def open_batch_dialog(self, folders: list[Path]) -> None:
        from clearbg_desktop.gui.batch_dialog import BatchDialog

        if self.batch_thread is not None:
            self.statusBar().showMessage("A batch export is already running", 5000)
            return
        dialog = BatchDialog(self.settings, folders, self)
        dialog.accepted.connect(lambda: self._on_batch_dialog_accepted(dialog))
        dialog.open()
        self.batch_dialog = dialog

    def _on_batch_dialog_accepted(self, dialog) -> None:  # type: ignore[no-untyped-def]
        options = dialog.options()
        self.settings.export = options
        self.settings.batch_existing = dialog.existing_policy()
        self.settings.batch_recursive = dialog.recursive.isChecked()
        self.settings.batch_output_folder = str(dialog.output_folder())
        self.settings.save()
        self.start_batch(dialog.input_paths(), dialog.output_folder(), options, dialog.model(),
                         dialog.existing_policy(), dialog.recursive.isChecked())

    def start_batch(self, inputs: list[Path], output: Path, options, model: str, existing: str,  # type: ignore[no-untyped-def]
                    recursive: bool = True) -> None:
        from clearbg_desktop.core.batch import plan_batch
        from clearbg_desktop.gui.batch_dialog import BatchProgressDialog

        plan = plan_batch(inputs, output, options, recursive=recursive, model=model)
        if not plan.items:
            self.show_error("Nothing to export", "No photos were found in the chosen folders.")
            return
        self.batch_thread = QThread(self)
        self.batch_thread.setObjectName("clearbg-batch")
        worker = BatchWorker(plan, options, model, self.settings.device, existing)
        worker.moveToThread(self.batch_thread)
        self.batch_worker = worker
        progress = BatchProgressDialog(len(plan.items), self)
        self.batch_progress = progress
        self._batch_names = [item.source.name for item in plan.items]
        self._batch_output = output
        # Bound methods of GUI-thread objects, so Qt queues these calls into the GUI thread.
        worker.model_loading.connect(progress.setLabelText)
        worker.progressed.connect(self._on_batch_progressed)
        worker.finished.connect(self._on_batch_finished)
        worker.failed.connect(self._on_batch_failed)
        progress.canceled.connect(self._on_batch_cancel_requested)
        self.batch_thread.started.connect(worker.run)
        self.batch_thread.start()
        progress.show()
        self.statusBar().showMessage(f"Batch export of {len(plan.items)} photos to {output}")

    def _on_batch_cancel_requested(self) -> None:
        if self.batch_worker is not None:
            self.batch_worker.cancel()
            if self.batch_progress is not None:
                self.batch_progress.setLabelText("Cancelling after the current photo…")
                self.batch_progress.show()

    def _stop_batch(self) -> None:
        if self.batch_thread is not None:
            if self.batch_worker is not None:
                self.batch_worker.cancel()
            self.batch_thread.quit()
            self.batch_thread.wait()
            self.batch_thread = None
            self.batch_worker = None

    def _on_batch_progressed(self, step) -> None:  # type: ignore[no-untyped-def]
        if self.batch_progress is not None:
            names = self._batch_names
            self.batch_progress.show_progress(step, names[step.done] if step.done < len(names) else None)

    def _on_batch_finished(self, report) -> None:  # type: ignore[no-untyped-def]
        from clearbg_desktop.gui.batch_dialog import BatchSummaryDialog

        output = self._batch_output
        self._stop_batch()
        if self.batch_progress is not None:
            self.batch_progress.close()
        self.statusBar().showMessage(report.summary(), 10000)
        summary = BatchSummaryDialog(report, output, self)
        summary.open()
        self.batch_summary = summary
        self.batch_finished.emit(report)

    def _on_batch_failed(self, message: str) -> None:
        self._stop_batch()
        if self.batch_progress is not None:
            self.batch_progress.close()
        self.show_error("Batch export failed", message)

    # ----- drag and drop -----------------------------------------------------------------
    @staticmethod
    def _local_paths(urls: list[QUrl]) -> list[Path]:
        return [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        paths = self._local_paths(event.mimeData().urls()) if event.mimeData().hasUrls() else []
        if any(p.is_dir() or is_supported_image(p) for p in paths):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = self._local_paths(event.mimeData().urls())
        wanted = [p for p in paths if p.is_dir() or is_supported_image(p)]
        skipped = len(paths) - len(wanted)
        if skipped:
            self.statusBar().showMessage(f"Ignored {skipped} file(s) that are not photos", 5000)
        event.acceptProposedAction()
        # Open after the drop returns, so the source application is not kept waiting.
        QTimer.singleShot(0, lambda: self.open_paths(wanted))
