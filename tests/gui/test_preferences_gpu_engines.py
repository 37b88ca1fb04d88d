"""Preferences ▸ Models says, once each and with the reason, which GPU engines this machine tried and does not use
(issue #41); the models' speed stays the CPU engine's that runs them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clearbg_desktop.core.inference.engine_choice import choose_engine
from clearbg_desktop.core.inference.weights import find_weights
from clearbg_desktop.core.settings import AppSettings
from tests.core.inference.test_accelerators import CPU, CUDA, DML, TORCH, listed, stand_ins  # noqa: F401 - fixture

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def test_models_tab_names_each_gpu_engine_not_used_once_with_its_reason(
        qtbot: QtBot, random_weights: Path, listed: Callable[..., None]) -> None:  # noqa: F811 - the fixture
    from clearbg_desktop.gui.dialogs.preferences_dialog import MODEL_COLUMNS, PreferencesDialog

    listed("CUDAExecutionProvider", "DmlExecutionProvider")
    reference = np.full((64, 64), 0.25, np.float32)
    maps = {CPU: reference, TORCH: reference, DML: reference + 0.1, CUDA: reference}
    delays = {CPU: 0.01, TORCH: 0.02, DML: 0.0, CUDA: 0.0}
    missing = {CUDA: "its CUDA libraries did not load (libcublasLt.so.13: cannot open shared object file)"}
    entry = find_weights("small")
    for sha in (entry.sha256, "6" * 64):  # two models measured: the refusals are still said once each
        choose_engine(dataclasses.replace(entry, sha256=sha), run=stand_ins(maps, delays, [], missing))
    dialog = PreferencesDialog(AppSettings(device="auto"), None)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)  # Models
    qtbot.waitUntil(lambda: not dialog.pending())
    note = dialog.models_note
    assert note.isVisible()
    lines = note.text().splitlines()
    cuda = [line for line in lines if "NVIDIA GPU (CUDA)" in line]
    dml = [line for line in lines if "GPU (DirectML)" in line]
    assert len(cuda) == 1 and "libcublasLt.so.13" in cuda[0] and cuda[0].endswith("ClearBG goes on with the CPU.")
    assert len(dml) == 1 and "its masks differ from fp32's on the CPU" in dml[0]
    speed = MODEL_COLUMNS.index("Speed here")
    small = next(r for r in range(dialog.models_table.rowCount()) if dialog.models_table.item(r, 0).text() == "small")
    assert dialog.models_table.item(small, speed).text().endswith("s per photo here")
    dialog.refresh_models()  # a model added or removed refreshes the note: still once each
    assert sum("NVIDIA GPU (CUDA)" in line for line in note.text().splitlines()) == 1
    dialog.close()
