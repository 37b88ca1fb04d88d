"""File ▸ Batch export: the job dialog, its progress dialog and the summary at the end."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.batch import BatchReport, Progress, count_photos
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.model_choice import AUTO, model_description, model_label, resolve_model
from clearbg_desktop.core.inference.time_per_photo import PhotoRate, format_rate, warning_for
from clearbg_desktop.core.inference.weights import WeightsError, available_models
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.dialog_jobs import DialogJobs
from clearbg_desktop.gui.dialogs.dialog_parts import (
    accept_buttons,
    error_label,
    existing_outputs_box,
    output_folder_row,
)
from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class BatchDialog(QDialog):
    """Inputs, output folder, the export options, model and the policy for existing outputs.

    Opened without folders (File ▸ Batch export), it lists the last batch's photos and folders still on disk;
    its options are the last batch's, never those of the last single export.
    """

    def __init__(self, settings: AppSettings, folders: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BatchDialog")
        self.setWindowTitle("Batch export")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.inputs = QListWidget(self)
        self.inputs.setMaximumHeight(110)
        if not folders:
            folders = [Path(p) for p in settings.batch_inputs if Path(p).exists()]
        for folder in folders:
            self.inputs.addItem(str(folder))
        input_buttons = QHBoxLayout()
        add_folder = QPushButton("Add folder…", self)
        add_files = QPushButton("Add photos…", self)
        remove = QPushButton("Remove", self)
        add_folder.clicked.connect(self._add_folder)
        add_files.clicked.connect(self._add_files)
        remove.clicked.connect(lambda: [self.inputs.takeItem(self.inputs.row(i)) for i in self.inputs.selectedItems()])
        for button in (add_folder, add_files, remove):
            input_buttons.addWidget(button)
        form.addRow("Photos", self.inputs)
        form.addRow("", input_buttons)
        self.recursive = QCheckBox("Include sub-folders (the structure is kept)", self)
        self.recursive.setChecked(settings.batch_recursive)
        form.addRow(self.recursive)
        default_output = settings.batch_output_folder or (str(folders[0].parent / f"{folders[0].name}-cutouts")
                                                          if folders else "")
        output_row, self.output = output_folder_row(self, default_output)
        form.addRow("Output folder", output_row)
        self.model_box = QComboBox(self)
        try:
            models = available_models()
        except WeightsError:
            models = {}
        automatic = resolve_model(AUTO)
        self.model_box.addItem(f"Automatic: {model_label(automatic.name)}", AUTO)
        self.model_box.setToolTip(automatic.note)
        for name in sorted(models):
            self.model_box.addItem(model_description(models[name]), name)
        if not models:
            self.model_box.addItem(f"{settings.model} (weights not found)", settings.model)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(settings.model)))
        form.addRow("Model", self.model_box)
        self.time_warning = QLabel(self)  # 1024 px models take seconds per photo on a CPU: said before the start
        self.time_warning.setObjectName("BatchTimeWarning")
        self.time_warning.setWordWrap(True)
        self.time_warning.setStyleSheet("color: #b9770e")
        self._device_preference = settings.device
        self.existing = existing_outputs_box(self, settings.batch_existing)
        form.addRow("Existing outputs", self.existing)
        layout.addLayout(form)
        layout.addWidget(self.time_warning)  # outside the form: hidden, it takes no room
        self.form = ExportOptionsForm(settings.batch_export, show_refine=True, parent=self, settings=settings)
        layout.addWidget(self.form)
        self.error_label = error_label(self)
        layout.addWidget(self.error_label)
        layout.addWidget(accept_buttons(self, "Start", self._on_accept))
        self.model_box.currentIndexChanged.connect(self._update_time_warning)
        self.recursive.toggled.connect(self._count_photos)
        model = self.inputs.model()
        model.rowsInserted.connect(self._count_photos)
        model.rowsRemoved.connect(self._count_photos)
        self._photo_count: int | None = None  # until counted, no warning
        self.jobs = DialogJobs(self)
        self.jobs.delivered.connect(self._on_photos_counted)
        self.finished.connect(self.jobs.stop)
        self._update_time_warning()
        self._count_photos()

    def _count_photos(self) -> None:
        """Walks the folders again only when they change, not when another model is chosen; off the GUI thread,
        since a remembered folder may hold a whole photo library (up to 100,000 files are looked at)."""
        inputs, recursive = self.input_paths(), self.recursive.isChecked()
        self.jobs.submit("count", lambda: count_photos(inputs, recursive), slow=True)

    def _on_photos_counted(self, _kind: str, count: object) -> None:
        self._photo_count = cast(int, count)
        self._update_time_warning()

    def pending(self) -> bool:
        """Whether the photos are still being counted (the time warning follows)."""
        return self.jobs.pending()

    def _update_time_warning(self) -> None:
        text = "" if self._photo_count is None else warning_for(self.model(), self._photo_count,
                                                                 self._device_preference)
        self.time_warning.setText(text)
        self.time_warning.setVisible(bool(text))

    def input_paths(self) -> list[Path]:
        return [Path(self.inputs.item(i).text()) for i in range(self.inputs.count())]

    def output_folder(self) -> Path:
        return Path(self.output.text().strip()).expanduser()

    def options(self) -> ExportOptions:
        return self.form.options()

    def model(self) -> str:
        """The model the batch runs ("Automatic" resolved now, so names and the log say which one)."""
        return resolve_model(str(self.model_box.currentData())).name

    def existing_policy(self) -> str:
        return str(self.existing.currentData())

    def _on_accept(self) -> None:
        try:
            self.options()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        if not self.input_paths():
            self.error_label.setText("Add at least one folder or photo")
            return
        if not self.output.text().strip():
            self.error_label.setText("Choose an output folder")
            return
        self.accept()

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of photos")
        if folder:
            self.inputs.addItem(folder)

    def _add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add photos")
        for name in files:
            self.inputs.addItem(name)



class BatchProgressDialog(QProgressDialog):
    """done/total, current file, elapsed, photos per second and ETA; Cancel stops after the current photo.

    Photos per second are those of the last 30 photos cut out (``PhotoRate``): what the engine does now, not
    diluted by the model's loading or by photos a re-run skips; the ETA follows from it."""

    def __init__(self, total: int, parent: QWidget | None = None) -> None:
        super().__init__("Starting…", "Cancel", 0, max(total, 1), parent)
        self.setObjectName("BatchProgressDialog")
        self.setWindowTitle("Batch export")
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(460)
        self.rate = PhotoRate()

    def show_progress(self, step: Progress, next_name: str | None) -> None:
        self.setValue(step.done)
        self.rate.add(step.result.status)
        per_second = self.rate.per_second
        eta = (step.total - step.done) / per_second if per_second else step.eta_seconds
        current = f"Now: {next_name}" if next_name else "Finishing…"
        self.setLabelText(
            f"{step.done} of {step.total} photos ({step.result.status}: {step.result.item.source.name})\n{current}\n"
            f"Elapsed {format_duration(step.elapsed)} · {format_rate(per_second)} · ETA {format_duration(eta)}"
        )


