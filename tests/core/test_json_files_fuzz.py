"""Every JSON file ClearBG reads back, as anything could leave it (issue #36), built here from a valid one: settings.json,
a shared presets file, engine-speeds.json, seconds-per-photo.json and an onnx-cache side file.

Each kind's hostile variants (wrong types at a seeded random place, 10**400, NaN and Infinity, nesting 100,000 deep,
files past their bound, control and bidi characters, and in place of the file a folder, a FIFO, a mode 000 file, a
symlink to someone else's file or to nothing) are read, then written, by the real functions in a child process whose
address space is capped (RLIMIT_AS), whose time is bounded and in which file modes apply. Allowed: one clear line,
or the good entries loaded; never a traceback, never a hang; settings.json that could not be read is not rewritten;
a symlink's target is never written.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import clearbg_desktop
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from clearbg_desktop.core.inference.engine_choice import machine_fingerprint
from clearbg_desktop.core.inference.engines import onnx_copy
from clearbg_desktop.core.inference.weights import find_weights
from tests.core.imaging.test_preset_safety import as_a_normal_user
from tests.json_places import json_places, replaced

SEED = 36
RANDOM_CASES = 24
MEMORY_BUDGET = 2**30  # address space a child may add to what its imports took
ORT, TORCH = "onnxruntime:cpu:fp32", "torch:cpu:fp32"
TOKENS = {'"__BIG__"': "1" + "0" * 400, '"__NAN__"': "NaN", '"__INF__"': "-Infinity",
          '"__DEEP__"': "[" * 100_000 + "]" * 100_000}
HOSTILE_VALUES: list[object] = [None, True, False, 0, -1, 0.0, "", "x" * 5000, [], {}, [[[[]]]], "__BIG__", "__NAN__",
                                "__INF__", "__DEEP__", "a\u202eb\u2028c\x7f\x00", 2**64, {"x": "__BIG__"}]
#: Where the file lives in its folder, and how large it may be (a larger one is not read).
FILES = {"settings": ("settings.json", 8 * 2**20), "presets": ("presets.json", 256 * 1024),
         "engine-speeds": ("engine-speeds.json", 2**20), "seconds-per-photo": ("seconds-per-photo.json", 256 * 1024),
         "onnx-cache": ("onnx-cache/side.json", 64 * 1024)}


@dataclass
class Case:
    name: str
    text: str | None = None  # None: ``special`` says what stands there
    special: str = ""  # folder | fifo | mode000 | symlink | dangling | loop
    touched: tuple[object, ...] | None = None  # the JSON path a random mutation replaced
    good: bool = False  # the valid file, unchanged: everything must load


def render(data: object) -> str:
    text = json.dumps(data)
    for token, value in TOKENS.items():
        text = text.replace(token, value)
    return text


def hand_cases(valid: dict, limit: int) -> list[Case]:
    text = render(valid)
    return [
        Case("valid", text, good=True),
        Case("empty", ""), Case("truncated", text[: len(text) // 2]), Case("not JSON", "{'single': 'quotes'}"),
        Case("null", "null"), Case("a list", f"[{text}]"), Case("a number", "1" + "0" * 400),
        Case("nested 100,000 deep", '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        Case("just past its bound", text[:-1] + ', "pad": "' + "x" * limit + '"}'),
        Case("not UTF-8", text[:-1] + ', "k": "\udcff"}'),
        Case("control and bidi keys", text[:-1] + ', "\\u0000\\u202e\\u2028": {"\\u007f": 1}}'),
        Case("NaN everywhere", render(json.loads(json.dumps(valid), parse_float=lambda _: "__NAN__",
                                                 parse_int=lambda _: "__NAN__"))),
        Case("10**400 everywhere", render(json.loads(json.dumps(valid), parse_float=lambda _: "__BIG__",
                                                     parse_int=lambda _: "__BIG__"))),
        Case("a folder", special="folder"), Case("a FIFO", special="fifo"), Case("mode 000", text, special="mode000"),
        Case("a symlink to someone's file", text, special="symlink"), Case("a dangling symlink", special="dangling"),
        Case("a symlink loop", special="loop"),
    ]


def random_cases(valid: dict, count: int, rng: random.Random) -> list[Case]:
    """A hostile value at a seeded random place of the valid file (never its root)."""
    places = json_places(valid)
    cases = []
    for number in range(count):
        path = rng.choice(places[1:])
        value = rng.choice(HOSTILE_VALUES)
        copy = replaced(valid, path, value)
        # Nesting 100,000 deep anywhere makes the whole file unparsable: it then touches every entry.
        cases.append(Case(f"random {number}: {'.'.join(map(str, path))} = {str(value)[:16]!r}", render(copy),
                          touched=() if value == "__DEEP__" else path))
    return cases


def untouched(case: Case, keep: list[tuple[object, ...]]) -> bool:
    """Whether ``case`` left every path in ``keep`` as the valid file had it (a random one that touched none)."""
    if case.good:
        return True
    if case.touched is None:
        return False
    return all(case.touched[: len(path)] != path and path[: len(case.touched)] != case.touched for path in keep)


# ----- the valid files ---------------------------------------------------------------------------------------

def valid_files(entry_sha: str, onnx_sha: str) -> dict[str, dict]:
    web = ExportOptions(format="jpg", quality=80, name_template="{name}-web").to_dict()
    studio = ExportOptions(format="png", crop_to_subject=True, shadow=ShadowSettings(kind="contact")).to_dict()
    return {
        "settings": {"model": "small", "brush_size": 40, "brush_hardness": 0.5, "export": studio,
                     "export_presets": {"Team web": web, "Studio": studio}, "batch_inputs": ["/photos"],
                     "settings_version": 2},
        "presets": {"clearbg_presets": 1, "presets": [{"name": "Team web", "options": web},
                                                      {"name": "Studio", "options": studio}]},
        "engine-speeds": {"version": 1, "machines": {machine_fingerprint(None): {entry_sha: {
            "seconds": {ORT: 0.2, TORCH: 0.1}, "agrees": {ORT: True, TORCH: True},
            "measured": "2026-12-06T10:00:00+00:00"}}}},
        "seconds-per-photo": {"small@cpu": {"seconds": 2.0, "photos": 3}, "full@cpu": {"seconds": 5.0, "photos": 2}},
        "onnx-cache": {"sha256": onnx_sha, "exported_from": entry_sha},
    }


def keep_paths(kind: str, fingerprint: str, sha: str) -> list[tuple[object, ...]]:
    """The JSON paths of a kind's good entry: a random case that left them as they were must still load it."""
    record = ("machines", fingerprint, sha)
    return {"settings": [("model",), ("settings_version",), ("export_presets", "Team web")],
            "presets": [("clearbg_presets",), ("presets", 0)],
            "engine-speeds": [("version",), (*record, "seconds", TORCH), (*record, "agrees")],
            "seconds-per-photo": [("small@cpu",)],
            "onnx-cache": [("sha256",)]}[kind]


