"""Project files as an attacker would write them (issue #28), built here from a valid one.

Each hostile project is opened by the core (``read_project``, ``open_photo``, ``export_from_project``) and exported
by ``clearbg-cli`` in a child process whose address space is capped (RLIMIT_AS) and whose time is bounded. The
only outcomes allowed: one clear line of error, or a correct export; never a traceback, never running out of
memory, never a file outside the output folder. Opening one may not take more than twice the memory opening the
valid project takes. A seeded set of random mutations (wrong types, extreme numbers, flipped bytes) joins the
hand-written cases (bombs, deep JSON, non-finite numbers, out-of-range settings, traversal and symlink members,
size mismatches).
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import clearbg_desktop
from clearbg_desktop.core.editing.mask_edits import Brush, Stroke
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from tests.conftest import make_photo
from tests.json_places import json_places, replaced

SEED = 28
RANDOM_CASES = 24
MEMORY_BUDGET = 2**30  # address space a child may add to what its imports took; every bomb here needs more
TIME_LIMIT_S = 30
PHOTO_SIZE = (160, 120)

CHILD = r"""
import contextlib, io, json, os, resource, sys, traceback
from pathlib import Path

from clearbg_desktop.cli import main
from clearbg_desktop.core.imaging.atomic_write import OutputError
from clearbg_desktop.core.imaging.loading import ImageLoadError
from clearbg_desktop.core.editing.project import ProjectError, export_from_project, open_photo, read_project

def status(field):  # in KiB; VmHWM is this process's own peak (ru_maxrss would carry the parent's over exec)
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))


project, core_out, cli_out, budget = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
limit = status("VmSize") * 1024 + budget
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
result = {}
try:
    opened = read_project(project)
    result["open_rss_kb"] = status("VmHWM")
    open_photo(opened, project)
    written = export_from_project(project, core_out / "core.png")
    result["core"] = {"ok": str(written)}
except (ProjectError, ImageLoadError, OutputError, ValueError) as exc:
    result.setdefault("open_rss_kb", status("VmHWM"))
    result["core"] = {"error": str(exc), "type": type(exc).__name__}
except BaseException:
    result.setdefault("open_rss_kb", status("VmHWM"))
    result["core"] = {"crash": traceback.format_exc()}
out, err = io.StringIO(), io.StringIO()
try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(project), "-o", str(cli_out), "-q"])
except SystemExit as exc:
    code = exc.code
except BaseException:
    code, err = "crash", io.StringIO(err.getvalue() + traceback.format_exc())
result["cli"] = {"code": code, "out": out.getvalue(), "err": err.getvalue()}
result["rss_kb"] = status("VmHWM")
print("RESULT " + json.dumps(result))
"""


@dataclass
class Case:
    name: str
    members: list[tuple[zipfile.ZipInfo | str, bytes]] | None = None  # None: ``raw`` is the whole file
    raw: bytes = b""
    expect: str = "either"  # ok | error | either
    beside: bool = False  # a picture "background.png" beside the project


# ----- building blocks -------------------------------------------------------------------------------------

def zeros_zlib(count: int) -> bytes:
    """A zlib stream of ``count`` zero bytes in a few MB, without making them: full-flushed 1 MiB blocks all
    compress to the same bytes, and the Adler-32 of zeros is known."""
    block = 2**20
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    repeated = packer.compress(bytes(block)) + packer.flush(zlib.Z_FULL_FLUSH)
    tail = packer.compress(bytes(count % block)) + packer.flush()
    adler = ((count % 65521) << 16) | 1
    return b"\x78\xda" + repeated * (count // block) + tail + adler.to_bytes(4, "big")


def png16_header_only(width: int, height: int) -> bytes:
    """A 16-bit greyscale PNG of zeros that declares ``width``×``height`` (a few MB for gigapixels)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zeros_zlib(height * (1 + width * 2)))
            + chunk(b"IEND", b""))


