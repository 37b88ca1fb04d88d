"""Where the keys go (#37): the canvas holds the keyboard unless the user is typing in a field.

A photographer walking the window found focus left in the brush Size box after the mask queue's Pause button
disappeared: Qt hands the focus of a hidden widget to the next one in the tab chain, so ``4`` made a 4 px brush
instead of the Mask view, the arrows changed the size and Ctrl+E (End in a Linux line edit) did nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

TEXT_FIELDS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)  # where a typed key is text, not a command

COMMAND_MODIFIERS = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | \
    Qt.KeyboardModifier.MetaModifier
FIELD_KEYS = (  # a field being typed in keeps its own clipboard and undo keys
    QKeySequence.StandardKey.Copy, QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Paste,
    QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo, QKeySequence.StandardKey.SelectAll,
)
NAVIGATION_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End,
                   Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Backspace, Qt.Key.Key_Delete, Qt.Key.Key_Insert)
SLIDER_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End,
               Qt.Key.Key_PageUp, Qt.Key.Key_PageDown)


def edit_only_when_clicked(*widgets: QWidget) -> None:
    """Settings the user edits with a click: Tab and a vanished neighbour never put the keyboard there."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)


class KeyboardFocus(QObject):
    """Keeps the keyboard with ``canvas`` in ``window``:

    - a widget that had the focus and goes away (hidden or disabled: the mask queue's Pause when the job ends, a
      closed dock) gives it to the canvas, not to the next widget in the tab chain;
    - a field being typed in keeps digits, arrows, its text-moving keys and its clipboard and undo keys, but the
      window's other Ctrl/Alt shortcuts still reach the window (Ctrl+E is "End" in a Linux line edit);
    - Enter in a spin box of the window ends the edit: the keys go back to the canvas;
    - a slider the user clicked keeps its arrows (elsewhere they go to the next and previous photo).
    """

    def __init__(self, window: QWidget, canvas: QWidget) -> None:
        super().__init__(window)
        self.window, self.canvas = window, canvas
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.focusChanged.connect(self._on_focus_changed)
        app.installEventFilter(self)

    def give_back_after_editing(self, *boxes: QAbstractSpinBox) -> None:
        """Enter in these boxes: the value is taken and the keys go back to the canvas."""
        for box in boxes:
            box.editingFinished.connect(lambda b=box: self._done_editing(b))

    def _done_editing(self, box: QAbstractSpinBox) -> None:
        if box.hasFocus():  # Enter; a click elsewhere also finishes the edit, and the focus went there
            self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if old is None or new is None or new is self.canvas or not self._ours(new):
            return
        try:
            went_away = not old.isVisible() or not old.isEnabled()
        except RuntimeError:  # deleted while it had the focus
            went_away = True
        if went_away and self.canvas.isVisible():
            self.canvas.setFocus(Qt.FocusReason.OtherFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(watched, QWidget) or not self._ours(watched):
            return False
        assert isinstance(event, QKeyEvent)
        if isinstance(watched, QAbstractSlider) and event.key() in SLIDER_KEYS:
            event.accept()  # the slider moves, not the photo
            return True
        if isinstance(watched, TEXT_FIELDS) and self._is_window_command(event):
            event.ignore()  # not the field's: the window's shortcut runs
            return True
        return False

    def _is_window_command(self, event: QKeyEvent) -> bool:
        if not event.modifiers() & COMMAND_MODIFIERS or event.key() in NAVIGATION_KEYS:
            return False  # typing, and moving about the text (Ctrl+→ a word on), are the field's
        if any(event.matches(key) for key in FIELD_KEYS):
            return False
        pressed = QKeySequence(event.keyCombination())
        return any(shortcut.matches(pressed) == QKeySequence.SequenceMatch.ExactMatch
                   for action in self.window.findChildren(QAction) if action.isEnabled()
                   for shortcut in action.shortcuts())

    def _ours(self, widget: QWidget) -> bool:
        try:
            return widget.window() is self.window
        except RuntimeError:
            return False
