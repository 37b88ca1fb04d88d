"""Edge refinement panel: feather, shrink/grow, contrast, threshold, edge matting, decontamination."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from clearbg_desktop.core.imaging.refine import RefineSettings

SCROLL_BAR_ALLOWANCE = 24  # px of the dock's width the vertical scroll bar and frame may take


class RefinePanel(QWidget):
    """Emits the settings as they change (debounced) for a live preview; Apply commits them.

    Apply and Reset live in ``button_row``, which the window places under the panel's scroll area: at 150-200 %
    scaling the controls need scrolling, and the two buttons every preview ends with must not.

    Signals:
        preview_requested(object): RefineSettings to preview.
        applied(object): RefineSettings the user applied (an undoable step).
        cancelled(): the preview should be dropped.
    """

    preview_requested = Signal(object)
    applied = Signal(object)
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RefinePanel")
        form = QFormLayout(self)
        self.form = form
        self._wide_width: int | None = None  # the panel's minimum width with labels beside their controls
        self.value_labels: dict[QSlider, QLabel] = {}
        self.feather = self._slider(0, 50, 0)
        form.addRow("Feather (px)", self._with_value(self.feather))
        self.shift = self._slider(-30, 30, 0)
        form.addRow("Shrink / grow (px)", self._with_value(self.shift))
        self.contrast = self._slider(100, 800, 100)
        form.addRow("Edge contrast (%)", self._with_value(self.contrast))
        self.threshold_enabled = QCheckBox("Threshold", self)
        self.threshold = QSpinBox(self)
        self.threshold.setRange(1, 254)
        self.threshold.setValue(128)
        self.threshold.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # digits are view keys unless the user clicked here
        row = QHBoxLayout()
        row.addWidget(self.threshold_enabled)
        row.addWidget(self.threshold)
        form.addRow("Hard edge", row)
        self.refine_edges = QCheckBox("Refine hair / edges (matting)", self)
        form.addRow(self.refine_edges)
        self.edge_radius = self._slider(2, 40, 8)
        form.addRow("Edge band (px)", self._with_value(self.edge_radius))
        self.decontaminate = QCheckBox("Decontaminate colours", self)
        self.decontaminate.setToolTip("Previewed on the canvas; Apply keeps it as an export setting")
        form.addRow(self.decontaminate)
        self.button_row = QWidget(self)
        self.button_row.setObjectName("RefineButtons")
        buttons = QHBoxLayout(self.button_row)
        self.apply_button = QPushButton("Apply", self.button_row)
        self.reset_button = QPushButton("Reset", self.button_row)
        buttons.addWidget(self.reset_button)
        buttons.addWidget(self.apply_button)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(120)
        self._debounce.timeout.connect(lambda: self.preview_requested.emit(self.settings()))
        # (start() without arguments: the signals' values would be taken as intervals)
        for widget in (self.feather, self.shift, self.contrast, self.threshold, self.edge_radius):
            widget.valueChanged.connect(lambda *_: self._debounce.start())
        for box in (self.threshold_enabled, self.refine_edges, self.decontaminate):
            box.toggled.connect(lambda *_: self._debounce.start())
        self.apply_button.clicked.connect(self._on_apply)
        self.reset_button.clicked.connect(self.reset)

    def _slider(self, low: int, high: int, value: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(low, high)
        slider.setValue(value)
        slider.setToolTip(str(value))
        slider.valueChanged.connect(lambda v: slider.setToolTip(str(v)))
        return slider

    def fit_width(self, width: int) -> int:
        """Where the panel is narrower than its rows (a small window, 150-200 % scaling), labels go above their
        controls; ``width`` is the dock's, of which the scroll bar takes a part. Returns the width the panel
        needs then, scroll bar included, which its dock must not go below."""
        if self._wide_width is None:
            self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
            self._wide_width = self.minimumSizeHint().width()
        narrow = width - SCROLL_BAR_ALLOWANCE < self._wide_width
        policy = QFormLayout.RowWrapPolicy.WrapAllRows if narrow else QFormLayout.RowWrapPolicy.DontWrapRows
        if self.form.rowWrapPolicy() != policy:
            self.form.setRowWrapPolicy(policy)
        return self.minimumSizeHint().width() + SCROLL_BAR_ALLOWANCE

    def _with_value(self, slider: QSlider) -> QWidget:
        """The slider with its value written beside it (a fixed width, so the row does not jump)."""
        row = QWidget(self)
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(str(slider.value()), row)
        label.setMinimumWidth(label.fontMetrics().horizontalAdvance("-888"))
        label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        slider.valueChanged.connect(lambda value: label.setText(str(value)))
        layout.addWidget(slider, 1)
        layout.addWidget(label)
        self.value_labels[slider] = label
        return row

    def settings(self) -> RefineSettings:
        return RefineSettings(
            feather=float(self.feather.value()),
            shift=self.shift.value(),
            contrast=self.contrast.value() / 100.0,
            threshold=self.threshold.value() if self.threshold_enabled.isChecked() else None,
            refine_edges=self.refine_edges.isChecked(),
            edge_radius=self.edge_radius.value(),
            decontaminate=self.decontaminate.isChecked(),
        )

    def reset(self) -> None:
        """Back to "no change" without emitting a preview per widget."""
        self._debounce.stop()
        for widget, value in ((self.feather, 0), (self.shift, 0), (self.contrast, 100), (self.edge_radius, 8)):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
            if widget in self.value_labels:
                self.value_labels[widget].setText(str(value))
        for box in (self.threshold_enabled, self.refine_edges, self.decontaminate):
            box.blockSignals(True)
            box.setChecked(False)
            box.blockSignals(False)
        self.cancelled.emit()

    def _on_apply(self) -> None:
        self._debounce.stop()
        self.applied.emit(self.settings())
