"""The model's name is said once, on the right of the status bar (walk 39: the left said it too, twice, during the
first photo: loaded, then again once the engines were timed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clearbg_desktop.gui.widgets.status_bar import StatusBar
from tests.gui.test_main_window import WAIT_MS, make_photo

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def test_a_loaded_model_is_named_on_the_right_and_said_ready_once(qtbot: QtBot) -> None:
    bar = StatusBar("U²-Net (best quality)")
    qtbot.addWidget(bar)
    messages: list[str] = []
    bar.messageChanged.connect(messages.append)
    bar.show_model("U²-Net full on CPU (ONNX Runtime) — fp32 reference until the engines here are timed")
    assert messages == ["Model ready"]
    bar.show_model("U²-Net full on CPU (ONNX Runtime) — fastest of 2 with fp32's masks, 2.78 s per photo")
    assert messages == ["Model ready"]  # the same engine, timed: the right side says so, the left keeps its words
    assert bar.model_label.text().endswith("2.78 s per photo")
    bar.clearMessage()
    bar.show_model("U²-Net full on CPU (PyTorch) — fastest of 2 with fp32's masks, 2.10 s per photo")
    assert messages == ["Model ready", "", "Model ready"]  # another engine was loaded


@pytest.mark.slow  # runs the model
def test_the_first_photo_never_puts_the_models_name_on_the_left(qtbot: QtBot, window: MainWindow,
                                                                 tmp_path: Path) -> None:
    messages: list[str] = []
    window.status.messageChanged.connect(messages.append)
    photo = tmp_path / "first.png"
    make_photo((320, 240)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    assert "U²-Net" in window.status.model_label.text()
    assert messages and not [message for message in messages if "U²-Net" in message]
