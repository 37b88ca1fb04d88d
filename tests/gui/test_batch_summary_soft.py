"""The batch summary (Batch export and Export all) names photos the output enlarged, which look soft."""

from __future__ import annotations

from pathlib import Path

from clearbg_desktop.core.batch import BatchItem, BatchReport, FileResult
from clearbg_desktop.gui.batch_dialog import BatchSummaryDialog


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
