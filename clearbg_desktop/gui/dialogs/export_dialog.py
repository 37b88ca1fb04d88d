"""File ▸ Export…: options, target, a preview of the result and an estimate of its size.

The dialog opens at once; the preview and the size estimate are made off the GUI thread and fill in
(on a 20 MP photo they took 3–8 s in the constructor, #37). The options check that enables Export stays exact
and on the GUI thread: it only measures, it renders nothing.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import cast

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer, Signal
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
from clearbg_desktop.core.imaging.export import ExportOptions, output_name
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import keeps_sixteen_bits, render_output
from clearbg_desktop.core.imaging.output_size import estimate_output_bytes, output_size
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.dialog_jobs import DialogJobs
from clearbg_desktop.gui.dialogs.dialog_parts import accept_buttons, error_label
from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm
from clearbg_desktop.gui.widgets.colour_space import to_display
from clearbg_desktop.gui.widgets.qimage import array_to_qimage

PREVIEW_EDGE = 360
ESTIMATING = "Estimated size: estimating…"

SmallCopy = tuple[LoadedImage, Image.Image, float]


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


def small_copy(loaded: LoadedImage, alpha: Image.Image) -> SmallCopy:
    """A preview-sized photo and alpha, and the scale they were made at."""
    rgb = loaded.rgb
    scale = min(1.0, PREVIEW_EDGE * 2 / max(rgb.size))
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    small_alpha = None if loaded.source_alpha is None else loaded.source_alpha.resize(size, Image.Resampling.BILINEAR)
    small = LoadedImage(rgb=rgb.resize(size, Image.Resampling.BILINEAR), source_alpha=small_alpha,
                        icc_profile=loaded.icc_profile, exif=loaded.exif)
    return small, alpha.resize(size, Image.Resampling.BILINEAR), scale


def preview_pixels(small: SmallCopy | None, loaded: LoadedImage, alpha: Image.Image,
                   options: ExportOptions) -> tuple[SmallCopy, np.ndarray]:
    """The preview in display colours (made off the GUI thread), and the small copy it was made from
    (made on the first call, kept by the dialog for the next)."""
    if small is None:
        small = small_copy(loaded, alpha)
    photo, small_alpha, _scale = small
    picture = render_output(photo, small_alpha, options.with_changes(resize_long_edge=None, resize_percent=None))
    shown = picture if picture.mode != "RGBA" else flatten_onto_colour(picture, (138, 138, 138))
    shown.thumbnail((PREVIEW_EDGE, PREVIEW_EDGE))
    pixels = np.asarray(shown)
    if pixels.ndim == 3:  # a cut-out in the photo's colours; masks have none
        pixels = to_display(pixels, photo.icc_profile if options.keep_icc else None)
    return small, np.ascontiguousarray(pixels)


class ExportDialog(QDialog):
    """Collects options and a target; the window does the writing (never overwrites silently).

    Signals:
        filled(): the preview and the size estimate of the current options are shown.
    """

    filled = Signal()

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
        self.preview.setText("Rendering the preview…")
        self.size_label = QLabel(ESTIMATING, self)
        self.size_label.setObjectName("ExportSizeEstimate")
        right.addWidget(self.preview)
        right.addWidget(self.size_label)
        right.addStretch(1)
        layout.addLayout(right)
        loaded = document.loaded
        assert loaded is not None and document.alpha is not None
        self._loaded, self._alpha = loaded, Image.fromarray(document.alpha, "L")  # as they were when opened
        self._small: SmallCopy | None = None
        self._depth = "8 bits per channel"
        self.jobs = DialogJobs(self)
        self.jobs.delivered.connect(self._on_delivered)
        self.jobs.failed.connect(self._on_job_failed)
        self.finished.connect(self.jobs.stop)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(80)
        self._refresh_timer.timeout.connect(self.refresh)
        self.form.changed.connect(self._refresh_timer.start)
        self.folder_edit.textChanged.connect(lambda *_: self._refresh_timer.start())
        self.refresh()

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
        """Check the options and name the target now; the preview and estimate follow from the job thread."""
        self._refresh_timer.stop()  # this covers every change made so far
        try:
            options = self.checked_options()
            target = self.target()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(False)
            self.jobs.stop()  # an estimate of options that no longer hold is not shown
            self.size_label.setText("")
            return
        self.error_label.setText("")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(True)
        exists = " (exists: you will be asked)" if target.exists() else ""
        self.target_label.setText(f"→ {target}{exists}")
        depth = "16 bits per channel, as the photo" if keeps_sixteen_bits(self._loaded, options) else "8 bits per channel"
        self._depth = depth
        self.size_label.setText(f"{ESTIMATING} ({depth})")
        self.jobs.submit("preview", partial(preview_pixels, self._small, self._loaded, self._alpha, options))
        self.jobs.submit("estimate", partial(estimate_output_bytes, self._loaded, self._alpha, options), slow=True)

    def pending(self) -> bool:
        """Whether the preview or the estimate is still being made."""
        return self.jobs.pending()

    def _on_delivered(self, kind: str, result: object) -> None:
        if kind == "preview":
            small, pixels = cast(tuple[SmallCopy, np.ndarray], result)
            self._small = small
            self.preview.setPixmap(QPixmap.fromImage(array_to_qimage(pixels)))
        elif kind == "estimate":
            self.size_label.setText(f"Estimated size: about {format_bytes(cast(int, result))} ({self._depth})")
        if not self.jobs.pending():
            self.filled.emit()

    def _on_job_failed(self, kind: str, message: str) -> None:
        if kind == "preview":
            self.preview.setText(f"No preview: {message}")
        else:
            self.size_label.setText(f"Estimated size: unknown ({message})")
        if not self.jobs.pending():
            self.filled.emit()

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
