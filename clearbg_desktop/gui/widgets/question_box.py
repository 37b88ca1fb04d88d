"""The window's message boxes: questions with named answers, and errors, all window-modal and none blocking the
event loop (a batch or the model keeps working while one is open).

Every box is set up the same way (a name the tests and screenshots find it by, Cancel unless said otherwise, one
action per answer), and the latest one stays reachable as ``shown``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


@dataclass(frozen=True)
class Answer:
    """One button of a question: its text, its role (where the platform places it) and what choosing it does."""

    text: str
    role: QMessageBox.ButtonRole
    chosen: Callable[[], object] | None = None


class MessageBoxes:
    """Opens the window's questions and errors over ``parent`` and keeps the latest in ``shown``."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.shown: QMessageBox | None = None

    def ask(self, name: str, title: str, text: str, answers: Sequence[Answer], *,
            icon: QMessageBox.Icon = QMessageBox.Icon.Question, cancel: bool = True, cancel_is_default: bool = False,
            cancelled: Callable[[], object] | None = None) -> QMessageBox:
        """Open a question; an answer's ``chosen`` runs when its button is clicked, ``cancelled`` for Cancel
        (``cancel=False``: no Cancel button, the answers are all there is)."""
        box = QMessageBox(icon, title, text,
                          QMessageBox.StandardButton.Cancel if cancel else QMessageBox.StandardButton.NoButton,
                          self.parent)
        box.setObjectName(name)
        actions = {box.addButton(answer.text, answer.role): answer.chosen for answer in answers}
        if cancel_is_default:
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def clicked(button: QAbstractButton) -> None:
            if button in actions:
                action = actions[button]
                if action is not None:
                    action()
            elif cancelled is not None:
                cancelled()

        box.buttonClicked.connect(clicked)
        box.open()
        self.shown = box
        return box

    def show_error(self, title: str, message: str) -> None:
        """A warning with OK, deleted when closed."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self.parent)
        box.setObjectName("ErrorMessage")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.shown = box
