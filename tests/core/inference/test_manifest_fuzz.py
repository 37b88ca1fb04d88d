"""Model manifests and cards as an attacker (or a half-written file) leaves them, built here from a valid models
folder (issue #36, STYLE 15 and 17).

A folder of three models (``alpha``, ``beta``, ``victim``) is copied once per case and its manifest or the victim's
card made hostile: wrong types, numbers beyond floats and beyond Python's digit limit, NaN, missing fields, deep
nesting, huge files, FIFOs and folders in place of files, names with ``../`` or control characters, and seeded
random mutations. Children whose address space is capped (RLIMIT_AS) read each folder as the app does
(``available_models``, ``clearbg-cli --list-models``), then try to add a model to it. Allowed: no traceback, every
message one line, ``alpha`` and ``beta`` still load whenever only the victim's entry or card was touched, reading
never rewrites the manifest, a refused add changes nothing, and a successful add keeps every entry it found, the
skipped ones as they were.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clearbg_desktop
from clearbg_desktop.core.inference.model_library import add_model_file, remove_model
from clearbg_desktop.core.inference.weights import read_manifest
from tests.core.inference.test_model_families import stand_in
from tests.json_places import json_places, replaced

SEED = 36
RANDOM_CASES = 30
MEMORY_BUDGET = 2**30  # address space a child may add to what its imports took
CHUNKS = 4
TIME_LIMIT_S = 240  # a whole chunk of cases; each case takes well under a second

CHILD = r"""
import contextlib, io, json, os, resource, sys, traceback, warnings
from pathlib import Path

import onnxruntime  # noqa: F401 - imported before the limit is measured, like the CLI's own imports
from clearbg_desktop.cli import main
from clearbg_desktop.core.inference.model_library import add_model_file
from clearbg_desktop.core.inference.weights import WeightsError, available_models

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

