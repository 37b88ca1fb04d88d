"""The output folder's record (#36): "skipped" means this photo's own output is there, never another photo's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.batch.records import MAX_RECORD_BYTES, FolderRecord, record_path
from clearbg_desktop.core.file_hash import sha256_file
from tests.conftest import make_photo


def _card(root: Path, index: int) -> Path:
    photo = root / f"card{index}" / "IMG_0001.JPG"
    photo.parent.mkdir(parents=True)
    make_photo(seed=index).save(photo, format="JPEG")
    return photo


def _run(*args: str) -> int:
    return cli_main([*args, "-q"])


@pytest.mark.slow
def test_cards_exported_one_after_the_other_into_one_folder_all_get_outputs(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = _card(tmp_path, 1), _card(tmp_path, 2)
    out = tmp_path / "out"
    assert _run(str(first), "-o", str(out)) == 0
    card1_output = sha256_file(out / "IMG_0001-cutout.png")
    capsys.readouterr()
    assert _run(str(second), "-o", str(out)) == 0  # same planned name, another photo: written beside it
    captured = capsys.readouterr().out
    assert "1 exported, 0 skipped" in captured
    assert sorted(p.name for p in out.iterdir()) == [
        "IMG_0001-cutout (2).png", "IMG_0001-cutout.png"]
    assert sha256_file(out / "IMG_0001-cutout.png") == card1_output
    for photo in (first, second):  # re-runs: each photo finds its own output
        assert _run(str(photo), "-o", str(out)) == 0
        assert "0 exported, 1 skipped" in capsys.readouterr().out
    assert _run(str(second), "-o", str(out), "--overwrite") == 0  # replaces its own output, never card 1's
    assert sha256_file(out / "IMG_0001-cutout.png") == card1_output
    assert len(list(out.iterdir())) == 2


@pytest.mark.slow
def test_an_output_without_a_record_keeps_the_old_meaning(tmp_path: Path, random_weights: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    photo = _card(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "IMG_0001-cutout.png").write_bytes(b"written by an older version")
    assert _run(str(photo), "-o", str(out)) == 0
    assert "1 skipped" in capsys.readouterr().out
    assert _run(str(photo), "-o", str(out), "--overwrite") == 0
    assert (out / "IMG_0001-cutout.png").read_bytes() != b"written by an older version"


@pytest.mark.slow
def test_a_symlinked_record_is_never_written_through(tmp_path: Path, random_weights: Path) -> None:
    photo = _card(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("VICTIM CONTENT")
    record_path(out).parent.mkdir(parents=True)
    record_path(out).symlink_to(victim)
    assert _run(str(photo), "-o", str(out)) == 0
    assert victim.read_text() == "VICTIM CONTENT" and (out / "IMG_0001-cutout.png").is_file()


@pytest.mark.slow
def test_a_fifo_in_place_of_the_record_never_hangs(tmp_path: Path, random_weights: Path) -> None:
    photo = _card(tmp_path, 1)
    out = tmp_path / "out"
    out.mkdir()
    record_path(out).parent.mkdir(parents=True)
    os.mkfifo(record_path(out))
    code = (f"from clearbg_desktop.cli import main; raise SystemExit(main([{str(photo)!r}, '-o', {str(out)!r}, "
            "'-q', '--model', 'small']))")
    result = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "IMG_0001-cutout.png").is_file()


def _fuzzed_records(valid: bytes) -> list[bytes]:
    line = valid.splitlines()[0]
    entry = json.loads(line)
    variants = [b"", b"\0" * 100, b"{", b"[]\n", b"null\n", b"[" * 100_000, line[: len(line) // 2],
                b"\xff\xfe garbage\n" + line]
    for key in ("output", "planned", "source"):
        for bad in (None, 1, 10**400, [], {}, "", "../../etc/passwd", "a/b", "\0", "x" * 5000, float("nan")):
            changed = dict(entry)
            changed[key] = bad
            try:
                variants.append(json.dumps(changed).encode() + b"\n" + line)
            except (ValueError, OverflowError):
                continue
    variants.append(b'{"output": 1e999}\n' + line)
    variants.append(line * 3)
    return variants


def test_fuzzed_records_never_raise_and_keep_the_good_lines(tmp_path: Path) -> None:
    """Every malformed record is read without an exception; the good line after a bad one still counts."""
    folder = tmp_path / "out"
    folder.mkdir()
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"photo")
    (folder / "p-cutout.png").write_bytes(b"out")
    FolderRecord(folder).add(folder / "p-cutout.png", folder / "p-cutout.png", photo)
    valid = record_path(folder).read_bytes()
    for variant in _fuzzed_records(valid):
        record_path(folder).write_bytes(variant)
        record = FolderRecord.read(folder)
        if variant.endswith(valid.splitlines()[0]) and b"\n" in variant:
            assert record.earlier_output(folder / "p-cutout.png", photo) == folder / "p-cutout.png", variant[:60]
    with open(record_path(folder), "wb") as handle:  # larger than the bound: not read, not an error
        handle.truncate(MAX_RECORD_BYTES + 10)
    assert FolderRecord.read(folder).owners == {}
    record_path(folder).unlink()
    record_path(folder).mkdir()  # a folder in its place: nothing read, nothing written
    FolderRecord(folder).add(folder / "p-cutout.png", folder / "p-cutout.png", photo)
    assert FolderRecord.read(folder).owners == {}


@pytest.mark.parametrize("existing", [["--overwrite"], ["--existing", "skip"]])
def test_a_photo_in_the_output_folder_is_never_replaced_nor_taken_for_an_output(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str], existing: list[str]) -> None:
    """Walk 37b: card 1's IMG_0001.jpg exported as {name}.jpg into card 2's folder, Overwrite: card 2's own photo
    of that name was replaced by card 1's cut-out, "1 exported". Only the job's own photos were protected."""
    first, second = _card(tmp_path, 1), _card(tmp_path, 2)
    second = second.rename(second.with_suffix(".jpg"))  # the name card 1's output takes on any file system
    before = sha256_file(second)
    code = _run(str(first), "-o", str(second.parent), "--name", "{name}", "--format", "jpg", *existing)
    captured = capsys.readouterr()
    assert code == 1 and sha256_file(second) == before
    assert "taken by a file ClearBG did not write" in captured.err and "0 exported" in captured.out
    assert _run(str(first), "-o", str(second.parent), "--name", "{name}", "--format", "jpg", "--existing",
                "rename") == 0  # Keep both: written beside it
    assert sha256_file(second) == before and len(list(second.parent.iterdir())) == 2


def test_a_run_whose_record_cannot_be_written_says_so(tmp_path: Path, random_weights: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Round 5 X3: with a read-only or odd data folder nothing is recorded, and the next run of another card's
    IMG_0001 would skip by name alone; the run now says so (the photo itself is written)."""
    (tmp_path / "data").write_text("a file where the data folder should be")
    monkeypatch.setenv("CLEARBG_DATA_DIR", str(tmp_path / "data"))
    assert _run(str(_card(tmp_path, 1)), "-o", str(tmp_path / "out")) == 0
    captured = capsys.readouterr()
    assert "1 exported" in captured.out and "could not be recorded" in captured.err
    assert len(list((tmp_path / "out").iterdir())) == 1
