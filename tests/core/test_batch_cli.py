"""Batch export (core generator) and ``clearbg-cli`` over a realistic, messy folder tree."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.batch import BatchItem, BatchPlan, BatchReport, iter_export, plan_batch
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.inference.segmenter import Segmenter
from tests.conftest import make_photo


@pytest.fixture
def messy_tree(tmp_path: Path) -> Path:
    root = tmp_path / "shoot"
    (root / "day 1" / "portraits").mkdir(parents=True)
    (root / "day 2").mkdir()
    make_photo(seed=1).save(root / "a.jpg")
    make_photo(seed=2).save(root / "a.png")  # same stem as a.jpg
    make_photo(seed=3).save(root / "day 1" / "b.jpg")
    make_photo(seed=4).save(root / "day 1" / "portraits" / "Café ü.webp")
    make_photo(seed=5).save(root / "day 2" / "c.tif")
    (root / "day 2" / "notes.txt").write_text("shot list")
    good = (root / "a.jpg").read_bytes()
    (root / "day 2" / "broken.jpg").write_bytes(good[: len(good) // 3])
    return root


@pytest.fixture
def segmenter(random_weights: Path) -> Segmenter:
    return Segmenter.from_weights("small", device="cpu")


def test_plan_keeps_structure_and_skips_non_images(messy_tree: Path, tmp_path: Path) -> None:
    plan = plan_batch([messy_tree], tmp_path / "out", ExportOptions())
    targets = sorted(str(i.target.relative_to(tmp_path / "out")) for i in plan.items)
    assert targets == sorted([
        "a-cutout-jpg.png", "a-cutout-png.png", "day 1/b-cutout.png", "day 1/portraits/Café ü-cutout.png",
        "day 2/c-cutout.png", "day 2/broken-cutout.png",
    ])
    assert [p.name for p in plan.ignored] == ["notes.txt"]
    flat = plan_batch([messy_tree], tmp_path / "out", ExportOptions(), recursive=False)
    assert len(flat.items) == 2


@pytest.mark.slow
def test_batch_reports_failures_and_goes_on(messy_tree: Path, tmp_path: Path, segmenter: Segmenter) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a-cutout-jpg.png").write_bytes(b"existing output")
    plan = plan_batch([messy_tree], out, ExportOptions())
    report = BatchReport()
    steps = list(iter_export(plan, segmenter, ExportOptions(), existing="skip", report=report))
    assert [s.done for s in steps] == list(range(1, 7)) and steps[-1].total == 6
    assert len(report.done) == 4 and len(report.skipped) == 1 and len(report.failed) == 1
    assert "broken.jpg" in report.failed[0].message and "truncated" in report.failed[0].message
    assert (out / "a-cutout-jpg.png").read_bytes() == b"existing output"
    with Image.open(out / "day 1" / "portraits" / "Café ü-cutout.png") as image:
        assert image.mode == "RGBA" and image.size == (160, 120)
    log = report.write_log(tmp_path / "logs")
    assert "FAILED" in log.read_text() and "broken.jpg" in log.read_text()


@pytest.mark.slow
def test_rename_and_overwrite_policies(messy_tree: Path, tmp_path: Path, segmenter: Segmenter) -> None:
    out = tmp_path / "out"
    plan = plan_batch([messy_tree / "day 1" / "b.jpg"], out, ExportOptions())
    out.mkdir()
    (out / "b-cutout.png").write_bytes(b"old")
    list(iter_export(plan, segmenter, ExportOptions(), existing="rename"))
    assert (out / "b-cutout.png").read_bytes() == b"old" and (out / "b-cutout (2).png").exists()
    list(iter_export(plan, segmenter, ExportOptions(), existing="overwrite"))
    assert (out / "b-cutout.png").read_bytes() != b"old"


@pytest.mark.slow
def test_cancel_leaves_no_partial_files_and_rerun_resumes(tmp_path: Path, segmenter: Segmenter) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(8):
        make_photo(seed=index).save(photos / f"p{index}.jpg")
    out = tmp_path / "out"
    plan = plan_batch([photos], out, ExportOptions())
    cancel = threading.Event()
    report = BatchReport()
    for step in iter_export(plan, segmenter, ExportOptions(), cancel=cancel, report=report):
        if step.done == 2:
            cancel.set()
    assert report.cancelled
    written = sorted(p.name for p in out.iterdir())
    assert 2 <= len(written) < 8
    assert not [n for n in written if n.endswith(".part") or n.startswith(".")]
    for name in written:
        with Image.open(out / name) as image:
            image.load()  # complete, decodable files only
    second = BatchReport()
    list(iter_export(plan_batch([photos], out, ExportOptions()), segmenter, ExportOptions(), report=second))
    assert len(second.skipped) == len(written) and len(second.done) == 8 - len(written)
    assert not second.cancelled and len(list(out.iterdir())) == 8


@pytest.mark.slow
def test_cancel_during_a_model_call_writes_no_more_than_the_photo_being_encoded(
        tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch) -> None:
    """#37 (walk D9): Cancel pressed while the model runs photo 3 stops there: its mask and the photos waiting
    for the encoder are dropped (it wrote about 2 more photos before)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(8):
        make_photo(seed=index).save(photos / f"p{index}.jpg")
    cancel = threading.Event()
    calls: list[int] = []
    predict = segmenter.predict_alpha

    def predict_and_cancel_on_the_third(rgb: Image.Image) -> Image.Image:
        calls.append(1)
        if len(calls) == 3:
            cancel.set()
        return predict(rgb)

    monkeypatch.setattr(segmenter, "predict_alpha", predict_and_cancel_on_the_third)
    out = tmp_path / "out"
    report = BatchReport()
    list(iter_export(plan_batch([photos], out, ExportOptions()), segmenter, ExportOptions(), cancel=cancel,
                     report=report))
    written = sorted(p.name for p in out.iterdir())
    assert report.cancelled and len(calls) == 3
    assert "p2-cutout.png" not in written and 1 <= len(written) <= 2 and len(report.done) == len(written)


