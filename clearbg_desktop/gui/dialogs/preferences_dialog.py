"""Preferences: the device (only what this machine has) and the models (installed, added, removed); under the
models, each GPU engine this machine tried and does not use, with the reason (issue #41).

Why ~420 lines: the Models tab's add, import, download and remove all end in one refreshed table and one warning
box of this dialog; the work itself is in ``core.inference.model_library`` and ``model_download``.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import cast

from PySide6.QtCore import QObject, Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clearbg_desktop.core.editing.memory_budget import MAX_BUDGET_MIB, MIN_BUDGET_MIB
from clearbg_desktop.core.inference.devices import DEVICE_CHOICES, device_availability, preferred_device_type
from clearbg_desktop.core.inference.engine_choice import accelerator_notes
from clearbg_desktop.core.inference.model_choice import AUTO, DEFAULT_MODEL, model_label, resolve_model
from clearbg_desktop.core.inference.model_download import DownloadCancelled, DownloadError, download_official
from clearbg_desktop.core.inference.model_duplicates import installed_copy
from clearbg_desktop.core.inference.model_library import (
    InstalledModel,
    LicenceNotAccepted,
    add_model_file,
    find_rembg_models,
    install_full_model,
    installed_models,
    rembg_models_folder,
    remove_model,
)
from clearbg_desktop.core.inference.official_weights import OFFICIAL_MODELS
from clearbg_desktop.core.inference.weights import WeightsError
from clearbg_desktop.core.paths import user_models_dir
from clearbg_desktop.core.settings import NUMBER_RANGES, AppSettings
from clearbg_desktop.gui.dialogs.dialog_jobs import DialogJobs

DEVICE_LABELS = {"auto": "Automatic (best available)", "cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (Metal)",
                 "cpu": "CPU"}
MODEL_COLUMNS = ("Name", "Model", "Size", "Where", "Speed here", "Licence", "Source", "Quality")


class DownloadRelay(QObject):
    """Carries a download thread's news to the GUI thread.

    Signals:
        progressed(int, int): bytes received, total bytes (0 when unknown).
        finished(str): the verified file's path.
        failed(str): a message for the user.
    """

    progressed = Signal(int, int)
    finished = Signal(str)
    failed = Signal(str)


class PreferencesDialog(QDialog):
    """General (device) and Models tabs. Models are added and removed at once; OK applies the choice.

    Signals:
        full_model_installed(): the full U²-Net was fetched and installed (the window reloads the model).
        devices_found(): the device box lists what this machine has (asked off the GUI thread).
    """

    full_model_installed = Signal()
    devices_found = Signal()

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.resize(720, 420)
        self._settings = settings
        self._download_threads: list[threading.Thread] = []
        self.message_box: QMessageBox | None = None
        self.import_progress: QProgressDialog | None = None  # Import from rembg, while it runs and after
        tabs = QTabWidget(self)
        tabs.setObjectName("PreferencesTabs")
        tabs.addTab(self._general_tab(settings), "General")
        tabs.addTab(self._models_tab(), "Models")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)
        self.tabs = tabs
        self.refresh_models(select=settings.model)

    # ----- General -----------------------------------------------------------------------
    def _general_tab(self, settings: AppSettings) -> QWidget:
        page = QWidget(self)
        layout = QFormLayout(page)
        self.device_box = QComboBox(page)
        self.device_box.setObjectName("DeviceChoice")
        # Which devices this machine has is asked of torch, whose first import takes seconds (#37): the box
        # says so and fills in; until then OK keeps the device as it is.
        self.device_box.addItem(f"{DEVICE_LABELS.get(settings.device, settings.device)} (checking this machine…)",
                                settings.device)
        self.device_box.setEnabled(False)
        layout.addRow("Device:", self.device_box)
        self.auto_label = QLabel("Automatic uses: checking…", page)
        layout.addRow("", self.auto_label)
        self.jobs = DialogJobs(self)
        self.jobs.delivered.connect(self._on_devices_found)
        self.jobs.failed.connect(lambda _kind, message: self.auto_label.setText(f"Devices unknown: {message}"))
        self.finished.connect(self.jobs.stop)
        self.jobs.submit("devices", lambda: (device_availability(), preferred_device_type()), slow=True)
        self.model_box = QComboBox(page)
        self.model_box.setObjectName("ModelChoice")
        layout.addRow("Model:", self.model_box)
        self.autosave_box = QSpinBox(page)
        self.autosave_box.setObjectName("AutosaveMinutes")
        self.autosave_box.setRange(*(int(limit) for limit in NUMBER_RANGES["autosave_minutes"]))
        self.autosave_box.setSuffix(" min")
        self.autosave_box.setValue(settings.autosave_minutes)
        self.autosave_box.setToolTip("How often unsaved edits are kept aside, to be recovered after a crash")
        layout.addRow("Autosave every:", self.autosave_box)
        self.memory_box = QSpinBox(page)
        self.memory_box.setObjectName("MemoryBudget")
        self.memory_box.setRange(MIN_BUDGET_MIB, MAX_BUDGET_MIB)
        self.memory_box.setSingleStep(256)
        self.memory_box.setSuffix(" MiB")
        self.memory_box.setValue(settings.memory_budget_mib)
        self.memory_box.setToolTip("Memory for the open photos' pixels. Photos not on screen keep a preview and "
                                   "their masks within it, and are decoded again when shown or exported")
        layout.addRow("Memory for photos:", self.memory_box)
        return page

    def _on_devices_found(self, _kind: str, found: object) -> None:
        availability, automatic = cast(tuple[dict[str, str], str], found)
        wanted = self._settings.device if not availability.get(self._settings.device) else "auto"
        self.device_box.clear()
        for device in DEVICE_CHOICES:
            reason = availability[device]
            label = DEVICE_LABELS[device] + (f": not available ({reason})" if reason else "")
            self.device_box.addItem(label, device)
            if reason:
                item = self.device_box.model().item(self.device_box.count() - 1)  # type: ignore[attr-defined]
                item.setEnabled(False)
                item.setToolTip(reason)
        self.device_box.setCurrentIndex(max(0, self.device_box.findData(wanted)))
        self.device_box.setEnabled(True)
        self.auto_label.setText(f"Automatic uses: {automatic.upper()}")
        self.devices_found.emit()

    def pending(self) -> bool:
        """Whether what this machine has is still being asked."""
        return self.jobs.pending()

    # ----- Models ------------------------------------------------------------------------
    def _models_tab(self) -> QWidget:
        page = QWidget(self)
        layout = QVBoxLayout(page)
        self.models_table = QTableWidget(0, len(MODEL_COLUMNS), page)
        self.models_table.setObjectName("ModelsTable")
        self.models_table.setHorizontalHeaderLabels(MODEL_COLUMNS)
        self.models_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.models_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.models_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.models_table.verticalHeader().setVisible(False)
        self.models_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.models_table.horizontalHeader().setStretchLastSection(True)
        self.models_table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.models_table)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add model file…", page)
        self.add_button.clicked.connect(self.choose_model_file)
        self.remove_button = QPushButton("Remove", page)
        self.remove_button.clicked.connect(self.remove_selected)
        self.rembg_button = QPushButton("Import from rembg", page)
        self.rembg_button.clicked.connect(self.import_rembg_models)
        self.download_box = QComboBox(page)
        for model in OFFICIAL_MODELS.values():
            self.download_box.addItem(f"{model.name}: {model.description}", model.name)
        self.get_full_button = QPushButton("Get the full model…", page)
        self.get_full_button.setObjectName("GetFullModel")
        self.get_full_button.setToolTip("Download the official full U²-Net (176 MB, hash-checked) and make it the "
                                        "default: clearly better cut-outs than U²-Net small")
        self.get_full_button.clicked.connect(self.get_full_model)
        row.addWidget(self.get_full_button)
        self.download_button = QPushButton("Download…", page)
        self.download_button.clicked.connect(lambda: self.download(str(self.download_box.currentData())))
        for widget in (self.add_button, self.remove_button, self.rembg_button):
            row.addWidget(widget)
        row.addStretch(1)
        layout.addLayout(row)
        download_row = QHBoxLayout()
        download_row.addWidget(QLabel("Official weights:", page))
        download_row.addWidget(self.download_box, 1)
        download_row.addWidget(self.download_button)
        layout.addLayout(download_row)
        self.models_note = QLabel(page)
        self.models_note.setWordWrap(True)
        layout.addWidget(self.models_note)
        return page

    def refresh_models(self, select: str | None = None) -> None:
        current = select or str(self.model_box.currentData() or self._settings.model)
        with warnings.catch_warnings(record=True) as caught:  # a skipped manifest entry is said here, named
            warnings.simplefilter("always")
            try:
                rows = installed_models()
            except WeightsError as exc:
                rows, caught = [], [*caught, warnings.WarningMessage(str(exc), UserWarning, "", 0)]
        skipped = [" ".join(str(w.message).split()) for w in caught
                   if "skipped" in str(w.message) or "unreadable" in str(w.message)]
        self.models_table.setRowCount(len(rows))
        self.model_box.clear()
        automatic = resolve_model(AUTO)
        self.model_box.addItem(f"Automatic: {model_label(automatic.name)}", AUTO)
        for index, row in enumerate(rows):
            speed = row.speed.split(" (")[0] if row.speed else "measured on first use"
            size = f"{row.size_bytes / 1e6:.1f} MB" if row.size_bytes else "not installed"
            cells = (row.name, model_kind(row), size, "bundled" if row.bundled else "yours", speed,
                     str(row.entry.card.get("licence") or ""), row.source, row.quality)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.name)
                item.setData(Qt.ItemDataRole.UserRole + 1, row.bundled)
                self.models_table.setItem(index, column, item)
            if not row.size_bytes:
                continue  # listed but not installed (the full model before it is fetched): not a choice yet
            described = row.label if row.label != row.name else f"{row.name} (U²-Net {row.entry.variant})"
            self.model_box.addItem(f"{described}, {speed}", row.name)
        self.get_full_button.setVisible(automatic.name != DEFAULT_MODEL)
        self.model_box.setToolTip(automatic.note)
        if self.model_box.count() == 0:
            self.model_box.addItem(f"{self._settings.model} (weights not found)", self._settings.model)
        self.model_box.setCurrentIndex(max(0, self.model_box.findData(current)))
        rembg = find_rembg_models()
        self.rembg_button.setEnabled(bool(rembg))
        self.rembg_button.setToolTip(f"{len(rembg)} U²-Net file(s) in {rembg_models_folder()}" if rembg
                                     else f"no rembg models in {rembg_models_folder()}")
        self.models_note.setText(f"Your models live in {user_models_dir()}. Added files are converted once; "
                                 "the original file is never changed." + "".join(f"\n{line}" for line in skipped)
                                 + "".join(f"\n{line}" for line in accelerator_notes()))
        self._update_buttons()

    def warn(self, title: str, message: str) -> None:
        """A window-modal message that does not block the event loop."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.message_box = box

    def _selected(self) -> tuple[str, bool] | None:
        items = self.models_table.selectedItems()
        if not items:
            return None
        return str(items[0].data(Qt.ItemDataRole.UserRole)), bool(items[0].data(Qt.ItemDataRole.UserRole + 1))

    def _update_buttons(self) -> None:
        selected = self._selected()
        self.remove_button.setEnabled(selected is not None and not selected[1])

    def add_file(self, path: Path, name: str | None = None) -> bool:
        """Convert and install one file; a bad file gets a message and changes nothing. A model whose licence
        restricts its use (BRIA RMBG 2.0: non-commercial) is added only once the user accepts that licence."""
        try:
            try:
                entry = add_model_file(path, name)
            except LicenceNotAccepted as exc:
                answer = QMessageBox.question(self, "Licence", f"{exc}\n\nAccept this licence and add the model?",
                                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                              QMessageBox.StandardButton.No)
                if answer != QMessageBox.StandardButton.Yes:
                    return False
                entry = add_model_file(path, name, accept_licence=True)
        except WeightsError as exc:
            self.warn("Add model", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - whatever a hostile file breaks, the user gets a message, not a log line
            self.warn("Add model", f"{path.name}: could not be added ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})")
            return False
        self.refresh_models(select=entry.name)
        return True

    def choose_model_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a U²-Net weights file", str(Path.home()),
                                              "U²-Net weights (*.onnx *.pth *.pt);;All files (*)")
        if path:
            self.add_file(Path(path))

    def remove_selected(self) -> None:
        selected = self._selected()
        if selected is None or selected[1]:
            return
        try:
            remove_model(selected[0])
        except WeightsError as exc:
            self.warn("Remove model", str(exc))
        self.refresh_models()

    def import_rembg_models(self) -> list[str]:
        """rembg's files not installed yet, by content (the bundled small model is rembg's ``u2netp.onnx``), with
        a progress dialog, since converting the full model takes a while; the note says what happened."""
        files = find_rembg_models()
        progress = QProgressDialog("Importing rembg's models…", "Cancel", 0, len(files), self)
        progress.setObjectName("ImportProgress")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        self.import_progress = progress
        added: list[str] = []
        already: list[str] = []
        for index, path in enumerate(files):
            progress.setLabelText(f"Importing {path.name} ({index + 1} of {len(files)})…")
            progress.setValue(index)
            if progress.wasCanceled():
                break
            try:
                copy = installed_copy(path, (row.entry for row in installed_models()))
            except OSError:
                copy = None  # add_file says what is wrong with it
            if copy is not None:
                already.append(f"{path.name} (as {copy})")
            elif self.add_file(path):
                added.append(path.name)
        progress.setValue(len(files))
        summary = f"{len(added)} model{'s' if len(added) != 1 else ''} added from rembg"
        summary += f": {', '.join(added)}" if added else ""
        summary += f"; already installed: {', '.join(already)}" if already else ""
        self.models_note.setText(summary + ".")
        return added

    def download(self, name: str, url: str | None = None) -> None:
        """Download with a progress dialog (cancel keeps the partial file to resume), then install."""
        model = OFFICIAL_MODELS[name]
        dialog = QProgressDialog(f"Downloading {model.file_name}…", "Cancel", 0, 100, self)
        dialog.setObjectName("DownloadProgress")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(0)
        cancel = threading.Event()
        relay = DownloadRelay(self)
        relay.progressed.connect(lambda got, total: dialog.setValue(int(100 * got / total)) if total else None)

        def installed(path: str) -> None:
            dialog.reset()
            if name == "u2net":  # the official full model becomes "full", the default, stored like the bundled one
                try:
                    install_full_model(Path(path))
                except WeightsError as exc:
                    self.warn("Full model", str(exc))
                    return
                Path(path).unlink(missing_ok=True)
                self.refresh_models(select=AUTO)
                self.full_model_installed.emit()
            elif name in {row.name for row in installed_models()} or self.add_file(Path(path), name):
                Path(path).unlink(missing_ok=True)  # converted into the models folder: the ONNX copy is not needed

        def failed(message: str) -> None:
            dialog.reset()
            if not cancel.is_set():
                self.warn("Download", message)

        relay.finished.connect(installed)
        relay.failed.connect(failed)
        dialog.canceled.connect(cancel.set)

        self.finished.connect(cancel.set)  # closing Preferences stops the download (the partial file stays)

        def emit(signal: SignalInstance, *args: object) -> None:
            try:
                signal.emit(*args)
            except RuntimeError:
                cancel.set()  # the dialog is gone: nobody to tell, so stop

        def run() -> None:
            try:
                path = download_official(name, user_models_dir() / "downloads",
                                         lambda got, total: emit(relay.progressed, got, total), cancel, url)
            except (DownloadCancelled, DownloadError) as exc:
                emit(relay.failed, str(exc))
            else:
                emit(relay.finished, str(path))

        thread = threading.Thread(target=run, name="clearbg-download", daemon=True)
        self._download_threads.append(thread)
        thread.start()

    def get_full_model(self, url: str | None = None) -> None:
        """Download the official full U²-Net and install it as the default model (progress, cancel, resume)."""
        self.download("u2net", url)

    def wait_for_downloads(self, timeout: float = 30.0) -> None:
        for thread in self._download_threads:
            thread.join(timeout)

    # ----- results -----------------------------------------------------------------------
    def device(self) -> str:
        return str(self.device_box.currentData())

    def model(self) -> str:
        return str(self.model_box.currentData())


def model_kind(row: InstalledModel) -> str:
    """"U²-Net (best quality)", "IS-Net, 1024 px"…: the family and, where it is not U²-Net's, the input size."""
    if row.label != row.name:
        return row.label
    entry = row.entry
    if entry.family == "u2net" and entry.variant != "other":
        return f"U²-Net ({entry.variant})"
    return f"{entry.card.get('architecture') or entry.family}, {entry.input_size} px"