class BatchSummaryDialog(QDialog):
    """What happened: counts, every failure with its reason, and a way to the outputs and the log."""

    review_requested = Signal()

    def __init__(self, report: BatchReport, output_folder: Path, parent: QWidget | None = None,
                 review_threshold: float = 0.5) -> None:
        super().__init__(parent)
        self.setObjectName("BatchSummaryDialog")
        state = "cancelled" if report.cancelled else "stopped" if report.stopped else "finished"
        self.setWindowTitle(f"Batch export {state}")
        layout = QVBoxLayout(self)
        self.summary = QLabel(report.summary(), self)
        layout.addWidget(self.summary)
        if report.cancelled or report.stopped:
            first = "Free some space, then run" if report.stopped else "Run"
            layout.addWidget(QLabel(f"{first} the same batch again to finish the remaining photos "
                                    "(finished ones are skipped).", self))
        self.failures = QListWidget(self)
        self.failures.setWordWrap(True)  # long paths and reasons wrap instead of being cut off
        self.failures.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.failures.setMinimumWidth(self.fontMetrics().horizontalAdvance("M") * 40)
        for result in report.failed:
            name = result.item.source.name
            item = QListWidgetItem(f"{name}: {result.message.removeprefix(f'{name}: ')}")  # the name once
            item.setToolTip(f"{result.item.source}\n{result.message}")
            self.failures.addItem(item)
        if report.failed:
            layout.addWidget(QLabel("Failed:", self))
            layout.addWidget(self.failures)
        else:
            self.failures.hide()  # outside the layout it would float over the summary
        renamed = [r for r in report.done if r.message]  # written under another name, an animated photo's frame…
        notes = report.notes + [f"{r.item.source.name}: {r.message}" for r in renamed[:5]]
        notes += [f"and {len(renamed) - 5} more photos with a note (see the log)"] * (len(renamed) > 5)
        self.notes_label = QLabel("\n".join(notes), self)
        self.notes_label.setObjectName("BatchNotes")
        self.notes_label.setWordWrap(True)
        if notes:
            layout.addWidget(self.notes_label)
        else:
            self.notes_label.hide()  # outside the layout it would float over the summary
        if report.soft():  # a small photo through a large preset: said, not silently upscaled
            self.soft_label = QLabel(report.soft_note(), self)
            self.soft_label.setObjectName("SoftPhotos")
            self.soft_label.setWordWrap(True)
            layout.addWidget(self.soft_label)
        doubtful = report.doubtful(review_threshold)
        self.doubtful_label = QLabel(self)
        self.doubtful_label.setWordWrap(True)
        if doubtful:
            self.doubtful_label.setText(f"{len(doubtful)} cut-out(s) look doubtful (soft edges, a tiny or split "
                                        "subject…): check them first.")
            layout.addWidget(self.doubtful_label)
        if report.log_path is not None:
            layout.addWidget(QLabel(f"Log: {report.log_path}\nReport with each photo's doubt: "
                                    f"{report.log_path.with_suffix('.json').name}", self))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.review_button = buttons.addButton("Review doubtful photos", QDialogButtonBox.ButtonRole.ActionRole)
        self.review_button.setVisible(bool(doubtful))
        self.review_button.clicked.connect(self.review_requested.emit)
        self.review_button.clicked.connect(self.accept)
        self.open_folder_button = buttons.addButton("Open output folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_folder_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(output_folder))))
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)
