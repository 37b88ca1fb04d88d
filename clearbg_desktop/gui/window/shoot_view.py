"""The shoot as one piece of work: the grid (G) beside the editor, flags (P, N, X, U), copy/paste and sync of a
photo's settings, and the cut-out thumbnails the grid draws.

Thin: the rules (flags, orders, filters, thumbnails) are ``core.editing.flags`` and ``core.editing.shoot``; the
grid widget is ``widgets.shoot_grid``; settings changes are undo steps (``widgets.undo.SettingsCommand``).
"""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtCore import QMimeData, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QStackedWidget

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.flags import FLAG_LABELS
from clearbg_desktop.core.editing.shoot import SYNC_PARTS, ShootCounts, mask_thumbnail, synced_options
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.doubt import doubt_of
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.dialogs.sync_dialog import SyncDialog
from clearbg_desktop.gui.jobs.decoded_views import THUMBNAIL_SIZE
from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.shoot_grid import ShootGridPanel
from clearbg_desktop.gui.widgets.undo import SettingsCommand
from clearbg_desktop.gui.widgets.window_context import WindowContext

SETTINGS_MIME = "application/x-clearbg-settings"
FLAG_KEYS = {"done": "P", "needs-work": "N", "reject": "X", None: "U"}


class ShootView(QObject):
    """Owns the central stack (editor | grid) and the shoot's actions.

    Signals:
        show_requested(object): show this Document in the editor.
        flags_changed(): a flag changed (the session is not as saved).
        box_sync_requested(object, str, object): run the object box on this Document (mode, box in fractions).
    """

    show_requested = Signal(object)
    flags_changed = Signal()
    box_sync_requested = Signal(object, str, object)

    def __init__(self, context: WindowContext, window: QMainWindow, canvas: MaskCanvas, filmstrip: Filmstrip) -> None:
        super().__init__(window)
        self.context, self.window, self.canvas, self.filmstrip = context, window, canvas, filmstrip
        self.panel = ShootGridPanel(filmstrip.strip, context.workspace.by_id, window)
        self.grid = self.panel.grid
        self.grid.background_of = self._background_of
        self.stack = QStackedWidget(window)
        self.stack.setObjectName("CentralStack")
        self.stack.addWidget(canvas)
        self.stack.addWidget(self.panel)
        self.copied: ExportOptions | None = None
        self._dirty: set[int] = set()
        self._thumb_timer = QTimer(self)
        self._thumb_timer.setSingleShot(True)
        self._thumb_timer.setInterval(400)  # after a stroke, not during it
        self._thumb_timer.timeout.connect(self._refresh_dirty)
        self._build_actions()
        self.grid.document_opened.connect(self._open_from_grid)
        self.panel.view_changed.connect(self._update_counts)
        context.undo.group.indexChanged.connect(self._on_history_moved)
        self._update_counts()

    # ----- actions -------------------------------------------------------------------------
    def _action(self, text: str, keys: str | list[str] | None = None, tip: str = "") -> QAction:
        action = QAction(text, self.window)
        if isinstance(keys, str):
            action.setShortcut(QKeySequence(keys))
        elif keys:
            action.setShortcuts([QKeySequence(key) for key in keys])
        action.setToolTip(tip or text.replace("&", ""))
        self.window.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.grid_action = self._action("&Grid of the shoot", "G", "All open photos as cut-outs, to cull and flag (G)")
        self.grid_action.setCheckable(True)
        self.grid_action.toggled.connect(self.set_grid_shown)
        self.flag_actions: dict[str | None, QAction] = {}
        for flag, text in (("done", "Flag as &done"), ("needs-work", "Flag as &needs work"),
                           ("reject", "Flag as &rejected"), (None, "&Unflag")):
            action = self._action(text, FLAG_KEYS[flag], f"{FLAG_LABELS[flag]} ({FLAG_KEYS[flag]}): the selected "
                                  "photos in the grid, or the photo on screen")
            action.triggered.connect(lambda _=False, chosen=flag: self.flag_selected(chosen))
            self.flag_actions[flag] = action
        self.flag_actions["reject"].setShortcuts([QKeySequence("Shift+X")])  # X swaps the brush on the photo
        self.copy_settings = self._action("&Copy settings", "Ctrl+Shift+C",
                                          "The photo's export settings (refine, background, format, size…)")
        self.copy_settings.triggered.connect(self.copy_current_settings)
        self.paste_settings = self._action("&Paste settings", "Ctrl+Shift+V",
                                           "Onto the selected photos in the grid, or the photo on screen (undoable)")
        self.paste_settings.triggered.connect(self.paste_copied_settings)
        self.sync = self._action("&Sync settings to selected…", "Ctrl+Shift+Y",
                                 "The photo on screen's settings onto the photos selected in the grid")
        self.sync.triggered.connect(self.open_sync)

    def build_menu(self, menu: QMenu) -> None:
        menu.addAction(self.grid_action)
        menu.addSeparator()
        menu.addActions(list(self.flag_actions.values()))
        menu.addSeparator()
        menu.addActions([self.copy_settings, self.paste_settings, self.sync])

    # ----- grid --------------------------------------------------------------------------
    @property
    def grid_shown(self) -> bool:
        return self.stack.currentWidget() is self.panel

    def set_grid_shown(self, shown: bool) -> None:
        """G: the grid instead of the photo (the current photo selected in it), and back."""
        if shown == self.grid_shown:
            return
        self.grid_action.setChecked(shown)
        self.stack.setCurrentWidget(self.panel if shown else self.canvas)
        # On the photo X swaps restore/erase (as in Photoshop); in the grid it rejects (as in Lightroom).
        self.flag_actions["reject"].setShortcuts([QKeySequence("X"), QKeySequence("Shift+X")] if shown
                                                 else [QKeySequence("Shift+X")])
        for action in self._brush_actions():
            action.setEnabled(not shown)
        actions = getattr(self.window, "window_actions", None)
        if actions is not None:  # ← → move in the grid, not the photo behind it (walk 40: P then flagged another)
            actions.next_photo.setShortcuts([] if shown else [QKeySequence("Right")])
            actions.previous_photo.setShortcuts([] if shown else [QKeySequence("Left")])
        current = self.context.workspace.current
        if shown:
            if current is not None:
                self.grid.select_document(current.doc_id)
            self.grid.setFocus(Qt.FocusReason.OtherFocusReason)
            self._update_counts()
        else:
            self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def _brush_actions(self) -> list[QAction]:
        bar = getattr(self.window, "brush_bar", None)
        return [] if bar is None else [bar.toggle_action, bar.smaller_action, bar.bigger_action]

    def show_sorted(self, order: str) -> None:
        """Review doubtful photos: the grid, sorted by doubt, the most doubtful first (the batch's doubt for photos
        whose mask is still being read back)."""
        for document in self.context.workspace.documents:
            if document.review is not None and document.doubt is None:
                document.doubt = document.review.doubt
        self.panel.sort_by(order)
        self.grid.filter.invalidate()
        self.set_grid_shown(True)

    def _open_from_grid(self, doc_id: int) -> None:
        document = self.context.workspace.by_id(doc_id)
        if document is not None:
            self.set_grid_shown(False)
            self.show_requested.emit(document)

    def _update_counts(self) -> None:
        documents = self.context.workspace.documents
        shown = self.grid.filter.rowCount()
        counts = str(ShootCounts.of(documents))
        self.panel.set_counts(counts if shown == len(documents) else f"{shown} shown of {counts}")

    def documents_in_order(self) -> list[Document]:
        """The open photos in the filmstrip's order (a session keeps it)."""
        found = (self.context.workspace.by_id(doc_id) for doc_id in self.filmstrip.order())
        return [document for document in found if document is not None]

    # ----- flags -------------------------------------------------------------------------
    def targets(self) -> list[Document]:
        """What a flag or paste acts on: the grid's selection while the grid is shown, else the photo on screen."""
        workspace = self.context.workspace
        if self.grid_shown:
            found = (workspace.by_id(doc_id) for doc_id in self.grid.selected_ids())
            return [document for document in found if document is not None]
        return [workspace.current] if workspace.current is not None else []

    def flag_selected(self, flag: str | None) -> None:
        documents = self.targets()
        for document in documents:
            self.set_flag(document, flag)
        if documents:
            names = documents[0].title if len(documents) == 1 else f"{len(documents)} photos"
            self.context.status.showMessage(f"{names}: {FLAG_LABELS[flag].lower()}", 3000)

    def set_flag(self, document: Document, flag: str | None) -> None:
        if document.flag != flag:
            document.flag = flag
            self.filmstrip.set_flag(document.doc_id, flag)
            self.grid.filter.invalidate()
            self._update_counts()
            self.flags_changed.emit()

    # ----- cut-out thumbnails ------------------------------------------------------------
    def mask_changed(self, document: Document) -> None:
        """The photo's mask is new (the model's answer, a reopened project): its cut-out and doubt now."""
        self._dirty.discard(document.doc_id)
        alpha = document.mask_for_export()  # packed: inflated for this only, the photo stays evicted
        if alpha is None:
            return
        size = (document.thumbnail.shape[1], document.thumbnail.shape[0]) if document.thumbnail is not None \
            else thumbnail_size(alpha.shape)
        self.show_mask(document, mask_thumbnail(alpha, size))

    def show_mask(self, document: Document, thumbnail: np.ndarray) -> None:
        """A mask thumbnail made elsewhere (a session read off the GUI thread)."""
        document.mask_thumbnail = thumbnail
        document.doubt = document.review.doubt if document.review is not None else doubt_of(thumbnail).score
        self.filmstrip.set_mask(document.doc_id, thumbnail, document.doubt)
        if self.grid.filter.order == "doubt" or self.grid.filter.min_doubt > 0:
            self.grid.filter.invalidate()

    def _on_history_moved(self, _index: int) -> None:
        self.canvas.update_shadow()  # a pasted or synced setting undone or redone may change the shadow shown
        self.grid.viewport().update()
        current = self.context.workspace.current
        if current is not None and not self.context.undo.replaying:
            self._dirty.add(current.doc_id)
            self._thumb_timer.start()

    def _refresh_dirty(self) -> None:
        for doc_id in list(self._dirty):
            document = self.context.workspace.by_id(doc_id)
            self._dirty.discard(doc_id)
            if document is not None and document.has_mask:
                self.mask_changed(document)

    def _background_of(self, doc_id: int) -> tuple[int, int, int] | None:
        document = self.context.workspace.by_id(doc_id)
        if document is None:
            return None
        background = self.options_of(document).background
        return tuple(background.color) if background.kind == "color" else None  # type: ignore[return-value]

    # ----- settings: copy, paste, sync ---------------------------------------------------
    def options_of(self, document: Document) -> ExportOptions:
        return document.export_options or self.context.settings.export

    def copy_current_settings(self) -> None:
        """Ctrl+Shift+C: the photo's settings, kept here and on the clipboard as JSON (another window takes them)."""
        document = self.context.workspace.current
        if document is None:
            return
        self.copied = self.options_of(document)
        mime = QMimeData()
        data = json.dumps(self.copied.to_dict()).encode()
        mime.setData(SETTINGS_MIME, data)
        mime.setText(data.decode())
        QGuiApplication.clipboard().setMimeData(mime)
        self.context.status.showMessage(f"Copied the settings of {document.title}", 3000)

    def _clipboard_settings(self) -> ExportOptions | None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(SETTINGS_MIME):
            return self.copied
        data = bytes(mime.data(SETTINGS_MIME).data())
        if len(data) > 64 * 1024:
            return self.copied
        try:
            return ExportOptions.from_dict(json.loads(data))
        except (ValueError, TypeError):
            return self.copied

    def paste_copied_settings(self) -> int:
        """Ctrl+Shift+V: the copied settings onto each target photo, one undo step each; returns how many."""
        options = self._clipboard_settings()
        if options is None:
            self.context.status.showMessage("No settings copied yet (Ctrl+Shift+C on a photo first)", 5000)
            return 0
        return self.apply_settings(self.targets(), lambda _document: options, "Paste settings")

    def apply_settings(self, documents: list[Document], make: object, label: str) -> int:
        """Give each photo new settings as one undoable step on its own history."""
        changed = 0
        for document in documents:
            old = document.export_options
            new = make(document)  # type: ignore[operator]
            if new == old:  # already its own: nothing to do. Equal to the window's is not enough (walk 40): the
                continue  # next export dialog changes those, and a synced photo must keep what it was given
            stack = self.context.undo.stacks.get(document.doc_id)
            if stack is None:
                continue
            stack.push(SettingsCommand(document, old, new, label))
            changed += 1
        self.canvas.update_shadow()  # only re-renders when the shown photo's shadow changed
        self.grid.viewport().update()  # cells show each photo's export background
        names = documents[0].title if len(documents) == 1 else f"{len(documents)} photos"
        self.context.status.showMessage(f"{label}: {changed} of {names} changed" if len(documents) > 1
                                        else f"{label}: {names}", 4000)
        return changed

    def open_sync(self) -> SyncDialog | None:
        """Sync settings: from the photo on screen to the photos selected in the grid, the parts the user ticks."""
        source = self.context.workspace.current
        targets = [d for d in self.targets() if d is not source] if self.grid_shown else []
        if source is None or not targets:
            self.context.status.showMessage("Select the photos to sync in the grid (G), with the photo to copy from "
                                            "on screen", 6000)
            return None
        dialog = SyncDialog(source.title, len(targets), self.window, has_box=source.object_box is not None)
        dialog.accepted.connect(lambda: self.sync_settings(source, targets, dialog.parts()))
        dialog.open()
        self.sync_dialog = dialog
        return dialog

    def sync_settings(self, source: Document, targets: list[Document], parts: set[str]) -> int:
        """The ticked parts of the source's settings onto each target (one undo step each); with "box", its object
        box too (the model on each photo, one more undo step each when it arrives)."""
        assert parts <= {*SYNC_PARTS, "box"}
        options = self.options_of(source)
        settings = parts - {"box"}
        changed = self.apply_settings(targets, lambda d: synced_options(self.options_of(d), options, settings),
                                      f"Sync from {source.title}") if settings else 0
        if "box" in parts and source.object_box is not None:
            mode, fractions = source.object_box
            for document in targets:
                self.box_sync_requested.emit(document, mode, fractions)
            self.context.status.showMessage(f"Running the object box of {source.title} on {len(targets)} photo(s)…")
        return changed


def thumbnail_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(width, height) of the thumbnail a photo of this (height, width) shape has: fitted in THUMBNAIL_SIZE."""
    height, width = shape[:2]
    scale = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))
