"""Preset files as anyone could write them (issue #36, round 4's D6, D11, D18, D19): each bad entry is named and
skipped, the rest load; a background image is checked like ``--bg`` before any photo is touched, never followed
into a pipe or a device; a preset name shows what it says."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import unicodedata
import warnings
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import clearbg_desktop
from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.imaging.compose import Background, check_background_image, check_number
from clearbg_desktop.core.imaging.presets import (
    HIDDEN_CATEGORIES,
    PresetError,
    check_name,
    find_preset,
    read_presets,
    read_presets_file,
)
from tests.conftest import make_photo

BIG = 10**400
HIDDEN = ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u2028",
          "\u2029", "\x7f", "\x85", "\u200b", "\ufeff", "\x1b"]


def presets_file(path: Path, *presets: dict) -> Path:
    text = json.dumps({"clearbg_presets": 1, "presets": list(presets)}).replace('"__BIG__"', str(BIG))
    path.write_text(text.replace('"__NAN__"', "NaN"), encoding="utf-8")
    return path


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header declaring ``width``×``height`` with one tiny IDAT: a few bytes that claim gigapixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def one_line(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) == 1 and "Traceback" not in text


def test_check_number_turns_a_huge_integer_into_a_sentence() -> None:
    for integer in (True, False):
        with pytest.raises(ValueError, match="quality must be between 1 and 100, not a 401-digit number"):
            check_number("quality", BIG, 1, 100, integer=integer)
        with pytest.raises(ValueError, match="quality must be between 1 and 100, not a 401-digit number"):
            check_number("quality", -BIG, 1, 100, integer=integer)
    with pytest.raises(ValueError, match="must be a number"):
        check_number("the blur radius", float("nan"), 0, 500)


@pytest.mark.parametrize("name", ["a\u202eb\u2028c\x7f", *(f"x{c}y" for c in HIDDEN)])
def test_preset_names_refuse_control_bidi_and_separator_characters(name: str) -> None:
    with pytest.raises(PresetError, match=r"control or invisible character \(U\+"):
        check_name(name)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_a_preset_name_accepted_holds_only_visible_characters(text: str) -> None:
    try:
        name = check_name(text)
    except PresetError:
        return
    assert 1 <= len(name) <= 64 and name == name.strip()
    assert not any(unicodedata.category(c) in HIDDEN_CATEGORIES for c in name)


def test_each_bad_preset_is_named_and_skipped_the_rest_load(tmp_path: Path) -> None:
    path = presets_file(tmp_path / "team.json",
                        {"name": "Good one", "options": {"format": "jpg", "quality": 80}},
                        {"name": "Huge quality", "options": {"quality": "__BIG__"}},
                        {"name": "Huge blur", "options": {"background": {"kind": "blur", "blur_radius": "__BIG__"}}},
                        {"name": "Huge feather", "options": {"refine": {"feather": "__BIG__"}}},
                        {"name": "NaN", "options": {"subject_fill": "__NAN__"}},
                        {"name": "a\u202eb", "options": {}},
                        {"name": 5, "options": {}},
                        ["not", "a", "preset"],
                        {"name": "Also good", "options": {"format": "png"}})
    presets, skipped = read_presets(path)
    assert [p.name for p in presets] == ["Good one", "Also good"]
    assert len(skipped) == 7
    assert all(text.startswith("team.json: preset ") and "\n" not in text for text in skipped)
    assert "'Huge quality'" in skipped[0] and "401-digit" in skipped[0]
    assert "\\u202e" in skipped[4] and "\u202e" not in skipped[4]  # named, but not shown reversed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [p.name for p in read_presets_file(path)] == ["Good one", "Also good"]
    assert [str(w.message) for w in caught] == [f"skipped: {text}" for text in skipped]


@pytest.mark.parametrize("field", ["quality", "blur", "feather"])
def test_a_preset_file_with_a_huge_integer_is_one_line_and_exit_2(tmp_path: Path, field: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    options = {"quality": {"quality": "__BIG__"},
               "blur": {"background": {"kind": "blur", "blur_radius": "__BIG__"}},
               "feather": {"refine": {"feather": "__BIG__"}}}[field]
    path = presets_file(tmp_path / "bigint.json", {"name": "Big", "options": options})
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "-q", "--preset", str(path)]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "bigint.json" in err and "401-digit" in err
    assert not (tmp_path / "out").exists()


def test_a_relative_background_image_is_found_beside_the_preset_file(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    shared, elsewhere = tmp_path / "shared", tmp_path / "cwd"
    shared.mkdir()
    elsewhere.mkdir()
    Image.new("RGB", (40, 30), (0, 0, 250)).save(shared / "bg.png")
    Image.new("RGB", (40, 30), (250, 0, 0)).save(elsewhere / "bg.png")  # what the current folder offers instead
    path = presets_file(shared / "team.json", {"name": "Studio", "options": {
        "background": {"kind": "image", "image_path": "bg.png"}}})
    monkeypatch.chdir(elsewhere)
    preset = find_preset("../shared/team.json", {})
    assert preset.options.background.image_path == str(shared / "bg.png")
    assert read_presets_file(path)[0].options.background.image_path == str(shared / "bg.png")


def bad_backgrounds(root: Path) -> dict[str, str]:
    """Each a background image that must be refused before any photo is touched."""
    root.mkdir(exist_ok=True)
    (root / "folder").mkdir()
    (root / "text.png").write_text("not a picture")
    (root / "bomb.png").write_bytes(bomb_png(40_000, 40_000))
    (root / "dense.png").write_bytes(bomb_png(12_000, 12_000))
    cases = {"folder": str(root / "folder"), "not an image": str(root / "text.png"), "bomb": str(root / "bomb.png"),
             "dense": str(root / "dense.png"), "missing": str(root / "missing.png")}
    if Path("/dev/zero").exists():
        cases["/dev/zero"] = "/dev/zero"
    return cases


def test_a_presets_bad_background_image_is_refused_like_bg(tmp_path: Path, random_weights: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    for case, image in bad_backgrounds(tmp_path / "bg").items():
        with pytest.raises(ValueError, match="background image"):
            check_background_image(Path(image))
        path = presets_file(tmp_path / "bg.json", {"name": "Bg", "options": {
            "background": {"kind": "image", "image_path": image}}})
        out = tmp_path / f"out-{case.replace('/', '')}"
        assert cli_main([str(photo), "-o", str(out), "-q", "--preset", str(path)]) == 2, case
        err = capsys.readouterr().err
        assert one_line(err) and "background image" in err, (case, err)
        assert not out.exists(), case  # refused before any photo was touched
        if Path(image).exists():
            with pytest.raises(SystemExit) as refused:  # --bg says the same, also before any photo
                cli_main([str(photo), "-o", str(out), "-q", "--bg", image])
            assert refused.value.code == 2 and "background image" in capsys.readouterr().err


def test_a_saved_presets_bad_background_image_is_refused_before_any_photo(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from clearbg_desktop.core.settings import AppSettings

    image = tmp_path / "bg.png"
    Image.new("RGB", (40, 30), (0, 0, 250)).save(image)
    settings = AppSettings(export_presets={"Studio": {"background": {"kind": "image", "image_path": str(image)}}})
    assert settings.save() is not None
    image.unlink()
    image.mkdir()  # the file became a folder since the preset was saved
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "-q", "--preset", "Studio"]) == 2
    err = capsys.readouterr().err
    assert one_line(err) and "'Studio'" in err and "background image" in err
    assert not (tmp_path / "out").exists()


def as_a_normal_user() -> list[str]:
    """A command prefix under which file modes apply (tests run as root on CI): drop the capabilities that
    let root read anything, as ``setpriv`` does."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes cannot apply")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