#: Per kind: what shows that its good entry loaded.
LOADED: dict[str, Callable[[dict], bool]] = {
    "settings": lambda r: r.get("model") == "small" and "Team web" in r.get("presets", []),
    "presets": lambda r: "Team web" in r.get("presets", []),
    "engine-speeds": lambda r: r.get("before", {}).get(TORCH) == 0.1,
    "seconds-per-photo": lambda r: r.get("before") == 2.0,
    "onnx-cache": lambda r: r.get("reused") is True,
}

CHILD = r"""
import contextlib, io, json, os, resource, sys, traceback, warnings
from pathlib import Path

warnings.simplefilter("ignore")
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.core.imaging.presets import PresetError, read_presets
from clearbg_desktop.core.inference import engine_choice
from clearbg_desktop.core.inference.engines import ONNX_COPY_FORM, onnx_copy
from clearbg_desktop.core.inference.model_library import measured_speed
from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo, seconds_per_photo
from clearbg_desktop.core.inference.weights import find_weights

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

kind, folders, budget = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
entry = find_weights("small")
limit = status("VmSize") * 1024 + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
TORCH = "torch:cpu:fp32"
for folder in folders:
    os.environ["CLEARBG_CONFIG_DIR"] = os.environ["CLEARBG_DATA_DIR"] = folder
    result = {}
    try:
        if kind == "settings":
            settings = AppSettings.load()
            result.update(model=settings.model, presets=list(settings.export_presets), unreadable=settings.unreadable,
                          saved=settings.save() is not None)
        elif kind == "presets":
            try:
                presets, skipped = read_presets(Path(folder) / "presets.json")
                result.update(presets=[p.name for p in presets], skipped=skipped)
            except PresetError as exc:
                result["error"] = str(exc)
        elif kind == "engine-speeds":
            result["before"] = engine_choice.read_measurements(entry).get("seconds", {})
            result["speed"] = measured_speed(entry)
            engine_choice._write_measurements(entry, None, {"seconds": {TORCH: 0.5}, "agrees": {TORCH: True}})
            result["after"] = engine_choice.read_measurements(entry).get("seconds", {})
        elif kind == "seconds-per-photo":
            result["before"] = seconds_per_photo("small", "cpu")
            record_seconds_per_photo("small", "cpu", 4.0, 1)
            result["after"] = seconds_per_photo("small", "cpu")
        else:
            side = Path(folder) / "onnx-cache" / "side.json"
            cached = Path(folder) / "onnx-cache" / f"{entry.sha256[:16]}-{entry.input_size}-{ONNX_COPY_FORM}"
            if side.exists() or side.is_symlink():
                side.rename(cached.with_suffix(".json"))
            stamp = cached.with_suffix(".onnx").stat().st_mtime_ns
            copy = onnx_copy(entry)
            import hashlib
            result.update(ok=copy.path.is_file() and hashlib.sha256(copy.path.read_bytes()).hexdigest() == copy.sha256,
                          reused=copy.path == cached.with_suffix(".onnx")
                          and cached.with_suffix(".onnx").stat().st_mtime_ns == stamp)
    except BaseException:
        result["crash"] = traceback.format_exc()[-3000:]
    print("RESULT " + json.dumps(result), flush=True)
"""


