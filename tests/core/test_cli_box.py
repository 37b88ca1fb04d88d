"""``clearbg-cli --box``: checked like every option, and the mask is the object box's, nothing outside the boxes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.cli import main as cli_main
from tests.conftest import make_photo


@pytest.mark.parametrize(("box", "why"), [("1,2,3", "four numbers"), ("10,10,5,40", "right of and below"),
                                          ("0,0,nan,1", "finite"), ("x,0,5,5", "four numbers")])
def test_a_bad_box_is_one_line_and_exit_2_before_any_photo(tmp_path: Path, box: str, why: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    make_photo().save(tmp_path / "a.jpg")
    with pytest.raises(SystemExit) as exit_info:
        cli_main([str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), f"--box={box}"])
    assert exit_info.value.code == 2
    assert why in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # six model calls through the whole batch
def test_boxes_apply_to_every_photo_of_a_series_pixels_and_fractions(tmp_path: Path, random_weights: Path) -> None:
    series = tmp_path / "turntable"
    series.mkdir()
    for seed in range(3):
        make_photo((160, 120), seed=seed).save(series / f"shot{seed}.png")
    out = tmp_path / "out"
    code = cli_main([str(series), "-o", str(out), "--mask-only", "-q", "--box", "20,10,70,60",
                     "--box", "0.5,0.5,1,1"])
    assert code == 0
    for seed in range(3):
        with Image.open(out / f"shot{seed}-cutout.png") as image:
            mask = np.asarray(image.convert("L"))
        outside = np.ones(mask.shape, bool)
        outside[10:60, 20:70] = False
        outside[60:120, 80:160] = False
        assert mask.shape == (120, 160) and not mask[outside].any()


@pytest.mark.slow
def test_a_box_off_one_photo_fails_that_photo_only(tmp_path: Path, random_weights: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    make_photo((160, 120)).save(tmp_path / "in" / "small.png")
    make_photo((400, 300)).save(tmp_path / "in" / "large.png")
    code = cli_main([str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-q", "--box", "200,150,300,250"])
    assert code == 1
    err = capsys.readouterr().err
    assert "small.png" in err and "less than" in err
    assert (tmp_path / "out" / "large-cutout.png").exists()
