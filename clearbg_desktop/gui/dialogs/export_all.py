"""File ▸ Export all open photos: every open photo written with its own edited mask, as one cancellable job.

The job is a batch plan whose items all carry the window's mask (``core.batch.EditedPhoto``), so it runs
through the same ``iter_export`` generator, progress dialog and summary as a batch from folders.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.batch import BatchItem, BatchPlan, BatchReport, EditedPhoto, iter_export
from clearbg_desktop.core.batch.naming import OutputRequest, plan_outputs
from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.flags import flag_passes
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.inference.model_choice import resolve_model
from clearbg_desktop.core.paths import log_dir
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.dialog_parts import (
    accept_buttons,
    error_label,
    existing_outputs_box,
    output_folder_row,
)
from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm


def source_of(document: Document) -> Path:
    """The name an output is made from: the photo's file, or the title of a pasted image."""
    return document.path or Path(document.title.replace(" ", "-"))


def photo_options(document: Document, options: ExportOptions, own: bool) -> ExportOptions:
    """What a photo is exported with: its own settings (synced, pasted, from its project or its last export) when
    ``own`` and it has them, else the job's."""
    return document.export_options if own and document.export_options is not None else options


def edited_photo(document: Document, options: ExportOptions) -> EditedPhoto:
    """The window's mask already holds the photo's refinement; only its own colour decontamination is kept."""
    own = document.export_options.refine if document.export_options is not None else options.refine
    return EditedPhoto(None, None, options.with_changes(refine=RefineSettings(decontaminate=own.decontaminate)),
                       source=document.export_source(),  # an evicted photo is decoded when written (#32)
                       probability=document.model_probability())  # an unedited mask: 16-bit alpha from it


def plan_documents(documents: list[Document], output: Path, options: ExportOptions, model: str,
                   own: bool = False) -> BatchPlan:
    """One item per photo, each with its edited mask, named by the planner batches use
    (:func:`core.batch.naming.plan_outputs`): same-named photos get distinct outputs, and an output that would
    replace an open photo's file is a problem of that item, never written. ``own``: each photo with its own
    settings where it has them (its name's format too)."""
    requests = [OutputRequest(source_of(document), options=photo_options(document, options, own) if own else None)
                for document in documents]
    originals = [document.path for document in documents if document.path is not None]
    plan = BatchPlan(items=[], output_dir=output, model=model)
    for document, planned in zip(documents, plan_outputs(requests, output, options, model, originals), strict=True):
        item = BatchItem(source_of(document), planned.target)
        plan.items.append(item)
        plan.edited[item] = edited_photo(document, photo_options(document, options, own))
        if planned.problem:
            plan.problems[item] = planned.problem
    return plan


def listed_names(documents: list[Document]) -> list[tuple[str, str]]:
    """(shown, tooltip) per photo: same-named photos (IMG_0001.JPG from two cards) show their folder's name, as the
    filmstrip does, so the list says which two photos these are; the tooltip is the whole path."""
    titles = Counter(document.title.casefold() for document in documents)
    listed = []
    for document in documents:
        folder = document.path.parent.name if document.path is not None else ""
        shown = f"{document.title} · {folder}" if titles[document.title.casefold()] > 1 and folder else document.title
        listed.append((shown, str(document.path) if document.path is not None else document.title))
    return listed


