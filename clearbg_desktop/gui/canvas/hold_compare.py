"""Hold backslash anywhere in the window for before/after, as Ctrl+B works anywhere (not only over the photo).

A QShortcut fires on press only; holding needs the release too, so an application event filter watches the
key for the window, and leaves it to text fields, where a backslash is typed.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from clearbg_desktop.gui.canvas.mask_canvas import COMPARE_KEY, MaskCanvas
from clearbg_desktop.gui.widgets.keyboard_focus import TEXT_FIELDS


class HoldToCompare(QObject):
    """Shows the photo before the cut-out while backslash is held, whichever part of the window has focus."""

    def __init__(self, window: QWidget, canvas: MaskCanvas) -> None:
        super().__init__(window)
        self.top, self.canvas = window, canvas
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return False
        assert isinstance(event, QKeyEvent)
        if event.key() != COMPARE_KEY or not isinstance(watched, QWidget) or watched.window() is not self.top:
            return False
        if isinstance(watched, TEXT_FIELDS):
            return False  # typed, e.g. in a folder path
        if not event.isAutoRepeat():
            self.canvas.set_comparing(event.type() == QEvent.Type.KeyPress)
        return True
