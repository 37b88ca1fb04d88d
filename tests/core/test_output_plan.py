"""The one output planner (#36): distinct names for same-named photos, never an original, stable across runs.

Examples first (the hostile-inputs round 4 repros, D1, D2, D12, D13, D7/D17, each through ``clearbg-cli`` as
a user runs it), then properties over generated input sets (Hypothesis) for the plan the CLI and the batch
dialog share (``plan_batch``) and the one Export all builds (flat requests with the open photos as originals).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.batch import BatchReport, export_projects, iter_export, plan_batch
from clearbg_desktop.core.batch.naming import OutputRequest, collision_key, folder_labels, plan_outputs
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from tests.conftest import make_photo


def _cards(root: Path, cards: int = 3) -> list[Path]:
    folders = []
    for index in range(1, cards + 1):
        folder = root / f"card{index}"
        folder.mkdir(parents=True)
        make_photo(seed=index).save(folder / "IMG_0001.JPG")
        folders.append(folder)
    return folders


def _hashes(folder: Path) -> dict[str, str]:
    return {path.name: sha256_file(path) for path in sorted(folder.iterdir()) if path.is_file()}


def test_three_cards_as_folders_are_mirrored_and_as_files_are_tagged_by_their_folder(tmp_path: Path) -> None:
    cards = _cards(tmp_path / "cards")
    plan = plan_batch(cards, tmp_path / "out", ExportOptions())
    assert sorted(str(i.target.relative_to(tmp_path / "out")) for i in plan.items) == [
        "card1/IMG_0001-cutout.png", "card2/IMG_0001-cutout.png", "card3/IMG_0001-cutout.png"]
    files = plan_batch([card / "IMG_0001.JPG" for card in cards], tmp_path / "out", ExportOptions())
    assert [i.target.name for i in files.items] == [
        "IMG_0001-cutout-card1.png", "IMG_0001-cutout-card2.png", "IMG_0001-cutout-card3.png"]
    assert not plan.problems and not files.problems


def test_same_named_folders_are_told_apart_by_their_parents(tmp_path: Path) -> None:
    (tmp_path / "a" / "DCIM").mkdir(parents=True)
    (tmp_path / "b" / "DCIM").mkdir(parents=True)
    labels = folder_labels([tmp_path / "a" / "DCIM", tmp_path / "b" / "DCIM", tmp_path / "a"])
    assert labels == {tmp_path / "a" / "DCIM": Path("a/DCIM"), tmp_path / "b" / "DCIM": Path("b/DCIM"),
                      tmp_path / "a": Path("a")}


def test_names_differing_only_in_case_get_distinct_outputs(tmp_path: Path) -> None:
    """``a.jpg a.JPG a.Jpg`` are three photos on Linux; their outputs must stay three on any file system."""
    for seed, name in enumerate(("a.jpg", "a.JPG", "a.Jpg")):
        make_photo(seed=seed).save(tmp_path / name, format="JPEG")
    plan = plan_batch([tmp_path], tmp_path / "out", ExportOptions())
    keys = {collision_key(item.target) for item in plan.items}
    assert len(plan.items) == 3 and len(keys) == 3 and not plan.problems


@pytest.mark.slow
def test_ten_thousand_photos_of_one_stem_are_planned_apart_quickly(tmp_path: Path) -> None:
    requests = [OutputRequest(tmp_path / f"folder{index}" / "s.jpg") for index in range(10_000)]
    started = time.perf_counter()
    planned = plan_outputs(requests, tmp_path / "out", ExportOptions(), "small")
    seconds = time.perf_counter() - started
    assert len({collision_key(p.target) for p in planned}) == 10_000 and not any(p.problem for p in planned)
    assert planned[7].target.name == "s-cutout-folder7.png"
    print(f"10,000 same-named photos planned in {seconds:.2f} s")


def test_a_name_too_long_fails_that_photo_alone(tmp_path: Path) -> None:
    make_photo().save(tmp_path / "short.jpg")
    make_photo().save(tmp_path / ("é" * 124 + ".jpg"))  # 252 bytes: its output name is 259
    plan = plan_batch([tmp_path], tmp_path / "out", ExportOptions())
    assert [item.source.name for item in plan.problems] == ["é" * 124 + ".jpg"]
    assert "longer than a file name may be" in next(iter(plan.problems.values()))


@pytest.mark.slow
def test_cli_three_cards_into_one_folder_writes_three_outputs(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cards = _cards(tmp_path / "cards")
    out = tmp_path / "out"
    assert cli_main([*map(str, cards), "-o", str(out), "-q"]) == 0
    assert "3 exported, 0 skipped, 0 failed" in capsys.readouterr().out
    assert len(list(out.rglob("*.png"))) == 3
    files = [str(card / "IMG_0001.JPG") for card in cards]
    assert cli_main([*files, "-o", str(tmp_path / "flat"), "-q", "--overwrite"]) == 0
    assert "3 exported" in capsys.readouterr().out and len(list((tmp_path / "flat").iterdir())) == 3
    assert cli_main([*files, "-o", str(tmp_path / "flat"), "-q"]) == 0  # re-run: each skips its own output
    assert "0 exported, 3 skipped" in capsys.readouterr().out


@pytest.mark.parametrize(("template", "fmt", "overwrite"), [("{name}", "jpg", True), ("{name}", "png", True),
                                                              ("{name}", "jpg", False)])
def test_cli_never_writes_over_an_original(tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str],
                                           template: str, fmt: str, overwrite: bool) -> None:
    """D1: output folder = the photos' folder, a template naming outputs as the photos: refused, exit 2."""
    make_photo(seed=1).save(tmp_path / "1.jpg")
    make_photo(seed=2).save(tmp_path / "p.png")
    before = _hashes(tmp_path)
    args = ["-o", str(tmp_path), "--format", fmt, "--name", template, "-q"] + ["--overwrite"] * overwrite
    assert cli_main([str(tmp_path), *args]) == 2
    assert "would replace the original photos" in capsys.readouterr().err
    assert cli_main([str(tmp_path / ("1.jpg" if fmt == "jpg" else "p.png")), *args]) == 2
    assert _hashes(tmp_path) == before