def place(case: Case, target: Path, victim_root: Path) -> Path | None:
    """Put ``case`` where the file should be; the victim file a symlink points to, if any."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if case.special == "folder":
        (target / "inside").mkdir(parents=True)
    elif case.special == "fifo":
        os.mkfifo(target)
    elif case.special == "dangling":
        target.symlink_to(victim_root / "nothing-here")
    elif case.special == "loop":
        target.symlink_to(target)
    elif case.special == "symlink":
        victim = victim_root / f"victim-{target.parent.parent.name}.json"
        victim.write_text(case.text or "", encoding="utf-8")
        victim.chmod(0o640)
        target.symlink_to(victim)
        return victim
    else:
        target.write_bytes((case.text or "").encode("utf-8", "surrogateescape"))
        if case.special == "mode000":
            target.chmod(0)
    return None


def snapshot(path: Path) -> tuple[object, ...]:
    try:
        info = path.lstat()
    except FileNotFoundError:
        return ("missing",)
    is_file = path.is_file() and not path.is_symlink() and info.st_mode & 0o400
    return info.st_mode, info.st_ino, path.read_bytes() if is_file else None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and RLIMIT_AS are POSIX")
@pytest.mark.parametrize("kind", [pytest.param(kind, marks=pytest.mark.slow) if kind == "onnx-cache" else kind  # exports
                                  for kind in FILES])
def test_hostile_json_files_load_their_good_entries_or_say_one_line(kind: str, tmp_path: Path,
                                                                     random_weights: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    entry = find_weights("small")
    onnx_sha = ""
    if kind == "onnx-cache":
        monkeypatch.setenv("CLEARBG_DATA_DIR", str(tmp_path / "exported"))
        onnx_sha = onnx_copy(entry).sha256
    name, limit = FILES[kind]
    valid = valid_files(entry.sha256, onnx_sha)[kind]
    rng = random.Random(f"{SEED}-{kind}")
    cases = hand_cases(valid, limit) + random_cases(valid, RANDOM_CASES // (3 if kind == "onnx-cache" else 1), rng)
    victims = tmp_path / "victims"
    victims.mkdir()
    folders, before, victim_files = [], [], []
    for number, case in enumerate(cases):
        folder = tmp_path / "cases" / f"{number:03d}"
        if kind == "onnx-cache":
            shutil.copytree(tmp_path / "exported" / "onnx-cache", folder / "onnx-cache")
            for side in (folder / "onnx-cache").glob("*.json"):
                side.unlink()
        victim_files.append(place(case, folder / name, victims))
        before.append(snapshot(folder / name))
        folders.append(folder)
    victims_before = {path: path.read_bytes() for path in victims.iterdir()}
    env = {**os.environ, "PYTHONPATH": str(Path(clearbg_desktop.__file__).resolve().parents[1]),
           "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*as_a_normal_user(), sys.executable, "-c", CHILD, kind,
                           json.dumps([str(f) for f in folders]), str(MEMORY_BUDGET)],
                          env=env, capture_output=True, text=True, timeout=150)
    results = [json.loads(line[len("RESULT "):]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and len(results) == len(cases), done.stderr[-3000:]
    keep, loaded = keep_paths(kind, machine_fingerprint(None), entry.sha256), LOADED[kind]
    assert sum(untouched(case, keep) for case in cases) >= 3  # the good entries are checked beside bad ones
    for case, folder, result, old, victim in zip(cases, folders, results, before, victim_files, strict=True):
        where = f"{kind}: {case.name}"
        assert "crash" not in result, f"{where}\n{result.get('crash')}"
        for text in [result.get("error", ""), result.get("unreadable", ""), *result.get("skipped", [])]:
            assert "\n" not in text and "Traceback" not in text and len(text) < 600, (where, text)
        if untouched(case, keep):
            assert loaded(result), (where, result)
        if victim is not None:
            assert not (folder / name).is_symlink() or kind == "presets", where  # replaced by a regular file
        if kind == "settings" and result["unreadable"]:
            assert not result["saved"] and snapshot(folder / name) == old, where  # kept, not saved over
        if kind == "settings" and not result["unreadable"]:
            assert result["saved"] and json.loads((folder / name).read_text())["model"] == result["model"], where
        if kind == "presets":
            assert snapshot(folder / name) == old, where  # only ever read
        if kind in ("engine-speeds", "seconds-per-photo") and case.special not in ("folder", "loop"):
            assert result["after"] in ({TORCH: 0.5}, {"torch:cpu:fp32": 0.5, ORT: 0.2}, 4.0) or \
                (kind == "seconds-per-photo" and isinstance(result["after"], float)), (where, result)
        if kind == "onnx-cache":
            assert result["ok"], (where, result)
    assert {path: path.read_bytes() for path in victims.iterdir()} == victims_before  # no link written through
