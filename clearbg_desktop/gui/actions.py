"""Every action of the main window, its menus and toolbars, and which actions a photo enables.

Built once per window (labelme's ``_Actions``, napari's qactions); the window keeps the slots. Shortcuts
go through :func:`unique_shortcuts`, so no key sequence is bound twice.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QStyle

from clearbg_desktop.core.editing.preview import VIEW_MODES
from clearbg_desktop.gui.brush_tool import BrushOptionsBar
from clearbg_desktop.gui.preferences_dialog import open_preferences

if TYPE_CHECKING:
    from clearbg_desktop.gui.main_window import MainWindow

MAX_RECENT = 10
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


class WindowActions:
    """The window's QActions by role (``actions.undo``, ``actions.views["mask"]``), its menus and toolbars."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        w, canvas = window, window.canvas
        self.open = self._action("&Open…", w.open_dialog, QKeySequence.StandardKey.Open)
        self.paste = self._action("&Paste image", w.paste_from_clipboard, QKeySequence.StandardKey.Paste)
        self.copy = self._action("&Copy cut-out", self._copy_cutout, QKeySequence.StandardKey.Copy)
        self.copy.setToolTip("The cut-out on the clipboard with its transparency (PNG), for Photoshop, Figma, mail…")
        self.save = self._action("&Save project", lambda: w.projects.save(), QKeySequence.StandardKey.Save)
        self.save.setToolTip("Save the photo's mask, settings and edit history as a .clearbg project (Ctrl+S)")
        self.save_as = self._action("Save project &as…", w.projects.save_as,
                                    unique_shortcuts(QKeySequence.StandardKey.SaveAs, "Ctrl+Shift+S")[0])
        self.close_doc = self._action("&Close photo", w.close_current, QKeySequence.StandardKey.Close)
        self.export = self._action("&Export…", w.exporter.open_dialog, "Ctrl+E")
        self.reexport = self._action("Export again with last settings", w.exporter.export_again, "Ctrl+Shift+E")
        self.export_all = self._action("Export a&ll open photos…", lambda: w.batch.open_export_all(), "Ctrl+Alt+E")
        self.export_all.setToolTip("Every open photo with its own mask, edits and refinement, in one job")
        self.batch = self._action("&Batch export…", lambda: w.batch.open_dialog([]), "Ctrl+Shift+B")
        self.quit = self._action("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self.rerun = self._action("&Re-run model", w.rerun_model, "Ctrl+R")
        self.reset = self._action("Re&set mask", w.reset_mask)
        self.invert = self._action("&Invert mask", w.invert_mask, "Ctrl+I")
        self.fit = self._action("&Fit to window", canvas.zoom_fit, "Ctrl+0")
        self.actual = self._action("&Actual size (100%)", canvas.zoom_actual, "Ctrl+1")
        self.zoom_in = self._action("Zoom &in", canvas.zoom_in, QKeySequence.StandardKey.ZoomIn)
        self.zoom_out = self._action("Zoom &out", canvas.zoom_out, QKeySequence.StandardKey.ZoomOut)
        self.compare = self._action("&Before/after (hold \\)", canvas.set_comparing, "Ctrl+B", checkable=True)
        self.split = self._action("&Split before/after", canvas.set_split, "Ctrl+Shift+D", checkable=True)
        self.split.setToolTip("The original left of a divider you drag, the cut-out right of it")
        canvas.split_changed.connect(self.split.setChecked)
        self.background_color = self._action("Background &colour…", w.choose_background_color)
        self.preferences = self._action("&Preferences…", lambda: open_preferences(w))
        self.preferences.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        self.about = self._action("&About ClearBG", w.show_about)
        self.views: dict[str, QAction] = {}
        group = QActionGroup(w)
        for index, mode in enumerate(VIEW_MODES, start=1):
            action = self._action(VIEW_LABELS[mode], lambda _=False, m=mode: w.set_view_mode(m), f"{index}",
                                  checkable=True)
            group.addAction(action)
            self.views[mode] = action
        self.views[canvas.view_mode].setChecked(True)
        self.undo = w.undo_group.createUndoAction(w, "&Undo")
        self.undo.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Undo, "Ctrl+Z"))
        self.redo = w.undo_group.createRedoAction(w, "&Redo")
        self.redo.setShortcuts(unique_shortcuts(QKeySequence.StandardKey.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))
        w.addAction(self.undo)
        w.addAction(self.redo)
        self.brush_bar = BrushOptionsBar(canvas.brush, w)
        self._build_menus()
        self._build_toolbars()

    def _copy_cutout(self) -> None:
        from clearbg_desktop.gui.clipboard_copy import copy_cutout

        self.window.statusBar().showMessage(copy_cutout(self.window.workspace.current), 5000)

    def _action(self, text: str, slot: Callable[..., object], shortcut: Shortcut = None,
                checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.open)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addAction(self.paste)
        for group in ((self.save, self.save_as), (self.export, self.reexport, self.export_all, self.batch,
                                                              w.batch.review_action),
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
        view_menu.addActions([dock.toggleViewAction() for dock in (w.photos_dock, w.refine_dock, w.history_dock)])
        self.image_menu = bar.addMenu("&Image")
        self.image_menu.addActions([self.rerun, self.reset, self.invert])
        brush = self.brush_bar
        for action in (brush.toggle_action, brush.smaller_action, brush.bigger_action):
            w.addAction(action)
            self.image_menu.addAction(action)
        bar.addMenu("&Help").addAction(self.about)

    def _build_toolbars(self) -> None:
        """Theme icons (freedesktop names) with Qt's own as the fallback: icon-only buttons keep one width while
        the Undo/Redo text changes ("Undo Brush stroke"); the full text stays in the tooltip."""
        w = self.window
        style = w.style()
        for action, theme, fallback in (
            (self.open, "document-open", QStyle.StandardPixmap.SP_DialogOpenButton),
            (self.export, "document-save-as", QStyle.StandardPixmap.SP_DialogSaveButton),
            (self.fit, "zoom-fit-best", QStyle.StandardPixmap.SP_TitleBarMaxButton),
            (self.undo, "edit-undo", QStyle.StandardPixmap.SP_ArrowBack),
            (self.redo, "edit-redo", QStyle.StandardPixmap.SP_ArrowForward),
        ):
            action.setIcon(QIcon.fromTheme(theme, style.standardIcon(fallback)))
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

    def recent_files(self) -> list[str]:
        value = self.window.qsettings.value("recentFiles", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(v) for v in items]

    def remember_recent(self, path: Path) -> None:
        files = [str(path.resolve())] + [f for f in self.recent_files() if f != str(path.resolve())]
        self.window.qsettings.setValue("recentFiles", files[:MAX_RECENT])
        self.rebuild_recent_menu()

    def last_folder(self) -> str:
        files = self.recent_files()
        return str(Path(files[0]).parent) if files else str(Path.home())

    def rebuild_recent_menu(self) -> None:
        files = self.recent_files()
        self.recent_menu.clear()
        names = [Path(name).name for name in files]
        for name in files:
            label = Path(name).name
            if names.count(label) > 1:  # two "101.jpg" from two shoots: say which folder
                label = f"{label} — {Path(name).parent}"
            action = self.recent_menu.addAction(label)
            action.setToolTip(name)
            action.triggered.connect(lambda _=False, n=name: self.window.open_paths([Path(n)]))
        self.recent_menu.setEnabled(bool(files))

    def update_enabled(self, has_photo: bool, has_mask: bool) -> None:
        for action in (self.rerun, self.fit, self.actual, self.zoom_in, self.zoom_out, self.close_doc):
            action.setEnabled(has_photo)
        for action in (self.reset, self.invert, self.export, self.reexport):
            action.setEnabled(has_mask)
        self.export_all.setEnabled(any(d.ready for d in self.window.workspace.documents))
        can_save = self.window.projects.can_save(self.window.workspace.current)
        self.save.setEnabled(can_save)
        self.save_as.setEnabled(can_save)
