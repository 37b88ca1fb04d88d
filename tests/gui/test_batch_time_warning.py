"""The batch dialog says before the start when a batch will be slow (#31): a 1024 px model on a CPU."""

from __future__ import annotations

from pathlib import Path

from clearbg_desktop.core.inference.model_library import add_model_file
from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.dialogs.batch_dialog import BatchDialog
from tests.conftest import make_photo
from tests.core.inference.test_model_families import stand_in


def test_choosing_a_1024_px_model_shows_the_time_warning(qtbot, tmp_path: Path) -> None:
    add_model_file(stand_in(tmp_path / "isnet-general-use.onnx", 1024, 6), "isnet-general-use")
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for seed in range(4):
        make_photo(seed=seed).save(shoot / f"p{seed}.jpg")
    dialog = BatchDialog(AppSettings(device="cpu", model="small"), [shoot])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: not dialog.pending())  # the photos are counted off the GUI thread
    assert not dialog.time_warning.isVisible()  # the 320 px model, four photos: nothing to say
    index = dialog.model_box.findData("isnet-general-use")
    assert dialog.model_box.itemText(index) == "isnet-general-use (IS-Net, 1024 px)"  # not "U²-Net isnet-…"
    dialog.model_box.setCurrentIndex(index)
    assert dialog.time_warning.isVisible() and "1024×1024 px" in dialog.time_warning.text()
    record_seconds_per_photo("isnet-general-use", "cpu", 12.0, 2)  # earlier batches: 6 s per photo here
    extra = tmp_path / "more.jpg"
    make_photo(seed=9).save(extra)
    dialog.inputs.addItem(str(extra))  # the count follows the list: 5 photos now
    qtbot.waitUntil(lambda: not dialog.pending())
    assert "6.0 s per photo" in dialog.time_warning.text() and "about 30 s for 5 photos" in dialog.time_warning.text()
    dialog.model_box.setCurrentIndex(dialog.model_box.findData("small"))
    assert not dialog.time_warning.isVisible()
