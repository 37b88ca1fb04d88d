"""The batch's time warning (#31): 1024 px models are slow on a CPU, said before the batch starts, with the seconds
per photo earlier batches measured here."""

from __future__ import annotations

from pathlib import Path

import pytest

from clearbg_desktop.core.batch import BatchReport, count_photos, iter_export, plan_batch
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.inference.engines import load_segmenter
from clearbg_desktop.core.inference.model_library import add_model_file
from clearbg_desktop.core.inference.time_per_photo import (
    _store,
    batch_time_warning,
    format_duration,
    record_seconds_per_photo,
    seconds_per_photo,
    warning_for,
)
from tests.conftest import make_photo
from tests.core.inference.test_model_families import stand_in


def test_a_slow_model_warns_before_its_first_batch_and_a_fast_one_only_when_long() -> None:
    first = batch_time_warning("isnet", "IS-Net", 1024, "cpu", 500)
    assert "1024×1024 px" in first and "10×" in first and "on a CPU each photo takes seconds" in first
    assert batch_time_warning("small", "U²-Net small", 320, "cpu", 500) == ""  # never measured, not slow: quiet
    assert batch_time_warning("isnet", "IS-Net", 1024, "cpu", 0) == ""
    record_seconds_per_photo("isnet", "cpu", 8.0, 2)
    measured = batch_time_warning("isnet", "IS-Net", 1024, "cpu", 500)
    assert "4.0 s per photo on this machine's CPU" in measured and "about 33 min" in measured and "500 photos" in measured
    assert "1024" in batch_time_warning("isnet", "IS-Net", 1024, "cuda", 3)  # another device: not measured there
    record_seconds_per_photo("small", "cpu", 2.0, 1)  # 2 s per photo: 100 photos are 3 min, 1000 are 33 min
    assert batch_time_warning("small", "U²-Net small", 320, "cpu", 100) == ""
    assert "about 33 min for 1000 photos" in batch_time_warning("small", "U²-Net small", 320, "cpu", 1000)


def test_the_running_mean_forgets_old_runs_and_a_damaged_store_reads_empty() -> None:
    record_seconds_per_photo("m", "cpu", 10.0, 10)  # 1 s per photo
    record_seconds_per_photo("m", "cpu", 30.0, 10)  # 3 s per photo: the mean of both runs
    assert seconds_per_photo("m", "cpu") == pytest.approx(2.0)
    record_seconds_per_photo("m", "cpu", 500.0, 250)  # more than the remembered 200 photos: this run alone
    assert seconds_per_photo("m", "cpu") == pytest.approx(2.0) and seconds_per_photo("m", "mps") is None
    record_seconds_per_photo("m", "cpu", 0.0, 0)  # nothing measured: nothing changes
    assert seconds_per_photo("m", "cpu") == pytest.approx(2.0)
    for damaged in (b"\x00garbage", b"[1, 2]", b'{"m@cpu": {"seconds": -1, "photos": 3}}',
                    b'{"m@cpu": {"seconds": "1", "photos": 3}}', b"{" + b" " * 300_000 + b"}"):
        _store().write_bytes(damaged)
        assert seconds_per_photo("m", "cpu") is None
    record_seconds_per_photo("m", "cpu", 3.0, 1)  # a damaged store is replaced, not a crash
    assert seconds_per_photo("m", "cpu") == pytest.approx(3.0)


def test_durations_read_like_a_person_says_them() -> None:
    assert [format_duration(s) for s in (0.2, 40, 12 * 60, 3 * 3600 + 20 * 60)] == [
        "about 1 s", "about 40 s", "about 12 min", "about 3 h 20 min"]


def test_a_batch_records_its_model_time_and_the_next_warning_uses_it(tmp_path: Path) -> None:
    """End to end: an IS-Net file imported, a batch run with it, the next batch's warning gives its estimate."""
    add_model_file(stand_in(tmp_path / "isnet-general-use.onnx", 1024, 6), "isnet-general-use")
    photos = tmp_path / "shoot"
    photos.mkdir()
    for seed in range(3):
        make_photo(seed=seed).save(photos / f"p{seed}.jpg")
    (photos / "notes.txt").write_text("not a photo")
    assert count_photos([photos]) == 3 and count_photos([photos / "p0.jpg", photos]) == 4
    before = warning_for("isnet-general-use", 3, "cpu")
    assert "1024×1024 px" in before and "measured" not in before
    segmenter = load_segmenter("isnet-general-use", device="cpu")
    plan = plan_batch([photos], tmp_path / "out", ExportOptions(), model="isnet-general-use")
    report = BatchReport()
    list(iter_export(plan, segmenter, ExportOptions(), report=report))
    assert len(report.done) == 3
    seconds = seconds_per_photo("isnet-general-use", "cpu")
    assert seconds is not None and 0 < seconds < report.elapsed
    after = warning_for("isnet-general-use", 500, "cpu")
    assert f"{seconds:.1f} s per photo on this machine's CPU (measured in earlier batches)" in after
    assert warning_for("no-such-model", 500) == ""


def test_the_cli_says_it_before_the_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clearbg_desktop.cli import main as cli_main

    add_model_file(stand_in(tmp_path / "isnet-general-use.onnx", 1024, 6), "isnet-general-use")
    make_photo().save(tmp_path / "a.jpg")
    assert cli_main([str(tmp_path / "a.jpg"), "-o", str(tmp_path / "out"), "--model", "isnet-general-use",
                     "--device", "cpu"]) == 0
    assert "note: isnet-general-use works at 1024×1024 px" in capsys.readouterr().err
    make_photo(seed=1).save(tmp_path / "b.jpg")
    assert cli_main([str(tmp_path / "b.jpg"), "-o", str(tmp_path / "out"), "--model", "isnet-general-use",
                     "--device", "cpu"]) == 0
    assert "s per photo on this machine's CPU (measured in earlier batches): about 1 s for 1 photo." in \
        capsys.readouterr().err
