"""Photos smaller than the size a preset asks for are named, not silently upscaled (found with the marketplace
preset on 480×640 photos under Xvfb: 2000×2000 outputs, 3× enlarged and soft)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.batch import BatchReport, iter_export, plan_batch
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.imaging.output_size import enlargement
from clearbg_desktop.core.imaging.presets import BUILT_IN_PRESETS
from clearbg_desktop.core.inference.engines import load_segmenter
from tests.conftest import make_photo

# The built-in presets never enlarge (#37); these tests are about presets that do, as a user's own may.
MARKETPLACE = next(p.options for p in BUILT_IN_PRESETS if p.name.startswith("Marketplace")).with_changes(
    never_enlarge=False)
WEB = next(p.options for p in BUILT_IN_PRESETS if p.name.startswith("Web JPEG")).with_changes(never_enlarge=False)


def subject(width: int, height: int, box: tuple[int, int, int, int]) -> Image.Image:
    alpha = np.zeros((height, width), np.uint8)
    left, top, right, bottom = box
    alpha[top:bottom, left:right] = 255
    return Image.fromarray(alpha, "L")


def test_how_much_each_kind_of_resize_enlarges_the_photo(tmp_path: Path) -> None:
    make_photo((480, 640)).save(tmp_path / "small.png")
    loaded = load_image(tmp_path / "small.png")
    alpha = subject(480, 640, (40, 100, 440, 600))  # the subject's long side: 500 px
    assert enlargement(loaded, alpha, ExportOptions()) == 1.0
    assert enlargement(loaded, alpha, WEB) == pytest.approx(2048 / 640)
    assert enlargement(loaded, alpha, MARKETPLACE) == pytest.approx(2000 / round(500 / 0.85))
    assert enlargement(loaded, alpha, ExportOptions(resize_percent=250)) == 2.5
    assert enlargement(loaded, alpha, ExportOptions(crop_to_subject=True, crop_padding=0, resize_long_edge=1000)) \
        == pytest.approx(1000 / 500)


@pytest.mark.slow
def test_a_batch_names_the_photos_it_enlarged(tmp_path: Path, random_weights: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    make_photo((480, 640)).save(shoot / "small.jpg")
    make_photo((2400, 1800), seed=1).save(shoot / "large.jpg")
    plan = plan_batch([shoot], tmp_path / "out", WEB, model="small")
    report = BatchReport()
    list(iter_export(plan, load_segmenter("small", device="cpu"), WEB, report=report))
    assert len(report.done) == 2
    assert [r.item.source.name for r in report.soft()] == ["small.jpg"]  # 2048/2400: made smaller, not soft
    note = report.soft_note()
    assert note.startswith("1 photo was enlarged more than 1.5×") and "small.jpg (3.2×)" in note
    assert note in report.lines()
    with Image.open(report.soft()[0].output) as written:
        assert max(written.size) == 2048  # still the size asked: the note says it, the output is what was asked
    assert report.soft()[0].to_dict()["enlarged"] == 3.2

    from clearbg_desktop.cli import main as cli_main

    assert cli_main([str(shoot / "small.jpg"), "-o", str(tmp_path / "cli"), "--long-edge", "2048", "-q"]) == 0
    assert "note: 1 photo was enlarged more than 1.5×" in capsys.readouterr().out
    assert cli_main([str(shoot / "small.jpg"), "-o", str(tmp_path / "web"), "--preset", WEB_NAME, "-q"]) == 0
    assert "enlarged" not in capsys.readouterr().out  # the built-in web preset never enlarges


WEB_NAME = next(p.name for p in BUILT_IN_PRESETS if p.name.startswith("Web JPEG"))


def test_never_enlarge_keeps_small_photos_at_their_size_and_still_shrinks_large_ones(tmp_path: Path) -> None:
    """#37 point 7: a preset that says never enlarge writes a 480×640 photo at its own size (the web preset made
    it 2048 px, the marketplace square 2000 px: 3-7× soft), and still brings a 24 MP photo down to the size."""
    from clearbg_desktop.core.imaging.output_file import render_output
    from clearbg_desktop.core.imaging.output_size import output_size

    make_photo((480, 640)).save(tmp_path / "small.png")
    loaded = load_image(tmp_path / "small.png")
    alpha = subject(480, 640, (40, 100, 440, 600))
    web = ExportOptions(format="jpg", resize_long_edge=2048, never_enlarge=True)
    square = ExportOptions(format="jpg", subject_fill=0.85, resize_long_edge=2000, never_enlarge=True)
    assert render_output(loaded, alpha, web).size == (480, 640) == output_size(loaded, alpha, web)
    assert render_output(loaded, alpha, square).size == (round(500 / 0.85),) * 2
    assert enlargement(loaded, alpha, web) == 1.0 and enlargement(loaded, alpha, square) == 1.0
    assert render_output(loaded, alpha, ExportOptions(resize_percent=250, never_enlarge=True)).size == (480, 640)
    assert render_output(loaded, alpha, ExportOptions(resize_percent=50, never_enlarge=True)).size == (240, 320)
    make_photo((3000, 2000)).save(tmp_path / "large.png")
    large = load_image(tmp_path / "large.png")
    big_alpha = subject(3000, 2000, (100, 100, 2900, 1900))
    assert render_output(large, big_alpha, web).size == (2048, 1365)
    assert render_output(large, big_alpha, square).size == (2000, 2000)
    assert ExportOptions.from_dict(web.to_dict()).never_enlarge and not ExportOptions.from_dict({}).never_enlarge


def test_built_in_presets_on_a_colour_never_enlarge_and_clean_the_edge_colours() -> None:
    """#37 point 7: the marketplace preset left a beige halo on white and enlarged small photos up to 7.4×."""
    for preset in BUILT_IN_PRESETS:
        on_colour = preset.options.background.kind == "color"
        assert preset.options.refine.decontaminate == on_colour, preset.name
        resizes = preset.options.resize_long_edge is not None or preset.options.subject_fill is not None
        assert preset.options.never_enlarge == resizes, preset.name