def test_export_all_planner_refuses_an_open_photos_file(tmp_path: Path) -> None:
    make_photo().save(tmp_path / "x.jpg")
    other = tmp_path / "sub"
    other.mkdir()
    make_photo().save(other / "x.jpg")
    planned = plan_outputs([OutputRequest(other / "x.jpg")], tmp_path, ExportOptions(format="jpg", name_template="{name}"),
                           "small", originals=[tmp_path / "x.jpg", other / "x.jpg"])
    assert "would replace an original photo" in planned[0].problem


def test_a_hard_link_to_a_photo_is_an_original(tmp_path: Path) -> None:
    make_photo().save(tmp_path / "x.jpg")
    (tmp_path / "out").mkdir()
    os.link(tmp_path / "x.jpg", tmp_path / "out" / "x.jpg")
    planned = plan_outputs([OutputRequest(tmp_path / "x.jpg")], tmp_path / "out",
                           ExportOptions(format="jpg", name_template="{name}"), "small")
    assert planned[0].problem


@pytest.mark.slow
def test_a_project_and_its_own_photo_get_two_outputs(tmp_path: Path, random_weights: Path) -> None:
    import numpy as np

    photo = tmp_path / "shoot" / "beach.jpg"
    photo.parent.mkdir()
    make_photo().save(photo)
    project = tmp_path / "shoot" / "beach.clearbg"
    save_project(Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=np.full((120, 160), 255, np.uint8)), project)
    out = tmp_path / "out"
    plan = plan_batch([photo], out, ExportOptions())
    results = list(export_projects([project], out, "skip", beside=plan))
    assert results[0].status == "done", results[0].message
    report = BatchReport()
    from clearbg_desktop.core.inference.segmenter import Segmenter

    list(iter_export(plan, Segmenter.from_weights("small", device="cpu"), ExportOptions(), report=report))
    assert len(report.done) == 1 and len(list(out.iterdir())) == 2


def test_cli_refuses_empty_paths_and_threads_beyond_the_machine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """D13: '' is not the current folder; D7/D17: --threads is bounded by this machine's cores."""
    make_photo().save(tmp_path / "x.jpg")
    monkeypatch.chdir(tmp_path)
    for argv in (["", "-o", str(tmp_path / "o")], [str(tmp_path / "x.jpg"), "-o", ""],
                 [str(tmp_path / "x.jpg"), "-o", str(tmp_path / "o"), "--threads", "100000"]):
        with pytest.raises(SystemExit) as exit_info:
            cli_main(argv)
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "an empty path" in err and f"between 1 and {os.cpu_count()}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.jpg"]


