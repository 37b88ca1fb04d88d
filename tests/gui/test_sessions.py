"""Issue #22 in the real window: projects (save, reopen, undo, moved photo, damaged file, autosave and recovery),
the batch review of doubtful masks, and wide-gamut photos shown in screen colours."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageCms
from PySide6.QtGui import QColorSpace
from PySide6.QtWidgets import QFileDialog, QMessageBox

from clearbg_desktop.core.editing.project import Project, read_project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.paths import autosave_dir
from tests.conftest import make_photo
from tests.gui.test_brushes import drag, open_photo
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def paint_stroke(qtbot: QtBot, window: MainWindow, y: float = 150) -> None:
    window.brush_bar.size_box.setValue(30)
    drag(qtbot, window.canvas, [(40, y), (200, y), (360, y)])


def button(box: QMessageBox, text: str):  # noqa: ANN201 - a QAbstractButton
    return next(b for b in box.buttons() if b.text() == text)


def test_project_is_saved_reopened_and_undone(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    document = open_photo(qtbot, window, tmp_path)
    model_mask = document.alpha.copy()
    paint_stroke(qtbot, window, 100)
    after_first = document.alpha.copy()
    window.brush_bar.tool_actions["erase"].trigger()
    paint_stroke(qtbot, window, 200)
    edited = document.alpha.copy()
    assert not np.array_equal(edited, after_first) and window.isWindowModified()  # the title's "*"
    target = tmp_path / "session.clearbg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target.with_suffix("")), ""))
    window.window_actions.save.trigger()  # Ctrl+S, first time: asks where (".clearbg" is added)
    assert target.is_file() and not window.isWindowModified()
    assert read_project(target).position == 2
    window.quit_guard.confirmed = False
    assert window.quit_guard.question() == ""  # saved: quitting loses nothing
    window.close_current()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([target])
    reopened = blocker.args[0]
    assert reopened is not document and reopened.project_path == target
    np.testing.assert_array_equal(reopened.alpha, edited)
    assert not window.isWindowModified()
    window.window_actions.undo.trigger()
    np.testing.assert_array_equal(reopened.alpha, after_first)
    assert window.isWindowModified()
    window.window_actions.undo.trigger()
    np.testing.assert_array_equal(reopened.alpha, model_mask)
    window.window_actions.redo.trigger()
    window.window_actions.redo.trigger()
    np.testing.assert_array_equal(reopened.alpha, edited)
    np.testing.assert_array_equal(window.canvas.displayed_array()[..., 3], edited)
    window.window_actions.reset.trigger()  # the model's own mask came back with the project
    np.testing.assert_array_equal(reopened.alpha, model_mask)


def test_moved_photo_is_asked_for_and_checked(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    document = open_photo(qtbot, window, tmp_path)
    paint_stroke(qtbot, window)
    edited = document.alpha.copy()
    project = tmp_path / "projects" / "p.clearbg"
    project.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(project), ""))
    window.window_actions.save.trigger()
    window.close_current()
    moved = tmp_path / "archive" / "p.png"
    moved.parent.mkdir()
    (tmp_path / "p.png").rename(moved)
    impostor = tmp_path / "impostor.png"
    make_photo((400, 300), seed=9).save(impostor)
    answers = iter([str(impostor), str(moved)])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (next(answers), ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.StandardButton.Retry)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([project])
    assert blocker.args[0].path == moved  # the impostor was refused by its hash, the real photo taken
    np.testing.assert_array_equal(blocker.args[0].alpha, edited)


def test_damaged_project_is_a_message_and_the_window_goes_on(qtbot: QtBot, window: MainWindow,
                                                            tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.clearbg"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    assert window.open_paths([damaged]) == []
    box = window.messages.shown
    assert box.objectName() == "ErrorMessage" and "not a ClearBG project" in box.text()
    box.close()
    open_photo(qtbot, window, tmp_path)  # still works


def test_autosave_is_recovered_after_a_crash(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    paint_stroke(qtbot, window)
    edited = document.alpha.copy()
    written = window.projects.autosave()
    assert len(written) == 1 and written[0].parent == autosave_dir()
    assert window.projects.autosave() == []  # nothing new since
    crashed = written[0].with_name("999999999-1.clearbg")  # a process that is gone
    written[0].rename(crashed)
    window.close_current()
    button(window.messages.shown, "Discard").click()  # unsaved edits: Ctrl+W asks (#29.3)
    box = window.projects.offer_recovery()
    assert box is not None and "did not close properly" in box.text()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        button(box, "Recover").click()
    recovered = blocker.args[0]
    np.testing.assert_array_equal(recovered.alpha, edited)
    assert window.isWindowModified() and recovered.project_path is None  # recovered, not yet saved anywhere
    assert not crashed.exists()
    window.close()  # a clean quit removes this session's autosaves
    assert not list(autosave_dir().glob(f"{os.getpid()}-*.clearbg"))


def test_quit_prompt_offers_to_save(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    open_photo(qtbot, window, tmp_path)
    paint_stroke(qtbot, window)
    window.quit_guard.confirmed = False
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "q.clearbg"), ""))
    window.close()
    box = window.messages.shown
    assert box.objectName() == "QuitQuestion" and "neither saved nor exported" in box.text()
    button(box, "Save").click()
    assert (tmp_path / "q.clearbg").is_file()
    assert not window.isVisible()  # saved, then quit


def test_batch_review_opens_doubtful_photos_worst_first_and_replaces_outputs(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for seed in range(3):
        make_photo((200, 150), seed=seed).save(shoot / f"p{seed}.jpg")
    out = tmp_path / "out"
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([shoot], out, ExportOptions(), "small", "skip")
    report = blocker.args[0]
    scores = [r.doubt.score for r in report.done]
    assert len(scores) == 3
    window.batch.summary.close()
    documents = window.batch.review(threshold=0.0)
    assert [d.review.doubt for d in documents] == sorted(scores, reverse=True)
    for document in documents:
        if not document.ready:
            qtbot.waitUntil(lambda d=document: d.ready, timeout=WAIT_MS)
    rows = [window.filmstrip.row_text(i) for i in range(window.filmstrip.count())]
    assert all(row.splitlines()[1].startswith("⚠ ") for row in rows)
    worst = documents[0]
    assert window.workspace.current is worst
    before = worst.review.output.read_bytes()
    worst.alpha[...] = 0  # the user fixes the mask (here: nothing is subject)
    window.window_actions.export.trigger()
    box = window.messages.shown
    assert box.objectName() == "ReplaceReviewedQuestion" and worst.review.output.name in box.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS):
        button(box, "Replace").click()
    after = worst.review.output.read_bytes()
    assert after != before
    with Image.open(io.BytesIO(after)) as written:
        assert written.getchannel("A").getextrema() == (0, 0)


def test_wide_gamut_photo_is_shown_in_screen_colours(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    adobe = QColorSpace(QColorSpace.NamedColorSpace.AdobeRgb).iccProfile().data()
    pixels = np.full((120, 160, 3), (60, 160, 80), np.uint8)
    photo = tmp_path / "adobe.png"
    Image.fromarray(pixels).save(photo, icc_profile=adobe)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    document = blocker.args[0]
    window.set_view_mode("original")
    shown = window.canvas.displayed_array()[60, 80, :3].astype(int)
    expected = ImageCms.profileToProfile(Image.fromarray(pixels), ImageCms.ImageCmsProfile(io.BytesIO(adobe)),
                                         ImageCms.createProfile("sRGB"))
    assert np.abs(shown - np.asarray(expected)[60, 80].astype(int)).max() <= 2  # as a colour-managed viewer shows it
    assert np.abs(shown - pixels[60, 80].astype(int)).max() >= 10  # not the washed-out raw values
    np.testing.assert_array_equal(document.rgb, pixels)  # the photo itself, which exports use, is untouched


def test_sixteen_bit_photo_exports_sixteen_bit_from_the_dialog(qtbot: QtBot, window: MainWindow,
                                                               tmp_path: Path) -> None:
    from clearbg_desktop.core.imaging.deep_colour import encode_tiff16, read_deep_colour, sixteen_bit_rawmode

    adobe = QColorSpace(QColorSpace.NamedColorSpace.AdobeRgb).iccProfile().data()
    deep = np.asarray(make_photo((160, 120)), np.uint16) * 256 + np.arange(160, dtype=np.uint16)[None, :, None]
    photo = tmp_path / "master.tif"
    photo.write_bytes(encode_tiff16(deep, adobe))
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    window.settings.last_export_folder = str(tmp_path / "out")
    window.window_actions.export.trigger()
    dialog = window.exporter.dialog
    dialog.form.format_box.setCurrentIndex(dialog.form.format_box.findData("tiff"))
    dialog.refresh()
    assert "16 bits per channel" in dialog.size_label.text()
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
        dialog.accept()
    written = Path(blocker.args[0])
    with Image.open(written) as opened:
        rawmode = sixteen_bit_rawmode(opened)
        assert rawmode is not None and opened.info.get("icc_profile") == adobe
    np.testing.assert_array_equal(read_deep_colour(written, rawmode), deep)


def test_reopened_project_exports_with_its_own_settings(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from clearbg_desktop.core.editing.project import Project, save_project
    from clearbg_desktop.core.file_hash import sha256_file

    photo = tmp_path / "shot.jpg"
    make_photo((200, 150)).save(photo)
    alpha = np.zeros((150, 200), np.uint8)
    alpha[30:120, 50:150] = 255
    project = save_project(Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha,
                                   export_options=ExportOptions(format="webp", name_template="{name}-client")),
                           tmp_path / "shot.clearbg")
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([project])
    window.settings.last_export_folder = str(tmp_path / "out")
    with qtbot.waitSignal(window.exporter.exported, timeout=WAIT_MS) as blocker:
        window.window_actions.reexport.trigger()  # Ctrl+Shift+E: the project's settings, not the app's last ones
    written = Path(blocker.args[0])
    assert written.name == "shot-client.webp"
    with Image.open(written) as image:
        np.testing.assert_array_equal(np.asarray(image.getchannel("A")), alpha)


# ----- issue #28: hostile projects, private autosaves ---------------------------------------------------------

def saved_project(tmp_path: Path, options: ExportOptions | None = None) -> Path:
    """A valid project of a small photo, as the core writes it."""
    photo = tmp_path / "photo.png"
    make_photo().save(photo)
    alpha = np.zeros((120, 160), np.uint8)
    alpha[20:100, 30:130] = 255
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha,
                      export_options=options or ExportOptions())
    return save_project(project, tmp_path / "valid.clearbg")


def hostile(valid: Path, target: Path, change: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(valid) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["project.json"] = change(members["project.json"])
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def edited_json(change: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        description = json.loads(data)
        change(description)
        return json.dumps(description).encode()
    return apply


HOSTILE_JSON: dict[str, Callable[[bytes], bytes]] = {
    "deep": lambda data: data[:-1] + b', "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "infinite": edited_json(lambda d: d["photo"].update(width=float("inf"))),
    "list-export": edited_json(lambda d: d.update(export=[1, 2])),
    "string-refine": edited_json(lambda d: d["export"].update(refine="sharp")),
}


def test_hostile_projects_are_a_message_when_opened_or_recovered(qtbot: QtBot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    """Issue #28.3: deep JSON, Infinity, an export list, a refine string: one line each, the window goes on."""
    valid = saved_project(tmp_path)
    for name, change in HOSTILE_JSON.items():
        path = hostile(valid, tmp_path / f"{name}.clearbg", change)
        assert window.open_paths([path]) == []
        box = window.messages.shown
        assert box.objectName() == "ErrorMessage" and box.text().startswith(f"{name}.clearbg: damaged project")
        assert "\n" not in box.text()
        box.close()
    folder = autosave_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for number, change in enumerate(HOSTILE_JSON.values()):
        hostile(valid, folder / f"99999999{number}-1.clearbg", change)  # processes that are gone
    box = window.projects.offer_recovery()
    assert box is not None
    button(box, "Recover").click()
    assert window.messages.shown.objectName() == "ErrorMessage" and "damaged project" in window.messages.shown.text()
    window.messages.shown.close()
    assert window.workspace.documents == []
    open_photo(qtbot, window, tmp_path)  # still works