folders, newcomer, budget = json.loads(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
limit = status("VmSize") * 1024 + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

def state(folder):
    path = folder / "manifest.json"
    if not os.path.lexists(path):
        return None
    info = os.lstat(path)
    data = path.read_bytes() if os.path.isfile(path) and not os.path.islink(path) else b""
    return [info.st_mtime_ns, info.st_size, data.hex()]

for case in folders:
    folder = Path(case)
    result = {"folder": case}
    try:
        before = state(folder)
        files_before = sorted(os.listdir(folder))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result["models"] = sorted(available_models([folder]))
            except WeightsError as exc:
                result["unreadable"] = str(exc)
        result["warnings"] = [str(w.message) for w in caught]
        os.environ["CLEARBG_USER_MODELS"] = str(folder)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = lambda message, *a, **k: print(f"clearbg-cli: warning: {message}", file=sys.stderr)
            code = main(["--list-models"])
        result["list"] = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
        result["rewritten_by_reading"] = state(folder) != before
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                add_model_file(newcomer, "newcomer", folder)
            result["added"] = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result["after_add"] = sorted(available_models([folder]))
            result["manifest_after"] = (folder / "manifest.json").read_text(encoding="utf-8")
        except WeightsError as exc:
            result["refused"] = str(exc)
            result["changed_by_refusal"] = state(folder) != before or sorted(os.listdir(folder)) != files_before
    except BaseException:
        result["crash"] = traceback.format_exc()
    print("RESULT " + json.dumps(result), flush=True)
"""


@dataclass
class Case:
    name: str
    manifest: str | bytes | None = None  # None: the valid one
    card: bytes | None = None  # the victim's card file's new bytes
    special: str = ""  # "manifest-fifo", "manifest-dir", "manifest-devzero", "card-fifo", "card-dir", "card-devzero"
    kind: str = "entry"  # entry: only the victim's entry or card touched | file: the manifest as a whole | random


HOSTILE_VALUES: list[object] = [None, True, False, 0, -1, 2**64, 10**400, 1e308, -1e308, "", "x" * 5000, [], {},
                                [[[[]]]], "../../etc/passwd", "/etc/passwd", "a\x00b", "a\u202eb\u2028c\x7f",
                                0.5, 320.0, 2048, "__NAN__", "__INF__", "__BIGINT__", {"file": "x"}]


def dumps(manifest: dict) -> str:
    """JSON with the literals a hand-edited file may hold and ``json.dumps`` does not write."""
    return (json.dumps(manifest).replace('"__NAN__"', "NaN").replace('"__INF__"', "Infinity")
            .replace('"__BIGINT__"', "1" * 5000))


def hostile_cases(manifest: dict) -> list[Case]:
    victim = manifest["models"]["victim"]
    cases: list[Case] = [Case("valid")]

    def entry(name: str, item: object, key: str = "victim") -> Case:
        models = {k: v for k, v in manifest["models"].items() if k != "victim"}
        models[key] = item
        return Case(name, dumps({**manifest, "models": models}))

    for field in ("file", "sha256", "variant", "format", "family", "storage", "input_size", "card"):
        for value in HOSTILE_VALUES:
            cases.append(entry(f"victim.{field} = {str(value)[:16]!r}", {**victim, field: value}))
        cases.append(entry(f"victim without {field}", {k: v for k, v in victim.items() if k != field}))
    for value in (None, 5, "victim.onnx", [], [victim], "__NAN__", "__BIGINT__"):
        cases.append(entry(f"victim's entry = {str(value)[:16]!r}", value))
    deep = victim
    for _ in range(60):
        deep = {"nested": deep}
    cases.append(entry("victim nested 60 deep", deep))
    for key in ("../evil", "a/b", "\x00", "\u202eabc", "x" * 300, "", " full", "..", "new\nline"):
        cases.append(entry(f"victim named {key[:12]!r}", victim, key))
    cases.append(entry("victim pointing at the manifest", {**victim, "file": "manifest.json"}))
    cases.append(entry("victim's card is alpha's weights", {**victim, "card": manifest["models"]["alpha"]["file"]}))
    cases.append(Case("victim nested 100,000 deep", dumps(manifest).replace(
        '"victim": {', '"victim": {"deep": ' + "[" * 100_000 + "]" * 100_000 + ", "), kind="random"))
    for name, card in (("not JSON", b"{card"), ("a list", b"[]"), ("licence a number", b'{"licence": 5}'),
                       ("metrics a string", b'{"metrics": "x"}'), ("init a list", b'{"init": [1]}'),
                       ("training a number", b'{"training": 7}'),
                       ("odd metrics", b'{"metrics": {"models": {"m": {"max_fbeta": "x", "mae": 1' + b"0" * 400
                        + b'}}}}'),
                       ("NaN metrics", b'{"metrics": {"models": {"m": {"max_fbeta": NaN, "mae": Infinity}}}}'),
                       ("6 MB", b'{"pad": "' + b"x" * (6 << 20) + b'"}'), ("empty", b""),
                       ("not UTF-8", b'{"name": "\xff\xfe"}'), ("deep", b"[" * 100_000 + b"]" * 100_000)):
        cases.append(Case(f"victim's card {name}", card=card))
    for special in ("card-fifo", "card-dir", "card-devzero"):
        cases.append(Case(f"victim's card is {special[5:]}", special=special))
    text = dumps(manifest)
    for name, data in (("not JSON", "{models"), ("truncated", text[: len(text) // 2]), ("a list", "[1, 2]"),
                       ("models a list", '{"models": [1]}'), ("no models", '{"version": 1}'), ("empty", ""),
                       ("nested 100,000 deep", "[" * 100_000 + "]" * 100_000), ("null", "null"),
                       ("6 MB", text[:-1] + ', "pad": "' + "x" * (6 << 20) + '"}'),
                       ("UTF-16", text.encode("utf-16")), ("binary", bytes(range(256)) * 8),
                       ("models null", '{"models": null}')):
        cases.append(Case(f"manifest {name}", data, kind="file"))
    for special in ("manifest-fifo", "manifest-dir", "manifest-devzero"):
        cases.append(Case(f"manifest is {special[9:]}", special=special, kind="file"))
    return cases + random_cases(manifest)


def random_cases(manifest: dict) -> list[Case]:
    """Seeded: a hostile value somewhere in the whole manifest, or a few flipped bytes of its text."""
    rng = random.Random(SEED)
    places = json_places(manifest, lists=False)
    cases = []
    for number in range(RANDOM_CASES):
        if number % 3 == 2:
            data = bytearray(dumps(manifest).encode())
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            cases.append(Case(f"random {number}: bytes flipped", bytes(data), kind="random"))
            continue
        path = rng.choice(places[1:])
        value = rng.choice(HOSTILE_VALUES)
        copy = replaced(manifest, path, value)
        victim_only = len(path) >= 2 and path[1] == "victim"
        cases.append(Case(f"random {number}: {'.'.join(map(str, path))} = {str(value)[:16]!r}", dumps(copy),
                          kind="entry" if victim_only else "random"))
    return cases


def build(case: Case, template: Path, folder: Path) -> None:
    shutil.copytree(template, folder, symlinks=True)
    manifest_path, card_path = folder / "manifest.json", folder / "victim.card.json"
    if case.manifest is not None:
        manifest_path.write_bytes(case.manifest if isinstance(case.manifest, bytes) else case.manifest.encode())
    if case.card is not None:
        card_path.write_bytes(case.card)
    if case.special:
        target = manifest_path if case.special.startswith("manifest") else card_path
        target.unlink()
        kind = case.special.split("-")[1]
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "dir":
            target.mkdir()
        else:
            target.symlink_to("/dev/zero")


def run_chunk(folders: list[Path], newcomer: Path, env: dict[str, str]) -> list[dict]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps([str(f) for f in folders]), str(newcomer), str(MEMORY_BUDGET)],
        env=env, capture_output=True, text=True, timeout=TIME_LIMIT_S)
    results = [json.loads(line[len("RESULT "):]) for line in completed.stdout.splitlines()
               if line.startswith("RESULT ")]
    assert completed.returncode == 0 and len(results) == len(folders), (
        f"a child ended with {completed.returncode} after {len(results)} of {len(folders)} cases\n"
        f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}")
    return results


def loads(text: str) -> dict:
    """For comparing entries: NaN equal to itself, integers beyond Python's digit limit as their digits."""
    return json.loads(text, parse_constant=lambda constant: f"__{constant}__",  # NaN, not a string "NaN" in a key
                      parse_int=lambda digits: int(digits) if len(digits) < 400 else digits)


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message and len(message) < 600


@pytest.mark.slow
def test_hostile_manifests_and_cards_never_cost_the_good_models(tmp_path: Path) -> None:
    template = tmp_path / "template"
    add_model_file(stand_in(tmp_path / "a.onnx", 1024, 6), "alpha", template)
    add_model_file(stand_in(tmp_path / "b.onnx", 1024, 1), "beta", template)
    add_model_file(stand_in(tmp_path / "v.onnx", 1024, 6, gain=2.0), "victim", template)
    manifest = json.loads((template / "manifest.json").read_text())
    newcomer = stand_in(tmp_path / "newcomer.onnx", 1024, 6, gain=3.0)
    cases = hostile_cases(manifest)
    assert len({case.name for case in cases}) == len(cases)
    folders = []
    for number, case in enumerate(cases):
        folders.append(tmp_path / "cases" / f"{number:03d}")
        build(case, template, folders[-1])
    env = dict(os.environ)
    env.update(PYTHONPATH=str(Path(clearbg_desktop.__file__).resolve().parents[1]), MALLOC_ARENA_MAX="2",
               OMP_NUM_THREADS="1", CLEARBG_DATA_DIR=str(tmp_path / "data"))
    chunks = [folders[i::CHUNKS] for i in range(CHUNKS)]
    with ThreadPoolExecutor(min(2, os.cpu_count() or 1)) as pool:
        results = {result["folder"]: result
                   for chunk in pool.map(lambda chunk: run_chunk(chunk, newcomer, env), chunks) for result in chunk}
    problems = []
    for case, folder in zip(cases, folders, strict=True):
        result = results[str(folder)]
        if "crash" in result:
            problems.append(f"{case.name}: raised\n{result['crash']}")
            continue
        listing = result["list"]
        messages = [result.get("unreadable", ""), result.get("refused", ""), *result["warnings"]]
        problems += [f"{case.name}: not one clear line: {m!r}" for m in messages if m and not one_line(m)]
        if "Traceback" in listing["err"] or listing["code"] not in (0, 2):
            problems.append(f"{case.name}: --list-models gave {listing['code']}: {listing['err'][-800:]}")
        if result["rewritten_by_reading"]:
            problems.append(f"{case.name}: reading the folder rewrote its manifest")
        if result.get("changed_by_refusal"):
            problems.append(f"{case.name}: a refused add changed the folder")
        skipped = [w for w in result["warnings"] if "skipped model" in w]
        if case.kind == "entry":
            if not {"alpha", "beta"} <= set(result.get("models", [])):
                problems.append(f"{case.name}: the good models did not load: {result.get('models')} "
                                f"{result.get('unreadable', '')}")
            if len(skipped) != 3 - len(result.get("models", [])):  # each entry that did not load, named once
                problems.append(f"{case.name}: the bad entry was not named once: {result['warnings']}")
            if listing["code"] != 0 or listing["err"].count("skipped model") != len(skipped):
                problems.append(f"{case.name}: --list-models said {listing['code']}: {listing['err'][-500:]}")
        if case.kind == "file" and "unreadable" not in result:
            problems.append(f"{case.name}: a damaged manifest read as {result.get('models')}")
        if case.kind == "file" and "kept as it is" not in result.get("refused", ""):
            problems.append(f"{case.name}: the add was not refused as it should: {result.get('refused')}")
        if result.get("added"):
            after = loads(result["manifest_after"])["models"]
            try:
                before = loads(dumps(manifest) if case.manifest is None else case.manifest if isinstance(
                    case.manifest, str) else case.manifest.decode())["models"]
                assert isinstance(before, dict)
            except (ValueError, TypeError, KeyError, AssertionError):
                problems.append(f"{case.name}: a model was added over a manifest that could not be read")
                continue
            lost = [name for name in before if after.get(name) != before[name]]
            if lost or "newcomer" not in result["after_add"]:
                problems.append(f"{case.name}: the add lost or changed {lost} (loaded {result['after_add']})")
            if case.kind == "entry" and not {"alpha", "beta"} <= set(result["after_add"]):
                problems.append(f"{case.name}: after the add, the good models are gone: {result['after_add']}")
    assert not problems, "\n".join(problems)
    print(f"\n{len(cases)} manifests: {sum('models' in r for r in results.values())} read entry by entry, "
          f"{sum('unreadable' in r for r in results.values())} refused whole, "
          f"{sum(bool(r.get('added')) for r in results.values())} took a new model")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)
