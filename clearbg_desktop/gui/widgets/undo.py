"""Qt holds the undo stacks; the edit data (changed rectangles) lives in ``core.editing.mask_edits.MaskEdit``.

A stack's clean state means "saved or exported": the title's "*", the quit question and autosave all read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoGroup, QUndoStack

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, MaskEdit
from clearbg_desktop.core.imaging.export import ExportOptions

Repaint = Callable[[Document, Box], None]


class MaskEditCommand(QUndoCommand):
    """One stroke or whole-mask operation. The edit is already applied when pushed, so the first
    ``redo`` (which ``QUndoStack.push`` calls) just re-applies the same pixels."""

    def __init__(self, document: Document, edit: MaskEdit, repaint: Repaint, applied: bool = False) -> None:
        super().__init__(edit.label)
        self.document = document
        self.edit = edit
        self._repaint = repaint
        self._applied = applied  # the mask holds it already: the first redo leaves the (maybe packed) mask alone

    def redo(self) -> None:
        if self._applied:
            self._applied = False
            return
        assert self.document.alpha is not None
        self.edit.apply(self.document.alpha)
        self._repaint(self.document, self.edit.box)

    def undo(self) -> None:
        assert self.document.alpha is not None
        self.edit.revert(self.document.alpha)
        self._repaint(self.document, self.edit.box)


class DocumentUndo:
    """One undo stack per open photo in one group (Edit ▸ Undo follows the photo on screen).

    ``repaint`` shows an edit's rectangle; it is not called while a project's history is replayed, which ends in
    one repaint instead of one per edit.
    """

    def __init__(self, parent: QObject, repaint: Repaint) -> None:
        self.group = QUndoGroup(parent)
        self.stacks: dict[int, QUndoStack] = {}
        self._parent = parent
        self._repaint = repaint
        self.replaying = False

    def add(self, document: Document) -> QUndoStack:
        stack = QUndoStack(self._parent)
        stack.indexChanged.connect(lambda _index: setattr(document, "revision", document.revision + 1))
        self.group.addStack(stack)
        self.stacks[document.doc_id] = stack
        return stack

    def remove(self, document: Document) -> None:
        stack = self.stacks.pop(document.doc_id, None)
        if stack is not None:
            self.group.removeStack(stack)
            stack.deleteLater()

    def activate(self, document: Document) -> QUndoStack | None:
        """Make the photo's stack the one Undo/Redo act on; returns it (None: the photo has none)."""
        stack = self.stacks.get(document.doc_id)
        if stack is not None:
            self.group.setActiveStack(stack)
        return stack

    def push(self, document: Document, edit: MaskEdit) -> None:
        """The edit is already in ``document.alpha``; record it (and repaint) via the undo stack."""
        self.stacks[document.doc_id].push(MaskEditCommand(document, edit, self._repaint_unless_replaying))

    def replay(self, document: Document, history: Iterable[MaskEdit], position: int) -> QUndoStack:
        """Put back a saved history: the saved mask holds the edits before ``position`` already (pushed without
        touching it, so a photo of a reopened session stays packed); the ones after it are redone, then undone,
        which gives the saved mask back exactly."""
        stack = self.stacks[document.doc_id]
        self.replaying = True
        try:
            for number, edit in enumerate(history):
                stack.push(MaskEditCommand(document, edit, self._repaint_unless_replaying, applied=number < position))
            stack.setIndex(position)
        finally:
            self.replaying = False
        return stack

    def history(self, document: Document) -> tuple[list[MaskEdit], int]:
        """The photo's edits in order and the position in them (what a project saves)."""
        stack = self.stacks[document.doc_id]
        commands = [stack.command(i) for i in range(stack.count())]
        edits = [command.edit for command in commands if isinstance(command, MaskEditCommand)]
        position = sum(isinstance(command, MaskEditCommand) for command in commands[:stack.index()])
        return edits, position  # settings steps (paste, sync) are not mask edits: the project keeps the settings

    def position(self, document: Document) -> int | None:
        """Where the photo's history stands now (None: it has none), to mark it clean later if it is still there."""
        stack = self.stacks.get(document.doc_id)
        return None if stack is None else stack.index()

    def mark_clean_at(self, doc_id: int, position: int) -> None:
        """What was written (exported, batch-exported) at ``position`` is what the photo still holds: clean."""
        stack = self.stacks.get(doc_id)
        if stack is not None and stack.index() == position:
            stack.setClean()

    def is_clean(self, document: Document) -> bool:
        stack = self.stacks.get(document.doc_id)
        return stack is None or stack.isClean()

    def unsaved(self, documents: Iterable[Document]) -> list[Document]:
        """Photos with edits (strokes, refinements, re-runs) made since they were last saved or exported."""
        return [d for d in documents if d.doc_id in self.stacks and not self.stacks[d.doc_id].isClean()]

    def _repaint_unless_replaying(self, document: Document, box: Box) -> None:
        if not self.replaying:
            self._repaint(document, box)


class SettingsCommand(QUndoCommand):
    """A photo's export settings changed (pasted, synced from another photo): undoable like a stroke, but no
    pixel of the mask changes, so a project's history (mask edits only) leaves it out."""

    def __init__(self, document: Document, old: ExportOptions | None, new: ExportOptions, label: str) -> None:
        super().__init__(label)
        self.document, self.old, self.new = document, old, new

    def redo(self) -> None:
        self.document.export_options = self.new

    def undo(self) -> None:
        self.document.export_options = self.old
