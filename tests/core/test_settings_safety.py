"""settings.json as anyone (or any accident) could leave it (issue #36, round 4's D4, D5, D9): read entry by entry,
each bad entry named once and skipped; a file that cannot be read is kept as it is and never saved over; saving
never raises, whatever is where the file or its folder should be."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import clearbg_desktop
from clearbg_desktop.core.settings import AppSettings
from tests.core.imaging.test_preset_safety import as_a_normal_user

BIG = 10**400
TEAM_WEB = {"format": "jpg", "quality": 80}


def write_settings(text: str) -> Path:
    path = AppSettings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def loaded_with_warnings() -> tuple[AppSettings, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        settings = AppSettings.load()
    return settings, [str(w.message) for w in caught]


def test_one_bad_preset_never_costs_the_others_and_is_kept_in_the_file() -> None:
    write_settings(json.dumps({"model": "small", "settings_version": 2, "export_presets": {
        "Team web": TEAM_WEB, "Bad": {"quality": "__BIG__"}, "a\u202eb": {}, "Also fine": {}}})
        .replace('"__BIG__"', str(BIG)))
    settings, said = loaded_with_warnings()
    assert list(settings.export_presets) == ["Team web", "Also fine"] and settings.model == "small"
    assert len(said) == 2 and all(text.startswith("settings.json: export preset ") for text in said)
    assert "'Bad'" in said[0] and "401-digit" in said[0] and "\\u202e" in said[1]
    assert settings.load_notes == said
    assert settings.save() is not None  # quitting keeps what could not be used: a later version may read it
    kept = json.loads(AppSettings.path().read_text(encoding="utf-8"))["export_presets"]
    assert kept["Team web"]["quality"] == 80 and kept["Bad"] == {"quality": BIG} and "a\u202eb" in kept


def test_each_bad_field_is_named_and_skipped_the_rest_load() -> None:
    write_settings('{"model": "small", "brush_size": 1' + "0" * 400 + ', "brush_hardness": NaN, "device": 5, '
                   '"batch_inputs": "x", "export": {"quality": 1' + "0" * 400 + '}, "brush_opacity": 0.5, '
                   '"a_later_version_s_field": {"kept": true}, "settings_version": 2}')
    settings, said = loaded_with_warnings()
    assert settings.model == "small" and settings.brush_opacity == 0.5
    assert (settings.brush_size, settings.brush_hardness, settings.device) == (60, 0.7, "auto")
    assert [text.split(":")[1].split()[0] for text in said] == ["brush_size", "brush_hardness", "device",
                                                                 "batch_inputs", "export"]
    assert all("\n" not in text and len(text) < 300 for text in said)
    settings.save()
    assert json.loads(AppSettings.path().read_text())["a_later_version_s_field"] == {"kept": True}


CHILD = r"""
import json, sys, warnings
warnings.simplefilter("always")
from clearbg_desktop.core.settings import AppSettings
settings = AppSettings.load()
saved = settings.save()
print("RESULT " + json.dumps({"model": settings.model, "unreadable": getattr(settings, "unreadable", ""),
                              "saved": None if saved is None else str(saved)}))
"""


def load_and_save_in_a_child(config: Path, timeout: float = 30) -> tuple[dict, str]:
    """AppSettings.load() then save(), as the app does on start and quit, in a process where file modes apply and
    that a FIFO cannot hang forever."""
    env = {**os.environ, "CLEARBG_CONFIG_DIR": str(config),
           "PYTHONPATH": str(Path(clearbg_desktop.__file__).resolve().parents[1])}
    done = subprocess.run([*as_a_normal_user(), sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), done.stderr


def unreadable_files(config: Path) -> dict[str, Path]:
    """Each a settings.json that cannot be read, made from a valid one."""
    valid = json.dumps({"model": "small", "brush_size": 40, "export_presets": {"Team web": TEAM_WEB},
                        "settings_version": 2})
    cases: dict[str, Path] = {}
    for name, text in {"not JSON": valid[:-5], "a list": "[" + valid + "]", "nested 100,000 deep":
                       '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}", "9 MB": valid[:-1] + ', "pad": "'
                       + "x" * 9_000_000 + '"}', "not UTF-8": valid.replace("small", "sm\udcffall")}.items():
        folder = config / name.replace(" ", "_").replace(",", "")
        folder.mkdir(parents=True)
        (folder / "settings.json").write_bytes(text.encode("utf-8", "surrogateescape"))
        cases[name] = folder
    cases["mode 000"] = config / "mode000"
    cases["mode 000"].mkdir()
    (cases["mode 000"] / "settings.json").write_text(valid)
    (cases["mode 000"] / "settings.json").chmod(0)
    cases["a folder"] = config / "folder"
    (cases["a folder"] / "settings.json" / "inside").mkdir(parents=True)
    if hasattr(os, "mkfifo"):
        cases["a FIFO"] = config / "fifo"
        cases["a FIFO"].mkdir()
        os.mkfifo(cases["a FIFO"] / "settings.json")
    return cases


def snapshot(path: Path) -> tuple[int, bytes | None]:
    info = path.lstat()
    return info.st_mode, path.read_bytes() if path.is_file() else None


def test_an_unreadable_settings_file_is_kept_and_never_saved_over(tmp_path: Path) -> None:
    for case, config in unreadable_files(tmp_path / "configs").items():
        target = config / "settings.json"
        before = snapshot(target)
        result, err = load_and_save_in_a_child(config)
        assert result["model"] == "auto" and result["saved"] is None, case  # defaults, and nothing written
        assert str(target) in result["unreadable"] and "kept" in result["unreadable"], (case, result)
        assert err.count(result["unreadable"]) == 1, (case, err)  # said once
        assert snapshot(target) == before, case
        assert sorted(p.name for p in config.iterdir()) == ["settings.json"], case  # no temporary file left


def test_saving_never_raises_where_it_cannot_write(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the config folder should be")
    result, err = load_and_save_in_a_child(blocked / "ClearBG")
    assert result["saved"] is None and "Traceback" not in err
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    read_only.chmod(0o555)
    result, err = load_and_save_in_a_child(read_only)
    assert result == {"model": "auto", "unreadable": "", "saved": None}
    assert "settings were not saved" in err and list(read_only.iterdir()) == []


def test_the_cli_says_an_unreadable_settings_file_in_one_warning_line(tmp_path: Path) -> None:
    from tests.core.imaging.test_preset_safety import cli_child

    path = write_settings('{"model": "small", "export_presets": {"Team web": {"format": "jpg"}}')  # cut short
    before = path.read_bytes()
    done = cli_child(["--list-presets"], tmp_path)
    assert done.returncode == 0 and "Transparent PNG" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("clearbg-cli: warning: ") and str(path) in lines[0], done.stderr
    assert path.read_bytes() == before
    write_settings('{"model": "small", "export_presets": {"Team web": {"format": "jpg"}, "Bad": {"quality": 1'
                   + "0" * 400 + "}}}")
    done = cli_child(["--list-presets"], tmp_path)
    assert done.returncode == 0 and "Team web" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "export preset 'Bad' skipped" in lines[0], done.stderr
