"""The batch progress window's photos per second and ETA (issue #41): the pace of the photos cut out lately, not
diluted by photos a re-run skips."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from clearbg_desktop.core.batch import Progress
from clearbg_desktop.core.batch.plan import BatchItem
from clearbg_desktop.core.batch.report import FileResult

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


def test_progress_says_photos_per_second_of_the_photos_cut_out(qtbot: QtBot, tmp_path: Path) -> None:
    from clearbg_desktop.gui.dialogs.batch_dialog import BatchProgressDialog

    dialog = BatchProgressDialog(12)
    qtbot.addWidget(dialog)
    item = BatchItem(tmp_path / "a.jpg", tmp_path / "out" / "a-cutout.png")

    def step(done: int, status: str, elapsed: float) -> None:
        dialog.show_progress(Progress(done, 12, FileResult(item, status), elapsed), "b.jpg")

    for done in range(1, 9):  # a re-run: 8 photos already written, skipped at once
        step(done, "skipped", 0.01 * done)
    assert "… photos/s" in dialog.labelText()
    # Then two photos cut out; the clock between them is what counts, not done/elapsed (the job's start).
    step(9, "done", 400.0)
    qtbot.wait(200)
    step(10, "done", 500.0)
    text = dialog.labelText()
    assert "10 of 12 photos" in text and "photos/s" in text and "… photos/s" not in text
    rate = float(text.split(" photos/s")[0].split("· ")[-1])
    assert 0.5 < rate <= 6, text  # one photo in ~0.2 s (done/elapsed would say 0.02: 10 photos in 500 s)
    assert dialog.value() == 10
    dialog.close()