def png(image: Image.Image, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def pack(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    """Every member deflated, as a hostile writer would (repeated bytes then cost nothing on disk)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def streamed(members: list[tuple[str, bytes]], name: str, head: bytes, size: int, fill: bytes = b"\0",
             end: bytes = b"") -> bytes:
    """A zip whose member ``name`` is ``head``, ``size`` bytes of ``fill`` and ``end``, written without holding
    them (the other members as they are)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for other, data in members:
            if other != name:
                archive.writestr(other, data)
        with archive.open(name, "w", force_zip64=True) as member:
            member.write(head)
            block = fill * (2**20 // len(fill))
            for _ in range(size // len(block)):
                member.write(block)
            member.write(end)
    return buffer.getvalue()


def patched_central(data: bytes, name: str, offset: int, fmt: str, value: int) -> bytes:
    """Overwrite one field of ``name``'s central-directory entry (sizes, flags, method: what a writer claims)."""
    out = bytearray(data)
    end = out.rindex(b"PK\x05\x06")
    count, _size, at = struct.unpack_from("<HII", out, end + 10)
    for _ in range(count):
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", out, at + 28)
        if out[at + 46:at + 46 + name_length] == name.encode():
            struct.pack_into(fmt, out, at + offset, value)
            return bytes(out)
        at += 46 + name_length + extra_length + comment_length
    raise AssertionError(f"{name} not in the central directory")


def symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info


# ----- the valid project and the hostile ones made from it --------------------------------------------------

def valid_project(root: Path) -> Path:
    photo = root / "photos" / "photo.jpg"
    photo.parent.mkdir(parents=True)
    make_photo(PHOTO_SIZE).save(photo, quality=92)
    predicted = np.zeros((PHOTO_SIZE[1], PHOTO_SIZE[0]), np.uint8)
    predicted[30:100, 40:120] = 255
    alpha = predicted.copy()
    history = []
    for x, mode in ((50, "erase"), (100, "restore"), (70, "erase")):
        stroke = Stroke(alpha, Brush(size=20, mode=mode))
        stroke.move_to(x, 40)
        stroke.move_to(x + 30, 80)
        edit = stroke.finish()
        assert edit is not None
        history.append(edit)
    options = ExportOptions(format="png", refine=RefineSettings(feather=1.0),
                            shadow=ShadowSettings(kind="drop", opacity=40.0))
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha, predicted=predicted,
                      export_options=options, history=history, position=3)
    return save_project(project, root / "valid.clearbg")


def hostile_cases(valid: Path, secret: Path) -> list[Case]:
    with zipfile.ZipFile(valid) as archive:
        base = [(name, archive.read(name)) for name in archive.namelist()]
    members = dict(base)
    description = json.loads(members["project.json"])

    def edited(change: Callable[[dict], object]) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
        copy = json.loads(json.dumps(description))
        change(copy)
        return replaced("project.json", json.dumps(copy).replace('"__INF__"', "Infinity")
                        .replace('"__NAN__"', "NaN").encode())

    def replaced(name: str, data: bytes) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
        return [(n, data if n == name else d) for n, d in base]

    def export(**changes: object) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
        return edited(lambda d: d["export"].update(changes))

    def refine(**changes: object) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
        return edited(lambda d: d["export"]["refine"].update(changes))

    def box(value: object) -> list[tuple[zipfile.ZipInfo | str, bytes]]:
        return edited(lambda d: d["history"]["edits"][0].update(box=value))

    full_frame = [0, 0, *PHOTO_SIZE]
    json_text = members["project.json"]
    assert b'"feather": 1.0' in json_text
    cases = [
        Case("valid", base, expect="ok"),
        Case("unknown keys", edited(lambda d: d.update(future={"x": 1})), expect="ok"),
        # bombs
        Case("patch of 6 GiB zeros", replaced("history/0000.after", zeros_zlib(6 * 2**30)), expect="error"),
        Case("patch inflating past its box", [(n, zeros_zlib(16 * 2**20) if n == "history/0000.before" else d)
                                              for n, d in box(full_frame)], expect="error"),
        Case("patch with 1.5 GiB of trailing zeros",
             raw=streamed(base, "history/0000.after", members["history/0000.after"], 3 * 2**29), expect="error"),
        Case("project.json of a 512 MB list", raw=streamed(base, "project.json", json_text[:-1] + b', "pad": [',
                                                            2**29, fill=b"0,", end=b"0]}"), expect="error"),
        Case("mask declaring 30000x30000", replaced("mask.png", png16_header_only(30_000, 30_000)),
             expect="error"),
        Case("predicted declaring 20000x20000", replaced("predicted.png", png16_header_only(20_000, 20_000)),
             expect="error"),
        Case("mask one pixel too wide", replaced("mask.png", png(Image.new("I;16", (161, 120)))), expect="error"),
        Case("mask in RGB", replaced("mask.png", png(Image.new("RGB", PHOTO_SIZE))), expect="error"),
        Case("mask as a GIF", replaced("mask.png", (lambda b: (Image.new("L", PHOTO_SIZE).save(b, "GIF"),
                                                               b.getvalue())[1])(io.BytesIO())), expect="error"),
        Case("predicted missing", [(n, d) for n, d in base if n != "predicted.png"], expect="error"),
        Case("patch missing", [(n, d) for n, d in base if n != "history/0002.before"], expect="error"),
        # JSON that breaks parsers
        Case("JSON nested 200,000 deep", replaced("project.json", json_text[:-1] + b', "x": ' + b"[" * 200_000
                                                  + b"]" * 200_000 + b"}"), expect="error"),
        Case("refine nested 100,000 deep", replaced("project.json", json_text.replace(
            b'"refine": {', b'"refine": {"deep": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b", ")),
             expect="error"),
        Case("Infinity as the width", edited(lambda d: d["photo"].update(width="__INF__")), expect="error"),
        Case("NaN in a box", box(["__NAN__", 0, 10, 10]), expect="error"),
        Case("1e999 as the feather", replaced("project.json", json_text.replace(b'"feather": 1.0', b'"feather": 1e999')),
             expect="error"),
        Case("a 2^70 wide box", box([0, 0, 2**70, 10]), expect="error"),
        Case("box of five sides", box([0, 0, 10, 10, 10]), expect="error"),
        Case("box of strings", box(["0", "0", "10", "10"]), expect="error"),
        Case("export as a list", edited(lambda d: d.update(export=[1, 2])), expect="error"),
        Case("refine as a string", export(refine="sharp"), expect="error"),
        Case("colour ['a', null]", edited(lambda d: d["export"]["background"].update(color=["a", None])),
             expect="error"),
        Case("history as a number", edited(lambda d: d.update(history=5)), expect="error"),
        Case("position past the end", edited(lambda d: d["history"].update(position=99)), expect="error"),
        Case("format_version 1.0", edited(lambda d: d.update(format_version=1.0)), expect="error"),
        Case("format_version '1'", edited(lambda d: d.update(format_version="1")), expect="error"),
        Case("a 500 MP photo", edited(lambda d: d["photo"].update(width=25_000, height=20_000)), expect="error"),
        Case("sha256 not hex", edited(lambda d: d["photo"].update(sha256="zz" * 32)), expect="error"),
        Case("photo path with NUL", edited(lambda d: d["photo"].update(path="/tmp/a\x00b.jpg")), expect="error"),
        Case("photo path traversal", edited(lambda d: d["photo"].update(path="../../../../etc/passwd")),
             expect="error"),
        # settings out of range
        Case("long edge 60000", export(resize_long_edge=60_000), expect="error"),
        Case("resize 100000 %", export(resize_percent=100_000), expect="error"),
        Case("long edge 30000 (too large for this photo)", export(resize_long_edge=30_000), expect="error"),
        Case("resize 1000 %", export(resize_percent=1000), expect="ok"),
        Case("shift 10^6", refine(shift=10**6), expect="error"),
        Case("PNG level 99", export(png_compress_level=99), expect="error"),
        Case("crop padding -10^9", export(crop_padding=-10**9, crop_to_subject=True), expect="error"),
        Case("JPEG quality -5", export(format="jpg", quality=-5), expect="error"),
        Case("shadow opacity 10^400", edited(lambda d: d["export"]["shadow"].update(opacity=10**400)),
             expect="error"),
        Case("shadow angle NaN", edited(lambda d: d["export"]["shadow"].update(angle=float("nan"))), expect="error"),
        Case("shadow of an unknown kind", edited(lambda d: d["export"]["shadow"].update(kind="spot")),
             expect="error"),
        Case("shadow as a list", export(shadow=[1, 2]), expect="error"),
        Case("shadow on a layered file", export(format="psd"), expect="error"),
        Case("shadow null", export(shadow=None), expect="ok"),
        Case("name template with folders", export(name_template="../../escaped-{name}"), expect="error"),
        Case("name template padding 10^9", export(name_template="{name:>999999999}"), expect="error"),
        Case("background image elsewhere", edited(lambda d: d["export"].update(
            background={"kind": "image", "image_path": str(secret)})), expect="error"),
        Case("background image beside", edited(lambda d: d["export"].update(
            background={"kind": "image", "image_path": "/somewhere/else/background.png"})), expect="ok",
             beside=True),
        # zip-level tricks
        Case("traversal members", base + [("../../escaped.txt", b"x"), ("/tmp/escaped-abs.txt", b"x")],
             expect="ok"),
        Case("mask as a symlink", [(symlink("mask.png") if n == "mask.png" else n, b"/etc/passwd"
                                    if n == "mask.png" else d) for n, d in base], expect="error"),
        Case("extra symlink member", base + [(symlink("link"), b"/etc/passwd")], expect="ok"),
        Case("40,100 members", base + [(f"junk/{i}", b"") for i in range(40_100)], expect="error"),
        Case("member declaring less than it holds", raw=patched_central(
            pack(base), "history/0001.after", 24, "<I", 3), expect="error"),
        Case("member declaring 3 GiB", raw=patched_central(pack(base), "mask.png", 24, "<I", 3 * 2**30),
             expect="error"),
        Case("encrypted member", raw=patched_central(pack(base), "mask.png", 8, "<H", 1), expect="error"),
        Case("unknown compression", raw=patched_central(pack(base), "mask.png", 10, "<H", 99), expect="error"),
        Case("truncated", raw=pack(base)[:-100], expect="error"),
        Case("empty", raw=b"", expect="error"),
    ]
    return cases + random_cases(base, description)


HOSTILE_VALUES: list[object] = [None, True, False, 0, -1, 2**64, 1e308, -1e308, "", "x" * 5000, [], {},
                                [[[[]]]], "../../x", 0.5, "__INF__", "__NAN__", 255, 10**6]


def random_cases(base: list[tuple[str, bytes]], description: dict) -> list[Case]:
    """Seeded: a hostile value at a random place in project.json, or a flipped byte in a random member (the zip
    rebuilt around it, as a hostile writer would, so its CRC holds)."""
    rng = random.Random(SEED)
    places = json_places(description)
    cases = []
    for number in range(RANDOM_CASES):
        if number % 4 == 3:
            name, data = rng.choice([(n, d) for n, d in base if d])
            flipped = bytearray(data)
            for _ in range(rng.randint(1, 4)):
                flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            members = [(n, bytes(flipped) if n == name else d) for n, d in base]
            cases.append(Case(f"random {number}: bits flipped in {name}", members))
            continue
        path = rng.choice(places[1:])
        value = rng.choice(HOSTILE_VALUES)
        copy = replaced(description, path, value)
        text = json.dumps(copy).replace('"__INF__"', "Infinity").replace('"__NAN__"', "NaN").encode()
        members = [(n, text if n == "project.json" else d) for n, d in base]
        cases.append(Case(f"random {number}: {'.'.join(map(str, path))} = {str(value)[:20]!s}", members))
    return cases


# ----- running them ----------------------------------------------------------------------------------------

def files_under(root: Path, skip: set[Path]) -> dict[str, tuple[int, int]]:
    found = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) not in skip]
        for name in names:
            path = Path(folder, name)
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size, int(stat.st_mtime_ns))
    return found


def run_case(case: Case, folder: Path, env: dict[str, str]) -> dict:
    project = folder / "hostile.clearbg"
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(project), str(folder / "out-core"), str(folder / "out-cli"),
         str(MEMORY_BUDGET)], cwd=folder, env={**env, "CLEARBG_LOG_DIR": str(folder / "out-cli" / "logs")},
        capture_output=True, text=True, timeout=TIME_LIMIT_S)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, (
        f"{case.name}: the child ended with {completed.returncode}\n{completed.stdout[-2000:]}"
        f"\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message and "memory" not in message.lower()


@pytest.mark.slow
def test_hostile_projects_give_a_clear_error_or_a_correct_export(tmp_path: Path) -> None:
    valid = valid_project(tmp_path)
    secret = tmp_path / "private" / "secret.png"
    secret.parent.mkdir()
    Image.new("RGB", (40, 30), (250, 0, 0)).save(secret)
    cases = hostile_cases(valid, secret)
    assert len({case.name for case in cases}) == len(cases)
    folders = []
    for number, case in enumerate(cases):
        folder = tmp_path / "cases" / f"{number:03d}"
        (folder / "out-core").mkdir(parents=True)
        (folder / "hostile.clearbg").write_bytes(pack(case.members) if case.members is not None else case.raw)
        if case.beside:
            Image.new("RGB", (40, 30), (0, 0, 250)).save(folder / "background.png")
        folders.append(folder)
    outputs = {folder / name for folder in folders for name in ("out-core", "out-cli")}
    outputs.add(tmp_path / "data" / "output-records")  # the app's own record of which photo made which output
    before = files_under(tmp_path, outputs)
    env = dict(os.environ)
    env.update(PYTHONPATH=str(Path(clearbg_desktop.__file__).resolve().parents[1]), MALLOC_ARENA_MAX="2",
               OMP_NUM_THREADS="1", CLEARBG_DATA_DIR=str(tmp_path / "data"), CLEARBG_CONFIG_DIR=str(tmp_path / "cfg"))
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda pair: run_case(pair[0], pair[1], env), zip(cases, folders, strict=True)))
    valid_rss = results[0]["open_rss_kb"]
    problems = []
    for case, folder, result in zip(cases, folders, results, strict=True):
        core, cli = result["core"], result["cli"]
        if "crash" in core:
            problems.append(f"{case.name}: the core raised\n{core['crash']}")
            continue
        if "error" in core and not one_line(core["error"]):
            problems.append(f"{case.name}: not one clear line: {core['error']!r}")
        if cli["code"] not in (0, 1) or "Traceback" in cli["err"] or "memory" in cli["err"].lower():
            problems.append(f"{case.name}: the CLI gave {cli['code']}: {cli['err'][-1500:]}")
        if ("ok" in core) != (cli["code"] == 0):
            problems.append(f"{case.name}: the core says {core}, the CLI {cli['code']}: {cli['err'][-300:]}")
        if case.expect != "either" and ("ok" in core) != (case.expect == "ok"):
            problems.append(f"{case.name}: expected {case.expect}, got {core}")
        if result["open_rss_kb"] > 2 * valid_rss:
            problems.append(f"{case.name}: opening it took {result['open_rss_kb'] / 1024:.0f} MiB, "
                            f"the valid project {valid_rss / 1024:.0f} MiB")
        images = sorted(p for p in (folder / "out-cli").glob("*") if p.is_file())
        if "ok" in core and len(images) == 1:
            with Image.open(core["ok"]) as by_core, Image.open(images[0]) as by_cli:
                if not np.array_equal(np.asarray(by_core), np.asarray(by_cli)):
                    problems.append(f"{case.name}: the CLI and the core exported different pictures")
        if "ok" in core:
            for written in [Path(core["ok"]), *images]:
                with Image.open(written) as image:
                    image.load()
                    if case.expect == "ok" and case.name != "resize 1000 %" and image.size != PHOTO_SIZE:
                        problems.append(f"{case.name}: {written.name} is {image.size}")
            if len(images) != 1:
                problems.append(f"{case.name}: the CLI wrote {[p.name for p in images]}")
        elif images or list((folder / "out-core").iterdir()):
            problems.append(f"{case.name}: an error, yet it wrote {images}")
    after = files_under(tmp_path, outputs)
    assert after == before, f"written outside the output folders: {set(after) ^ set(before)}"
    assert not problems, "\n".join(problems)
    with Image.open(folders[0] / "out-core" / "core.png") as exported:  # the valid one: its own mask
        assert exported.mode == "RGBA" and exported.size == PHOTO_SIZE
    beside = next(folder for case, folder in zip(cases, folders, strict=True) if case.beside)
    with Image.open(beside / "out-core" / "core.png") as exported:  # composited onto the picture beside it
        assert exported.getpixel((0, 0)) == (0, 0, 250)
    rss = sorted(result["open_rss_kb"] for result in results)
    print(f"\n{len(cases)} projects; opening took {rss[0] / 1024:.0f}..{rss[-1] / 1024:.0f} MiB "
          f"(valid: {valid_rss / 1024:.0f} MiB); whole runs at most "
          f"{max(result['rss_kb'] for result in results) / 1024:.0f} MiB")


@pytest.mark.parametrize("count", [0, 1, 2**20 + 5, 3 * 2**20])
def test_zeros_zlib_is_what_it_says(count: int) -> None:
    """The bombs above are only as good as the streams they are made of."""
    assert zlib.decompress(zeros_zlib(count)) == bytes(count)
