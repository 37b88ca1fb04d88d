"""The CLI's progress bar says photos per second (issue #41): the pace of the last photos cut out."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearbg_desktop.cli import main as cli_main
from tests.conftest import make_photo


@pytest.mark.slow
def test_the_cli_progress_bar_shows_photos_per_second(random_weights: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(4):
        make_photo(seed=seed).save(photos / f"p{seed}.jpg")
    assert cli_main([str(photos), "-o", str(tmp_path / "out")]) == 0
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()
    final = [line for line in bar if "4/4" in line]
    assert final and final[-1].rstrip().endswith("photos/s]") and "… photos/s" not in final[-1], bar[-3:]
