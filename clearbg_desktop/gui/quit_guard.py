"""Quitting or closing a photo never loses work silently: photos edited since they were last saved or exported,
or a running batch, are named and the user chooses (Save, Export…, Discard, Cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox

from clearbg_desktop.core.editing.document import Document

if TYPE_CHECKING:
    from clearbg_desktop.gui.main_window import MainWindow


class QuitGuard:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.confirmed = False  # the user chose to quit anyway (tests set it too)
        self.box: QMessageBox | None = None  # the quit question, while it is open

    def asking(self) -> bool:
        return self.box is not None and self.box.isVisible()

    def refresh(self) -> None:
        """The question while it is open follows what changed (a batch that ended meanwhile)."""
        if self.box is not None:
            self.box.setText(self.question() or "Nothing would be lost now: the batch export has ended.")

    def unexported_documents(self) -> list[Document]:
        """Photos with edits (strokes, refinements, re-runs) made since they were last saved or exported."""
        stacks = self.window.undo_stacks
        return [d for d in self.window.workspace.documents if d.doc_id in stacks and not stacks[d.doc_id].isClean()]

    def question(self) -> str:
        """What quitting now would lose, in words; empty when nothing."""
        parts = []
        unexported = self.unexported_documents()
        if unexported:
            names = ", ".join(d.title for d in unexported[:5]) + (" …" if len(unexported) > 5 else "")
            parts.append(f"{len(unexported)} photo(s) have edits that were neither saved nor exported: {names}.")
        if self.window.batch.running:
            parts.append(self.window.batch.describe())
        return " ".join(parts)

    def may_close(self) -> bool:
        """True when nothing would be lost (or the user said so); otherwise asks, and the close waits."""
        question = "" if self.confirmed else self.question()
        if question:
            self._ask(question)
        return not question

    def _ask(self, question: str) -> None:
        window = self.window
        box = QMessageBox(QMessageBox.Icon.Warning, "Quit ClearBG?", question, QMessageBox.StandardButton.Cancel,
                          window)
        box.setObjectName("QuitQuestion")
        unexported = self.unexported_documents()
        saveable = [d for d in unexported if window.projects.can_save(d)]
        save = box.addButton("Save", QMessageBox.ButtonRole.AcceptRole) if saveable else None
        export = box.addButton("Export…", QMessageBox.ButtonRole.ActionRole) if unexported else None
        discard = box.addButton("Discard and quit" if unexported else "Quit anyway",
                                QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def chosen(button: QAbstractButton) -> None:
            if button is discard:
                self.confirmed = True
                window.close()
            elif save is not None and button is save:
                if window.projects.save_all_unsaved() and not self.unexported_documents():
                    window.close()
            elif export is not None and button is export:
                window.batch.open_export_all(self.unexported_documents(), quit_after=True)

        box.buttonClicked.connect(chosen)
        box.open()
        window.message_box = self.box = box

    def close_document(self, document: Document) -> bool:
        """Ctrl+W: True when the photo may go now; with unsaved edits, asks as quitting does (and closes later)."""
        window = self.window
        stack = window.undo_stacks.get(document.doc_id)
        if stack is None or stack.isClean():
            return True
        box = QMessageBox(QMessageBox.Icon.Warning, "Close photo?",
                          f"{document.title} has edits that were neither saved nor exported.",
                          QMessageBox.StandardButton.Cancel, window)
        box.setObjectName("CloseQuestion")
        save = box.addButton("Save", QMessageBox.ButtonRole.AcceptRole) if window.projects.can_save(document) else None
        export = box.addButton("Export…", QMessageBox.ButtonRole.ActionRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def close_if_clean(*_: object) -> None:
            if document in window.workspace.documents and stack.isClean():
                window.remove_document(document)

        def chosen(button: QAbstractButton) -> None:
            if button is discard:
                window.remove_document(document)
            elif save is not None and button is save:
                if window.projects.save(document) is not None:
                    close_if_clean()
            elif button is export:
                window.show_document(document)
                window.exporter.exported.connect(close_if_clean, Qt.ConnectionType.SingleShotConnection)
                window.exporter.open_dialog()

        box.buttonClicked.connect(chosen)
        box.open()
        window.message_box = box
        return False
