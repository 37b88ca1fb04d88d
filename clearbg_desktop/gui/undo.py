"""Qt holds the undo stack; the edit data (changed rectangles) lives in ``core.editing.mask_edits.MaskEdit``."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import Box, MaskEdit


class MaskEditCommand(QUndoCommand):
    """One stroke or whole-mask operation. The edit is already applied when pushed, so the first
    ``redo`` (which ``QUndoStack.push`` calls) just re-applies the same pixels."""

    def __init__(self, document: Document, edit: MaskEdit, repaint: Callable[[Document, Box], None]) -> None:
        super().__init__(edit.label)
        self.document = document
        self.edit = edit
        self._repaint = repaint

    def redo(self) -> None:
        assert self.document.alpha is not None
        self.edit.apply(self.document.alpha)
        self._repaint(self.document, self.edit.box)

    def undo(self) -> None:
        assert self.document.alpha is not None
        self.edit.revert(self.document.alpha)
        self._repaint(self.document, self.edit.box)
