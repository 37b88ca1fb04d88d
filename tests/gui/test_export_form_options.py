"""The export form (Export, Export all, batch): the built-in presets on a colour clean the edge and never enlarge
(#37 point 7), the user can turn never-enlarge off, and a typed background image is checked as --bg is (#36)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm


def _form(qtbot: QtBot) -> ExportOptionsForm:
    form = ExportOptionsForm(ExportOptions(), settings=AppSettings())
    qtbot.addWidget(form)
    return form


def test_the_marketplace_preset_cleans_the_edge_and_never_enlarges(qtbot: QtBot) -> None:
    form = _form(qtbot)
    assert form.presets is not None
    form.presets.choose("Marketplace main image (white square, subject 85 %)")
    assert form.decontaminate.isChecked() and form.never_enlarge.isChecked() and form.never_enlarge.isEnabled()
    options = form.options()
    assert options.never_enlarge and options.refine.decontaminate
    form.never_enlarge.setChecked(False)  # a user who wants the full 2000 px whatever the photo
    assert not form.options().never_enlarge
    form.resize_box.setCurrentIndex(form.resize_box.findData("none"))
    assert not form.never_enlarge.isEnabled()


@pytest.mark.parametrize("kind", ["fifo", "folder", "not an image"])
def test_a_typed_background_image_is_checked_like_bg(qtbot: QtBot, tmp_path: Path, kind: str) -> None:
    form = _form(qtbot)
    path = tmp_path / "behind.png"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"not an image at all")
    form.background_box.setCurrentIndex(form.background_box.findData("image"))
    form.image_path.setText(str(path))
    with pytest.raises(ValueError, match="background image"):
        form.options()  # one sentence, and never a hang on a FIFO
