"""The shoot as one piece of work (#40) in the real window: the grid (G) with cut-out thumbnails, flags by key,
sort and filters, copy/paste and sync of settings as undo steps, Export all of "done" only, and the shoot saved
as one session file and reopened with masks, flags, order and undo history; its crash autosave and recovery."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.editing.session import SESSION_SUFFIX, read_session
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from clearbg_desktop.core.paths import autosave_dir
from clearbg_desktop.gui.tools.base import BoxRequest
from tests.conftest import make_photo
from tests.gui.test_main_window import WAIT_MS
from tests.gui.test_shoot import _open_shoot, _show

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def _cutouts_drawn(window: MainWindow) -> int:
    return sum(row.mask is not None for row in window.filmstrip.strip.rows)


def test_grid_shows_cutouts_flags_by_key_and_opens_a_photo(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 4)
    qtbot.waitUntil(lambda: _cutouts_drawn(window) == 4, timeout=WAIT_MS)
    shoot = window.shoot
    window.activateWindow()
    qtbot.keyClick(window.canvas, Qt.Key.Key_G)
    assert shoot.grid_shown and window.centralWidget().currentWidget() is shoot.panel
    assert shoot.grid.shown_ids() == [d.doc_id for d in documents]
    assert all(d.mask_thumbnail is not None and d.doubt is not None for d in documents)
    # Select two cells as a user would (click, Ctrl+click) and flag them done with P; X rejects in the grid.
    grid = shoot.grid
    grid.select_document(documents[0].doc_id)
    index = grid.filter.index(1, 0)
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                     grid.visualRect(index).center())
    assert grid.selected_ids() == [documents[0].doc_id, documents[1].doc_id]
    qtbot.keyClick(grid, Qt.Key.Key_P)
    assert [d.flag for d in documents] == ["done", "done", None, None]
    grid.select_document(documents[2].doc_id)
    qtbot.keyClick(grid, Qt.Key.Key_X)
    assert documents[2].flag == "reject" and window.brush_bar.toggle_action.isEnabled() is False
    grid.select_document(documents[3].doc_id)
    qtbot.keyClick(grid, Qt.Key.Key_N)
    assert documents[3].flag == "needs-work"
    assert "2 done · 1 need work · 1 rejected" in shoot.panel.counts.text()
    assert window.filmstrip.row_text(0).startswith("✔")  # the filmstrip shows the flag too
    # Filter: done only; then all but rejected.
    shoot.panel.flag_box.setCurrentIndex(shoot.panel.flag_box.findData("done"))
    assert grid.shown_ids() == [documents[0].doc_id, documents[1].doc_id]
    shoot.panel.flag_box.setCurrentIndex(shoot.panel.flag_box.findData("not-rejected"))
    assert documents[2].doc_id not in grid.shown_ids() and len(grid.shown_ids()) == 3
    shoot.panel.flag_box.setCurrentIndex(0)
    # Unflag with U; Enter opens the photo in the editor, where X swaps the brush again.
    grid.select_document(documents[3].doc_id)
    qtbot.keyClick(grid, Qt.Key.Key_U)
    assert documents[3].flag is None
    qtbot.keyClick(grid, Qt.Key.Key_Return)
    assert not shoot.grid_shown and window.workspace.current is documents[3]
    assert window.brush_bar.toggle_action.isEnabled()


def test_grid_sorts_by_doubt_and_name_and_filters_by_doubt(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    shoot = window.shoot
    # Clean masks for the first two, a half-grey one (the model unsure everywhere) for the last, each an edit:
    # the cut-out thumbnails and doubts follow the edits.
    for document, grey in zip(documents, (False, False, True), strict=True):
        _show(qtbot, window, document)
        alpha = np.zeros_like(document.alpha)
        alpha[60:180, 80:240] = 128 if grey else 255
        window.undo.push(document, MaskEdit.whole(document.alpha, alpha, "test mask"))
        document.alpha[...] = alpha
        top = int(alpha.max())
        qtbot.waitUntil(lambda d=document, top=top: d.mask_thumbnail is not None and d.mask_thumbnail.max() == top,
                        timeout=WAIT_MS)
    assert documents[2].doubt > max(documents[0].doubt, documents[1].doubt) + 0.2
    shoot.set_grid_shown(True)
    shoot.panel.sort_box.setCurrentIndex(shoot.panel.sort_box.findData("doubt"))
    assert shoot.grid.shown_ids()[0] == documents[2].doc_id
    shoot.panel.doubt_box.setValue(documents[2].doubt - 0.1)
    assert shoot.grid.shown_ids() == [documents[2].doc_id]
    assert "1 shown of 3 photos" in shoot.panel.counts.text()
    shoot.panel.doubt_box.setValue(0.0)
    shoot.panel.sort_box.setCurrentIndex(shoot.panel.sort_box.findData("name"))
    assert shoot.grid.shown_ids() == [d.doc_id for d in documents]


def test_copy_paste_and_sync_settings_are_undo_steps(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    source = documents[0]
    shoot = window.shoot
    white = window.settings.export.with_changes(background=Background(kind="color", color=(255, 255, 255)), format="jpg",
                                                crop_to_subject=True)
    source.export_options = white
    shoot.copy_current_settings()
    _show(qtbot, window, documents[1])
    qtbot.keyClick(window.canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert documents[1].export_options == white
    window.window_actions.undo.trigger()
    assert documents[1].export_options is None  # back to "the window's settings"
    window.window_actions.redo.trigger()
    assert documents[1].export_options == white
    # Sync from the photo on screen to the grid's selection, only the background.
    _show(qtbot, window, source)
    shoot.set_grid_shown(True)
    shoot.grid.select_document(documents[2].doc_id)
    dialog = shoot.open_sync()
    assert dialog is not None
    dialog.boxes["export"].setChecked(False)
    dialog.boxes["refine"].setChecked(False)
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    synced = documents[2].export_options
    assert synced is not None and synced.background == white.background and synced.format == "png"
    assert window.undo.stacks[documents[2].doc_id].count() == 1
    # A project keeps mask edits only in its history, with the settings as saved.
    history, position = window.undo.history(documents[2])
    assert history == [] and position == 0


def test_export_all_of_done_photos_only(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    documents[1].flag = "done"
    window.batch.open_export_all()
    dialog = window.batch.export_all_dialog
    dialog.which_box.setCurrentIndex(dialog.which_box.findData("done"))
    assert dialog.photos.count() == 1 and dialog.photos.item(0).text() == "shoot-0001.jpg"
    out = tmp_path / "out"
    dialog.output.setText(str(out))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert sorted(p.name for p in out.iterdir()) == ["shoot-0001-cutout.png"]


def test_session_saves_and_reopens_masks_flags_order_and_undo(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    _show(qtbot, window, documents[1])
    window.mask_commands.invert_mask()
    edited = documents[1].alpha.copy()
    window.shoot.set_flag(documents[0], "done")
    window.shoot.set_flag(documents[2], "reject")
    window.shoot.set_grid_shown(True)
    target = tmp_path / f"Shoot{SESSION_SUFFIX}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(window.sessions.saved, timeout=WAIT_MS):
        window.sessions.save_action.trigger()
    session = read_session(target)
    assert [p.flag for p in session.photos] == ["done", None, "reject"]
    assert all(p.member is not None for p in session.photos) and session.current == 1 and session.grid.shown
    assert window.undo.is_clean(documents[1])
    # Saved again unchanged: every photo's project is copied over byte for byte, not encoded again.
    with zipfile.ZipFile(target) as archive:
        before = {info.filename: archive.read(info) for info in archive.infolist() if info.filename != "session.json"}
    with qtbot.waitSignal(window.sessions.saved, timeout=WAIT_MS):
        window.sessions.save()
    with zipfile.ZipFile(target) as archive:
        assert before == {i.filename: archive.read(i) for i in archive.infolist() if i.filename != "session.json"}
    # Close every photo and reopen the session as a user would (File ▸ Open).
    for document in list(window.workspace.documents):
        window.remove_document(document)
    window.shoot.set_grid_shown(False)
    with qtbot.waitSignal(window.sessions.opened, timeout=WAIT_MS):
        window.open_paths([target])
    reopened = window.shoot.documents_in_order()
    assert [d.title for d in reopened] == [d.title for d in documents]
    assert [d.flag for d in reopened] == ["done", None, "reject"]
    assert window.shoot.grid_shown and window.workspace.current is reopened[1]
    assert all(d.mask_thumbnail is not None for d in reopened)
    qtbot.waitUntil(lambda: reopened[1].loaded is not None, timeout=WAIT_MS)
    assert np.array_equal(reopened[1].alpha, edited)
    stack = window.undo.stacks[reopened[1].doc_id]
    assert stack.count() == 1 and stack.isClean()
    stack.undo()
    assert np.array_equal(reopened[1].alpha, 255 - edited)  # the inversion, undone after reopening


def test_session_cancel_keeps_the_previous_file(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    _open_shoot(qtbot, window, tmp_path, 3)
    target = tmp_path / f"S{SESSION_SUFFIX}"
    target.write_bytes(b"previous")
    sessions = window.sessions
    photos = sessions._photos

    def cancelled_after_the_first(snapshots: list) -> object:  # Cancel pressed while the first photo is written
        for photo in photos(snapshots):
            yield photo
            sessions._cancel.set()

    monkeypatch.setattr(sessions, "_photos", cancelled_after_the_first)
    sessions.save(target=target)
    qtbot.waitUntil(lambda: not sessions.busy and sessions._progress is None, timeout=WAIT_MS)
    assert target.read_bytes() == b"previous" and "cancelled" in window.status.currentMessage()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_damaged_session_photo_costs_that_photo_only(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 2)
    target = tmp_path / f"S{SESSION_SUFFIX}"
    with qtbot.waitSignal(window.sessions.saved, timeout=WAIT_MS):
        window.sessions.save(target=target)
    os.remove(documents[0].path)  # the first photo's file is gone
    for document in list(window.workspace.documents):
        window.remove_document(document)
    errors: list[str] = []
    monkeypatch.setattr(window.messages, "show_error", lambda title, text: errors.append(text))
    with qtbot.waitSignal(window.sessions.opened, timeout=WAIT_MS):
        window.open_paths([target])
    assert [d.title for d in window.workspace.documents] == [documents[1].title]
    assert errors and "shoot-0000.jpg" in errors[0]


def test_session_autosave_and_recovery_bring_the_shoot_back(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    _show(qtbot, window, documents[2])
    window.mask_commands.invert_mask()
    edited = documents[2].alpha.copy()
    window.shoot.set_flag(documents[0], "needs-work")
    assert window.sessions.autosave()
    qtbot.waitUntil(lambda: not window.sessions.busy, timeout=WAIT_MS)
    autosave = window.sessions.autosave_path()
    session = read_session(autosave)
    assert [p.member is not None for p in session.photos] == [False, False, True]  # unedited: by path
    assert not window.sessions.autosave()  # nothing changed since: nothing written
    # As if this process had crashed: the autosave belongs to a process that is gone.
    crashed = autosave.with_name(f"999999-shoot{SESSION_SUFFIX}")
    autosave.rename(crashed)
    for document in list(window.workspace.documents):
        window.remove_document(document)
    box = window.sessions.offer_recovery()
    assert box is not None and "3 photos" in box.text()
    with qtbot.waitSignal(window.sessions.opened, timeout=WAIT_MS):
        next(b for b in box.buttons() if b.text() == "Recover").click()
    recovered = window.shoot.documents_in_order()
    assert [d.title for d in recovered] == [d.title for d in documents]
    assert recovered[0].flag == "needs-work" and not crashed.exists()
    qtbot.waitUntil(lambda: all(d.has_mask for d in recovered), timeout=WAIT_MS)
    assert not window.undo.is_clean(recovered[2])  # recovered work is unsaved until saved
    qtbot.waitUntil(lambda: recovered[2].loaded is not None or window.workspace.current is not recovered[2],
                    timeout=WAIT_MS)
    assert np.array_equal(recovered[2].mask_for_export(), edited)
    assert autosave_dir().is_dir()


def test_session_file_from_elsewhere_asks_before_using_its_background_image(
        qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 2)
    picture = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(picture)
    documents[0].export_options = window.settings.export.with_changes(background=Background(kind="image", image_path=str(picture)))
    target = tmp_path / f"S{SESSION_SUFFIX}"
    with qtbot.waitSignal(window.sessions.saved, timeout=WAIT_MS):
        window.sessions.save(target=target)
    for document in list(window.workspace.documents):
        window.remove_document(document)
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    with qtbot.waitSignal(window.sessions.opened, timeout=WAIT_MS):
        window.open_paths([target])
    assert len(asked) == 1 and str(picture) in asked[0]
    first = window.shoot.documents_in_order()[0]
    assert first.export_options is not None and first.export_options.background.kind != "image"


def test_review_of_a_batch_lands_in_the_grid_sorted_by_doubt(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for seed in range(3):
        make_photo((200, 150), seed=seed).save(shoot / f"p{seed}.jpg")
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.start([shoot], tmp_path / "out", ExportOptions(), "small", "skip")
    assert len(blocker.args[0].done) == 3
    window.batch.summary.close()
    window.batch.review_action.setEnabled(True)
    window.batch.review_action.trigger()
    assert window.shoot.grid_shown and window.shoot.panel.sort_box.currentData() == "doubt"
    reviewed = sorted(window.workspace.documents, key=lambda d: -d.review.doubt)
    assert window.shoot.grid.shown_ids() == [d.doc_id for d in reviewed]


def test_sync_runs_the_object_box_at_the_same_place_on_each_photo(qtbot: QtBot, window: MainWindow,
                                                                   tmp_path: Path) -> None:
    window.photo_memory.residency.keep_recent = 0  # the targets are evicted: the worker decodes them for the box
    window.photo_memory.residency.small_bytes = 0
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    source = documents[0]
    _show(qtbot, window, source)
    with qtbot.waitSignal(window.mask_commands.box_applied, timeout=WAIT_MS):
        window.mask_commands.request_box(BoxRequest(source.doc_id, (40, 30, 200, 180), "replace"))
    assert source.object_box == ("replace", (40 / 320, 30 / 240, 200 / 320, 180 / 240))
    assert documents[1].evicted and documents[2].evicted
    window.shoot.set_grid_shown(True)
    window.shoot.grid.selectAll()
    dialog = window.shoot.open_sync()
    assert dialog is not None and dialog.box.isEnabled() and not dialog.box.isChecked()
    for box in dialog.boxes.values():
        box.setChecked(False)
    dialog.box.setChecked(True)
    before = [window.undo.stacks[d.doc_id].count() for d in documents[1:]]
    masks = [d.mask_for_export().copy() for d in documents[1:]]
    with qtbot.waitSignals([window.mask_commands.box_applied] * 2, timeout=WAIT_MS):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    for document, count, mask in zip(documents[1:], before, masks, strict=True):
        assert window.undo.stacks[document.doc_id].count() == count + 1
        assert document.object_box == source.object_box
        changed = np.argwhere(document.mask_for_export() != mask)
        assert len(changed) and changed.min(axis=0).tolist() >= [30, 40]  # inside the box only
        assert changed.max(axis=0).tolist() < [180, 200]


def test_quitting_after_culling_offers_to_save_the_shoot(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    window.shoot.set_flag(documents[0], "done")
    window.shoot.set_flag(documents[1], "reject")
    window.close()
    box = window.messages.shown
    assert window.isVisible() and box.objectName() == "QuitQuestion" and "2 photo(s) were flagged" in box.text()
    target = tmp_path / f"Culled{SESSION_SUFFIX}"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    next(b for b in box.buttons() if b.text() == "Save session").click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert [p.flag for p in read_session(target).photos] == ["done", "reject", None]


def test_pasted_shadow_shows_on_the_colour_view_and_goes_with_undo(qtbot: QtBot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 2)
    shadow = ShadowSettings(kind="contact", opacity=40.0)
    documents[1].export_options = window.settings.export.with_changes(
        background=Background(kind="color", color=(255, 255, 255)), shadow=shadow)
    _show(qtbot, window, documents[1])
    window.shoot.copy_current_settings()
    _show(qtbot, window, documents[0])
    window.set_view_mode("color")
    qtbot.waitUntil(lambda: window.canvas.shown_shadow is None, timeout=WAIT_MS)
    window.shoot.paste_settings.trigger()
    qtbot.waitUntil(lambda: window.canvas.shown_shadow == shadow, timeout=WAIT_MS)
    window.window_actions.undo.trigger()
    qtbot.waitUntil(lambda: window.canvas.shown_shadow is None, timeout=WAIT_MS)


def test_walk40_export_all_keeps_each_photos_own_settings(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 40: settings synced to photos were ignored by Export all (every output a transparent PNG)."""
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    white_jpeg = window.settings.export.with_changes(format="jpg",
                                                     background=Background(kind="color", color=(255, 255, 255)))
    documents[0].export_options = white_jpeg
    _show(qtbot, window, documents[0])
    cleared = np.zeros_like(documents[0].alpha)
    cleared[80:160, 100:220] = 255
    window.undo.push(documents[0], MaskEdit.whole(documents[0].alpha, cleared, "test mask"))
    window.shoot.set_flag(documents[2], "reject")
    window.batch.open_export_all()
    dialog = window.batch.export_all_dialog
    assert dialog.which_box.currentData() == "not-rejected"  # rejects are not exported by default
    assert dialog.own_box.isChecked() and "1 of 2" in dialog.own_box.text()
    out = tmp_path / "out"
    dialog.output.setText(str(out))
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert sorted(p.name for p in out.iterdir()) == ["shoot-0000-cutout.jpg", "shoot-0001-cutout.png"]
    with Image.open(out / "shoot-0000-cutout.jpg") as written:
        assert written.mode == "RGB" and written.getpixel((0, 0)) >= (245, 245, 245)
    window.batch.open_export_all()
    assert window.batch.export_all_dialog.which_box.currentData() == "not-rejected"  # kept for the next time


