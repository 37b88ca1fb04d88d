"""Project files: saved, reopened with their undo history, and refused clearly when damaged or foreign."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.mask_edits import Brush, MaskEdit, Stroke
from clearbg_desktop.core.project import (
    FORMAT_VERSION,
    Project,
    ProjectError,
    export_from_project,
    open_photo,
    read_project,
    save_project,
)
from clearbg_desktop.core.refine import RefineSettings, refine_alpha
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
