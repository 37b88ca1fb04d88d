"""The photos of the session, one row each (thumbnail and name), in a dock on the left; and what a drop brings.

Signals:
    document_chosen(int): the user picked the photo with this doc id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from clearbg_desktop.core.document import Document
from clearbg_desktop.core.image_io import is_supported_image
from clearbg_desktop.gui.qimage import array_to_qimage


class Filmstrip(QListWidget):
    document_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Filmstrip")
        self.setIconSize(QSize(96, 72))
        self.setUniformItemSizes(True)  # names line up, whatever the thumbnails' shapes
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.currentRowChanged.connect(self._on_row_changed)

    def add(self, document: Document) -> None:
        item = QListWidgetItem(document.title)
        item.setData(Qt.ItemDataRole.UserRole, document.doc_id)
        item.setToolTip(str(document.path) if document.path else document.title)
        self.addItem(item)

    def _row_of(self, doc_id: int) -> int:
        return next((row for row in range(self.count()) if self.item(row).data(Qt.ItemDataRole.UserRole) == doc_id),
                    -1)

    def remove(self, doc_id: int) -> None:
        row = self._row_of(doc_id)
        if row >= 0:
            self.takeItem(row)

    def select(self, doc_id: int) -> None:
        row = self._row_of(doc_id)
        if row >= 0 and self.currentRow() != row:
            self.setCurrentRow(row)

    def set_thumbnail(self, doc_id: int, thumbnail: np.ndarray) -> None:
        row = self._row_of(doc_id)
        if row >= 0:
            self.item(row).setIcon(QIcon(QPixmap.fromImage(array_to_qimage(thumbnail))))

    def set_badge(self, doc_id: int, doubt: float, reasons: list[str]) -> None:
        """A photo opened for review: its doubt before its name, the reasons in the tooltip."""
        row = self._row_of(doc_id)
        if row >= 0:
            item = self.item(row)
            name = item.text()
            item.setText(f"{name}\n⚠ {doubt:.2f}")  # own line: a narrow panel elides the name, not the badge
            why = ", ".join(reasons) if reasons else "a mask less sure than most"
            item.setToolTip(f"{item.toolTip()}\nDoubt {doubt:.2f}: {why}. Fix it with the brush and export to "
                            "replace the batch output.")
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"doubt {doubt:.2f}, {name}")

    def _on_row_changed(self, row: int) -> None:
        if 0 <= row < self.count():
            self.document_chosen.emit(int(self.item(row).data(Qt.ItemDataRole.UserRole)))


def dropped_photos(mime: QMimeData) -> tuple[list[Path], int]:
    """The dropped folders and photos, and how many other things were dropped."""
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    wanted = [p for p in paths if p.is_dir() or is_supported_image(p)]
    return wanted, len(paths) - len(wanted)
