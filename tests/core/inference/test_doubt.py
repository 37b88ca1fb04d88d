"""The doubt score: each sign reacts to what it names, and the batch report and CLI rank by it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.batch import BatchReport, iter_export, plan_batch
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.doubt import doubt_of
from clearbg_desktop.core.inference.segmenter import Segmenter
from tests.conftest import make_photo


def clean_subject(size: tuple[int, int] = (400, 300)) -> np.ndarray:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((120, 60, 280, 260), fill=255)
    return np.asarray(mask)


def test_a_crisp_centred_subject_is_not_doubtful() -> None:
    doubt = doubt_of(clean_subject())
    assert doubt.score < 0.1 and doubt.reasons() == []


def test_each_sign_reacts_to_what_it_names() -> None:
    clean = doubt_of(clean_subject())
    soft = np.asarray(Image.fromarray(clean_subject()).resize((40, 30)).resize((400, 300), Image.Resampling.BICUBIC))
    hazy = (clean_subject() * 0.5).astype(np.uint8)  # the model half sure everywhere on the subject
    assert doubt_of(hazy).uncertain == 1.0 and "soft or unsure edges" in doubt_of(hazy).reasons()
    assert doubt_of(soft).uncertain > clean.uncertain
    speck = np.zeros((300, 400), np.uint8)
    speck[140:150, 190:200] = 255
    assert doubt_of(speck).size > 0.9
    assert doubt_of(np.full((300, 400), 255, np.uint8)).size == 1.0
    off_edges = np.zeros((300, 400), np.uint8)
    off_edges[:, :150] = 255
    assert doubt_of(off_edges).border > clean.border
    pieces = np.zeros((300, 400), np.uint8)
    for left in (20, 120, 220, 320):
        pieces[100:200, left:left + 50] = 255
    assert doubt_of(pieces).islands == 1.0 and "mask in several pieces" in doubt_of(pieces).reasons()
    for mask in (hazy, speck, off_edges, pieces):
        assert doubt_of(mask).score > clean.score


def test_an_empty_cut_out_is_the_most_doubtful_of_all() -> None:
    """#36 point 6 (round 5, X2): a model that gives nothing back (a flat map, a grey photo) made an empty cut-out
    with doubt 0.10, below Review's 0.5; now it is 1.0, with its reason."""
    for empty in (np.zeros((300, 400), np.uint8), np.full((300, 400), 20, np.uint8)):
        doubt = doubt_of(empty)
        assert doubt.score == 1.0 and doubt.reasons() == ["no subject found: the cut-out is empty"]
        assert doubt.to_dict()["empty"] == 1.0
    assert doubt_of(np.full((300, 400), 30, np.uint8)).empty == 0.0  # faint, but something


def test_same_doubt_at_any_resolution() -> None:
    small = doubt_of(clean_subject((400, 300)))
    large = doubt_of(np.asarray(Image.fromarray(clean_subject()).resize((4000, 3000), Image.Resampling.BILINEAR)))
    assert abs(small.score - large.score) < 0.03


@pytest.fixture
def segmenter(random_weights: Path) -> Segmenter:
    return Segmenter.from_weights("small", device="cpu")


@pytest.mark.slow
def test_batch_report_ranks_by_doubt_and_writes_json(tmp_path: Path, segmenter: Segmenter) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in range(4):
        make_photo(seed=seed).save(folder / f"p{seed}.jpg")
    report = BatchReport()
    plan = plan_batch([folder], tmp_path / "out", ExportOptions())
    list(iter_export(plan, segmenter, ExportOptions(), report=report))
    assert all(r.doubt is not None for r in report.done)
    ranked = report.doubtful(0.0)
    assert len(ranked) == 4
    assert [r.doubt.score for r in ranked if r.doubt] == sorted((r.doubt.score for r in ranked if r.doubt),
                                                               reverse=True)
    log = report.write_log(tmp_path / "logs")
    data = json.loads(log.with_suffix(".json").read_text())
    assert {Path(f["source"]).name for f in data["files"]} == {f"p{s}.jpg" for s in range(4)}
    assert all(0 <= f["doubt"]["score"] <= 1 for f in data["files"])
    assert "doubt" in log.read_text() and segmenter.description in log.read_text()
    assert data["engine"] == segmenter.description


def test_cli_lists_photos_to_review(tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in range(3):
        make_photo(seed=seed).save(folder / f"p{seed}.jpg")
    assert cli_main([str(folder), "-o", str(tmp_path / "out"), "-q", "--review-threshold", "0"]) == 0
    out = capsys.readouterr().out
    assert "to review: 3 photo(s) with doubt ≥ 0" in out and "report (with each photo's doubt)" in out
    with pytest.raises(SystemExit) as usage:
        cli_main([str(folder), "-o", str(tmp_path / "out2"), "-q", "--review-threshold", "1.5"])
    assert usage.value.code == 2 and "--review-threshold must be between 0 and 1" in capsys.readouterr().err


def test_cli_exports_a_project_with_its_mask(tmp_path: Path, photo_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    alpha = np.zeros((120, 160), np.uint8)
    alpha[20:100, 30:130] = 255
    project = Project(photo_path=photo_path, photo_sha256=sha256_file(photo_path), alpha=alpha,
                      export_options=ExportOptions(format="png"))
    path = save_project(project, tmp_path / "p.clearbg")
    assert cli_main([str(path), "-o", str(tmp_path / "out")]) == 0  # no model needed: the mask is saved
    with Image.open(tmp_path / "out" / "photo-cutout.png") as written:
        np.testing.assert_array_equal(np.asarray(written.getchannel("A")), alpha)
    broken = tmp_path / "broken.clearbg"
    broken.write_bytes(b"PK\x03\x04 truncated")
    assert cli_main([str(broken), "-o", str(tmp_path / "out")]) == 1
    assert "broken.clearbg: not a ClearBG project" in capsys.readouterr().err
