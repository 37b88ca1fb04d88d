"""File ▸ Export…: options, target, a preview of the result and an estimate of its size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.imaging.compose import flatten_onto_colour
from clearbg_desktop.core.imaging.export import (
    ExportOptions,
    estimate_output_bytes,
    keeps_sixteen_bits,
    output_name,
    output_size,
    render_output,
)
from clearbg_desktop.core.imaging.image_io import LoadedImage
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.colour_space import to_display
from clearbg_desktop.gui.dialog_parts import accept_buttons, error_label
from clearbg_desktop.gui.export_form import ExportOptionsForm
from clearbg_desktop.gui.qimage import array_to_qimage

PREVIEW_EDGE = 360


def format_bytes(count: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def default_folder(document: Document, remembered: str) -> Path:
    if remembered and Path(remembered).is_dir():
        return Path(remembered)
    if document.path is not None:
        return document.path.parent
    return Path.home()


class ExportDialog(QDialog):
    """Collects options and a target; the window does the writing (never overwrites silently)."""

    def __init__(self, document: Document, options: ExportOptions, folder: Path, model: str,
                 parent: QWidget | None = None, settings: AppSettings | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExportDialog")
        self.setWindowTitle(f"Export {document.title}")
        self.document = document
        self.model = model
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.form = ExportOptionsForm(options, parent=self, settings=settings)
        left.addWidget(self.form)
        folder_row = QHBoxLayout()
        self.folder_edit = QLineEdit(str(folder), self)
        browse = QPushButton("Folder…", self)
        browse.clicked.connect(self._browse)
        folder_row.addWidget(QLabel("Save to", self))
        folder_row.addWidget(self.folder_edit)
        folder_row.addWidget(browse)
        left.addLayout(folder_row)
        self.target_label = QLabel(self)
        self.target_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left.addWidget(self.target_label)
        self.error_label = error_label(self)
        left.addWidget(self.error_label)
        self.buttons = accept_buttons(self, "Export", self._on_accept, QDialogButtonBox.StandardButton.Save)
        left.addWidget(self.buttons)
        layout.addLayout(left)
        right = QVBoxLayout()
        self.preview = QLabel(self)
        self.preview.setObjectName("ExportPreview")
        self.preview.setMinimumSize(PREVIEW_EDGE, PREVIEW_EDGE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("background: #8a8a8a")
        self.size_label = QLabel(self)
        right.addWidget(self.preview)
        right.addWidget(self.size_label)
        right.addStretch(1)
        layout.addLayout(right)
        self._small = self._small_copy()
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(80)
        self._refresh_timer.timeout.connect(self.refresh)
        self.form.changed.connect(self._refresh_timer.start)
        self.folder_edit.textChanged.connect(lambda *_: self._refresh_timer.start())
        self.refresh()

    def _small_copy(self) -> tuple[LoadedImage, Image.Image, float]:
        """A preview-sized photo and alpha; the size estimate scales by the pixel ratio."""
        loaded = self.document.loaded
        assert loaded is not None and self.document.alpha is not None
        rgb, alpha = loaded.rgb, Image.fromarray(self.document.alpha, "L")
        scale = min(1.0, PREVIEW_EDGE * 2 / max(rgb.size))
        size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
        small_alpha = None if loaded.source_alpha is None else loaded.source_alpha.resize(size, Image.Resampling.BILINEAR)
        small = LoadedImage(rgb=rgb.resize(size, Image.Resampling.BILINEAR), source_alpha=small_alpha,
                            icc_profile=loaded.icc_profile, exif=loaded.exif)
        return small, alpha.resize(size, Image.Resampling.BILINEAR), scale

    def options(self) -> ExportOptions:
        return self.form.options()

    def target(self) -> Path:
        source = self.document.path or Path(self.document.title.replace(" ", "-"))
        return Path(self.folder_edit.text()).expanduser() / output_name(source, self.options(), self.model)

    def checked_options(self) -> ExportOptions:
        """The options, checked as the core checks them and against this photo (an output too large for it)."""
        options = self.options()
        loaded = self.document.loaded
        assert loaded is not None and self.document.alpha is not None
        output_size(loaded, Image.fromarray(self.document.alpha, "L"), options)
        return options

    def refresh(self) -> None:
        try:
            options = self.checked_options()
            target = self.target()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            return
        self.error_label.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        exists = " (exists: you will be asked)" if target.exists() else ""
        self.target_label.setText(f"→ {target}{exists}")
        small, alpha, _scale = self._small
        small_options = options.with_changes(resize_long_edge=None, resize_percent=None)
        picture = render_output(small, alpha, small_options)
        shown = picture if picture.mode != "RGBA" else flatten_onto_colour(picture, (138, 138, 138))
        shown.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
        shown_pixels = np.asarray(shown)
        if shown_pixels.ndim == 3:  # a cut-out in the photo's colours; masks have none
            shown_pixels = to_display(shown_pixels, small.icc_profile if options.keep_icc else None)
        self.preview.setPixmap(QPixmap.fromImage(array_to_qimage(shown_pixels)))
        loaded = self.document.loaded
        assert loaded is not None and self.document.alpha is not None
        estimate = estimate_output_bytes(loaded, Image.fromarray(self.document.alpha, "L"), options)
        depth = "16 bits per channel, as the photo" if keeps_sixteen_bits(loaded, options) else "8 bits per channel"
        self.size_label.setText(f"Estimated size: about {format_bytes(estimate)} ({depth})")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to folder", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    def _on_accept(self) -> None:
        try:
            self.checked_options()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()