def test_cli_long_paths_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """D12: a path over the system's limit is a usage error with one line, never a traceback."""
    long_path = tmp_path / "/".join(["d" * 200] * 25) / "p.jpg"
    assert cli_main([str(long_path), "-o", str(tmp_path / "o"), "-q"]) == 2
    assert cli_main([str(tmp_path), "-o", str(long_path.parent / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "File name too long" in err and "Traceback" not in err


# --- properties ------------------------------------------------------------------------------------------

STEMS = st.sampled_from(["IMG_0001", "img_0001", "a", "A", "s", "a-jpg", "x (2)", "Café ü"])
EXTENSIONS = st.sampled_from(["jpg", "JPG", "Jpg", "png", "PNG", "webp", "tif"])
TEMPLATES = st.sampled_from(["{name}-cutout", "{name}", "{name}", "{name}-{ext}", "out", "{name}-{model}", "{ext}"])
FORMATS = st.sampled_from(["png", "jpg", "jpg", "webp", "tiff"])
PHOTOS = st.lists(st.tuples(st.integers(0, 3), STEMS, EXTENSIONS), min_size=1, max_size=14)
OUTPUTS = st.sampled_from(["apart", "card0", "inside card0"])


def _build(root: Path, photos: list[tuple[int, str, str]]) -> list[Path]:
    made = []
    for card, stem, ext in photos:
        path = root / f"card{card}" / f"{stem}.{ext}"
        if path.exists() or any(p.parent == path.parent and p.name.casefold() == path.name.casefold() for p in made):
            continue  # one file per name and folder, as on a case-insensitive disk
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"photo " + os.fsencode(path))
        made.append(path)
    return made


def _check(plan_items: list, problems: dict, photos: list[Path]) -> None:
    """Distinct outputs, none an original; the only refusals are outputs that would be originals."""
    for item, problem in problems.items():
        assert "would replace an original photo" in problem, problem
        assert item.target.resolve() in {photo.resolve() for photo in photos}
    written = [item for item in plan_items if item not in problems]
    keys = [collision_key(item.target.resolve()) for item in written]
    assert len(keys) == len(set(keys)), "two outputs share a path"
    resolved = {photo.resolve() for photo in photos}
    for item in written:
        assert item.target.resolve() not in resolved, f"{item.target} is an original"
        assert not (item.target.exists() and any(os.path.samefile(item.target, p) for p in photos))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(photos=PHOTOS, template=TEMPLATES, fmt=FORMATS, where=OUTPUTS, as_files=st.booleans(),
       data=st.data())
def test_batch_plans_distinct_outputs_never_an_original_and_the_same_on_a_rerun(
        photos: list[tuple[int, str, str]], template: str, fmt: str, where: str, as_files: bool,
        data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made = _build(root, photos)
        folders = sorted({path.parent for path in made})
        inputs: list[Path] = list(made) if as_files else folders
        out = {"apart": root / "out", "card0": root / "card0", "inside card0": root / "card0" / "cut"}[where]
        options = ExportOptions(format=fmt, name_template=template)
        plan = plan_batch(inputs, out, options)
        _check(plan.items, plan.problems, made)
        again = plan_batch(data.draw(st.permutations(inputs)) if not as_files else inputs, out, options)
        assert {i.source: i.target for i in again.items} == {i.source: i.target for i in plan.items}
        # Write every planned output, then plan again: the same names, outputs never taken for photos.
        recognisable = where != "card0" or ("{name}" in template and template != "{name}")
        for item in plan.items:
            if item not in plan.problems:
                item.target.parent.mkdir(parents=True, exist_ok=True)
                item.target.write_bytes(b"output")
        rerun = plan_batch(inputs, out, options)
        _check(rerun.items, rerun.problems, [*made, *(item.source for item in rerun.items)])
        if recognisable:
            assert {i.source: i.target for i in rerun.items} == {i.source: i.target for i in plan.items}


@settings(max_examples=80, deadline=None)
@given(photos=PHOTOS, template=TEMPLATES, fmt=FORMATS, into_card=st.booleans())
def test_export_all_plans_distinct_outputs_never_an_open_photo(
        photos: list[tuple[int, str, str]], template: str, fmt: str, into_card: bool) -> None:
    """Export all's shape: every open photo flat into one folder, the open photos as originals."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        made = _build(root, photos)
        out = root / "card0" if into_card else root / "out"
        options = ExportOptions(format=fmt, name_template=template)
        planned = plan_outputs([OutputRequest(p) for p in made], out, options, "small", originals=made)
        items = [type("Item", (), {"target": p.target})() for p in planned]
        _check(items, {item: p.problem for item, p in zip(items, planned, strict=True) if p.problem}, made)
        reversed_plan = plan_outputs([OutputRequest(p) for p in reversed(made)], out, options, "small", originals=made)
        assert [p.target for p in reversed(reversed_plan)] == [p.target for p in planned]


@pytest.mark.parametrize("argv", [["--name", "."], ["--name", ".."], ["--name", "a\nb"], ["--name", "x\u202ey"],
                                  ["--model", ""], ["--preset", " "]])
def test_cli_refuses_hidden_or_broken_names_and_empty_choices(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Minor observations of round 4: '.' and '..' made hidden outputs, a newline a two-line name, and an empty
    --model/--preset silently meant the default."""
    make_photo().save(tmp_path / "x.jpg")
    with pytest.raises(SystemExit) as exit_info:
        cli_main([str(tmp_path / "x.jpg"), "-o", str(tmp_path / "o"), *argv])
    assert exit_info.value.code == 2 and not (tmp_path / "o").exists()
    assert "template" in capsys.readouterr().err or argv[0] != "--name"


def _deep_photo(root: Path) -> None:
    """A photo at a path over 4096 bytes (made through folder descriptors: no absolute path can reach it)."""
    import io

    descriptor = os.open(root, os.O_RDONLY)
    try:
        for _ in range(22):
            os.mkdir("d" * 200, dir_fd=descriptor)
            inner = os.open("d" * 200, os.O_RDONLY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = inner
        buffer = io.BytesIO()
        make_photo().save(buffer, "JPEG")
        photo = os.open("p.jpg", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=descriptor)
        os.write(photo, buffer.getvalue())
        os.close(photo)
    finally:
        os.close(descriptor)


def test_photos_the_walk_cannot_reach_are_named_never_dropped(tmp_path: Path) -> None:
    """Round 5 X1: a photo at a path over 4096 bytes was dropped without a word ("1 exported, 0 failed")."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    make_photo().save(shoot / "top.jpg")
    _deep_photo(shoot)
    plan = plan_batch([shoot], tmp_path / "out", ExportOptions())
    assert [item.source.name for item in plan.items if item not in plan.problems] == ["top.jpg"]
    assert any("cannot be read" in problem and "File name too long" in problem for problem in plan.problems.values())


@pytest.mark.slow
def test_an_unreadable_sub_folder_fails_in_the_cli(tmp_path: Path, random_weights: Path) -> None:
    """Round 5 X5: a mode-000 sub-folder's photos were left out silently ("1 exported, 0 failed", exit 0)."""
    from tests.core.imaging.test_preset_safety import cli_child

    shoot = tmp_path / "shoot"
    (shoot / "locked").mkdir(parents=True)
    make_photo().save(shoot / "top.jpg")
    make_photo().save(shoot / "locked" / "inside.jpg")
    (shoot / "locked").chmod(0)
    try:
        result = cli_child([str(shoot), "-o", str(tmp_path / "out"), "-q", "--model", "small"], tmp_path)
    finally:
        (shoot / "locked").chmod(0o755)
    assert result.returncode == 1, result.stderr[-1000:]
    assert "1 exported, 0 skipped, 1 failed" in result.stdout and "locked cannot be read" in result.stderr


def test_a_folder_in_an_outputs_place_is_a_failure_not_done(tmp_path: Path, random_weights: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Round 5 X4: a folder (or a FIFO) named like the output counted as "skipped: output already exists"."""
    make_photo().save(tmp_path / "p0.jpg")
    make_photo().save(tmp_path / "p1.jpg")
    out = tmp_path / "out"
    (out / "p0-cutout.png").mkdir(parents=True)
    os.mkfifo(out / "p1-cutout.png")
    assert cli_main([str(tmp_path / "p0.jpg"), str(tmp_path / "p1.jpg"), "-o", str(out), "-q"]) == 1
    captured = capsys.readouterr()
    assert "0 exported, 0 skipped, 2 failed" in captured.out and "a folder is in its place" in captured.err


@pytest.mark.slow
def test_outputs_written_into_another_folder_are_never_cut_out_again(
        tmp_path: Path, random_weights: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Round 5 X9: a second run into another output folder (or another format) cut out the first run's outputs
    again (p0-cutout-cutout.png); the output record knows they are outputs."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    make_photo().save(shoot / "p0.jpg")
    assert cli_main([str(shoot), "-o", str(shoot / "out"), "-q"]) == 0
    assert cli_main([str(shoot), "-o", str(shoot / "out2"), "-q"]) == 0
    assert cli_main([str(shoot), "-o", str(shoot), "-q", "--format", "jpg"]) == 0
    assert "cutout-cutout" not in " ".join(p.name for p in shoot.rglob("*"))
    assert "1 exported" in capsys.readouterr().out


@pytest.mark.slow
def test_a_photo_written_under_another_name_says_so(tmp_path: Path, random_weights: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Round 5 X10: card 2's photo written as IMG_0001-cutout (2).png beside card 1's: the CLI names it."""
    for card in (1, 2):
        (tmp_path / f"card{card}").mkdir()
        make_photo(seed=card).save(tmp_path / f"card{card}" / "IMG_0001.jpg")
    assert cli_main([str(tmp_path / "card1" / "IMG_0001.jpg"), "-o", str(tmp_path / "out"), "-q"]) == 0
    capsys.readouterr()
    assert cli_main([str(tmp_path / "card2" / "IMG_0001.jpg"), "-o", str(tmp_path / "out"), "-q"]) == 0
    assert "another photo's output from an earlier run; written as IMG_0001-cutout (2).png" in capsys.readouterr().out
