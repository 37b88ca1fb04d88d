"""Preferences ▸ Models ▸ Add model file with hostile files (issue #36, report round 4: D8 ``gui_prefs_add_model``):
every failure is a message box naming the file, the list and the models folder stay as they were, and a manifest
entry that is skipped is named under the list."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clearbg_desktop.core.paths import user_models_dir
from clearbg_desktop.core.settings import AppSettings
from tests.core.inference.test_model_families import stand_in
from tests.core.inference.test_model_import_safety import flat_graph, hostile_models, nan_graph, snapshot

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter


def rows(dialog) -> list[str]:  # type: ignore[no-untyped-def]
    return [dialog.models_table.item(r, 0).text() for r in range(dialog.models_table.rowCount())]


@pytest.mark.slow
def test_add_model_file_shows_every_failure_and_changes_nothing(qtbot: QtBot, random_weights: Path,
                                                               tmp_path: Path) -> None:
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    files = hostile_models(tmp_path, str(tmp_path))
    files["fake_birefnet_nan"] = nan_graph(tmp_path / "fake_birefnet_nan.onnx", sigmoid=False)  # no licence box
    files["fake_birefnet_flat"] = flat_graph(tmp_path / "fake_birefnet_flat.onnx")
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    files["fifo"] = fifo
    dialog = PreferencesDialog(AppSettings(device="cpu"), None)
    qtbot.addWidget(dialog)
    assert dialog.add_file(stand_in(tmp_path / "keep.onnx", 1024, 6))
    listed, before = rows(dialog), snapshot(user_models_dir())
    for kind, path in files.items():
        dialog.message_box = None
        assert not dialog.add_file(path), kind
        box = dialog.message_box
        assert box is not None and box.isVisible(), kind
        text = box.text()
        assert path.name in text and "\n" not in text and "Traceback" not in text, (kind, text)
        box.close()
        assert rows(dialog) == listed and snapshot(user_models_dir()) == before, kind
    dialog.close()


def test_bundled_names_and_an_unreadable_manifest_are_said_in_a_box(qtbot: QtBot, random_weights: Path,
                                                                    tmp_path: Path) -> None:
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    good = stand_in(tmp_path / "isnet.onnx", 1024, 6)
    dialog = PreferencesDialog(AppSettings(device="cpu"), None)
    qtbot.addWidget(dialog)
    assert not dialog.add_file(good, "full")
    assert dialog.message_box is not None and "bundled" in dialog.message_box.text()
    dialog.message_box.close()
    folder = user_models_dir()
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{not json")
    assert not dialog.add_file(good)
    assert dialog.message_box is not None and "kept as it is" in dialog.message_box.text()
    dialog.message_box.close()
    assert (folder / "manifest.json").read_text() == "{not json"
    dialog.close()


def test_a_skipped_manifest_entry_is_named_under_the_list(qtbot: QtBot, random_weights: Path,
                                                          tmp_path: Path) -> None:
    from clearbg_desktop.core.inference.model_library import add_model_file
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    add_model_file(stand_in(tmp_path / "isnet.onnx", 1024, 6), "keepme")
    manifest_path = user_models_dir() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["models"]["poisoned"] = dict(manifest["models"]["keepme"], input_size=2048)
    manifest_path.write_text(json.dumps(manifest))
    dialog = PreferencesDialog(AppSettings(device="cpu"), None)
    qtbot.addWidget(dialog)
    assert "keepme" in rows(dialog) and "poisoned" not in rows(dialog)
    assert "skipped model 'poisoned'" in dialog.models_note.text()
    dialog.close()
