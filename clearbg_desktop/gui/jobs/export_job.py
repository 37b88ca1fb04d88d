"""One export off the GUI thread (a QRunnable on the global pool): written atomically, its error reported."""


from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import QObject, QRunnable, Signal

from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.imaging.atomic_write import OutputError
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.imaging.output_size import enlargement


class ExportSignals(QObject):
    """Signals (connect them to QObject methods, so they are delivered in the receiver's thread):
        finished(object, str): the job, the written file.
        failed(object, str): the job, a message for the user.
    """

    finished = Signal(object, str)
    failed = Signal(object, str)


class ExportJob(QRunnable):
    """Encode and write one export off the GUI thread (a 24 MP PNG takes a second)."""

    def __init__(self, loaded: LoadedImage, alpha: np.ndarray, target: Path, options: ExportOptions,
                 overwrite: bool, probability: np.ndarray | None = None) -> None:
        super().__init__()
        self.signals = ExportSignals()
        self._args = (loaded, alpha, target, options, overwrite, probability)
        self.enlarged = 1.0  # how many times the output enlarges the photo's pixels, once written

    def run(self) -> None:
        loaded, alpha, target, options, overwrite, probability = self._args
        try:
            mask = Image.fromarray(alpha, "L")
            self.enlarged = enlargement(loaded, mask, options)
            written = export_photo(loaded, mask, target, options, overwrite=overwrite, probability=probability)
        except (OutputError, OSError, ValueError) as exc:
            self.signals.failed.emit(self, f"{Path(target).name}: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - every error must reach the user, never leave "Exporting…"
            note_unexpected(exc, "exporting a photo")  # a bug, not a bad photo: a crash report too
            self.signals.failed.emit(self, f"{Path(target).name}: could not be written ({type(exc).__name__}: {exc})")
            return
        self.signals.finished.emit(self, str(written))
