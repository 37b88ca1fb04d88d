"""GUI fixtures: QSettings in a temp folder, the real main window, and no leaked threads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from PySide6.QtCore import QCoreApplication, QSettings, QThread

from clearbg_desktop.core.settings import AppSettings

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot



@pytest.fixture(autouse=True)
def private_qsettings(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "qsettings"
    QCoreApplication.setOrganizationName("ClearBG-tests")
    QCoreApplication.setApplicationName("ClearBG-tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture(autouse=True)
def no_running_threads() -> Iterator[None]:
    """Fail any test that leaves a QThread running (the 'destroyed while running' crash)."""
    import gc

    yield
    gc.collect()
    leaked = [t for t in gc.get_objects() if issubclass(type(t), QThread) and _is_running(t)]
    assert not leaked, f"test left {len(leaked)} QThread(s) running"


def _is_running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # C++ object already deleted
        return False


@pytest.fixture
def window(qtbot: QtBot, random_weights: Path):
    from clearbg_desktop.gui.window.main_window import MainWindow

    win = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(win)
    win.resize(1000, 700)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.quit_guard.confirmed = True  # tests that leave edits unexported still close (the prompt has its own tests)
    win.close()
