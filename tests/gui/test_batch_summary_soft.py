"""The batch summary (Batch export and Export all) names photos the output enlarged, which look soft."""

from __future__ import annotations

from pathlib import Path

from clearbg_desktop.core.batch import BatchItem, BatchReport, FileResult
from clearbg_desktop.gui.dialogs.batch_dialog import BatchSummaryDialog


def test_the_summary_names_the_enlarged_photos(qtbot, tmp_path: Path) -> None:
    def result(name: str, enlarged: float) -> FileResult:
        item = BatchItem(tmp_path / name, tmp_path / "out" / name)
        return FileResult(item, "done", "", item.target, None, enlarged)

    quiet = BatchSummaryDialog(BatchReport([result("big.jpg", 0.4)]), tmp_path)
    qtbot.addWidget(quiet)
    assert not hasattr(quiet, "soft_label")
    report = BatchReport([result("big.jpg", 0.4), result("small.jpg", 3.1), result("mid.jpg", 1.7)])
    dialog = BatchSummaryDialog(report, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.soft_label.isVisible()
    assert dialog.soft_label.text() == ("2 photos were enlarged more than 1.5× to reach the size asked and may look "
                                        "soft: small.jpg (3.1×), mid.jpg (1.7×)")


def test_the_summary_says_which_photos_went_under_another_name_and_what_the_job_could_not_record(
        qtbot, tmp_path: Path) -> None:
    """#36: card 2's IMG_0001 written beside card 1's as "(2)", and a record that could not be written, are said
    in the window too, not only in the CLI and the log."""
    item = BatchItem(tmp_path / "card2" / "IMG_0001.jpg", tmp_path / "out" / "IMG_0001-cutout.png")
    renamed = FileResult(item, "done", "IMG_0001-cutout.png is another photo's output from an earlier run; written "
                                       "as IMG_0001-cutout (2).png", tmp_path / "out" / "IMG_0001-cutout (2).png")
    plain = FileResult(BatchItem(tmp_path / "a.jpg", tmp_path / "out" / "a-cutout.png"), "done", "",
                       tmp_path / "out" / "a-cutout.png")
    report = BatchReport([renamed, plain], notes=["which photo made each output could not be recorded"])
    dialog = BatchSummaryDialog(report, tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    text = dialog.notes_label.text()
    assert dialog.notes_label.isVisible() and "could not be recorded" in text
    assert "IMG_0001.jpg: IMG_0001-cutout.png is another photo's output" in text and "a.jpg" not in text
    quiet = BatchSummaryDialog(BatchReport([plain]), tmp_path)
    qtbot.addWidget(quiet)
    quiet.show()
    assert not quiet.notes_label.isVisible()