FIELDS = ("file", "sha256", "variant", "format", "family", "storage", "input_size", "card")


@pytest.fixture(scope="module")
def valid_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("valid") / "models"
    sources = tmp_path_factory.mktemp("sources")
    for name, outputs in (("alpha", 6), ("beta", 1), ("victim", 6)):
        add_model_file(stand_in(sources / f"{name}.onnx", 1024, outputs, gain=len(name)), name, folder)
    return folder


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=3), whole=st.none() | JSON,
       key=st.sampled_from(["victim", "../victim", "v\x00", "\u202ev", "victim" * 20]))
def test_whatever_one_entry_holds_the_others_load_and_survive_a_change(
        valid_folder: Path, tmp_path_factory: pytest.TempPathFactory, changes: dict, whole: object,
        key: str) -> None:
    """Property (STYLE 17): one entry, however broken, costs no other entry, is named at most once, is never
    rewritten by reading, and comes through another entry's removal exactly as it was."""
    folder = tmp_path_factory.mktemp("case") / "models"
    shutil.copytree(valid_folder, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    victim = manifest["models"].pop("victim")
    manifest["models"][key] = whole if whole is not None else {**victim, **changes}
    text = json.dumps(manifest)
    (folder / "manifest.json").write_text(text)
    read = read_manifest(folder)
    assert {"alpha", "beta"} <= set(read.entries)
    assert len(read.skipped) == 3 - len(read.entries) and all(one_line(line) for line in read.warnings())
    assert (folder / "manifest.json").read_text() == text
    remove_model("alpha", folder)
    after = json.loads((folder / "manifest.json").read_text())["models"]
    assert set(after) == {"beta", key} and loads(json.dumps(after[key])) == loads(json.dumps(manifest["models"][key]))
    assert "beta" in read_manifest(folder).entries and not (folder / "alpha.onnx").exists()
