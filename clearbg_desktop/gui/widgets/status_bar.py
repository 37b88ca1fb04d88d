"""The status bar: messages on the left; on the right the model and device in use, the zoom, and a spinner
with words while photos are with the model."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar, QWidget


class StatusBar(QStatusBar):
    """Signals:
        get_full_model_clicked(): the user asked for the full model from the "not installed" note.
    """

    get_full_model_clicked = Signal()

    def __init__(self, model: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.note_button = QPushButton("Full model not installed: get it…", self)
        self.note_button.setObjectName("ModelNote")
        self.note_button.setFlat(True)
        self.note_button.setVisible(False)
        self.note_button.clicked.connect(self.get_full_model_clicked)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(140)
        self.busy_label = QLabel("", self)
        self.busy_label.setObjectName("BusyLabel")
        self.zoom_label = QLabel("", self)
        self.model_label = QLabel(f"Model: {model}", self)
        self.model_label.setObjectName("ModelLabel")
        self.model_label.setToolTip("The model and the device actually in use")
        for widget in (self.note_button, self.model_label, self.zoom_label, self.busy_label, self.busy):
            self.addPermanentWidget(widget)
        self.set_pending(0)
        self.showMessage("Drop photos here, or File ▸ Open")

    def set_pending(self, pending: int) -> None:
        """The spinner and its words stay while any photo is with the model."""
        self.busy.setVisible(pending > 0)
        self.busy_label.setVisible(pending > 0)
        self.busy_label.setText(f"Model running ({pending} photo{'s' if pending != 1 else ''})")

    def show_note(self, note: str) -> None:
        """One line about the model in use (empty: nothing to say); the full text on hover and for 15 s."""
        self.note_button.setVisible(bool(note))
        self.note_button.setToolTip(note)
        if note:
            self.showMessage(note, 15000)

    def show_model(self, description: str) -> None:
        """The model, engine and device in use, on the right; "Model ready" on the left when one has just loaded, but
        not when the same engine is announced again after it was timed. Walk 39: the left also said the model's long
        description, twice during the first photo (loaded, then timed), beside the same words on the right."""
        if not self.model_label.text().startswith(description.split(" — ")[0]):
            self.showMessage("Model ready", 3000)
        self.model_label.setText(description)

    def set_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f} %")
