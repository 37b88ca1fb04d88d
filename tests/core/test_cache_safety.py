"""The caches in the user data folder are optional (issue #36, round 4's D9 and D10): whatever stands where one should
be (wrong types, a folder, a file in place of its folder, mode 000, a read-only data folder), a photo is cut out,
and the cache is measured or exported again next time; never a traceback, never a photo failed after it was
written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import clearbg_desktop
from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.inference.engine_choice import CACHE_NAME, machine_fingerprint, read_measurements
from clearbg_desktop.core.inference.engines import ONNX_COPY_FORM, load_segmenter, onnx_copy
from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo, seconds_per_photo
from clearbg_desktop.core.inference.weights import find_weights
from clearbg_desktop.core.paths import data_dir
from tests.conftest import make_photo
from tests.core.imaging.test_preset_safety import as_a_normal_user

ORT, TORCH = "onnxruntime:cpu:fp32", "torch:cpu:fp32"


def engine_speeds(seconds: dict, agrees: dict) -> Path:
    entry = find_weights("small")
    path = data_dir() / CACHE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"version": 1, "machines": {machine_fingerprint(None): {entry.sha256: {
        "seconds": seconds, "agrees": agrees}}}}))
    return path


@pytest.mark.slow
def test_wrong_types_in_engine_speeds_are_left_out_entry_by_entry(random_weights: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("CLEARBG_ENGINE")
    engine_speeds({ORT: "fast", TORCH: None, "torch:cpu:bf16": 0.5, "x": 0.1, "a:b:c": 0.1, "torch:cpu:fp16": True},
                  {ORT: "yes", TORCH: True, "torch:cpu:bf16": 1, 5: True})
    assert read_measurements(find_weights("small")) == {"seconds": {"torch:cpu:bf16": 0.5}, "agrees": {TORCH: True}}
    assert cli_main(["--list-models"]) == 0 and "Traceback" not in capsys.readouterr().err
    segmenter = load_segmenter("small", device="cpu")  # the two fp32 engines are measured again
    assert segmenter.precision == "fp32"
    measured = read_measurements(find_weights("small"))
    assert set(measured["seconds"]) == {ORT, TORCH} and measured["agrees"] == {ORT: True, TORCH: True}
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "-q"]) == 0


def in_the_way(path: Path, kind: str) -> None:
    """Put a folder, or a file, where ``path`` should be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "folder":
        (path / "inside").mkdir(parents=True)
    else:
        path.write_text("a file where a folder should be")


@pytest.mark.slow
def test_a_cache_that_cannot_be_written_is_measured_again(random_weights: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARBG_ENGINE")
    entry = find_weights("small")
    cached = f"onnx-cache/{entry.sha256[:16]}-{entry.input_size}-{ONNX_COPY_FORM}"
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    for number, (name, kind) in enumerate([(CACHE_NAME, "folder"), ("seconds-per-photo.json", "folder"),
                                           ("onnx-cache", "file"), (f"{cached}.onnx", "folder"),
                                           (f"{cached}.json", "folder")]):
        data = tmp_path / f"data{number}"
        monkeypatch.setenv("CLEARBG_DATA_DIR", str(data))
        in_the_way(data / name, kind)
        record_seconds_per_photo("small", "cpu", 2.0, 1)
        assert seconds_per_photo("small", "cpu") in (2.0, None)
        copy = onnx_copy(entry)
        assert copy.format == "onnx" and copy.path.is_file(), name
        for engine in ("onnxruntime", "auto"):
            monkeypatch.setenv("CLEARBG_ENGINE", engine)
            assert load_segmenter("small", device="cpu").precision == "fp32", name
        out = tmp_path / f"out{number}"
        assert cli_main([str(photo), "-o", str(out), "-q"]) == 0, name
        assert (out / "p-cutout.png").is_file()
        assert (data / name).is_dir() == (kind == "folder"), name  # left as it was


CLI_CHILD = "import sys; from clearbg_desktop.cli import main; raise SystemExit(main(sys.argv[1:]))"


@pytest.mark.slow
def test_a_read_only_data_folder_or_an_unreadable_cache_never_fails_a_photo(
        random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    entry = find_weights("small")
    read_only, locked = tmp_path / "read-only", tmp_path / "locked"
    read_only.mkdir()
    read_only.chmod(0o555)
    monkeypatch.setenv("CLEARBG_DATA_DIR", str(locked / "data"))
    assert onnx_copy(entry).path.parent == locked / "data" / "onnx-cache"
    shutil.copytree(locked / "data", locked / "copy")
    for copied in (locked / "copy").rglob("*.onnx"):
        copied.chmod(0)
    for number, (data, engine) in enumerate([(read_only, "auto"), (read_only, "onnxruntime"),
                                             (locked / "copy", "onnxruntime")]):
        out = tmp_path / f"out{number}"
        env = {**os.environ, "CLEARBG_DATA_DIR": str(data), "CLEARBG_ENGINE": engine,
               "PYTHONPATH": str(Path(clearbg_desktop.__file__).resolve().parents[1])}
        done = subprocess.run([*as_a_normal_user(), sys.executable, "-c", CLI_CHILD, str(photo), "-o", str(out),
                               "--overwrite"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
        assert (out / "p-cutout.png").is_file()
    assert list(read_only.iterdir()) == []
