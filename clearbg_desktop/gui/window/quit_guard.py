"""Quitting or closing a photo never loses work silently: photos edited since they were last saved or exported,
or a running batch, are named and the user chooses (Save, Export…, Discard, Cancel)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox

from clearbg_desktop.core.batch import BatchReport
from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.gui.jobs.batch_runner import BatchRunner
from clearbg_desktop.gui.jobs.export_runner import ExportRunner
from clearbg_desktop.gui.jobs.project_files import ProjectFiles
from clearbg_desktop.gui.widgets.question_box import Answer
from clearbg_desktop.gui.widgets.window_context import WindowContext

if TYPE_CHECKING:
    from clearbg_desktop.gui.window.shoot_session import ShootSession


class QuitGuard(QObject):
    """The quit and close-photo questions, with what they offer: saving projects, exporting, discarding.

    Signals:
        quit_chosen(): nothing is lost now, or the user said so: the window closes (and asks again if needed).
        close_chosen(object): this Document may be closed now.
        show_requested(object): this Document must be on screen (its Export… dialog follows).
    """

    quit_chosen = Signal()
    close_chosen = Signal(object)
    show_requested = Signal(object)

    def __init__(self, context: WindowContext, projects: ProjectFiles, batch: BatchRunner,
                 exporter: ExportRunner) -> None:
        super().__init__(context.parent)
        self.context = context
        self.projects, self.batch, self.exporter = projects, batch, exporter
        self.confirmed = False  # the user chose to quit anyway (tests set it too)
        self.session: ShootSession | None = None  # the shoot's session file (set by the window once made)
        self.box: QMessageBox | None = None  # the quit question, while it is open
        batch.hold_summary_while(self.asking)  # a batch that ends meanwhile is told in the question, not over it
        batch.finished.connect(self._on_batch_finished)

    def asking(self) -> bool:
        return self.box is not None and self.box.isVisible()

    def refresh(self) -> None:
        """The question while it is open follows what changed (a batch that ended meanwhile)."""
        if self.box is not None:
            self.box.setText(self.question() or "Nothing would be lost now: the batch export has ended.")

    def _on_batch_finished(self, _report: BatchReport) -> None:
        if self.asking():
            self.refresh()

    def unexported_documents(self) -> list[Document]:
        """Photos with edits (strokes, refinements, re-runs) made since they were last saved or exported."""
        return self.context.undo.unsaved(self.context.workspace.documents)

    def question(self) -> str:
        """What quitting now would lose, in words; empty when nothing."""
        parts = []
        unexported = self.unexported_documents()
        if unexported:
            names = ", ".join(d.title for d in unexported[:5]) + (" …" if len(unexported) > 5 else "")
            parts.append(f"{len(unexported)} photo(s) have edits that were neither saved nor exported: {names}.")
        flagged = self.session.unsaved_flags() if self.session is not None else 0
        if flagged:
            parts.append(f"{flagged} photo(s) were flagged since the shoot was last saved as a session.")
        if self.batch.running:
            parts.append(self.batch.describe())
        return " ".join(parts)

    def may_close(self) -> bool:
        """True when nothing would be lost (or the user said so); otherwise asks, and the close waits."""
        question = "" if self.confirmed else self.question()
        if question:
            self._ask(question)
        return not question

    def _ask(self, question: str) -> None:
        unexported = self.unexported_documents()
        answers = []
        session = self.session
        if session is not None and (session.unsaved_flags() or len(unexported) > 1):
            answers.append(Answer("Save session", QMessageBox.ButtonRole.AcceptRole, self._save_session_and_quit))
        elif any(self.projects.can_save(d) for d in unexported):
            answers.append(Answer("Save", QMessageBox.ButtonRole.AcceptRole, self._save_and_quit))
        if unexported:
            answers.append(Answer("Export…", QMessageBox.ButtonRole.ActionRole, lambda: self.batch.open_export_all(
                self.unexported_documents(), quit_after=True)))
        answers.append(Answer("Discard and quit" if unexported else "Quit anyway",
                              QMessageBox.ButtonRole.DestructiveRole, self._quit_anyway))
        self.box = self.context.messages.ask("QuitQuestion", "Quit ClearBG?", question, answers,
                                             icon=QMessageBox.Icon.Warning, cancel_is_default=True)

    def _quit_anyway(self) -> None:
        self.confirmed = True
        self.quit_chosen.emit()

    def _save_session_and_quit(self) -> None:
        """Every photo, its edits and flags in one session file (the one the shoot came from, or asked); then quit
        once nothing is left unsaved."""
        assert self.session is not None

        def quit_if_saved(*_: object) -> None:
            if not self.question():
                self.quit_chosen.emit()

        if self.session.save():
            self.session.saved.connect(quit_if_saved, Qt.ConnectionType.SingleShotConnection)

    def _save_and_quit(self) -> None:
        if self.projects.save_all_unsaved() and not self.unexported_documents():
            self.quit_chosen.emit()

    def close_document(self, document: Document) -> bool:
        """Ctrl+W: True when the photo may go now; with unsaved edits, asks as quitting does (and closes later)."""
        if self.context.undo.is_clean(document):
            return True

        def close_if_clean(*_: object) -> None:
            if document in self.context.workspace.documents and self.context.undo.is_clean(document):
                self.close_chosen.emit(document)

        def save() -> None:
            if self.projects.save(document) is not None:
                close_if_clean()

        def export() -> None:
            self.show_requested.emit(document)
            self.exporter.exported.connect(close_if_clean, Qt.ConnectionType.SingleShotConnection)
            self.exporter.open_dialog()

        answers = [Answer("Save", QMessageBox.ButtonRole.AcceptRole, save)] if self.projects.can_save(document) else []
        answers += [Answer("Export…", QMessageBox.ButtonRole.ActionRole, export),
                    Answer("Discard", QMessageBox.ButtonRole.DestructiveRole, lambda: self.close_chosen.emit(document))]
        self.context.messages.ask("CloseQuestion", "Close photo?",
                                  f"{document.title} has edits that were neither saved nor exported.", answers,
                                  icon=QMessageBox.Icon.Warning, cancel_is_default=True)
        return False
