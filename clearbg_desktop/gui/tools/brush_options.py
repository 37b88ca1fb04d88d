"""The tools' options bar: one button per canvas tool (``registry.py``), Restore/Erase (X), the brush's size
([ and ]), hardness and opacity, each with its value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QSlider, QSpinBox, QToolBar, QWidget

from clearbg_desktop.core.editing.mask_edits import Brush
from clearbg_desktop.gui.tools.registry import DEFAULT_TOOL, TOOLS, tool_class
from clearbg_desktop.gui.widgets.keyboard_focus import edit_only_when_clicked

MIN_SIZE, MAX_SIZE = 1, 2000


def next_size(size: float, bigger: bool) -> int:
    """Photoshop-like steps: 10 % of the size, at least 1 px."""
    step = max(1, round(size * 0.1))
    return int(min(MAX_SIZE, max(MIN_SIZE, size + step if bigger else size - step)))


class BrushOptionsBar(QToolBar):
    """Signals:
        brush_changed(object): the new Brush.
    """

    brush_changed = Signal(object)

    def __init__(self, brush: Brush, parent: QWidget | None = None) -> None:
        super().__init__("Brush", parent)
        self.setObjectName("BrushOptionsBar")
        self._brush = brush
        self.value_labels: dict[QSlider, QLabel] = {}
        group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}  # one checkable button per canvas tool, from the registry
        for name, tool in TOOLS.items():
            action = QAction(tool.label, self, checkable=True)
            action.setObjectName(tool.__name__)
            action.setToolTip(tool.tooltip)
            action.setStatusTip(tool.hint)
            if tool.shortcut is not None:
                action.setShortcut(QKeySequence(tool.shortcut))
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, chosen=name: self._set(mode=chosen))
            group.addAction(action)
            self.addAction(action)
            self.tool_actions[name] = action
        self.tool_actions.get(brush.mode, self.tool_actions[DEFAULT_TOOL]).setChecked(True)
        self.toggle_action = QAction("Toggle restore/erase", self)
        self.toggle_action.setShortcut(QKeySequence("X"))
        self.toggle_action.triggered.connect(self.toggle_mode)
        self.smaller_action = QAction("Smaller brush", self)
        self.smaller_action.setShortcut(QKeySequence("["))
        self.smaller_action.triggered.connect(lambda: self._step_size(bigger=False))
        self.bigger_action = QAction("Bigger brush", self)
        self.bigger_action.setShortcut(QKeySequence("]"))
        self.bigger_action.triggered.connect(lambda: self._step_size(bigger=True))
        for action in (self.toggle_action, self.smaller_action, self.bigger_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addSeparator()
        first_brush_control = len(self.actions())
        self.addWidget(QLabel(" Size ", self))
        self.size_box = QSpinBox(self)
        self.size_box.setRange(MIN_SIZE, MAX_SIZE)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush diameter on screen ([ and ]): zoom in for finer strokes")
        self.size_box.setValue(int(brush.size))
        self.size_box.valueChanged.connect(lambda v: self._set(size=float(v)))
        self.addWidget(self.size_box)
        self.hardness_slider = self._slider("Hardness", brush.hardness, lambda v: self._set(hardness=v / 100))
        self.opacity_slider = self._slider("Opacity", brush.opacity, lambda v: self._set(opacity=v / 100))
        edit_only_when_clicked(self.size_box, self.hardness_slider, self.opacity_slider)  # 4 is a view, not 4 px
        self._brush_controls = [widget for action in self.actions()[first_brush_control:]
                                if (widget := self.widgetForAction(action)) is not None]
        self._enable_brush_controls()

    def _slider(self, label: str, value: float, slot: Callable[[int], None]) -> QSlider:
        self.addWidget(QLabel(f"  {label} ", self))
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(0 if label == "Hardness" else 1, 100)
        slider.setValue(round(value * 100))
        slider.setMaximumWidth(110)
        slider.setToolTip(f"{label} (%)")
        slider.valueChanged.connect(slot)
        self.addWidget(slider)
        shown = QLabel(f"{slider.value()} %", self)
        shown.setMinimumWidth(shown.fontMetrics().horizontalAdvance("100 %"))
        shown.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        slider.valueChanged.connect(lambda v: shown.setText(f"{v} %"))
        self.addWidget(shown)
        self.value_labels[slider] = shown
        return slider

    @property
    def brush(self) -> Brush:
        return self._brush

    def _step_size(self, bigger: bool) -> None:
        self.size_box.setValue(next_size(self._brush.size, bigger))

    def toggle_mode(self) -> None:
        """X: restore <-> erase (from the Refine Edge brush, back to restore)."""
        mode = "erase" if self._brush.mode == "restore" else "restore"
        self.tool_actions[mode].setChecked(True)
        self._set(mode=mode)

    def _set(self, **changes: object) -> None:
        self._brush = replace(self._brush, **changes)  # type: ignore[arg-type]
        self._enable_brush_controls()
        self.brush_changed.emit(self._brush)

    def _enable_brush_controls(self) -> None:
        """Size, hardness and opacity only for the tools that paint with the brush (not the box or the lasso)."""
        for widget in self._brush_controls:
            widget.setEnabled(tool_class(self._brush.mode).uses_brush)
