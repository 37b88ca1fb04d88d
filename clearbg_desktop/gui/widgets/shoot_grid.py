"""The grid of a whole shoot (G, as in Lightroom): cut-out thumbnails to cull, sorted and filtered by flag or doubt.

A second view of the filmstrip's model through a sort/filter proxy, so a photo is one row whatever shows it, and
the grid costs no more than the filmstrip: Qt asks only for the cells on screen, and each cell is drawn from
the row's thumbnail and its mask at thumbnail size (a few KB) — the cut-out is composed when painted, never
kept for every photo.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QImage, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QSlider,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.flags import FLAG_FILTER_LABELS, FLAG_FILTERS, FLAG_MARKS, flag_passes
from clearbg_desktop.core.editing.session import GRID_SIZE_RANGE, GridView
from clearbg_desktop.core.editing.shoot import SORT_ORDERS, sort_key, taken_at
from clearbg_desktop.gui.widgets.filmstrip import FilmstripModel, FilmstripRow

SORT_LABELS = {"name": "Name", "time": "Capture time", "doubt": "Doubt (most first)"}
FLAG_COLOURS = {"done": QColor(60, 170, 90), "needs-work": QColor(230, 160, 30), "reject": QColor(210, 60, 60)}
CUTOUT_CACHE_BYTES = 24 * 2**20  # composed cut-outs kept: several screens of cells at any size
_Index = QModelIndex | QPersistentModelIndex


class ShootFilter(QSortFilterProxyModel):
    """The filmstrip's rows in the grid's order, only those the flag and doubt filters keep."""

    def __init__(self, strip: FilmstripModel, lookup: Callable[[int], Document | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(strip)
        self.strip = strip
        self.lookup = lookup
        self.order = "name"
        self.flag_filter = "all"
        self.min_doubt = 0.0
        self.setDynamicSortFilter(True)

    def set_view(self, order: str, flag_filter: str, min_doubt: float) -> None:
        self.order, self.flag_filter, self.min_doubt = order, flag_filter, min_doubt
        self.invalidate()
        self.sort(0)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802 - Qt override
        row = self.strip.rows[source_row]
        if not flag_passes(row.flag, self.flag_filter):
            return False
        return self.min_doubt <= 0 or (row.doubt is not None and row.doubt >= self.min_doubt)

    def lessThan(self, left: _Index, right: _Index) -> bool:  # noqa: N802 - Qt override
        return self._key(left.row()) < self._key(right.row())

    def _key(self, source_row: int) -> tuple:
        row = self.strip.rows[source_row]
        document = self.lookup(row.doc_id)
        if document is None:
            return ((1, row.name),)
        return sort_key(self.order, document, _taken)


def _taken(document: Document) -> float:
    """Capture time, read from the file once per photo (when the grid is first sorted by time)."""
    if document.taken is None:
        document.taken = taken_at(document.path)
    return document.taken


class CutoutDelegate(QStyledItemDelegate):
    """A cell: the cut-out on a checkerboard (or the photo, dimmed, while its mask is on its way), the flag's
    colour as a frame and mark, the name, and the doubt when the grid is sorted or filtered by it."""

    def __init__(self, grid: ShootGrid) -> None:
        super().__init__(grid)
        self.grid = grid
        self.cell = 160
        self._cutouts: OrderedDict[tuple, QImage] = OrderedDict()
        self._cached_bytes = 0
        self._names: dict[tuple[str, int], str] = {}
        tile = QPixmap(16, 16)
        tile.fill(QColor(204, 204, 204))
        with QPainter(tile) as painter:
            painter.fillRect(0, 0, 8, 8, QColor(255, 255, 255))
            painter.fillRect(8, 8, 8, 8, QColor(255, 255, 255))
        self.checkers = QBrush(tile)

    def sizeHint(self, option: QStyleOptionViewItem, index: _Index) -> QSize:  # noqa: N802 - Qt override
        return QSize(self.cell + 12, self.cell + option.fontMetrics.lineSpacing() + 14)

    def cutout(self, row: FilmstripRow) -> QImage | None:
        """The cut-out on its checkerboard at the cell's size, composed once per change and size and then drawn
        without scaling (scaling 150 thumbnails at every paint took 24 ms a frame at 96 px: bench_grid.py)."""
        if row.thumbnail is None or row.mask is None:
            return None
        colour = self.grid.background_of(row.doc_id)
        key = (row.doc_id, row.version, self.cell, colour)
        image = self._cutouts.get(key)
        if image is not None:
            self._cutouts.move_to_end(key)
            return image
        cutout = row.thumbnail.convertToFormat(QImage.Format.Format_ARGB32)
        mask = row.mask if row.mask.size() == cutout.size() else row.mask.scaled(
            cutout.size(), Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation)
        cutout.setAlphaChannel(mask)
        fitted = cutout.size().scaled(QSize(self.cell, self.cell), Qt.AspectRatioMode.KeepAspectRatio)
        image = QImage(fitted, QImage.Format.Format_RGB32)
        with QPainter(image) as painter:
            painter.fillRect(image.rect(), QColor(*colour) if colour is not None else self.checkers)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(image.rect(), cutout)
        self._cutouts[key] = image
        self._cached_bytes += image.sizeInBytes()
        while self._cached_bytes > CUTOUT_CACHE_BYTES and len(self._cutouts) > 1:
            self._cached_bytes -= self._cutouts.popitem(last=False)[1].sizeInBytes()
        return image

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        # The row straight from the model, not through index.data(): a Python object (or None) carried by a QVariant
        # thousands of times per scroll broke PySide6's reference counts ("deallocating None", bench_grid.py).
        proxy = index if isinstance(index, QModelIndex) else self.grid.filter.index(index.row(), 0)
        source = self.grid.filter.mapToSource(proxy).row()
        rows = self.grid.filter.strip.rows
        if not 0 <= source < len(rows):
            return
        row = rows[source]
        painter.save()
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        box = QRect(option.rect.x() + 6, option.rect.y() + 6, self.cell, self.cell)
        image = self.cutout(row)
        shown = image if image is not None else row.thumbnail
        if shown is not None:
            fitted = shown.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, fitted.width(), fitted.height())
            target.moveCenter(box.center())
            if image is not None:
                painter.drawImage(target.topLeft(), image)
            else:  # the photo, dimmed, while its mask is on its way
                painter.setOpacity(0.45)
                painter.drawImage(target, shown)
                painter.setOpacity(1.0)
        else:
            painter.fillRect(box, palette.color(QPalette.ColorRole.Mid))
        colour = FLAG_COLOURS.get(row.flag or "")
        if colour is not None:
            painter.setPen(colour)
            for inset in range(3):
                painter.drawRect(box.adjusted(inset, inset, -inset - 1, -inset - 1))
            mark = QRect(box.x() + 4, box.y() + 4, 22, 22)
            painter.fillRect(mark, colour)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(mark, Qt.AlignmentFlag.AlignCenter, FLAG_MARKS[row.flag])
        width = 0
        if row.doubt is not None and (self.grid.filter.order == "doubt" or self.grid.filter.min_doubt > 0):
            text = f"doubt {row.doubt:.2f}" if self.cell >= 120 else f"{row.doubt:.2f}"
            width = option.fontMetrics.horizontalAdvance(text) + 8
            if width > self.cell - 30:  # no room beside the flag's mark (walk 40: it covered it at 64 px)
                text, width = "", 0
        if width:
            badge = QRect(box.right() - width - 3, box.y() + 4, width, option.fontMetrics.height() + 2)
            painter.fillRect(badge, QColor(0, 0, 0, 160))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        name_rect = QRect(option.rect.x() + 4, box.bottom() + 4, option.rect.width() - 8,
                          option.fontMetrics.lineSpacing())
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(palette.color(role))
        name = f"{row.name} · {row.where}" if row.where else row.name
        key = (name, name_rect.width())
        elided = self._names.get(key)
        if elided is None:  # eliding 150 names at every paint was a third of a frame
            if len(self._names) > 4096:
                self._names.clear()
            elided = self._names[key] = option.fontMetrics.elidedText(name, Qt.TextElideMode.ElideMiddle,
                                                                      name_rect.width())
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignHCenter, elided)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(palette.color(QPalette.ColorRole.Highlight).darker(140))
            painter.drawRect(option.rect.adjusted(1, 1, -2, -2))
        painter.restore()


class ShootGrid(QListView):
    """The cells. Enter or a double-click opens the photo.

    Signals:
        document_opened(int): open the photo with this doc id in the editor.
    """

    document_opened = Signal(int)

    def __init__(self, strip: FilmstripModel, lookup: Callable[[int], Document | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShootGrid")
        #: The colour a photo is exported on (None: transparent, drawn on a checkerboard): cells show it.
        self.background_of: Callable[[int], tuple[int, int, int] | None] = lambda _doc_id: None
        self.filter = ShootFilter(strip, lookup, self)
        self.setModel(self.filter)
        self.cells = CutoutDelegate(self)
        self.setItemDelegate(self.cells)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setUniformItemSizes(True)
        self.setMovement(QListView.Movement.Static)
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setAccessibleName("Shoot grid")
        self.doubleClicked.connect(self._open)
        self.filter.sort(0)

    def set_cell_size(self, size: int) -> None:
        self.cells.cell = size
        self.scheduleDelayedItemsLayout()
        self.viewport().update()

    def doc_id_at(self, proxy_row: int) -> int:
        return int(self.filter.index(proxy_row, 0).data(Qt.ItemDataRole.UserRole))

    def shown_ids(self) -> list[int]:
        """The doc ids the grid shows, in its order."""
        return [self.doc_id_at(row) for row in range(self.filter.rowCount())]

    def selected_ids(self) -> list[int]:
        """The selected photos in the grid's order (the current one when nothing is selected)."""
        rows = sorted(index.row() for index in self.selectionModel().selectedIndexes())
        if not rows and self.currentIndex().isValid():
            rows = [self.currentIndex().row()]
        return [self.doc_id_at(row) for row in rows]

    def select_document(self, doc_id: int) -> None:
        """Make the photo the current cell (and the only one selected), scrolled into view."""
        source = self.filter.strip.row_of(doc_id)
        if source < 0:
            return
        index = self.filter.mapFromSource(self.filter.strip.index(source))
        if index.isValid():
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.scrollTo(index)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self._open(self.currentIndex())
            return
        super().keyPressEvent(event)

    def _open(self, index: QModelIndex) -> None:
        if index.isValid():
            self.document_opened.emit(int(index.data(Qt.ItemDataRole.UserRole)))


