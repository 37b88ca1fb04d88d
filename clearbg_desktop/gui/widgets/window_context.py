"""What the window's parts share, and all they may know of the window: a part (exports, batches, projects, the
quit question…) takes this context, and asks the window to act through its own signals, so it can be read and
tested without a window."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QWidget

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.workspace import Workspace
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.widgets.question_box import MessageBoxes
from clearbg_desktop.gui.widgets.recent_files import RecentFiles
from clearbg_desktop.gui.widgets.status_bar import StatusBar
from clearbg_desktop.gui.widgets.undo import DocumentUndo


@dataclass(frozen=True)
class WindowContext:
    """Built once by the window.

    ``parent`` is the widget the parts' dialogs open over and their QObjects belong to; ``messages`` asks the
    user and reports errors; ``undo`` holds each photo's history (and whether it was saved or exported).
    """

    parent: QWidget
    settings: AppSettings
    workspace: Workspace
    status: StatusBar
    undo: DocumentUndo
    messages: MessageBoxes
    recent: RecentFiles

    @classmethod
    def create(cls, parent: QWidget, settings: AppSettings, status: StatusBar, undo: DocumentUndo) -> WindowContext:
        """A fresh session (no photos open) over ``parent``."""
        return cls(parent, settings, Workspace(), status, undo, MessageBoxes(parent), RecentFiles(parent))

    def open_document_of(self, path: Path) -> Document | None:
        """The open photo of this file, if any: one entry per photo, opening it again shows it."""
        key = path.resolve()
        return next((d for d in self.workspace.documents if d.path is not None and d.path.resolve() == key), None)
