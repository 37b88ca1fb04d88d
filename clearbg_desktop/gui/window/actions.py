"""Every action of the main window, its menus and toolbars, and which actions a photo enables.

Built once per window (labelme's ``_Actions``, napari's qactions); the window connects the slots, except the
canvas's own (zoom, compare, view modes), which are connected here. Shortcuts go through :func:`unique_shortcuts`,
so no key sequence is bound twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QStyle

from clearbg_desktop.core.editing.preview import VIEW_MODES
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.tools.brush_options import BrushOptionsBar
from clearbg_desktop.gui.widgets.clipboard_copy import copy_cutout
from clearbg_desktop.gui.widgets.icons import redo_icon, undo_icon
from clearbg_desktop.gui.widgets.window_context import WindowContext

VIEW_LABELS = {
    "cutout": "Cut-out on &checkerboard",
    "color": "Cut-out on c&olour",
    "overlay": "Mask &overlay",
    "mask": "&Mask only",
    "original": "O&riginal",
}
Shortcut = QKeySequence | QKeySequence.StandardKey | str | None


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


def plain_text(text: str) -> str:
    """A menu text as read: "&Export…" is "Export…", "&&" an ampersand."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


class WindowActions:
    """The window's QActions by role (``actions.undo``, ``actions.views["mask"]``), its menus and toolbars.

    ``review_action`` (the batch runner's) and the docks' view toggles join the menus.
    """

    def __init__(self, context: WindowContext, window: QMainWindow, canvas: MaskCanvas, review_action: QAction,
                 docks: Sequence[QDockWidget]) -> None:
        self.context, self.window, self.canvas = context, window, canvas
        self.open = self._action("&Open…", QKeySequence.StandardKey.Open)
        self.paste = self._action("&Paste image", QKeySequence.StandardKey.Paste)
        self.copy = self._action("&Copy cut-out", QKeySequence.StandardKey.Copy, slot=self._copy_cutout)
        self.copy.setToolTip("The cut-out on the clipboard with its transparency (PNG), for Photoshop, Figma, mail…")
        self.save = self._action("&Save project", QKeySequence.StandardKey.Save)
        self.save.setToolTip("Save the photo's mask, settings and edit history as a .clearbg project (Ctrl+S)")
        self.save_as = self._action("Save project &as…",
                                    unique_shortcuts(QKeySequence.StandardKey.SaveAs, "Ctrl+Shift+S")[0])
        self.close_doc = self._action("&Close photo", QKeySequence.StandardKey.Close)
        self.export = self._action("&Export…", "Ctrl+E")
        self.reexport = self._action("Export again with last settings", "Ctrl+Shift+E")
        self.export_all = self._action("Export a&ll open photos…", "Ctrl+Alt+E")
        self.export_all.setToolTip("Every open photo with its own mask, edits and refinement, in one job")
        self.batch = self._action("&Batch export…", "Ctrl+Shift+B")
        self.review = review_action
        self.quit = self._action("&Quit", QKeySequence.StandardKey.Quit, slot=window.close)
        self.rerun = self._action("&Re-run model", "Ctrl+R")
        self.reset = self._action("Re&set mask")
        self.invert = self._action("&Invert mask", "Ctrl+I")
        self.fit = self._action("&Fit to window", "Ctrl+0", slot=canvas.zoom_fit)
        self.actual = self._action("&Actual size (100%)", "Ctrl+1", slot=canvas.zoom_actual)
        self.zoom_in = self._action("Zoom &in", QKeySequence.StandardKey.ZoomIn, slot=canvas.zoom_in)
        self.zoom_out = self._action("Zoom &out", QKeySequence.StandardKey.ZoomOut, slot=canvas.zoom_out)
        self.compare = self._action("&Before/after (hold \\)", "Ctrl+B", checkable=True, slot=canvas.set_comparing)
        self.split = self._action("&Split before/after", "Ctrl+Shift+D", checkable=True, slot=canvas.set_split)
        self.split.setToolTip("The original left of a divider you drag, the cut-out right of it")
        canvas.split_changed.connect(self.split.setChecked)
        self.background_color = self._action("Background &colour…")
        self.preferences = self._action("&Preferences…")
        self.preferences.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        self.about = self._action("&About ClearBG")
        self.shortcuts_help = self._action("&Keyboard shortcuts", "Ctrl+/")
        self.user_guide = self._action("&User guide", QKeySequence.StandardKey.HelpContents)
        self.next_photo = self._action("&Next photo", "Right")
        self.next_photo.setToolTip("The photo below this one in the Photos list (→)")
        self.previous_photo = self._action("&Previous photo", "Left")
        self.previous_photo.setToolTip("The photo above this one in the Photos list (←)")
        self.views: dict[str, QAction] = {}
        group = QActionGroup(window)
        for index, mode in enumerate(VIEW_MODES, start=1):
            action = self._action(VIEW_LABELS[mode], f"{index}", checkable=True,
                                  slot=lambda _=False, m=mode: canvas.set_view_mode(m))
            group.addAction(action)
            self.views[mode] = action
        self.views[canvas.view_mode].setChecked(True)
        undo_group = context.undo.group
        self.undo = undo_group.createUndoAction(window, "&Undo")
        self.undo.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Undo, "Ctrl+Z"))
        self.redo = undo_group.createRedoAction(window, "&Redo")
        self.redo.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
        window.addAction(self.undo)
        window.addAction(self.redo)
        self.brush_bar = BrushOptionsBar(canvas.brush, window)
        self._build_menus(docks)
        self._build_toolbars()

    def set_view_mode(self, mode: str) -> None:
        """Show the photo this way (its action checked, as if chosen from the View menu)."""
        self.views[mode].setChecked(True)
        self.canvas.set_view_mode(mode)

    def _copy_cutout(self) -> None:
        self.context.status.showMessage(copy_cutout(self.context.workspace.current), 5000)

    def _action(self, text: str, shortcut: Shortcut = None, checkable: bool = False,
                slot: Callable[..., object] | None = None) -> QAction:
        """An action of the window (its shortcut works wherever the focus is); ``slot``: connected here."""
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if slot is not None:
            action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _build_menus(self, docks: Sequence[QDockWidget]) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.context.recent.show_in(self.recent_menu)
        file_menu.addAction(self.paste)
        for group in ((self.save, self.save_as), (self.export, self.reexport, self.export_all, self.batch,
                                                              self.review),
                      (self.close_doc, self.quit)):
            file_menu.addSeparator()
            file_menu.addActions(list(group))
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo, self.redo])
        edit_menu.addSeparator()
        edit_menu.addAction(self.copy)
        edit_menu.addSeparator()
        edit_menu.addAction(self.preferences)
        view_menu = bar.addMenu("&View")
        view_menu.addActions([*self.views.values(), self.background_color])
        view_menu.addSeparator()
        view_menu.addActions([self.compare, self.split, self.fit, self.actual, self.zoom_in, self.zoom_out])
        view_menu.addSeparator()
        view_menu.addActions([dock.toggleViewAction() for dock in docks])
        view_menu.addSeparator()
        view_menu.addActions([self.next_photo, self.previous_photo])
        self.image_menu = bar.addMenu("&Image")
        self.image_menu.addActions([self.rerun, self.reset, self.invert])
        brush = self.brush_bar
        for action in (brush.toggle_action, brush.smaller_action, brush.bigger_action):
            w.addAction(action)
            self.image_menu.addAction(action)
        help_menu = bar.addMenu("&Help")
        help_menu.addActions([self.shortcuts_help, self.user_guide])
        help_menu.addSeparator()
        help_menu.addAction(self.about)

    def _build_toolbars(self) -> None:
        """Theme icons (freedesktop names) with Qt's own as the fallback: icon-only buttons keep one width while
        the Undo/Redo text changes ("Undo Brush stroke"); the full text stays in the tooltip."""
        w = self.window
        style = w.style()
        for action, theme, fallback in (
            (self.open, "document-open", QStyle.StandardPixmap.SP_DialogOpenButton),
            (self.export, "document-save-as", QStyle.StandardPixmap.SP_DialogSaveButton),
            (self.fit, "zoom-fit-best", QStyle.StandardPixmap.SP_TitleBarMaxButton),
        ):
            action.setIcon(QIcon.fromTheme(theme, style.standardIcon(fallback)))
        ink = w.palette().color(QPalette.ColorRole.ButtonText)
        self.undo.setIcon(undo_icon(ink))  # curved: straight arrows were taken for previous/next photo (#37)
        self.redo.setIcon(redo_icon(ink))
        self._say_shortcut_in_tooltip(self.undo, "Undo")
        self._say_shortcut_in_tooltip(self.redo, "Redo")
        for mode, short in (("cutout", "Cut-out"), ("overlay", "Overlay"), ("mask", "Mask"), ("original", "Original")):
            self.views[mode].setIconText(short)
        self.compare.setIconText("Before/after")
        self.toolbar = w.addToolBar("Main")
        self.toolbar.setObjectName("MainToolbar")
        groups = ((self.open, self.export), [self.views[m] for m in ("cutout", "overlay", "mask", "original")],
                  (self.compare, self.fit), (self.undo, self.redo))
        for index, group in enumerate(groups):
            if index:
                self.toolbar.addSeparator()
            self.toolbar.addActions(list(group))
        w.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.brush_bar)

    def _say_shortcut_in_tooltip(self, action: QAction, verb: str) -> None:
        """The toolbar button says what it undoes and with which key ("Undo Erase stroke (Ctrl+Z)")."""
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        group = self.context.undo.group
        changed = group.undoTextChanged if verb == "Undo" else group.redoTextChanged

        def say(text: str) -> None:
            action.setToolTip(f"{verb} {text} ({keys})" if text else f"{verb} ({keys})")

        changed.connect(say)
        say(group.undoText() if verb == "Undo" else group.redoText())

    def listed(self) -> list[tuple[str, str, str]]:
        """(menu, command, keys) of every action with a key, in menu order; the brush tools (on the brush bar
        only) and any other action of the window after them: Help ▸ Keyboard shortcuts reads this."""
        fixed_names = {self.undo: "Undo", self.redo: "Redo"}  # their text follows the edit ("Undo Erase stroke")
        rows: list[tuple[str, str, str]] = []
        seen: set[QAction] = set()

        def add(section: str, action: QAction) -> None:
            if action in seen or action.isSeparator() or not action.shortcuts():
                return
            seen.add(action)
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            rows.append((section, fixed_names.get(action, plain_text(action.text())), keys))

        for entry in self.window.menuBar().actions():
            menu = entry.menu()
            if isinstance(menu, QMenu):
                for action in menu.actions():
                    add(plain_text(entry.text()), action)
        for action in self.brush_bar.actions():
            add("Brush", action)
        for action in self.window.findChildren(QAction):
            add("Other", action)
        return rows

    def update_navigation(self, has_previous: bool, has_next: bool) -> None:
        self.previous_photo.setEnabled(has_previous)
        self.next_photo.setEnabled(has_next)

    def update_enabled(self, has_photo: bool, has_mask: bool, can_save: bool) -> None:
        for action in (self.rerun, self.fit, self.actual, self.zoom_in, self.zoom_out, self.close_doc):
            action.setEnabled(has_photo)
        for action in (self.reset, self.invert, self.export, self.reexport):
            action.setEnabled(has_mask)
        self.export_all.setEnabled(any(d.ready for d in self.context.workspace.documents))
        self.save.setEnabled(can_save)
        self.save_as.setEnabled(can_save)