class ExportAllDialog(QDialog):
    """The photos named, one output folder, what to do with existing files, and the export options."""

    def __init__(self, settings: AppSettings, documents: list[Document], folder: Path,
                 parent: QWidget | None = None, selected: list[Document] | None = None,
                 which: str | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ExportAllDialog")
        self.setWindowTitle("Export all open photos")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.which_box = QComboBox(self)
        self.which_box.setToolTip("Which photos of the shoot: flags are set in the grid (G) with P, N, X, U")
        self._choices = {key: [d for d in documents if flag_passes(d.flag, key)] for key in ("all", "done",
                                                                                           "not-rejected")}
        if selected and len(selected) < len(documents):
            self._choices["selected"] = [d for d in documents if d in selected]
        for key, label in (("all", "All open photos"), ("done", "Flagged done"), ("not-rejected", "All but rejected"),
                           ("selected", "Selected in the grid")):
            if key in self._choices:
                self.which_box.addItem(f"{label} ({len(self._choices[key])})", key)
        # Last time's choice in this window; else, once photos are rejected, not those (walk 40: "All" by default
        # exported the rejects too).
        rejected = any(d.flag == "reject" for d in documents)
        self.which_box.setCurrentIndex(max(0, self.which_box.findData(which or ("not-rejected" if rejected
                                                                                 else "all"))))
        form.addRow("&Photos", self.which_box)
        self.own_box = QCheckBox(self)
        self.own_box.setToolTip("A photo's own settings: synced or pasted onto it, from its project, or from its "
                                "last export. The options below are for the photos without them.")
        form.addRow("", self.own_box)
        self.photos = QListWidget(self)
        self.photos.setMaximumHeight(110)
        self.photos_label = QLabel(self)
        form.addRow(self.photos_label, self.photos)
        row, self.output = output_folder_row(self, str(folder))
        form.addRow("Output folder", row)
        self.existing = existing_outputs_box(self, "rename")
        form.addRow("Existing outputs", self.existing)
        layout.addLayout(form)
        self.form = ExportOptionsForm(settings.export, show_refine=False, parent=self, settings=settings)
        layout.addWidget(self.form)
        self.error_label = error_label(self)
        layout.addWidget(self.error_label)
        self.buttons = accept_buttons(self, "Export", self._on_accept)
        layout.addWidget(self.buttons)
        self._model = resolve_model(settings.model).name
        self.which_box.currentIndexChanged.connect(self._list_photos)
        self._list_photos()

    def chosen_documents(self) -> list[Document]:
        """The photos the Photos choice keeps (all, done, all but rejected, the grid's selection)."""
        return list(self._choices[str(self.which_box.currentData())])

    def _list_photos(self) -> None:
        self._documents = self.chosen_documents()
        self.photos.clear()
        for text, tip in listed_names(self._documents):
            self.photos.addItem(text)
            self.photos.item(self.photos.count() - 1).setToolTip(tip)
        self.photos_label.setText(f"{len(self._documents)} photo(s), each with its own mask and edits")
        own = sum(d.export_options is not None for d in self._documents)
        self.own_box.setText(f"Each photo's &own settings where it has them ({own} of {len(self._documents)})")
        self.own_box.setEnabled(own > 0)
        self.own_box.setChecked(own > 0)

    def own_settings(self) -> bool:
        """Photos with their own settings keep them (format, background, shadow…); the form is for the others."""
        return self.own_box.isChecked()

    def output_folder(self) -> Path:
        return Path(self.output.text().strip()).expanduser()

    def options(self) -> ExportOptions:
        return self.form.options()

    def existing_policy(self) -> str:
        return str(self.existing.currentData())

    def _on_accept(self) -> None:
        try:
            self.options()
        except ValueError as exc:
            self.error_label.setText(str(exc))
            return
        if not self._documents:
            self.error_label.setText("No photo has this flag: choose other photos")
            return
        if not self.output.text().strip():
            self.error_label.setText("Choose an output folder")
            return
        refused = self.replaced_originals()
        if refused:  # said here, with the choices still on screen to change (walk 37b: the dialog closed first)
            self.error_label.setText(f"{len(refused)} output(s) would replace the original photos (first: "
                                     f"{refused[0]}): choose another folder, or a name template other than {{name}}")
            return
        self.accept()

    def replaced_originals(self) -> list[str]:
        """Names of the open photos whose output, as the options stand, would be a photo's own file."""
        options, own = self.options(), self.own_settings()
        requests = [OutputRequest(source_of(document), options=photo_options(document, options, own) if own else None)
                    for document in self._documents]
        originals = [document.path for document in self._documents if document.path is not None]
        planned = plan_outputs(requests, self.output_folder(), options, self._model, originals)
        return [request.source.name for request, output in zip(requests, planned, strict=True)
                if "original photo" in output.problem]


class EditedExportWorker(QObject):
    """Runs ``iter_export`` over edited photos only (no model) in the batch thread.

    Signals (as ``workers.BatchWorker``'s, so one runner drives both):
        model_loading(str): never emitted; no model is loaded.
        progressed(object): a core.batch.Progress per photo.
        finished(object): the BatchReport (also when cancelled).
        failed(str): the job stopped on an unexpected error.
    """

    model_loading = Signal(str)
    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, plan: BatchPlan, options: ExportOptions, existing: str) -> None:
        super().__init__()
        self.cancel_event = threading.Event()
        self._job = (plan, options, existing)

    def cancel(self) -> None:
        """Thread-safe: stops after the photo in hand."""
        self.cancel_event.set()

    @Slot()
    def run(self) -> None:
        plan, options, existing = self._job
        report = BatchReport()
        try:
            for step in iter_export(plan, None, options, existing=existing, cancel=self.cancel_event, report=report):
                self.progressed.emit(step)
        except Exception as exc:  # noqa: BLE001 - the job must end in finished or failed, never hang
            self.failed.emit(f"the export stopped: {type(exc).__name__}: {exc}")
            return
        try:
            report.write_log(log_dir())
        except OSError:
            pass
        self.finished.emit(report)
