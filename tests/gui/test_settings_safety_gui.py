"""Settings and presets in the window (issue #36, round 4's D5, D6, D11, D18, D22): Preset ▸ Import refuses what the
CLI refuses, with a message; an unreadable settings.json is said once and never saved over on quit; QSettings
replaces a symlink instead of writing through it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from clearbg_desktop.core.settings import AppSettings
from tests.core.imaging.test_preset_safety import presets_file

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def answered(messages: list[str]) -> None:
    """Read the message box now shown and close it, as the user would."""
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox)
    messages.append(box.text())
    box.button(QMessageBox.StandardButton.Ok).click()


def import_answering(bar, path: Path) -> tuple[int, list[str]]:  # noqa: ANN001 - a PresetBar
    messages: list[str] = []
    QTimer.singleShot(50, lambda: answered(messages))
    return bar.import_file(path), messages


def test_preset_import_refuses_what_the_cli_refuses_with_a_message(qtbot: QtBot, tmp_path: Path) -> None:
    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.gui.dialogs.preset_bar import PresetBar

    settings = AppSettings(export_presets={"Mine": ExportOptions(quality=70).to_dict()})
    bar = PresetBar(settings, ExportOptions)
    qtbot.addWidget(bar)
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "folder").mkdir()
    bad = {"quality": {"quality": "__BIG__"}, "blur": {"background": {"kind": "blur", "blur_radius": "__BIG__"}},
           "feather": {"refine": {"feather": "__BIG__"}},
           "fifo": {"background": {"kind": "image", "image_path": str(tmp_path / "fifo")}},
           "folder": {"background": {"kind": "image", "image_path": "folder"}},
           "devzero": {"background": {"kind": "image", "image_path": "/dev/zero"}}}
    for name, options in bad.items():
        count, messages = import_answering(bar, presets_file(tmp_path / f"{name}.json", {"name": "X", "options": options}))
        assert count == 0 and len(messages) == 1 and f"{name}.json" in messages[0], (name, messages)
    assert os.mkfifo(tmp_path / "presets-fifo.json") is None
    count, messages = import_answering(bar, tmp_path / "presets-fifo.json")  # the presets file itself: no hang
    assert count == 0 and "cannot read it" in messages[0]
    assert list(settings.export_presets) == ["Mine"]
    Image.new("RGB", (40, 30), (0, 0, 250)).save(tmp_path / "bg.png")
    mixed = presets_file(tmp_path / "team.json", {"name": "Web", "options": {"format": "jpg"}},
                         {"name": "Huge", "options": {"quality": "__BIG__"}},
                         {"name": "Backdrop", "options": {"background": {"kind": "image", "image_path": "bg.png"}}})
    count, messages = import_answering(bar, mixed)
    assert count == 2 and "1 left out" in messages[0]
    assert list(settings.export_presets) == ["Mine", "Web", "Backdrop"]
    assert settings.export_presets["Backdrop"]["background"]["image_path"] == str(tmp_path / "bg.png")
    assert set(json.loads(AppSettings.path().read_text())["export_presets"]) == {"Mine", "Web", "Backdrop"}
    (tmp_path / "a-file").write_text("where a folder should be")
    shared: list[object] = []
    QTimer.singleShot(50, lambda: answered(messages))
    shared.append(bar.share_file(tmp_path / "a-file" / "team.json"))  # cannot be written: said, not raised
    assert shared == [None] and "not shared" in messages[-1]


def test_an_unreadable_settings_file_is_said_once_and_kept_after_quit(qtbot: QtBot, random_weights: Path) -> None:
    from clearbg_desktop.gui.window.app import say_settings_problems
    from clearbg_desktop.gui.window.main_window import MainWindow

    path = AppSettings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    original = b'{"model": "small", "brush_size": 40, "export_presets": {"Team web": {"format": "jpg"}}, '
    path.write_bytes(original)  # cut short: not JSON
    window = MainWindow(AppSettings.load())
    qtbot.addWidget(window)
    window.show()
    box = say_settings_problems(window)
    assert box is not None and str(path) in box.informativeText() and "kept as it is" in box.informativeText()
    box.accept()
    window.settings.brush_size = 12  # the session goes on, on defaults
    window.close()
    assert path.read_bytes() == original


def test_one_bad_entry_is_said_and_the_rest_of_the_settings_used(qtbot: QtBot, random_weights: Path) -> None:
    from clearbg_desktop.gui.window.app import say_settings_problems
    from clearbg_desktop.gui.window.main_window import MainWindow

    path = AppSettings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"model": "small", "brush_size": 40, "settings_version": 2, "export_presets": '
                    '{"Team web": {"format": "jpg"}, "Bad": {"quality": 1' + "0" * 400 + "}}}")
    window = MainWindow(AppSettings.load())
    qtbot.addWidget(window)
    box = say_settings_problems(window)
    assert box is not None and "'Bad'" in box.informativeText()
    assert window.settings.brush_size == 40 and list(window.settings.export_presets) == ["Team web"]
    box.accept()
    window.close()
    saved = json.loads(path.read_text())
    assert set(saved["export_presets"]) == {"Team web", "Bad"}  # quitting lost nothing


def test_a_symlinked_qsettings_file_is_replaced_not_written_through(qtbot: QtBot, random_weights: Path,
                                                                      tmp_path: Path) -> None:
    from clearbg_desktop.gui.window.main_window import MainWindow

    conf = Path(QSettings().fileName())
    conf.parent.mkdir(parents=True, exist_ok=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("VICTIM CONTENT\n")
    victim.chmod(0o640)
    conf.symlink_to(victim)
    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    photo = tmp_path / "1.jpg"
    Image.new("RGB", (64, 48)).save(photo)
    window.context.recent.remember(photo)
    window.close()
    QSettings().sync()
    assert victim.read_text() == "VICTIM CONTENT\n" and (victim.stat().st_mode & 0o777) == 0o640
    assert not conf.is_symlink() and conf.is_file() and "geometry" in conf.read_text()
    assert str(photo) in QSettings().value("recentFiles", [])


def test_window_state_values_of_the_wrong_type_are_ignored(qtbot: QtBot, random_weights: Path) -> None:
    from clearbg_desktop.gui.window.main_window import MainWindow

    conf = Path(QSettings().fileName())
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text("[General]\nrecentFiles=5\n\n[scale100]\ngeometry=hello\nwindowState=@Invalid()\n")
    window = MainWindow(AppSettings(device="cpu"))  # opens at its default size
    qtbot.addWidget(window)
    assert window.width() > 0 and window.context.recent.files() == ["5"]
    window.close()
