"""Crash reports (#43): what they say, and that no path outside ClearBG's folders and no photo content gets in."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from clearbg_desktop import __version__
from clearbg_desktop.core.build_info import version_text
from clearbg_desktop.core.crash_report import KEEP_REPORTS, app_folders, log_tail, report_text, scrub, write_report
from clearbg_desktop.core.paths import log_dir

PRIVATE = ["ann", "Wedding", "My Photos", "Kunde", "IMG_0042"]


def _raise_from_photo(path: str) -> None:
    pixels = np.full((4, 4), 123456789)  # a local the report must not show (photo contents)
    raise FileNotFoundError(2, f"No such file or directory: {pixels.shape}", path)


def test_report_names_build_os_traceback_and_log_but_no_private_path(tmp_path: Path) -> None:
    log = log_dir()
    log.mkdir(parents=True, exist_ok=True)
    (log / "clearbg.log").write_text("".join(f"2026-01-01 INFO clearbg: line {i}\n" for i in range(100))
                                     + "2026-01-01 INFO clearbg: opened /home/ann/Wedding/IMG_0042.CR3 (24 MP)\n")
    try:
        _raise_from_photo("/home/ann/My Photos/Kunde Wedding/IMG_0042.jpg")
    except FileNotFoundError:
        kind, value, tb = sys.exc_info()
    assert kind is not None and value is not None
    text = report_text(kind, value, tb, where="the window (GUI thread)", context={"Model": "full (ONNX Runtime)"})
    assert f"ClearBG {__version__}" in text and "commit " in text
    assert "OS: " in text and "Python " in text and "Model: full (ONNX Runtime)" in text
    assert "Installed model" in text
    assert "_raise_from_photo" in text and "FileNotFoundError" in text
    assert "<app>/tests/core/test_crash_report.py" in text  # our own files, named from the app's folder
    assert "line 99" in text and "line 59" not in text  # the log's last 40 lines, not more
    assert "<path>.jpg" in text and "<path>.CR3" in text
    for word in PRIVATE + ["123456789", "/home"]:
        assert word not in text, word


def test_scrub_keeps_app_folders_and_hides_every_other_path() -> None:
    folders = {"<app>": Path("/opt/ClearBG"), "<logs>": Path("/home/ann/.local/state/ClearBG/log")}
    text = scrub('File "/opt/ClearBG/_internal/x.py", line 3; log /home/ann/.local/state/ClearBG/log/clearbg.log; '
                 "open 'C:\\Users\\ann\\My Photos\\a.tif' and D:/Kunde/b.png and ~/Wedding/c.heic; ratio 1/2, "
                 "https and 4/3 and a / b", folders)
    assert 'File "<app>/_internal/x.py"' in text and "<logs>/clearbg.log" in text
    assert "'<path>.tif'" in text and "<path>.png" in text and "<path>.heic" in text
    assert "ratio 1/2" in text and scrub("a /mnt/My Photos/Kunde/x.jpg b", {}) == "a <path>.jpg b"
    assert "ratio 1/2" in text and "4/3" in text and "a / b" in text
    for word in PRIVATE:
        assert word not in text, word


def test_scrub_hides_the_home_folder_even_with_spaces_unquoted() -> None:
    home = str(Path.home())
    text = scrub(f"saved to {home}/My Photos/Kunde Wedding/IMG_0042.png\nnext line", {})
    assert "My Photos" not in text and "Kunde" not in text and "IMG_0042" not in text
    assert text.endswith("next line")


def test_app_folders_cover_logs_and_the_install() -> None:
    folders = app_folders()
    assert folders["<logs>"] == log_dir()
    assert (folders["<app>"] / "clearbg_desktop").is_dir()


def test_reports_are_kept_in_the_log_folder_and_pruned(tmp_path: Path) -> None:
    paths = [write_report(f"report {i}", tmp_path) for i in range(KEEP_REPORTS + 5)]
    kept = sorted(tmp_path.glob("crash-*.txt"))
    assert len(kept) == KEEP_REPORTS
    assert paths[-1] in kept and paths[0] not in kept
    assert log_tail(tmp_path / "missing.log") == []


def test_version_text_names_commit_and_models(random_weights: Path) -> None:
    text = version_text()
    lines = text.splitlines()
    assert lines[0] == f"ClearBG {__version__}"
    assert lines[1].startswith("commit ") and "unknown" not in lines[1]  # a checkout: git says which
    assert any(line.startswith("model small: ") and "SHA-256 " in line for line in lines)


def test_only_errors_of_no_expected_kind_make_a_report() -> None:
    """A worker's catch-all says every error; a full disk or a lack of memory is no bug, and makes no report."""
    from clearbg_desktop.core.crash_report import note_unexpected, set_unexpected_handler

    noted: list[tuple[str, str]] = []
    set_unexpected_handler(lambda exc, where: noted.append((type(exc).__name__, where)))
    try:
        note_unexpected(MemoryError(), "cutting out a photo")
        note_unexpected(OSError(28, "No space left on device"), "exporting a photo")
        note_unexpected(KeyError("alpha"), "batch export")
    finally:
        set_unexpected_handler(None)
    assert noted == [("KeyError", "batch export")]


def test_a_crash_report_says_the_last_self_test(tmp_path: Path) -> None:
    """#43: `--self-test` output in the report, without running the model again while reporting a crash."""
    from clearbg_desktop.core.crash_report import last_self_test, remember_self_test, report_text

    assert last_self_test(tmp_path) == ""
    remember_self_test("ClearBG self-test OK: U²-Net small on CPU (fp32), 0.42 s", tmp_path)
    assert last_self_test(tmp_path).endswith("ClearBG self-test OK: U²-Net small on CPU (fp32), 0.42 s")
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "last-self-test.txt").write_text("x" * 10_000)  # not one ClearBG wrote: not read
    assert last_self_test(tmp_path / "big") == ""
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        text = report_text(type(exc), exc, exc.__traceback__, where="a test", log_lines=[])
    assert "Last self-test:" in text
