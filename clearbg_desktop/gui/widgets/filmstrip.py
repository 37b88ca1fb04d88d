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
    QTimer,
    Signal,
)
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.flags import FLAG_LABELS, FLAG_MARKS
from clearbg_desktop.core.editing.project import is_project_file
from clearbg_desktop.core.editing.session import is_session_file
from clearbg_desktop.core.imaging.formats import is_supported_image
from clearbg_desktop.gui.widgets.qimage import array_to_qimage

ICON_SIZE = QSize(96, 72)
MIN_WIDTH = 150  # px: a thumbnail and a few letters of the name, whatever the dock is given

_Index = QModelIndex | QPersistentModelIndex


@dataclass
class FilmstripRow:
    """A photo's row; ``badge`` (its doubt under review) and ``why`` are kept apart from the name, so a new doubt
    replaces the old one instead of adding a second badge (#37)."""

    doc_id: int
    name: str
    path_text: str
    thumbnail: QImage | None = None
    badge: str = ""
    why: str = ""
    where: str = ""  # the folder's name, shown while another open photo has the same name (several cards)
    flag: str | None = None  # done | needs-work | reject (core.editing.flags), shown as a mark before the name
    mask: QImage | None = None  # the mask at the thumbnail's size (Grayscale8): the grid draws the cut-out with it
    doubt: float | None = None
    version: int = 0  # bumped when the thumbnail or mask changes (the grid's cut-out cache keys on it)

    @property
    def shown_name(self) -> str:
        name = f"{self.name} · {self.where}" if self.where else self.name
        return f"{FLAG_MARKS[self.flag]} {name}" if self.flag else name

    @property
    def text(self) -> str:  # own line: the name elides, not the badge
        return f"{self.shown_name}\n{self.badge}" if self.badge else self.shown_name

    @property
    def tooltip(self) -> str:
        return f"{self.path_text}\n{self.why}" if self.why else self.path_text

    @property
    def accessible(self) -> str:
        name = f"{self.name} · {self.where}" if self.where else self.name
        flagged = f"{FLAG_LABELS[self.flag]}, {name}" if self.flag else name
        return f"{self.badge.replace('⚠', 'doubt')}, {flagged}" if self.badge else flagged


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
            return row.accessible
        return None

    def row_of(self, doc_id: int) -> int:
        return next((number for number, row in enumerate(self.rows) if row.doc_id == doc_id), -1)

    def append(self, row: FilmstripRow) -> None:
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(row)
        self.endInsertRows()
        self._tell_apart(row.name)

    def remove(self, number: int) -> None:
        self.beginRemoveRows(QModelIndex(), number, number)
        name = self.rows.pop(number).name
        self.endRemoveRows()
        self._tell_apart(name)

    def _tell_apart(self, name: str) -> None:
        """Photos of one name (IMG_0001.JPG from two cards) show their folder's name; alone, just the name."""
        same = [number for number, row in enumerate(self.rows) if row.name.casefold() == name.casefold()]
        for number in same:
            row = self.rows[number]
            where = Path(row.path_text).parent.name if len(same) > 1 else ""
            if row.where != where:
                row.where = where
                self.changed(number)

    @property
    def text_lines(self) -> int:
        """Lines of text under each thumbnail: the name, and a badge line once any photo has one."""
        return 2 if any(row.badge for row in self.rows) else 1

    def changed(self, number: int) -> None:
        index = self.index(number)
        self.dataChanged.emit(index, index)


class FilmstripDelegate(QStyledItemDelegate):
    """The thumbnail above its name, the name elided over the row's full width: beside a landscape thumbnail
    there was room for "I…g" only (#37). Thumbnails are made at twice the icon size for sharp high-DPI screens;
    they are drawn fitted to the icon size, whatever their shape."""

    def __init__(self, view: Filmstrip) -> None:
        super().__init__(view)
        self.view = view

    def initStyleOption(self, option: QStyleOptionViewItem, index: _Index) -> None:  # noqa: N802 - Qt override
        super().initStyleOption(option, index)
        option.decorationPosition = QStyleOptionViewItem.Position.Top
        option.decorationAlignment = Qt.AlignmentFlag.AlignHCenter
        option.displayAlignment = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        option.decorationSize = option.decorationSize.scaled(ICON_SIZE, Qt.AspectRatioMode.KeepAspectRatio)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802 - Qt override
        """As wide as the list (the name's room), as high as a thumbnail and its lines of text."""
        margin = self.view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameVMargin) + 1
        lines = self.view.strip.text_lines
        height = ICON_SIZE.height() + lines * option.fontMetrics.lineSpacing() + 4 * margin
        return QSize(max(1, self.view.viewport().width()), height)


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
        self.setItemDelegate(FilmstripDelegate(self))
        self.setUniformItemSizes(True)  # names line up, whatever the thumbnails' shapes; and fast layout
        self.setResizeMode(QListView.ResizeMode.Adjust)  # a wider panel: wider rows, more of the name
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
        """Make the photo the current row and bring it into view (also when rows were just added and are laid
        out later, a batch at a time)."""
        row = self.strip.row_of(doc_id)
        if row >= 0 and self.currentRow() != row:
            self.setCurrentRow(row)
        if row >= 0:
            QTimer.singleShot(0, self, lambda: self._scroll_to(doc_id))

    def _scroll_to(self, doc_id: int) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0:
            self.scrollTo(self.strip.index(row))

    def set_thumbnail(self, doc_id: int, thumbnail: np.ndarray) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0:
            self.strip.rows[row].thumbnail = array_to_qimage(thumbnail)
            self.strip.rows[row].version += 1
            self.strip.changed(row)

    def set_mask(self, doc_id: int, mask: np.ndarray, doubt: float | None) -> None:
        """The photo's mask at thumbnail size (the grid's cut-out) and its doubt."""
        row = self.strip.row_of(doc_id)
        if row >= 0:
            self.strip.rows[row].mask = array_to_qimage(mask)
            self.strip.rows[row].doubt = doubt
            self.strip.rows[row].version += 1
            self.strip.changed(row)

    def set_flag(self, doc_id: int, flag: str | None) -> None:
        row = self.strip.row_of(doc_id)
        if row >= 0 and self.strip.rows[row].flag != flag:
            self.strip.rows[row].flag = flag
            self.strip.changed(row)

    def row_of_document(self, doc_id: int) -> FilmstripRow | None:
        row = self.strip.row_of(doc_id)
        return self.strip.rows[row] if row >= 0 else None

    def set_badge(self, doc_id: int, doubt: float, reasons: list[str]) -> None:
        """A photo opened for review: its doubt below its name, the reasons in the tooltip."""
        number = self.strip.row_of(doc_id)
        if number >= 0:
            row = self.strip.rows[number]
            lines = self.strip.text_lines
            row.badge = f"⚠ {doubt:.2f}"
            why = ", ".join(reasons) if reasons else "a mask less sure than most"
            row.why = f"Doubt {doubt:.2f}: {why}. Fix it with the brush and export to replace the batch output."
            self.strip.changed(number)
            if self.strip.text_lines != lines:  # rows get a line for the badge
                self.scheduleDelayedItemsLayout()

    def _on_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.document_chosen.emit(int(self.strip.rows[current.row()].doc_id))


def dropped_photos(mime: QMimeData) -> tuple[list[Path], int]:
    """The dropped folders and photos, and how many other things were dropped."""
    paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()] if mime.hasUrls() else []
    wanted = [p for p in paths if p.is_dir() or is_supported_image(p) or is_project_file(p) or is_session_file(p)]
    return wanted, len(paths) - len(wanted)
