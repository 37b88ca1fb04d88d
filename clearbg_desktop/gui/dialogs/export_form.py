"""The export options form shared by the Export dialog, Export all and the Batch export dialog, with the
preset row above it when the dialog gives the settings that keep the user's presets."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from clearbg_desktop.core.imaging.compose import Background, check_background_image
from clearbg_desktop.core.imaging.export import (
    CROP_PADDING_MAX,
    LONG_EDGE_MAX,
    PERCENT_RANGE,
    QUALITY_RANGE,
    SUBJECT_FILL_RANGE,
    ExportOptions,
)
from clearbg_desktop.core.imaging.formats import FORMAT_LABELS, LAYERED_FORMATS
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.imaging.shadow import ANGLE_RANGE, BLUR_RANGE, DISTANCE_RANGE, OPACITY_RANGE, ShadowSettings
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.preset_bar import PresetBar

FORMATS = [(label, value) for value, label in FORMAT_LABELS.items()]  # the core's list: the CLI and presets share it
BACKGROUNDS = [("Transparent", "transparent"), ("Colour", "color"), ("Image…", "image"), ("Blurred original", "blur")]
LAYERED_HINT = "A layered file keeps the whole photo, with the cut-out as its editable mask"
RESIZES = [("Original size", "none"), ("Long edge (px)", "long"), ("Percentage", "percent")]
SHADOWS: list[tuple[str, str | None]] = [("None", None), ("Contact (under the base)", "contact"), ("Drop (offset)", "drop")]
SHADOW_HINT = ("Made from the mask and drawn only where the subject is not opaque. Blur and distance are shares of "
               "the subject's size, so a preset looks the same on every photo")
MASK_HINT = "A mask has no shadow: untick 'Export the mask only'"


class ExportOptionsForm(QWidget):
    """Edits an :class:`ExportOptions`; ``options()`` raises ValueError with a readable message.

    Signals:
        changed(): any option changed (dialogs refresh their preview).
    """

    changed = Signal()

    def __init__(self, options: ExportOptions, show_refine: bool = False, parent: QWidget | None = None,
                 settings: AppSettings | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        self.presets: PresetBar | None = None
        if settings is not None:  # presets need somewhere to keep the user's own
            self.presets = PresetBar(settings, self.options, self)
            self.presets.chosen.connect(self._on_preset_chosen)
            form.addRow("Preset", self.presets)
        self.format_box = QComboBox(self)
        for label, value in FORMATS:
            self.format_box.addItem(label, value)
        form.addRow("Format", self.format_box)
        self.lossless = QCheckBox("Lossless (WebP)", self)
        self.quality = QSpinBox(self)
        self.quality.setRange(*QUALITY_RANGE)
        quality_row = QHBoxLayout()
        quality_row.addWidget(self.lossless)
        quality_row.addWidget(self.quality)
        form.addRow("Quality", quality_row)
        self.mask_only = QCheckBox("Export the mask only (greyscale)", self)
        form.addRow(self.mask_only)
        self.background_box = QComboBox(self)
        for label, value in BACKGROUNDS:
            self.background_box.addItem(label, value)
        self.color_button = QPushButton(self)
        self.image_path = QLineEdit(self)
        self.image_path.setPlaceholderText("background image file")
        self.image_button = QPushButton("Browse…", self)
        self.blur_radius = QSpinBox(self)
        self.blur_radius.setRange(1, 200)
        self.blur_radius.setPrefix("blur ")
        background_row = QHBoxLayout()
        for widget in (self.background_box, self.color_button, self.image_path, self.image_button, self.blur_radius):
            background_row.addWidget(widget)
        form.addRow("Background", background_row)
        self.shadow_box = QComboBox(self)
        self.shadow_box.setObjectName("ShadowChoice")
        for shadow_label, shadow_kind in SHADOWS:
            self.shadow_box.addItem(shadow_label, shadow_kind)
        self.shadow_box.setToolTip(SHADOW_HINT)
        self.shadow_opacity = QSpinBox(self)
        self.shadow_opacity.setRange(int(OPACITY_RANGE[0]), int(OPACITY_RANGE[1]))
        self.shadow_opacity.setPrefix("opacity ")
        self.shadow_opacity.setSuffix(" %")
        self.shadow_blur = QDoubleSpinBox(self)
        self.shadow_blur.setRange(*BLUR_RANGE)
        self.shadow_blur.setSingleStep(0.5)
        self.shadow_blur.setDecimals(1)
        self.shadow_blur.setPrefix("blur ")
        self.shadow_blur.setSuffix(" %")
        self.shadow_blur.setToolTip("How soft the shadow is, as a share of the subject's size (its longer side)")
        self.shadow_distance = QDoubleSpinBox(self)
        self.shadow_distance.setRange(*DISTANCE_RANGE)
        self.shadow_distance.setSingleStep(0.5)
        self.shadow_distance.setDecimals(1)
        self.shadow_distance.setPrefix("distance ")
        self.shadow_distance.setSuffix(" %")
        self.shadow_distance.setToolTip("How far a drop shadow falls from the subject, as a share of its size")
        self.shadow_angle = QSpinBox(self)
        self.shadow_angle.setRange(int(ANGLE_RANGE[0]), int(ANGLE_RANGE[1]))
        self.shadow_angle.setWrapping(True)
        self.shadow_angle.setPrefix("light from ")
        self.shadow_angle.setSuffix("°")
        self.shadow_angle.setToolTip("Where the light comes from: 0° right, 90° above, 120° upper left (the shadow "
                                     "falls to the lower right)")
        shadow_row = QHBoxLayout()
        shadow_widgets: tuple[QWidget, ...] = (self.shadow_box, self.shadow_opacity, self.shadow_blur,
                                               self.shadow_distance, self.shadow_angle)
        for shadow_widget in shadow_widgets:
            shadow_row.addWidget(shadow_widget)
        form.addRow("Shadow", shadow_row)
        self.crop = QCheckBox("Crop to subject, padding", self)
        self.padding = QSpinBox(self)
        self.padding.setRange(0, CROP_PADDING_MAX)
        self.padding.setSuffix(" px")
        self.square = QCheckBox("Square frame, subject fills", self)
        self.square.setToolTip("Marketplace main images: the subject centred on a square, its long side filling "
                               "this share of the frame")
        self.fill = QSpinBox(self)
        self.fill.setRange(int(SUBJECT_FILL_RANGE[0] * 100), int(SUBJECT_FILL_RANGE[1] * 100))
        self.fill.setSuffix(" %")
        crop_row = QHBoxLayout()
        crop_row.addWidget(self.crop)
        crop_row.addWidget(self.padding)
        crop_row.addWidget(self.square)
        crop_row.addWidget(self.fill)
        form.addRow("Crop", crop_row)
        self.resize_box = QComboBox(self)
        for label, value in RESIZES:
            self.resize_box.addItem(label, value)
        self.resize_value = QSpinBox(self)
        self.resize_value.setRange(1, LONG_EDGE_MAX)  # a percentage's range is set in _update_enabled
        resize_row = QHBoxLayout()
        resize_row.addWidget(self.resize_box)
        resize_row.addWidget(self.resize_value)
        self.never_enlarge = QCheckBox("Never enlarge", self)
        self.never_enlarge.setToolTip("A photo smaller than the size asked keeps its own size instead of being "
                                      "enlarged (and looking soft); larger photos are still made smaller")
        resize_row.addWidget(self.never_enlarge)
        form.addRow("Resize", resize_row)
        self.keep_icc = QCheckBox("Keep colour profile (ICC)", self)
        self.keep_exif = QCheckBox("Keep EXIF (without orientation)", self)
        form.addRow(self.keep_icc)
        form.addRow(self.keep_exif)
        self.template = QLineEdit(self)
        self.template.setToolTip("Fields: {name} {ext} {format} {model}")
        form.addRow("File name", self.template)
        self.feather = QSpinBox(self)
        self.feather.setRange(0, 50)
        self.feather.setSuffix(" px feather")
        self.shift = QSpinBox(self)
        self.shift.setRange(-50, 50)
        self.shift.setSuffix(" px grow/shrink")
        self.refine_edges = QCheckBox("Refine hair/edges", self)
        self.decontaminate = QCheckBox("Decontaminate colours", self)
        refine_row = QHBoxLayout()
        refine_widgets: tuple[QWidget, ...] = (self.feather, self.shift, self.refine_edges)
        for refine_widget in refine_widgets:
            refine_row.addWidget(refine_widget)
        if show_refine:
            form.addRow("Refine", refine_row)
        else:
            for refine_widget in refine_widgets:
                refine_widget.setVisible(False)
        form.addRow(self.decontaminate)
        self._color = QColor(*options.background.color)
        self.set_options(options)
        self.color_button.clicked.connect(self._pick_color)
        self.image_button.clicked.connect(self._pick_image)
        for signal in (self.format_box.currentIndexChanged, self.background_box.currentIndexChanged,
                       self.resize_box.currentIndexChanged, self.shadow_box.currentIndexChanged):
            signal.connect(self._on_changed)
        for spin in (self.quality, self.blur_radius, self.padding, self.resize_value, self.feather, self.shift,
                     self.fill, self.shadow_opacity, self.shadow_blur, self.shadow_distance, self.shadow_angle):
            spin.valueChanged.connect(self._on_changed)
        for box in (self.lossless, self.mask_only, self.crop, self.keep_icc, self.keep_exif, self.refine_edges,
                    self.decontaminate, self.square, self.never_enlarge):
            box.toggled.connect(self._on_changed)
        self.template.textChanged.connect(self._on_changed)
        self.image_path.textChanged.connect(self._on_changed)

    def set_options(self, options: ExportOptions) -> None:
        self.format_box.setCurrentIndex(self.format_box.findData(options.format))
        self.lossless.setChecked(options.lossless)
        self.quality.setValue(options.quality)
        self.mask_only.setChecked(options.mask_only)
        self.background_box.setCurrentIndex(self.background_box.findData(options.background.kind))
        self._color = QColor(*options.background.color)
        self.image_path.setText(options.background.image_path or "")
        self.blur_radius.setValue(int(options.background.blur_radius))
        self.crop.setChecked(options.crop_to_subject)
        self.padding.setValue(options.crop_padding)
        self.square.setChecked(options.subject_fill is not None)
        self.fill.setValue(round((options.subject_fill or 0.85) * 100))
        if options.resize_long_edge:
            self.resize_box.setCurrentIndex(1)
            self.resize_value.setValue(options.resize_long_edge)
        elif options.resize_percent:
            self.resize_box.setCurrentIndex(2)
            self.resize_value.setValue(int(options.resize_percent))
        else:
            self.resize_box.setCurrentIndex(0)
            self.resize_value.setValue(2048)
        self.keep_icc.setChecked(options.keep_icc)
        self.keep_exif.setChecked(options.keep_exif)
        self.template.setText(options.name_template)
        self.feather.setValue(int(options.refine.feather))
        self.shift.setValue(options.refine.shift)
        self.refine_edges.setChecked(options.refine.refine_edges)
        self.decontaminate.setChecked(options.refine.decontaminate)
        self.never_enlarge.setChecked(options.never_enlarge)
        shadow = options.shadow or ShadowSettings()
        self.shadow_box.setCurrentIndex(self.shadow_box.findData(options.shadow.kind if options.shadow else None))
        self.shadow_opacity.setValue(round(shadow.opacity))
        self.shadow_blur.setValue(shadow.blur)
        self.shadow_distance.setValue(shadow.distance)
        self.shadow_angle.setValue(round(shadow.angle))
        self._update_enabled()

    def options(self) -> ExportOptions:
        """The options as entered; ValueError with a message for the user when invalid."""
        kind = self.background_box.currentData()
        background = Background(
            kind=kind,
            color=(self._color.red(), self._color.green(), self._color.blue()),
            image_path=self.image_path.text().strip() or None,
            blur_radius=float(self.blur_radius.value()),
        )
        if kind == "image":
            if not background.image_path:
                raise ValueError("Choose an existing image file for the background")
            check_background_image(Path(background.image_path))  # as --bg and presets: no FIFO, folder or bomb
        resize = self.resize_box.currentData()
        layered_off = self.format_box.currentData() not in LAYERED_FORMATS  # a layered file keeps the whole photo
        return ExportOptions(
            format=self.format_box.currentData(),
            quality=self.quality.value(),
            lossless=self.lossless.isChecked(),
            background=background,
            mask_only=self.mask_only.isChecked() and layered_off,
            crop_to_subject=self.crop.isChecked(),
            crop_padding=self.padding.value(),
            resize_long_edge=self.resize_value.value() if resize == "long" else None,
            resize_percent=float(self.resize_value.value()) if resize == "percent" else None,
            keep_icc=self.keep_icc.isChecked(),
            keep_exif=self.keep_exif.isChecked(),
            name_template=self.template.text().strip() or "{name}-cutout",
            refine=RefineSettings(feather=float(self.feather.value()), shift=self.shift.value(),
                                  refine_edges=self.refine_edges.isChecked(),
                                  decontaminate=self.decontaminate.isChecked()),
            subject_fill=self.fill.value() / 100 if self.square.isChecked() and layered_off else None,
            never_enlarge=self.never_enlarge.isChecked(),
            shadow=self.shadow() if layered_off and not self.mask_only.isChecked() else None,
        )

    def shadow(self) -> ShadowSettings | None:
        """The shadow as entered (None: none), whatever the format."""
        kind = self.shadow_box.currentData()
        if kind is None:
            return None
        return ShadowSettings(kind=kind, opacity=float(self.shadow_opacity.value()), blur=self.shadow_blur.value(),
                              distance=self.shadow_distance.value(), angle=float(self.shadow_angle.value()))

    def _update_enabled(self) -> None:
        fmt = self.format_box.currentData()
        kind = self.background_box.currentData()
        self.lossless.setEnabled(fmt == "webp")
        self.quality.setEnabled(fmt == "jpg" or (fmt == "webp" and not self.lossless.isChecked()))
        self.color_button.setVisible(kind == "color" or (fmt == "jpg" and kind == "transparent"))
        transparent_row = self.background_box.findData("transparent")
        self.background_box.setItemText(transparent_row, "None: flat colour (JPEG has no transparency)"
                                        if fmt == "jpg" else "Transparent")
        self.color_button.setText(f"  {self._color.name()}  ")
        self.color_button.setStyleSheet(f"background-color: {self._color.name()}")
        self.image_path.setVisible(kind == "image")
        self.image_button.setVisible(kind == "image")
        self.blur_radius.setVisible(kind == "blur")
        self.padding.setEnabled(self.crop.isChecked() and not self.square.isChecked())
        self.fill.setEnabled(self.square.isChecked())
        layered = fmt in LAYERED_FORMATS  # the photo as it is, the cut-out as its mask: no background, no frame
        for widget in (self.mask_only, self.background_box, self.square):
            widget.setEnabled(not layered)
            if widget.property("own_tooltip") is None:
                widget.setProperty("own_tooltip", widget.toolTip())
            widget.setToolTip(LAYERED_HINT if layered else widget.property("own_tooltip"))
        self.fill.setEnabled(self.square.isChecked() and not layered)
        shadow_off = layered or self.mask_only.isChecked()  # nothing is baked into a layered file; a mask has none
        self.shadow_box.setEnabled(not shadow_off)
        self.shadow_box.setToolTip(LAYERED_HINT if layered else MASK_HINT if shadow_off else SHADOW_HINT)
        kind = self.shadow_box.currentData()
        for number in (self.shadow_opacity, self.shadow_blur):
            number.setEnabled(not shadow_off and kind is not None)
        for drop_number in (self.shadow_distance, self.shadow_angle):
            drop_number.setEnabled(not shadow_off and kind == "drop")
        self.resize_value.setEnabled(self.resize_box.currentData() != "none")
        self.never_enlarge.setEnabled(self.resize_box.currentData() != "none")
        percent = self.resize_box.currentData() == "percent"
        self.resize_value.setSuffix(" %" if percent else " px")
        low, high = (int(PERCENT_RANGE[0]), int(PERCENT_RANGE[1])) if percent else (1, LONG_EDGE_MAX)
        self.resize_value.setRange(low, high)  # the core's limits, which the CLI and project files share

    def _on_changed(self, *_: object) -> None:
        self._update_enabled()
        self.changed.emit()

    def _on_preset_chosen(self, options: ExportOptions) -> None:
        self.set_options(options)
        self._on_changed()

    def _pick_color(self) -> None:
        color = QColorDialog.getColor(self._color, self, "Background colour")
        if color.isValid():
            self._color = color
            self._on_changed()

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color)
        self._on_changed()

    def _pick_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Background image", "", "Images (*.jpg *.jpeg *.png *.webp *.tif *.tiff)")
        if path:
            self.image_path.setText(path)
