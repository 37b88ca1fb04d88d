"""A whole shoot in the window (#32): edits survive eviction exactly, a vanished file is explained and its mask
kept, masks come shown-photo first with pause and cancel, the filmstrip is a virtualised list, the budget is a
preference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.memory_budget import MIB
from tests.conftest import make_photo
from tests.gui.test_brushes import drag
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def _open_shoot(qtbot: QtBot, window: MainWindow, tmp_path: Path, count: int) -> list[Document]:
    paths = []
    for index in range(count):
        paths.append(tmp_path / f"shoot-{index:04d}.jpg")
        make_photo((320, 240), seed=index).save(paths[-1], quality=92)
    with qtbot.waitSignals([window.document_ready] * count, timeout=WAIT_MS):
        documents = window.open_paths(paths)
    return documents


def _show(qtbot: QtBot, window: MainWindow, document: Document) -> None:
    """Pick it in the filmstrip, as a user would, and wait for its full pixels."""
    window.filmstrip.setCurrentRow(window.filmstrip.order().index(document.doc_id))
    qtbot.waitUntil(lambda: document.loaded is not None and window.canvas.document is document, timeout=WAIT_MS)


def test_edits_and_history_survive_an_eviction_exactly(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.photo_memory.residency.keep_recent = 0  # no recent photos kept: switching away evicts
    window.photo_memory.residency.small_bytes = 0  # small test photos count as large ones
    first, second, third = _open_shoot(qtbot, window, tmp_path, 3)
    assert window.workspace.current is first and not first.evicted  # the first of those opened is shown (#37)
    _show(qtbot, window, third)
    assert first.evicted and second.evicted and not third.evicted
    _show(qtbot, window, first)
    window.mask_commands.invert_mask()
    inverted = first.alpha.copy()
    drag(qtbot, window.canvas, [(40, 40), (200, 120)])
    stroked = first.alpha.copy()
    stack = window.undo.stacks[first.doc_id]
    assert stack.count() == 2 and not np.array_equal(stroked, inverted)
    _show(qtbot, window, second)
    assert first.evicted and first.loaded is None and first.resident_bytes() == 0
    window.filmstrip.setCurrentRow(0)  # back: the preview at once, full pixels when decoded again
    assert window.canvas.document is None and not window.canvas._item.image.isNull()
    qtbot.waitUntil(lambda: window.canvas.document is first, timeout=WAIT_MS)
    assert np.array_equal(first.alpha, stroked) and stack.count() == 2 and stack.index() == 2
    window.undo.group.undo()
    assert np.array_equal(first.alpha, inverted)
    window.undo.group.undo()
    assert np.array_equal(first.alpha, 255 - inverted)
    window.undo.group.redo()
    window.undo.group.redo()
    assert np.array_equal(first.alpha, stroked)
    assert np.array_equal(window.canvas.displayed_array()[..., 3], stroked)


def test_a_photo_whose_file_vanished_while_evicted_is_explained_and_keeps_its_mask(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.photo_memory.residency.keep_recent = 0
    window.photo_memory.residency.small_bytes = 0
    first, second = _open_shoot(qtbot, window, tmp_path, 2)
    _show(qtbot, window, first)
    window.mask_commands.invert_mask()
    edited = first.alpha.copy()
    _show(qtbot, window, second)
    assert first.evicted
    first.path.unlink()
    window.filmstrip.setCurrentRow(0)
    qtbot.waitUntil(lambda: window.messages.shown is not None and window.messages.shown.isVisible(), timeout=WAIT_MS)
    text = window.messages.shown.text()
    assert "missing" in text and first.title in text and "mask and edits are kept" in text
    window.messages.shown.close()
    assert first.evicted and np.array_equal(first.mask_for_export(), edited)
    assert window.undo.stacks[first.doc_id].count() == 1
    assert not window.canvas._item.image.isNull()  # its preview stays on screen


def test_masks_come_shown_photo_first_and_can_be_paused_and_cancelled(qtbot: QtBot, window: MainWindow,
                                                                      tmp_path: Path) -> None:
    paths = []
    for index in range(6):
        paths.append(tmp_path / f"p{index}.jpg")
        make_photo((320, 240), seed=index).save(paths[-1])
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as first:
        documents = window.open_paths(paths)
        assert window.masks.progress.isVisible() or window.masks.queue.total == 6
    assert first.args[0] is documents[0]  # the shown one (the first opened, #37) first
    window.masks.toggle_pause()
    assert window.masks.progress.pause_button.text() == "Resume" and "paused" in window.masks.progress.label.text()
    qtbot.waitUntil(lambda: not window.masks.busy, timeout=WAIT_MS)
    waiting = len(window.masks.queue)
    qtbot.wait(200)
    assert len(window.masks.queue) == waiting and not window.masks.busy  # paused: nothing sent
    window.remove_document(documents[0])  # closing drops its pending work
    assert documents[0].doc_id not in window.masks.queue
    window.masks.cancel()
    assert len(window.masks.queue) == 0 and not window.masks.progress.isVisible()


def test_the_filmstrip_is_a_virtualised_list_with_names_elided_in_the_middle(qtbot: QtBot,
                                                                              window: MainWindow) -> None:
    strip = window.filmstrip
    assert isinstance(strip, QListView) and strip.uniformItemSizes()
    assert strip.textElideMode() == Qt.TextElideMode.ElideMiddle and strip.minimumWidth() >= 150
    for index in range(3000):
        strip.add(Document(title=f"coco-2017-val-{index:06d}.jpg", path=Path(f"coco-{index}.jpg")))
    assert strip.count() == 3000
    strip.scrollToBottom()
    strip.setCurrentRow(2999)
    assert strip.currentRow() == 2999 and strip.row_text(2999) == "coco-2017-val-002999.jpg"


def test_the_memory_budget_is_a_preference_the_window_keeps(qtbot: QtBot, window: MainWindow) -> None:
    dialog = window.open_preferences()
    box = dialog.memory_box
    assert box.value() == window.settings.memory_budget_mib
    box.setValue(1024)
    dialog.accept()
    assert window.settings.memory_budget_mib == 1024 and window.photo_memory.residency.budget_bytes == 1024 * MIB


def test_export_all_writes_evicted_photos_with_their_edits(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from PIL import Image

    from clearbg_desktop.core.imaging.export import ExportOptions

    window.photo_memory.residency.keep_recent = 0
    window.photo_memory.residency.small_bytes = 0
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    _show(qtbot, window, documents[0])
    window.mask_commands.invert_mask()
    edited = documents[0].alpha.copy()
    _show(qtbot, window, documents[2])
    assert documents[0].evicted and documents[1].evicted
    out = tmp_path / "out"
    documents[1].probability = np.zeros((64, 64), np.float32)  # as a 16-bit photo keeps the model's map
    window.window_actions.export_all.trigger()  # as a user starts it: the dialog lists the evicted photos too
    dialog = window.batch.export_all_dialog
    assert dialog is not None and dialog.photos.count() == 3
    dialog.close()
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.export_documents(documents, out, ExportOptions())
    report = blocker.args[0]
    assert len(report.done) == 3 and not report.failed
    written = {Path(r.output).name: Path(r.output) for r in report.done}
    first = next(p for name, p in written.items() if name.startswith("shoot-0000"))
    assert np.array_equal(np.asarray(Image.open(first))[..., 3], edited)
    assert documents[0].evicted and documents[1].evicted  # exporting did not bring their pixels back
    assert documents[1]._alpha is None  # nor inflated their masks (300 photos once took 15 GiB that way)


def test_photos_not_on_screen_get_masks_without_full_pixels(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """#32: the model's decode of a photo nobody looks at is reduced and hands back no full pixels; the photo
    keeps its preview, thumbnail and a full-size mask, and is decoded at full resolution when shown."""
    window.photo_memory.residency.small_bytes = 0  # small test photos count as large ones
    full_decodes: list[int] = []
    window.inference.worker.photo_loaded.connect(lambda _r, doc_id, *_: full_decodes.append(doc_id))
    documents = _open_shoot(qtbot, window, tmp_path, 3)
    assert full_decodes == [documents[0].doc_id]  # the shown photo only (the first opened, #37)
    first = documents[-1]  # one not shown
    assert first.evicted and first.loaded is None and first.preview and first.thumbnail is not None
    assert first.has_mask and first.resident_bytes() == 0 and not first.mask_edited
    _show(qtbot, window, first)
    assert first.alpha.shape == (first.loaded.size[1], first.loaded.size[0]) == (240, 320)
    assert np.array_equal(first.alpha, first.predicted)
