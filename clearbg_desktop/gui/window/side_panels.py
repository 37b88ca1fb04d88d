"""The docks around the photo: the photos left, Refine edge and History right, each with a width ceiling so the
photo stays the largest thing in the window at any size and scale."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoGroup
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QUndoView, QVBoxLayout, QWidget

from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.refine_panel import RefinePanel

SIDE_PANEL_SHARE = 0.2  # of the window's width, for each side's panels
MIN_RIGHT_PANEL, MIN_PHOTOS_PANEL = 240, 150  # px: the refine controls with their scroll bar; a thumbnail


class SidePanels:
    """Builds the three docks into ``window`` and keeps their widths in proportion (``fit_to``)."""

    def __init__(self, window: QMainWindow, undo_group: QUndoGroup) -> None:
        self.filmstrip = Filmstrip(window)
        self.photos_dock = self._dock(window, "Photos", "PhotosDock", self.filmstrip,
                                      Qt.DockWidgetArea.LeftDockWidgetArea)
        self.refine_panel = RefinePanel(window)
        self.refine_scroller = scroller = QScrollArea(window)
        scroller.setWidget(self.refine_panel)
        scroller.setWidgetResizable(True)
        scroller.setFrameShape(QFrame.Shape.NoFrame)
        scroller.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        refine = QWidget(window)
        column = QVBoxLayout(refine)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(scroller, 1)
        column.addWidget(self.refine_panel.button_row)  # under the scroll area: never scrolled out of sight
        self.refine_dock = self._dock(window, "Refine edge", "RefineDock", refine, Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_view = QUndoView(undo_group, window)
        self.history_view.setEmptyLabel("Model prediction")
        self.history_dock = self._dock(window, "History", "HistoryDock", self.history_view,
                                       Qt.DockWidgetArea.RightDockWidgetArea)

    @property
    def docks(self) -> tuple[QDockWidget, QDockWidget, QDockWidget]:
        return self.photos_dock, self.refine_dock, self.history_dock

    @staticmethod
    def _dock(window: QMainWindow, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, window)
        dock.setObjectName(name)
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        return dock

    def fit_to(self, width: int) -> None:
        """The window is ``width`` wide now: each side's panels at most their share of it."""
        right = max(min(MIN_RIGHT_PANEL, int(width * 0.35)), int(width * SIDE_PANEL_SHARE))
        self.photos_dock.setMaximumWidth(max(MIN_PHOTOS_PANEL, int(width * SIDE_PANEL_SHARE)))
        for dock in (self.refine_dock, self.history_dock):
            dock.setMaximumWidth(right)
        self.refine_scroller.setMinimumWidth(min(right, self.refine_panel.fit_width(right)))  # never cut off
