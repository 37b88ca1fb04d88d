"""Refine hair / edges on a large photo (#37 point 5): Apply never blocks the window, shows progress, and
Reset (Esc) cancels a refinement still being computed, leaving the mask as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from clearbg_desktop.gui.window.main_window import MainWindow
from tests.gui.test_brushes import open_photo


def _edited_photo(qtbot: QtBot, window: MainWindow, tmp_path: Path):
    document = open_photo(qtbot, window, tmp_path, size=(3000, 2000))
    document.alpha[...] = 0
    document.alpha[400:1600, 600:2400] = 255  # a subject with a long edge to matte
    window.canvas.refresh()
    return document, document.alpha.copy()


@pytest.mark.slow
def test_apply_returns_at_once_and_the_refinement_lands_as_one_undo_step(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document, base = _edited_photo(qtbot, window, tmp_path)
    panel = window.panels.refine_panel
    steps = len(window.undo.history(document)[0])
    panel.refine_edges.setChecked(True)
    panel.shift.setValue(3)
    panel.apply_button.click()  # before any preview of these settings exists: computed in the background
    assert np.array_equal(document.alpha, base) and not window.canvas.painting_enabled
    assert "Applying the refinement" in window.status.currentMessage()
    assert window.refine.progress_bar.isVisible()
    qtbot.waitUntil(lambda: window.canvas.painting_enabled, timeout=30_000)
    assert not np.array_equal(document.alpha, base) and not window.refine.progress_bar.isVisible()
    assert len(window.undo.history(document)[0]) == steps + 1
    window.window_actions.undo.trigger()
    assert np.array_equal(document.alpha, base)


@pytest.mark.slow
def test_reset_cancels_a_refinement_being_applied(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document, base = _edited_photo(qtbot, window, tmp_path)
    panel = window.panels.refine_panel
    steps = len(window.undo.history(document)[0])
    panel.refine_edges.setChecked(True)
    panel.apply_button.click()
    panel.reset_button.click()  # what Esc does
    assert np.array_equal(document.alpha, base) and window.canvas.painting_enabled
    assert not window.refine.progress_bar.isVisible()
    qtbot.wait(1500)  # the stopped job's late result, if any, is dropped
    assert np.array_equal(document.alpha, base) and len(window.undo.history(document)[0]) == steps