@pytest.mark.slow
def test_cli_end_to_end(messy_tree: Path, tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-out"
    code = cli_main([str(messy_tree), "-o", str(out), "--format", "jpg", "--bg", "#00ff00", "-q"])
    captured = capsys.readouterr()
    assert code == 1  # one broken file
    assert "5 exported" in captured.out and "broken.jpg" in captured.err
    with Image.open(out / "day 2" / "c-cutout.jpg") as image:
        assert image.mode == "RGB"
    assert cli_main([str(messy_tree / "a.jpg"), "-o", str(out), "-q"]) == 0
    assert cli_main([str(messy_tree / "a.jpg"), "-o", str(out), "-q"]) == 0  # exists: skipped, not an error
    assert "1 skipped" in capsys.readouterr().out


def test_cli_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([str(tmp_path / "nope"), "-o", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    make_photo().save(tmp_path / "x.jpg")
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "empty"))
    assert cli_main([str(tmp_path / "x.jpg"), "-o", str(tmp_path / "o")]) == 2
    assert "no weights for the 'small' model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main([str(tmp_path / "x.jpg"), "-o", str(tmp_path / "o"), "--name", "{bad}"])


@pytest.mark.parametrize(("cores", "size", "threads_during", "encoder_cores_expected"),
                         [(4, (2000, 1500), 3, 1), (4, (160, 120), 4, 1), (2, (2000, 1500), 1, 1),
                          (1, (2000, 1500), 1, 1)])
def test_large_photos_leave_a_core_to_decode_and_encode_small_ones_do_not(
    tmp_path: Path, segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch, cores: int, size: tuple[int, int],
    threads_during: int, encoder_cores_expected: int | None,
) -> None:
    """Large photos leave the decoder and the encoder a core, and the encoder takes the cores the model leaves."""
    import torch

    photos = tmp_path / "photos"
    photos.mkdir()
    make_photo(size, seed=0).save(photos / "p.jpg")
    monkeypatch.setattr("clearbg_desktop.core.batch.model_calls.os.cpu_count", lambda: cores)
    seen: list[int] = []
    predict = segmenter.predict_alpha
    monkeypatch.setattr(segmenter, "predict_alpha", lambda rgb: (seen.append(torch.get_num_threads()), predict(rgb))[1])
    from clearbg_desktop.core.batch import writing

    encoder_cores: list[int | None] = []
    export = writing.export_photo
    monkeypatch.setattr(writing, "export_photo",
                        lambda *a, workers=None, **k: (encoder_cores.append(workers), export(*a, workers=workers, **k))[1])
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        list(iter_export(plan_batch([photos], tmp_path / "out", ExportOptions()), segmenter, ExportOptions()))
        assert seen == [threads_during] and torch.get_num_threads() == 4  # restored afterwards
        assert encoder_cores == [encoder_cores_expected]
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_photos_grouped_per_model_call_give_the_same_outputs(tmp_path: Path, segmenter: Segmenter) -> None:
    """A GPU takes groups of photos per call (CUDA isn't here: the grouping is forced); sizes differ per photo."""
    photos = tmp_path / "photos"
    photos.mkdir()
    for index, size in enumerate([(160, 120), (90, 140), (200, 100), (120, 120), (64, 48)]):
        make_photo(size, seed=index).save(photos / f"p{index}.png")
    (photos / "broken.png").write_bytes(b"not a png")
    single, grouped = tmp_path / "single", tmp_path / "grouped"
    list(iter_export(plan_batch([photos], single, ExportOptions()), segmenter, ExportOptions(), group_size=1))
    report = BatchReport()
    list(iter_export(plan_batch([photos], grouped, ExportOptions()), segmenter, ExportOptions(), group_size=3,
                     report=report))
    assert len(report.done) == 5 and len(report.failed) == 1
    for path in sorted(single.iterdir()):
        with Image.open(path) as one, Image.open(grouped / path.name) as many:
            diff = np.abs(np.asarray(one, np.int16) - np.asarray(many, np.int16))
            assert diff.max() <= 2, path.name  # same masks, up to batched-kernel rounding


@pytest.mark.slow
def test_one_bad_project_does_not_stop_the_others_or_the_photos(tmp_path: Path, random_weights: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #28.5: projects are isolated like photos: the bad one reported, the rest exported, one summary."""
    photo = tmp_path / "photo.jpg"
    make_photo().save(photo)
    alpha = np.zeros((120, 160), np.uint8)
    alpha[20:100, 30:130] = 255
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha,
                      export_options=ExportOptions(name_template="{name}-from-project"))
    good = save_project(project, tmp_path / "good.clearbg")
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    description = json.loads(members["project.json"])
    description["export"] = ["not", "settings"]
    bad = tmp_path / "bad.clearbg"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in {**members, "project.json": json.dumps(description).encode()}.items():
            archive.writestr(name, data)
    out = tmp_path / "out"
    code = cli_main([str(bad), str(good), str(photo), "-o", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == ["photo-cutout.png", "photo-from-project.png"]
    assert "2 exported, 0 skipped, 1 failed" in captured.out and "log: " in captured.out
    assert "bad.clearbg: damaged project, its export settings are not valid" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.slow
def test_a_photo_another_run_wrote_meanwhile_is_skipped_not_failed(tmp_path: Path, segmenter: Segmenter) -> None:
    """Issue #28.10: two runs into one folder; the loser finds the output written (here: by the plan's first
    item, the same target) and counts it as skipped."""
    for seed in (1, 2):
        make_photo(seed=seed).save(tmp_path / f"p{seed}.jpg")
    target = tmp_path / "out" / "same.png"
    plan = BatchPlan(items=[BatchItem(tmp_path / "p1.jpg", target), BatchItem(tmp_path / "p2.jpg", target)])
    report = BatchReport()
    list(iter_export(plan, segmenter, ExportOptions(), existing="skip", report=report))
    assert [r.status for r in report.results] == ["done", "skipped"]
    assert "written meanwhile by another run" in report.results[1].message
    renamed = BatchReport()
    list(iter_export(BatchPlan(items=plan.items[:1] * 2), segmenter, ExportOptions(), existing="rename",
                     report=renamed))
    assert sorted(p.name for p in target.parent.iterdir()) == ["same (2).png", "same (3).png", "same.png"]


@pytest.mark.parametrize("args", [["--long-edge", "40000"], ["--padding", "6000"], ["--quality", "101"],
                                  ["--shift", "201"]])
def test_cli_limits_are_the_cores(tmp_path: Path, args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Issue #28.4: the CLI refuses what a project or the dialog may not hold either (one set of limits)."""
    make_photo().save(tmp_path / "x.jpg")
    with pytest.raises(SystemExit) as exited:
        cli_main([str(tmp_path / "x.jpg"), "-o", str(tmp_path / "out"), *args])
    assert exited.value.code == 2 and "must be between" in capsys.readouterr().err
    flag, value = args
    field = {"--long-edge": "resize_long_edge", "--padding": "crop_padding", "--quality": "quality"}.get(flag)
    if field is not None:
        with pytest.raises(ValueError, match="must be between"):
            ExportOptions(**{field: int(value)})
    else:
        with pytest.raises(ValueError, match="must be between"):
            RefineSettings(shift=int(value))


def _tiny_disk_works(folder: Path) -> bool:
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{folder}'"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.slow
def test_a_full_disk_stops_the_batch_after_the_first_photo_that_does_not_fit(tmp_path: Path,
                                                                              random_weights: Path) -> None:
    """A real full disk: a 1 MiB tmpfs in a private mount namespace, where two or three outputs fit."""
    import os
    import subprocess
    import sys

    out = tmp_path / "full-disk"
    out.mkdir()
    if not _tiny_disk_works(out):
        pytest.skip("no unprivileged mount namespace here to make a tiny disk")
    photos = tmp_path / "shoot"
    photos.mkdir()
    for index in range(17):
        Image.fromarray(np.random.default_rng(index).integers(0, 255, (300, 400, 3), np.uint8)).save(
            photos / f"b{index:02d}.png")
    command = (f"mount -t tmpfs -o size=1m tmpfs '{out}' && exec '{sys.executable}' -m clearbg_desktop.cli "
               f"'{photos}' -o '{out}' -q")
    result = subprocess.run(["unshare", "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert result.returncode == 1, result.stdout + result.stderr
    log = Path(next(line for line in result.stdout.splitlines() if line.startswith("report")).split(": ", 1)[1])
    report = json.loads(log.read_text())
    failed = [f for f in report["files"] if f["status"] == "failed"]
    done = [f for f in report["files"] if f["status"] == "done"]
    assert len(failed) == 1 and "no space left" in failed[0]["message"], report
    assert 1 <= len(done) <= 4 and len(report["files"]) < 17  # stopped: the model did not run on the rest
    assert report["summary"].startswith("Batch stopped, no space left on the disk of"), report["summary"]
    assert "free some space" in result.stderr