CLI_CHILD = "import sys; from clearbg_desktop.cli import main; raise SystemExit(main(sys.argv[1:]))"


def cli_child(args: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(clearbg_desktop.__file__).resolve().parents[1])}
    return subprocess.run([*as_a_normal_user(), sys.executable, "-c", CLI_CHILD, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_unreadable_background_is_refused_without_hanging(tmp_path: Path, random_weights: Path) -> None:
    os.chmod(tmp_path, 0o755)  # the child runs without root's read-anything capability
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    os.mkfifo(tmp_path / "fifo")
    locked = tmp_path / "locked.png"
    Image.new("RGB", (40, 30)).save(locked)
    locked.chmod(0)
    for image in (tmp_path / "fifo", locked):
        path = presets_file(tmp_path / f"{image.stem}.json", {"name": "Bg", "options": {
            "background": {"kind": "image", "image_path": str(image)}}})
        out = tmp_path / f"out-{image.stem}"
        done = cli_child([str(photo), "-o", str(out), "-q", "--preset", str(path)], tmp_path)  # never hangs
        assert done.returncode == 2 and one_line(done.stderr), done.stderr
        assert "background image" in done.stderr and not out.exists()
    with pytest.raises(ValueError, match="is not a file"):  # --bg's check, which the preset's shares
        Background.parse(str(tmp_path / "fifo"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_preset_file_that_is_a_folder_or_fifo_says_what_it_is(tmp_path: Path) -> None:
    """Round 5 X11: --preset x.json on a FIFO or a folder said "no preset named 'x.json'"."""
    from clearbg_desktop.core.imaging.presets import PresetError, find_preset

    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(PresetError, match="is not a regular file"):
        find_preset(str(tmp_path / "fifo.json"), {})
    with pytest.raises(PresetError, match="is a folder"):
        find_preset(str(tmp_path / "folder.json"), {})