class ShootGridPanel(QWidget):
    """The grid with its bar: sort, flag filter, doubt filter, cell size, and what the shoot holds.

    Signals:
        view_changed(): the order, a filter or the size changed (a session saves them).
    """

    view_changed = Signal()

    def __init__(self, strip: FilmstripModel, lookup: Callable[[int], Document | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ShootGridPanel")
        self.grid = ShootGrid(strip, lookup, self)
        bar = QHBoxLayout()
        bar.setContentsMargins(6, 4, 6, 2)
        self.sort_box = self._combo(bar, "&Sort", SORT_ORDERS, SORT_LABELS, "Order of the photos in the grid")
        self.flag_box = self._combo(bar, "S&how", FLAG_FILTERS, FLAG_FILTER_LABELS,
                                    "Only the photos with this flag (P done, N needs work, X rejected, U unflagged)")
        self.doubt_box = QDoubleSpinBox(self)
        self.doubt_box.setRange(0.0, 1.0)
        self.doubt_box.setSingleStep(0.05)
        self.doubt_box.setDecimals(2)
        self.doubt_box.setSpecialValueText("any")
        self.doubt_box.setToolTip("Only photos whose mask is at least this doubtful (0: any)")
        label = QLabel("&Doubt ≥", self)
        label.setBuddy(self.doubt_box)
        bar.addWidget(label)
        bar.addWidget(self.doubt_box)
        bar.addStretch(1)
        self.counts = QLabel(self)
        bar.addWidget(self.counts)
        bar.addStretch(1)
        size_label = QLabel("Si&ze", self)
        self.size_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.size_slider.setRange(*GRID_SIZE_RANGE)
        self.size_slider.setValue(160)
        self.size_slider.setMaximumWidth(160)
        self.size_slider.setToolTip("Thumbnail size")
        size_label.setBuddy(self.size_slider)
        bar.addWidget(size_label)
        bar.addWidget(self.size_slider)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(bar)
        column.addWidget(self.grid, 1)
        self.grid.set_cell_size(160)
        # Never wider than the photo's own area needs: the grid takes the canvas's place, and the side panels must
        # keep the widths the user gave them (the bar's controls clip in a very narrow window instead).
        self.setMinimumSize(120, 120)
        for signal in (self.sort_box.currentIndexChanged, self.flag_box.currentIndexChanged,
                       self.doubt_box.valueChanged):
            signal.connect(self._apply)
        self.size_slider.valueChanged.connect(self._on_size)

    def _combo(self, bar: QHBoxLayout, text: str, keys: tuple[str, ...], labels: dict, tip: str) -> QComboBox:
        box = QComboBox(self)
        for key in keys:
            box.addItem(labels[key], key)
        box.setToolTip(tip)
        label = QLabel(text, self)
        label.setBuddy(box)
        bar.addWidget(label)
        bar.addWidget(box)
        return box

    def view(self) -> GridView:
        return GridView(self.isVisible(), self.sort_box.currentData(), self.flag_box.currentData(),
                        self.size_slider.value())

    def set_view(self, view: GridView) -> None:
        """A session's grid: its order, filter and size (whether it is shown is the window's)."""
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(view.sort)))
        self.flag_box.setCurrentIndex(max(0, self.flag_box.findData(view.filter)))
        self.size_slider.setValue(view.size)

    def sort_by(self, order: str) -> None:
        self.sort_box.setCurrentIndex(max(0, self.sort_box.findData(order)))

    def set_counts(self, text: str) -> None:
        self.counts.setText(text)

    def _apply(self) -> None:
        self.grid.filter.set_view(self.sort_box.currentData(), self.flag_box.currentData(), self.doubt_box.value())
        self.grid.viewport().update()
        self.view_changed.emit()

    def _on_size(self, size: int) -> None:
        self.grid.set_cell_size(size)
        self.view_changed.emit()
