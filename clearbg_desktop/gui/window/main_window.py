"""The main window wires the parts together: the canvas and docks, the inference worker's results, and the
photos of the session (``core/editing/workspace.py``). Each part (actions, exports, batches, projects, refining,
the quit question…) takes a ``WindowContext``, not the window, and asks the window to act through its signals."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QThreadPool, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QResizeEvent
from PySide6.QtWidgets import QColorDialog, QFileDialog, QMainWindow, QMenu, QWidget

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, Brush
from clearbg_desktop.core.editing.project import PROJECT_SUFFIX, is_project_file
from clearbg_desktop.core.editing.session import SESSION_SUFFIX, is_session_file
from clearbg_desktop.core.imaging.formats import INPUT_GROUPS, INPUT_SUFFIXES
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.inference.model_choice import model_label, resolve_model
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.canvas.hold_compare import HoldToCompare
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.dialogs.about import show_about
from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog
from clearbg_desktop.gui.dialogs.shortcuts_dialog import ShortcutsDialog, open_user_guide
from clearbg_desktop.gui.jobs.batch_runner import BatchRunner
from clearbg_desktop.gui.jobs.export_runner import ExportRunner
from clearbg_desktop.gui.jobs.inference_worker import SegmentRequest, WorkerThread
from clearbg_desktop.gui.jobs.mask_scheduler import MaskScheduler
from clearbg_desktop.gui.jobs.model_results import ModelResults
from clearbg_desktop.gui.jobs.photo_memory import PhotoMemory, budgeted_residency
from clearbg_desktop.gui.jobs.project_files import ProjectFiles
from clearbg_desktop.gui.widgets.filmstrip import dropped_photos
from clearbg_desktop.gui.widgets.keyboard_focus import KeyboardFocus
from clearbg_desktop.gui.widgets.qimage import loaded_from_clipboard
from clearbg_desktop.gui.widgets.resources import app_icon
from clearbg_desktop.gui.widgets.status_bar import StatusBar
from clearbg_desktop.gui.widgets.undo import DocumentUndo
from clearbg_desktop.gui.widgets.window_context import WindowContext
from clearbg_desktop.gui.widgets.window_settings import window_qsettings
from clearbg_desktop.gui.window.actions import WindowActions
from clearbg_desktop.gui.window.mask_commands import MaskCommands
from clearbg_desktop.gui.window.quit_guard import QuitGuard
from clearbg_desktop.gui.window.refine_preview import RefinePreview
from clearbg_desktop.gui.window.shoot_session import ShootSession
from clearbg_desktop.gui.window.shoot_view import ShootView
from clearbg_desktop.gui.window.side_panels import SidePanels
from clearbg_desktop.gui.window.window_geometry import restore_window_state, save_window_state


def _patterns(suffixes: Iterable[str]) -> str:
    """Both cases: cameras write IMG_0001.JPG and DSC_0001.NEF, and a Linux file dialog matches case."""
    return " ".join(f"*{suffix} *{suffix.upper()}" for suffix in sorted(suffixes))


def open_file_filters() -> str:
    """The Open dialog's filters: everything ClearBG opens, then photos, camera RAW and projects apart."""
    groups = ";;".join(f"{name} ({_patterns(suffixes)})" for name, suffixes in INPUT_GROUPS)
    return (f"Photos and projects ({_patterns(INPUT_SUFFIXES)} *{PROJECT_SUFFIX} *{SESSION_SUFFIX});;{groups};;"
            f"ClearBG projects (*{PROJECT_SUFFIX});;ClearBG sessions (*{SESSION_SUFFIX});;All files (*)")


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
        self.qsettings = window_qsettings()  # never written through a symlink (#36)
        self._pasted = itertools.count(1)
        self.undo = DocumentUndo(self, self._repaint_edit)
        self.canvas = MaskCanvas(self)
        # The colour view draws the shadow the photo's export would get (its own settings, else the next export's).
        self.canvas.set_shadow_source(lambda doc: (doc.export_options or self.settings.export).shadow)
        self.canvas.set_brush(Brush(self.settings.brush_size, self.settings.brush_hardness, self.settings.brush_opacity))
        self.panels = SidePanels(self, self.undo.group)
        self.filmstrip = self.panels.filmstrip
        self.status = StatusBar(model_label(resolve_model(self.settings.model).name), self)
        self.setStatusBar(self.status)
        context = self.context = WindowContext.create(self, self.settings, self.status, self.undo)
        self.workspace, self.messages = context.workspace, context.messages
        self.shoot = ShootView(context, self, self.canvas, self.filmstrip)  # the editor or the grid (G), #40
        self.setCentralWidget(self.shoot.stack)
        self.exporter = ExportRunner(context)
        self.batch = BatchRunner(context, self.exporter, self.filmstrip)
        self.refine = RefinePreview(context, self.panels.refine_panel, self.canvas)
        self.mask_commands = MaskCommands(context, self.canvas)
        self.projects = ProjectFiles(context)
        self.quit_guard = QuitGuard(context, self.projects, self.batch, self.exporter)
        self.hold_compare = HoldToCompare(self, self.canvas)
        residency = budgeted_residency(self.settings)
        self.masks = MaskScheduler(context, self.filmstrip, residency, self.batch)  # the shown photo first (#32)
        self.photo_memory = PhotoMemory(context, residency, self.canvas, self.filmstrip, self.masks)  # (#32)
        self.window_actions = WindowActions(context, self, self.canvas, self.batch.review_action, self.panels.docks)
        self.brush_bar = self.window_actions.brush_bar
        self.keyboard = KeyboardFocus(self, self.canvas)  # the keys stay with the photo (#37)
        self.keyboard.give_back_after_editing(self.brush_bar.size_box, self.panels.refine_panel.threshold)
        self.inference = WorkerThread(self.settings.model, self.settings.device, self)
        self.results = ModelResults(context, self.inference, self.canvas, self.masks, self.photo_memory, self.projects,
                                    self.batch)
        self.sessions = ShootSession(context, self.shoot, self.projects, self._add_restored, self._open_one)
        self.quit_guard.session = self.sessions  # quitting offers to save the shoot, flags included
        self._build_shoot_menu()
        self._connect_parts()
        restore_window_state(self, self.qsettings)
        self._update_actions()

    def _connect_parts(self) -> None:
        """What each part asks of the window, and which window slot each action triggers."""
        self.mask_commands.requested.connect(self.submit)
        self.mask_commands.box_wanted.connect(self.inference.submit_box)  # the object box, off the GUI thread
        self.inference.worker.box_ready.connect(self.mask_commands.apply_box)
        self.inference.worker.box_failed.connect(self.mask_commands.box_failed)
        self.canvas.said.connect(self.status.showMessage)
        self.canvas.zoom_changed.connect(self.status.set_zoom)
        self.filmstrip.document_chosen.connect(self._on_document_chosen)
        self.status.get_full_model_clicked.connect(self.get_full_model)
        self.undo.group.cleanChanged.connect(lambda clean: self.setWindowModified(not clean))
        self.brush_bar.brush_changed.connect(self._on_brush_changed)
        self.folder_dropped.connect(self.batch.open_dialog)
        self.context.recent.chosen.connect(lambda path: self.open_paths([path]))
        self.projects.opened.connect(self._on_project_opened)
        self.projects.saved.connect(lambda _document: self.update_title())
        self.batch.review_opened.connect(self._decode_without_mask)
        self.batch.quit_ready.connect(self.close)
        self.quit_guard.quit_chosen.connect(self.close)
        self.quit_guard.close_chosen.connect(self.remove_document)
        self.masks.requested.connect(self.submit)
        for part in (self.batch, self.quit_guard, self.photo_memory):
            part.show_requested.connect(self.show_document)
        actions = self.window_actions
        for action, slot in (
                (actions.open, self.open_dialog), (actions.paste, self.paste_from_clipboard),
                (actions.save, lambda: self.projects.save()), (actions.save_as, self.projects.save_as),
                (actions.close_doc, self.close_current), (actions.export, self.exporter.open_dialog),
                (actions.reexport, self.exporter.export_again),
                (actions.export_all, lambda: self.batch.open_export_all(
                    selected=self.shoot.targets() if self.shoot.grid_shown else None)),
                (actions.batch, lambda: self.batch.open_dialog([])), (actions.rerun, self.mask_commands.rerun_model),
                (actions.reset, self.mask_commands.reset_mask), (actions.invert, self.mask_commands.invert_mask),
                (actions.background_color, self.choose_background_color),
                (actions.preferences, self.open_preferences), (actions.about, self.show_about),
                (actions.next_photo, lambda: self.show_neighbour(1)),
                (actions.previous_photo, lambda: self.show_neighbour(-1)),
                (actions.shortcuts_help, self.show_shortcuts), (actions.user_guide, self.open_user_guide)):
            action.triggered.connect(slot)
        self.shoot.show_requested.connect(self.show_document)
        self.shoot.box_sync_requested.connect(self.mask_commands.request_relative_box)
        self.mask_commands.box_applied.connect(self.shoot.mask_changed)
        self.batch.review_action.triggered.connect(lambda: self.shoot.show_sorted("doubt"))  # after the review opens
        results = self.results
        results.ready.connect(self.shoot.mask_changed)
        results.changed.connect(self._update_actions)
        results.ready.connect(self.document_ready)
        results.requested.connect(self.submit)
        results.dropped.connect(self.remove_document)
        results.failed.connect(self.document_failed)

    # ----- opening photos ----------------------------------------------------------------
    def open_paths(self, paths: list[Path]) -> list[Document]:
        """Open photos (folders go to ``folder_dropped``, a session file to its own reader); returns the new
        documents."""
        folders = [p for p in paths if p.is_dir()]
        if folders:
            self.folder_dropped.emit(folders)
        for path in (p for p in paths if is_session_file(p)):
            self.sessions.open(path)
        paths = [p for p in paths if not is_session_file(p)]
        opened: list[Document] = []
        for path in (p for p in paths if is_project_file(p)):
            reopened = self.projects.open(path)
            if reopened is not None:
                opened.append(reopened)
        for path in (p for p in paths if not p.is_dir() and not is_project_file(p)):
            already = self.context.open_document_of(path)
            if already is not None:  # one entry per photo: opening it again shows it
                opened.append(already)
                continue
            document = Document(title=path.name, path=path)
            self.add_document(document)
            self.masks.enqueue(document)
            self.context.recent.remember(path)
            opened.append(document)
        if opened:
            self.show_document(opened[0])  # the first of a shoot, as the user chose them (#37)
        self.masks.dispatch()
        return opened

    def open_loaded(self, title: str, loaded: LoadedImage) -> Document:
        document = Document(title=title, loaded=loaded)
        self.add_document(document)
        self.submit(SegmentRequest(self.workspace.new_request(document.doc_id), document.doc_id, loaded=loaded))
        self.show_document(document)
        return document

    def open_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos or projects", self.context.recent.last_folder(),
                                                open_file_filters())
        if files:
            self.open_paths([Path(f) for f in files])

    def paste_from_clipboard(self) -> Document | None:
        loaded = loaded_from_clipboard()
        if loaded is None:
            self.status.showMessage("The clipboard holds no image", 5000)
            return None
        return self.open_loaded(f"Pasted image {next(self._pasted)}", loaded)

    def add_document(self, document: Document) -> None:
        self.workspace.add(document)
        self.undo.add(document)
        self.filmstrip.add(document)
        self.photo_memory.request_thumbnail(document)

    def _open_one(self, path: Path) -> Document | None:
        """A photo a session keeps by path: opened in its place in the order, the photo on screen left alone."""
        if self.context.open_document_of(path) is not None:
            return self.context.open_document_of(path)
        document = Document(title=path.name, path=path)
        self.add_document(document)
        self.masks.enqueue(document)
        self.masks.dispatch()
        return document

    def _add_restored(self, document: Document) -> None:
        """A photo of a reopened session, with its masks (packed) and history: no decode until it is shown."""
        self.add_document(document)
        self.filmstrip.set_flag(document.doc_id, document.flag)

    def _build_shoot_menu(self) -> None:
        menu = QMenu("S&hoot", self)
        self.shoot.build_menu(menu)
        menu.addSeparator()
        menu.addActions([self.sessions.save_action, self.sessions.save_as_action])
        help_entry = self.menuBar().actions()[-1]
        self.menuBar().insertMenu(help_entry, menu)
        self.shoot_menu = menu

    def _decode_without_mask(self, document: Document) -> None:
        """A reopened project or a batch output under review: its photo is decoded; its mask comes with it."""
        self.add_document(document)
        self.submit(SegmentRequest(self.workspace.new_request(document.doc_id), document.doc_id, path=document.path,
                                   segment=False))

    def _on_project_opened(self, document: Document) -> None:
        self._decode_without_mask(document)
        self.show_document(document)

    def submit(self, request: SegmentRequest) -> None:
        self.status.set_pending(self.workspace.pending)
        document = self.workspace.by_id(request.doc_id)
        if document is not None:
            self.status.showMessage(f"Cutting out {document.title}…")
        self.masks.sent(request)
        self.inference.submit.emit(request)

    # ----- documents ---------------------------------------------------------------------
    def show_document(self, document: Document) -> None:
        self.refine.leave(document)
        self.workspace.current = document
        stack = self.undo.activate(document)
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

    def show_neighbour(self, step: int) -> None:
        """→ / ←: the next or previous photo in the Photos list (as in Lightroom); at either end it stays."""
        current = self.workspace.current
        order = self.filmstrip.order()
        if current is None or current.doc_id not in order:
            return
        row = order.index(current.doc_id) + step
        if 0 <= row < len(order):
            self.filmstrip.setCurrentRow(row)

    def remove_document(self, document: Document) -> None:
        self.filmstrip.remove(document.doc_id)
        self.masks.discard(document)
        self.photo_memory.forget(document)
        was_current = document is self.workspace.current
        following = self.workspace.remove(document)
        self.undo.remove(document)
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

    def _repaint_edit(self, document: Document, box: Box) -> None:
        if document is self.workspace.current:
            self.canvas.show_edit(box)

    def _on_brush_changed(self, brush: Brush) -> None:
        self.canvas.set_brush(brush)
        self.settings.brush_size, self.settings.brush_hardness = int(brush.size), brush.hardness
        self.settings.brush_opacity = brush.opacity

    def _update_actions(self) -> None:
        current = self.workspace.current
        self.window_actions.update_enabled(current is not None and current.loaded is not None,
                                           current is not None and current.alpha is not None,
                                           self.projects.can_save(current))
        order = self.filmstrip.order()
        row = order.index(current.doc_id) if current is not None and current.doc_id in order else -1
        self.window_actions.update_navigation(row > 0, 0 <= row < len(order) - 1)

    # ----- view, preferences, about ------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        self.window_actions.set_view_mode(mode)

    def choose_background_color(self) -> None:
        color = QColorDialog.getColor(self.canvas.background_color, self, "Background colour")
        if color.isValid():
            self.canvas.set_background_color(color)
            self.set_view_mode("color")

    def open_preferences(self) -> PreferencesDialog:
        """Edit ▸ Preferences: OK applies autosave, the memory budget, and the device and model to the worker."""
        dialog = PreferencesDialog(self.settings, self)
        dialog.accepted.connect(lambda: self.projects.set_autosave_minutes(dialog.autosave_box.value()))
        dialog.accepted.connect(lambda: self.photo_memory.set_budget_mib(dialog.memory_box.value()))
        dialog.accepted.connect(lambda: self.apply_preferences(dialog.device(), dialog.model()))
        dialog.full_model_installed.connect(lambda: self.apply_preferences(self.settings.device, self.settings.model))
        dialog.open()
        return dialog

    def apply_preferences(self, device: str, model: str) -> None:
        self.settings.device, self.settings.model = device, model
        self.settings.save()
        label = model_label(resolve_model(model).name)
        self.status.model_label.setText(f"Model: {label} (loads with the next photo)")
        self.inference.reconfigure.emit(model, device)
        self.status.showMessage(f"{label}: used from the next photo", 5000)

    def get_full_model(self) -> None:  # the status bar's "Full model not installed: get it…"
        self.open_preferences().get_full_model()

    def show_about(self) -> None:  # Help ▸ About
        self.messages.shown = show_about(self, self.settings, self.results.model_description)

    def show_shortcuts(self) -> ShortcutsDialog:  # Help ▸ Keyboard shortcuts
        dialog = ShortcutsDialog(self.window_actions.listed(), self)
        dialog.open()
        return dialog

    def open_user_guide(self) -> None:  # Help ▸ User guide
        shown = open_user_guide(self)
        if shown is not None:
            self.messages.shown = shown

    # ----- window events -----------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        """The photo stays the largest thing in the window at any size and scale: side panels have a ceiling."""
        self.panels.fit_to(event.size().width())
        super().resizeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if not self.quit_guard.may_close():
            event.ignore()
            return
        save_window_state(self, self.qsettings)
        self.qsettings.sync()  # now, into the regular file window_qsettings made sure of
        self.inference.stop()
        self.batch.stop(closing=True)
        QThreadPool.globalInstance().waitForDone()  # exports and previews in flight finish (atomically)
        self.photo_memory.stop()
        self.sessions.clean_quit()
        self.projects.clean_quit()
        self.settings.save()
        super().closeEvent(event)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if dropped_photos(event.mimeData())[0]:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        wanted, skipped = dropped_photos(event.mimeData())
        if skipped:
            self.status.showMessage(f"Ignored {skipped} file(s) that are not photos", 5000)
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.open_paths(wanted))  # after the drop returns: the source app is not kept waiting