def test_walk40_sync_pins_settings_equal_to_the_windows(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 40: after an export set the window's settings to the source's, Sync said "0 of 3 changed"; the next
    export dialog then changed the "synced" photos too."""
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    chosen = window.settings.export.with_changes(format="jpg", background=Background(kind="color",
                                                                                    color=(255, 255, 255)))
    documents[0].export_options = window.settings.export = chosen
    assert window.shoot.sync_settings(documents[0], documents[1:], {"refine", "background", "export"}) == 2
    window.settings.export = window.settings.export.with_changes(format="png")  # the next export dialog's choice
    assert all(d.export_options == chosen for d in documents[1:])


def test_walk40_arrows_move_in_the_grid_not_the_photo_behind_it(qtbot: QtBot, window: MainWindow,
                                                                tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    assert window.workspace.current is documents[0]
    window.shoot.set_grid_shown(True)
    grid = window.shoot.grid
    qtbot.keyClick(grid, Qt.Key.Key_Right)
    qtbot.keyClick(grid, Qt.Key.Key_P)
    assert window.workspace.current is documents[0] and documents[1].flag == "done"
    window.shoot.set_grid_shown(False)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right)
    assert window.workspace.current is documents[1]  # on the photo, → is the next photo again


def test_walk40_grid_cells_show_the_export_background(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 2)
    qtbot.waitUntil(lambda: _cutouts_drawn(window) == 2, timeout=WAIT_MS)
    documents[0].export_options = window.settings.export.with_changes(
        background=Background(kind="color", color=(250, 10, 10)))
    for document in documents:  # nothing of the subject in the corners
        thumbnail = np.zeros(document.mask_thumbnail.shape, np.uint8)
        thumbnail[20:-20, 30:-30] = 255
        window.shoot.show_mask(document, thumbnail)
    cells = window.shoot.grid.cells
    red = cells.cutout(window.filmstrip.row_of_document(documents[0].doc_id))
    checkered = cells.cutout(window.filmstrip.row_of_document(documents[1].doc_id))
    assert red.pixelColor(0, 0).getRgb()[:3] == (250, 10, 10)
    assert checkered.pixelColor(0, 0).getRgb()[:3] in ((255, 255, 255), (204, 204, 204))


def test_walk40_recovered_shoot_keeps_settings_and_its_session_file(qtbot: QtBot, window: MainWindow,
                                                                    tmp_path: Path) -> None:
    """Walk 40: after a crash, unedited photos lost their own settings, and the shoot forgot its session file (all
    its flags were said unsaved, Save offered a new file)."""
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    chosen = window.settings.export.with_changes(format="jpg")
    documents[1].export_options = chosen
    window.shoot.set_flag(documents[0], "done")
    target = tmp_path / f"Shoot{SESSION_SUFFIX}"
    with qtbot.waitSignal(window.sessions.saved, timeout=WAIT_MS):
        window.sessions.save(target=target)
    window.shoot.set_flag(documents[2], "reject")  # one flag changed since the save
    assert window.sessions.autosave()
    qtbot.waitUntil(lambda: not window.sessions.busy, timeout=WAIT_MS)
    crashed = window.sessions.autosave_path().with_name(f"999998-shoot{SESSION_SUFFIX}")
    window.sessions.autosave_path().rename(crashed)
    for document in list(window.workspace.documents):
        window.remove_document(document)
    window.sessions.path = None
    with qtbot.waitSignal(window.sessions.opened, timeout=WAIT_MS):
        window.sessions.open(crashed, recovered=True)
    recovered = window.shoot.documents_in_order()
    assert recovered[1].export_options == chosen
    assert window.sessions.path == target and window.sessions.unsaved_flags() == 1


def test_a_click_is_not_the_object_box_sync_replays(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    documents = _open_shoot(qtbot, window, tmp_path, 1)
    document = documents[0]
    with qtbot.waitSignal(window.mask_commands.box_applied, timeout=WAIT_MS):
        window.mask_commands.request_box(BoxRequest(document.doc_id, (40, 30, 200, 180), "replace"))
    drawn = document.object_box
    window.mask_commands.apply_box(BoxRequest(document.doc_id, (0, 0, 96, 96), "add", click=(48, 48)),
                                   (0, 0, 96, 96), np.full((96, 96), 255, np.uint8))
    assert document.object_box == drawn  # Sync replays the last drawn box, never a click's square