def test_autosaves_are_private_whatever_the_umask(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Issue #28.6: unsaved work is readable by this user only (folder 0700, files 0600), also where an older
    version left the folder 0755."""
    previous = os.umask(0o022)
    try:
        open_photo(qtbot, window, tmp_path)
        paint_stroke(qtbot, window)
        written = window.projects.autosave()
        assert stat.S_IMODE(autosave_dir().stat().st_mode) == 0o700
        assert stat.S_IMODE(written[0].stat().st_mode) == 0o600
        autosave_dir().chmod(0o755)
        written[0].chmod(0o644)
        paint_stroke(qtbot, window, 200)
        assert window.projects.autosave() == written
    finally:
        os.umask(previous)
    assert stat.S_IMODE(autosave_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(written[0].stat().st_mode) == 0o600


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_a_projects_background_image_is_used_only_if_the_user_says_so(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        answer: QMessageBox.StandardButton) -> None:
    """Issue #28.4: a project may name any picture on the disk as its background; the user decides."""
    picture = tmp_path / "elsewhere" / "private.png"
    picture.parent.mkdir()
    make_photo(seed=3).save(picture)
    options = ExportOptions(background=Background(kind="image", image_path=str(picture)))
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda parent, title, text, *a: (asked.append(text), answer)[1])
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([saved_project(tmp_path, options)])
    document = blocker.args[0]
    assert len(asked) == 1 and str(picture) in asked[0]
    assert document.export_options is not None
    expected = "image" if answer == QMessageBox.StandardButton.Yes else "transparent"
    assert document.export_options.background.kind == expected
