"""The photos of the session, one row each (thumbnail and name), in a dock on the left; and what a drop brings.

A model/view list: Qt asks only for the rows on screen, so a shoot of a few thousand photos scrolls smoothly;
rows keep small thumbnails (QImage, made off the GUI thread), never the photos. Long names are elided in the
middle (``coco-…3072.jpg``): the start and the number are what tell photos of a shoot apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractItemView, QListView, QWidget

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.imaging.image_io import is_supported_image
from clearbg_desktop.gui.qimage import array_to_qimage

ICON_SIZE = QSize(96, 72)
MIN_WIDTH = 150  # px: a thumbnail and a few letters of the name, whatever the dock is given

_Index = QModelIndex | QPersistentModelIndex


@dataclass
class FilmstripRow:
    doc_id: int
    text: str
    tooltip: str
    thumbnail: QImage | None = None
    accessible: str | None = None


class FilmstripModel(QAbstractListModel):
    """One row per open photo, in the order opened."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[FilmstripRow] = []
        self._placeholder = QImage(ICON_SIZE, QImage.Format.Format_RGB32)
        self._placeholder.fill(Qt.GlobalColor.darkGray)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text
        if role == Qt.ItemDataRole.DecorationRole:
            return row.thumbnail if row.thumbnail is not None else self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip
        if role == Qt.ItemDataRole.UserRole:
            return row.doc_id
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return row.accessible or row.text
        return None

    def row_of(self, doc_id: int) -> int:
        return next((number for number, row in enumerate(self.rows) if row.doc_id == doc_id), -1)

    def append(self, row: FilmstripRow) -> None:
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(row)
        self.endInsertRows()

    def remove(self, number: int) -> None:
        self.beginRemoveRows(QModelIndex(), number, number)
        del self.rows[number]
        self.endRemoveRows()

    def changed(self, number: int) -> None:
        index = self.index(number)
        self.dataChanged.emit(index, index)


class Filmstrip(QListView):
    """Signals:
        document_chosen(int): the user picked the photo with this doc id.
    """

    document_chosen = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Filmstrip")
        self.strip = FilmstripModel(self)
        self.setModel(self.strip)
        self.setIconSize(ICON_SIZE)
        self.setMinimumWidth(MIN_WIDTH)
        self.setUniformItemSizes(True)  # names line up, whatever the thumbnails' shapes; and fast layout
        self.setLayoutMode(QListView.LayoutMode.Batched)  # thousands of rows laid out a batch at a time
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.setWordWrap(False)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.selectionModel().currentRowChanged.connect(self._on_row_changed)

    def count(self) -> int:
        return self.strip.rowCount()

    def currentRow(self) -> int:  # noqa: N802 - as QListWidget's
        return self.currentIndex().row()

    def setCurrentRow(self, row: int) -> None:  # noqa: N802 - as QListWidget's
        self.setCurrentIndex(self.strip.index(row))

    def row_text(self, row: int) -> str:
        return self.strip.rows[row].text

    def order(self) -> list[int]:
        """The doc ids top to bottom (the mask queue works outwards from the shown one in this order)."""
        return [row.doc_id for row in self.strip.rows]

    def add(self, document: Document) -> None:
        self.strip.append(FilmstripRow(document.doc_id, document.title,
                                       str(document.path) if document.path else document.title))

    def remove(self, doc_id: int) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0:
            self.strip.remove(row)

    def select(self, doc_id: int) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0 and self.currentRow() != row:
            self.setCurrentRow(row)

    def set_thumbnail(self, doc_id: int, thumbnail: np.ndarray) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0:
            self.strip.rows[row].thumbnail = array_to_qimage(thumbnail)
            self.strip.changed(row)

    def set_badge(self, doc_id: int, doubt: float, reasons: list[str]) -> None:
        """A photo opened for review: its doubt below its name, the reasons in the tooltip."""
        number = self.strip.row_of(doc_id)
        if number >= 0:
            row = self.strip.rows[number]
            name = row.text
            row.text = f"{name}\n⚠ {doubt:.2f}"  # own line: a narrow panel elides the name, not the badge
            why = ", ".join(reasons) if reasons else "a mask less sure than most"
            row.tooltip += (f"\nDoubt {doubt:.2f}: {why}. Fix it with the brush and export to replace the batch "
                            "output.")
            row.accessible = f"doubt {doubt:.2f}, {name}"
            self.strip.changed(number)

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.document_chosen.emit(int(self.strip.rows[current.row()].doc_id))


def dropped_photos(mime: QMimeData) -> tuple[list[Path], int]:
    """The dropped folders and photos, and how many other things were dropped."""
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    wanted = [p for p in paths if p.is_dir() or is_supported_image(p)]
    return wanted, len(paths) - len(wanted)
