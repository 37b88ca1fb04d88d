"""Project files: saved, reopened with their undo history, and refused clearly when damaged or foreign."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.editing.mask_edits import Brush, MaskEdit, Stroke
from clearbg_desktop.core.editing.project import (
    FORMAT_VERSION,
    MAX_EDITS,
    Project,
    ProjectError,
    export_from_project,
    open_photo,
    project_bytes,
    read_project,
    save_project,
)
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import render_output
from clearbg_desktop.core.imaging.refine import RefineSettings, refine_alpha
from tests.conftest import make_photo


def edited_project(photo: Path) -> tuple[Project, list[np.ndarray]]:
    """A project with three strokes, the last one undone; returns it and the mask after each edit."""
    predicted = np.zeros((120, 160), np.uint8)
    predicted[30:100, 40:120] = 255
    alpha = predicted.copy()
    states = [alpha.copy()]
    history = []
    for x, mode in ((50, "erase"), (100, "restore"), (70, "erase")):
        stroke = Stroke(alpha, Brush(size=20, mode=mode))
        stroke.move_to(x, 40)
        stroke.move_to(x + 30, 80)
        edit = stroke.finish()
        assert edit is not None
        history.append(edit)
        states.append(alpha.copy())
    history[-1].revert(alpha)  # undone, but redoable
    options = ExportOptions(format="webp", refine=RefineSettings(feather=2.0))
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha, predicted=predicted,
                      model="small", weights_sha256="ab" * 32, export_options=options, history=history, position=2)
    return project, states


def test_saved_project_reopens_with_mask_settings_and_undo(photo_path: Path, tmp_path: Path) -> None:
    project, states = edited_project(photo_path)
    path = save_project(project, tmp_path / "session.clearbg")
    back = read_project(path)
    np.testing.assert_array_equal(back.alpha, states[2])
    np.testing.assert_array_equal(back.predicted, project.predicted)
    assert back.export_options == project.export_options and back.model == "small"
    assert back.weights_sha256 == "ab" * 32 and back.photo_sha256 == project.photo_sha256
    assert back.position == 2 and [e.label for e in back.history] == [e.label for e in project.history]
    alpha = back.alpha.copy()  # undo twice, then redo all three: every state comes back exactly
    back.history[1].revert(alpha)
    np.testing.assert_array_equal(alpha, states[1])
    back.history[0].revert(alpha)
    np.testing.assert_array_equal(alpha, states[0])
    for number, edit in enumerate(back.history, start=1):
        edit.apply(alpha)
        np.testing.assert_array_equal(alpha, states[number])
    loaded = open_photo(back, path)
    assert loaded.size == (160, 120)


def test_moved_photo_is_found_beside_the_project_or_asked_for(photo_path: Path, tmp_path: Path) -> None:
    project, _ = edited_project(photo_path)
    folder = tmp_path / "moved"
    folder.mkdir()
    path = save_project(project, folder / "session.clearbg")
    photo_path.rename(folder / photo_path.name)
    assert open_photo(read_project(path), path).size == (160, 120)  # next to the project
    elsewhere = tmp_path / "elsewhere.jpg"
    (folder / photo_path.name).rename(elsewhere)
    with pytest.raises(ProjectError, match="was not found"):
        open_photo(read_project(path), path)
    assert open_photo(read_project(path), path, elsewhere).size == (160, 120)  # the user pointed at it
    impostor = tmp_path / "impostor.jpg"
    make_photo(seed=5).save(impostor)
    with pytest.raises(ProjectError, match="SHA-256 mismatch"):
        open_photo(read_project(path), path, impostor)


def test_cli_export_from_a_project_uses_its_mask_and_settings(photo_path: Path, tmp_path: Path) -> None:
    project, states = edited_project(photo_path)
    path = save_project(project, tmp_path / "session.clearbg")
    target = export_from_project(path, tmp_path / "out" / "cut.webp")
    with Image.open(target) as written:
        assert written.format == "WEBP" and written.mode == "RGBA"
        exported_alpha = np.asarray(written.getchannel("A"))
    with Image.open(photo_path) as photo:
        expected = refine_alpha(photo.convert("RGB"), Image.fromarray(states[2], "L"), project.export_options.refine)
    np.testing.assert_array_equal(exported_alpha, np.asarray(expected))  # the saved mask, the saved settings


def zip_with(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "crafted.clearbg"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_damaged_foreign_and_future_projects_are_refused_clearly(photo_path: Path, tmp_path: Path) -> None:
    project, _ = edited_project(photo_path)
    good = save_project(project, tmp_path / "good.clearbg").read_bytes()
    cases = {
        "not a zip": (b"this is not a zip file at all", "not a zip file"),
        "truncated": (good[: len(good) // 2], "not a zip file, or truncated"),
        "empty": (b"", "not a zip file"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.clearbg"
        path.write_bytes(data)
        with pytest.raises(ProjectError, match=message):
            read_project(path)
    with pytest.raises(ProjectError, match="without project.json"):
        read_project(zip_with(tmp_path, {"word/document.xml": b"<w/>"}))
    with pytest.raises(ProjectError, match="something else"):
        read_project(zip_with(tmp_path, {"project.json": b'{"format": "other"}'}))
    with pytest.raises(ProjectError, match="not valid JSON"):
        read_project(zip_with(tmp_path, {"project.json": b"{nope"}))
    with zipfile.ZipFile(tmp_path / "good.clearbg") as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    description = json.loads(members["project.json"])
    future = {**members, "project.json": json.dumps({**description, "format_version": FORMAT_VERSION + 1}).encode()}
    with pytest.raises(ProjectError, match="newer ClearBG"):
        read_project(zip_with(tmp_path, future))
    missing = {k: v for k, v in members.items() if k != "history/0001.after"}
    with pytest.raises(ProjectError, match="history/0001.after is missing"):
        read_project(zip_with(tmp_path, missing))
    garbled = {**members, "history/0000.before": b"not zlib"}
    with pytest.raises(ProjectError, match="damaged project"):
        read_project(zip_with(tmp_path, garbled))
    wrong_size = {**members, "mask.png": members["predicted.png"][:40]}
    with pytest.raises(ProjectError, match="mask.png"):
        read_project(zip_with(tmp_path, wrong_size))


def test_saving_over_a_project_is_atomic(photo_path: Path, tmp_path: Path) -> None:
    project, _ = edited_project(photo_path)
    path = save_project(project, tmp_path / "s.clearbg")
    project.position = 3
    project.history[2].apply(project.alpha)
    save_project(project, path)
    assert read_project(path).position == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg", "s.clearbg"]  # no temp file left


def test_mask_edit_packing_round_trips() -> None:
    before, after = np.zeros((4, 5), np.uint8), np.full((4, 5), 9, np.uint8)
    edit = MaskEdit((1, 2, 6, 6), before, after, "x")
    again = MaskEdit.from_packed(edit.box, edit.shape, edit.label, *edit.packed)
    np.testing.assert_array_equal(again.after, after)
    with pytest.raises(ValueError, match="do not match"):
        MaskEdit.from_packed((0, 0, 3, 3), (3, 3), "x", *edit.packed)


# ----- issue #28: hostile project files -------------------------------------------------------------------

def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def deflated_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A project as a hostile writer would pack it: every member deflated, so repeated bytes cost nothing."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def zeros_zlib(count: int, chunk: int = 2**20) -> bytes:
    """zlib of ``count`` zero bytes, made without ever holding them."""
    packer = zlib.compressobj(9)
    block = bytes(chunk)
    parts = [packer.compress(block) for _ in range(count // chunk)]
    return b"".join(parts) + packer.compress(bytes(count % chunk)) + packer.flush()


def with_description(members: dict[str, bytes], change: Callable[[dict], object]) -> dict[str, bytes]:
    description = json.loads(members["project.json"])
    change(description)
    return {**members, "project.json": json.dumps(description).encode()}


@pytest.fixture
def good_members(photo_path: Path, tmp_path: Path) -> dict[str, bytes]:
    project, _ = edited_project(photo_path)
    return members_of(save_project(project, tmp_path / "good.clearbg"))


def bomb_members(name: str, members: dict[str, bytes]) -> dict[str, bytes]:
    if name == "patch inflating to 256 MiB":
        return {**members, "history/0000.after": zeros_zlib(256 * 2**20)}
    if name == "patch with 64 MiB after its stream":
        return {**members, "history/0000.after": members["history/0000.after"] + bytes(64 * 2**20)}
    if name == "project.json holding a 16-million-item list":
        return with_description(members, lambda d: d.update(padding=[0] * 16_000_000))
    if name == "6000x6000 mask of zeros":
        buffer = io.BytesIO()
        Image.new("I;16", (6000, 6000)).save(buffer, "PNG")
        return {**members, "mask.png": buffer.getvalue()}
    raise AssertionError(name)


@pytest.mark.parametrize("bomb", ["patch inflating to 256 MiB", "patch with 64 MiB after its stream",
                                  "project.json holding a 16-million-item list", "6000x6000 mask of zeros"])
def test_bombs_are_refused_before_they_are_inflated(bomb: str, good_members: dict[str, bytes],
                                                    tmp_path: Path) -> None:
    """Each is a few hundred KB on disk; reading one may not take more than a valid project of the photo does."""
    path = deflated_zip(tmp_path / "bomb.clearbg", bomb_members(bomb, good_members))
    assert path.stat().st_size < 2**20
    valid = deflated_zip(tmp_path / "valid.clearbg", good_members)
    tracemalloc.start()
    try:
        read_project(valid)
        valid_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with pytest.raises(ProjectError, match="damaged project") as refused:
            read_project(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(refused.value)
    assert peak < 2 * valid_peak + 2**20, f"{bomb}: {peak / 2**20:.0f} MiB to refuse it"


def damaged(members: dict[str, bytes], change: Callable[[dict], object]) -> dict[str, bytes]:
    return with_description(members, change)


MALFORMED: dict[str, Callable[[dict[str, bytes]], dict[str, bytes]]] = {
    "JSON nested 200,000 deep": lambda m: {**m, "project.json": m["project.json"][:-1]
                                           + b', "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"},
    "Infinity as the width": lambda m: damaged(m, lambda d: d["photo"].update(width=float("inf"))),
    "NaN in an edit's box": lambda m: damaged(m, lambda d: d["history"]["edits"][0]["box"].__setitem__(
        0, float("nan"))),
    "1e999 as the feather": lambda m: {**m, "project.json": m["project.json"].replace(
        b'"feather": 2.0', b'"feather": 1e999')},
    "export as a list": lambda m: damaged(m, lambda d: d.update(export=[1, 2])),
    "refine as a string": lambda m: damaged(m, lambda d: d["export"].update(refine="sharp")),
    "background as a number": lambda m: damaged(m, lambda d: d["export"].update(background=7)),
    "colour of the wrong kind": lambda m: damaged(m, lambda d: d["export"]["background"].update(color=["a", None])),
    "history as a string": lambda m: damaged(m, lambda d: d.update(history="lots")),
    "edit without a box": lambda m: damaged(m, lambda d: d["history"]["edits"][0].pop("box")),
    "position as a float": lambda m: damaged(m, lambda d: d["history"].update(position=1.5)),
    "width as a bool": lambda m: damaged(m, lambda d: d["photo"].update(width=True)),
    "photo path as a list": lambda m: damaged(m, lambda d: d["photo"].update(path=["a"])),
    "model as a string": lambda m: damaged(m, lambda d: d.update(model="small")),
    "a 500-megapixel photo": lambda m: damaged(m, lambda d: d["photo"].update(width=25_000, height=20_000)),
    "format_version 1.0": lambda m: damaged(m, lambda d: d.update(format_version=1.0)),
    "format_version '1'": lambda m: damaged(m, lambda d: d.update(format_version="1")),
    "format_version 0": lambda m: damaged(m, lambda d: d.update(format_version=0)),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_projects_are_one_clear_line(case: str, good_members: dict[str, bytes], tmp_path: Path) -> None:
    path = zip_with(tmp_path, MALFORMED[case](good_members))
    with pytest.raises(ProjectError) as refused:
        read_project(path)
    message = str(refused.value)
    assert message.startswith("crafted.clearbg: damaged project") and "newer" not in message
    assert "\n" not in message and len(message) < 300


@pytest.mark.parametrize(("field", "value"), [
    ("resize_long_edge", 60_000), ("resize_percent", 100_000), ("quality", -5), ("png_compress_level", 99),
    ("crop_padding", -10**9), ("refine.shift", 10**6), ("refine.feather", -1.0), ("refine.threshold", 300),
    ("background.color", ["a", None]), ("background.blur_radius", 0), ("name_template", "{name"),
    ("keep_icc", "yes"), ("format", "bmp"),
])
def test_out_of_range_settings_are_refused_by_the_core_and_in_projects(
        field: str, value: object, good_members: dict[str, bytes], tmp_path: Path) -> None:
    """One set of checks: the options cannot even be made, and a project holding them is damaged."""
    data = ExportOptions().to_dict()
    group, _, key = field.rpartition(".")
    (data[group] if group else data)[key] = value
    with pytest.raises(ValueError, match=r"must|unknown|unpaired"):
        ExportOptions.from_dict(data)

    def put(description: dict) -> None:
        (description["export"][group] if group else description["export"])[key] = value

    with pytest.raises(ProjectError, match="export settings are not valid"):
        read_project(zip_with(tmp_path, with_description(good_members, put)))


def test_an_output_too_large_for_the_photo_is_refused_before_it_is_made() -> None:
    loaded = LoadedImage(rgb=make_photo((1000, 1000)))
    alpha = Image.new("L", (1000, 1000), 255)
    with pytest.raises(ValueError, match="10000×10000 .* more than the 90 MP limit"):
        render_output(loaded, alpha, ExportOptions(resize_percent=1000))
    assert render_output(loaded, alpha, ExportOptions(resize_percent=900)).size == (9000, 9000)


def test_a_projects_background_image_is_used_only_from_beside_it(photo_path: Path, tmp_path: Path) -> None:
    """A project names its background by path: from elsewhere on the disk it is refused, not composited."""
    secret = tmp_path / "private" / "secret.png"
    secret.parent.mkdir()
    Image.new("RGB", (32, 32), (200, 0, 0)).save(secret)
    project, _ = edited_project(photo_path)
    project.export_options = ExportOptions(format="png", background=Background(kind="image",
                                                                                image_path=str(secret)))
    folder = tmp_path / "projects"
    folder.mkdir()
    path = save_project(project, folder / "session.clearbg")
    with pytest.raises(ProjectError, match="not beside the project"):
        export_from_project(path, tmp_path / "out" / "cut.png")
    assert not (tmp_path / "out").exists()
    Image.new("RGB", (32, 32), (0, 0, 200)).save(folder / "secret.png")  # the user put one beside it
    written = export_from_project(path, tmp_path / "out" / "cut.png")
    with Image.open(written) as image:
        assert image.getpixel((0, 0)) == (0, 0, 200)  # from beside the project, not the private one


@pytest.mark.slow
def test_the_longest_history_saved_opens_again(tmp_path: Path) -> None:
    """A project keeps at most MAX_EDITS edits, so that what it saves is never refused when it is opened: the
    oldest undo steps go (they are in the saved mask already), then the furthest redo steps."""
    alpha = np.zeros((120, 160), np.uint8)
    pixel = np.zeros((1, 1), np.uint8)
    history = [MaskEdit((i % 160, i // 160 % 120, i % 160 + 1, i // 160 % 120 + 1), pixel, pixel, f"edit {i}")
               for i in range(MAX_EDITS + 5)]
    for position, first, kept_position in ((MAX_EDITS + 5, 5, MAX_EDITS), (3, 3, 0)):
        project = Project(photo_path=Path("/photos/p.jpg"), photo_sha256="0" * 64, alpha=alpha, history=history,
                          position=position)
        path = tmp_path / f"long-{position}.clearbg"
        path.write_bytes(project_bytes(project))
        back = read_project(path)
        assert len(back.history) == MAX_EDITS and back.position == kept_position
        assert back.history[0].label == f"edit {first}"
