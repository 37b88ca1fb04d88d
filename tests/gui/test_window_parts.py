"""The window's parts work from a ``WindowContext`` alone: each is built here over a plain QMainWindow, with real
widgets and files, and no ``MainWindow``. A part that reached for the window (``window.batch``,
``window.undo_stacks``…) would fail on the plain one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtWidgets import QMainWindow, QMessageBox

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.editing.mask_edits import MaskEdit
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.jobs.batch_runner import BatchRunner
from clearbg_desktop.gui.jobs.export_runner import ExportRunner
from clearbg_desktop.gui.jobs.project_files import ProjectFiles
from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
from clearbg_desktop.gui.widgets.status_bar import StatusBar
from clearbg_desktop.gui.widgets.undo import DocumentUndo
from clearbg_desktop.gui.widgets.window_context import WindowContext
from clearbg_desktop.gui.window.quit_guard import QuitGuard
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot


@pytest.fixture
def context(qtbot: QtBot) -> WindowContext:
    """A context over a plain QMainWindow: only what a part may know of its window."""
    parent = QMainWindow()
    qtbot.addWidget(parent)
    status = StatusBar("U²-Net small", parent)
    parent.setStatusBar(status)
    parent.show()
    return WindowContext.create(parent, AppSettings(device="cpu"), status, DocumentUndo(parent, lambda *_: None))


def edited_photo(context: WindowContext, path: Path) -> Document:
    """An open photo with its mask and one edit since (so neither saved nor exported), shown."""
    document = Document(title=path.name, path=path)
    document.set_photo(load_image(path))
    height, width = np.asarray(document.loaded.rgb).shape[:2]  # type: ignore[union-attr]
    document.set_prediction(np.full((height, width), 200, np.uint8))
    context.workspace.add(document)
    context.workspace.current = document
    context.undo.add(document)
    assert document.alpha is not None
    edit = MaskEdit.whole(document.alpha, 255 - document.alpha, "Invert mask")
    edit.apply(document.alpha)
    context.undo.push(document, edit)
    return document


def button(box: QMessageBox, text: str) -> QMessageBox:
    return next(b for b in box.buttons() if b.text() == text)  # type: ignore[return-value]


def test_the_export_runner_asks_before_replacing_and_marks_what_it_wrote(
        qtbot: QtBot, context: WindowContext, photo_path: Path, tmp_path: Path) -> None:
    document = edited_photo(context, photo_path)
    exporter = ExportRunner(context)
    target = tmp_path / "out" / "photo.png"
    target.parent.mkdir()
    target.write_bytes(b"precious")
    exporter.export_to(target, ExportOptions())
    box = context.messages.shown
    assert box is not None and box.objectName() == "OverwriteQuestion" and box.parent() is context.parent
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert context.status.currentMessage() == "Export cancelled" and target.read_bytes() == b"precious"
    assert not context.undo.is_clean(document)
    exporter.export_to(target, ExportOptions())
    assert context.messages.shown is not box
    with qtbot.waitSignal(exporter.exported, timeout=WAIT_MS) as written:
        button(context.messages.shown, "Keep both").click()
    assert Path(written.args[0]).name == "photo (2).png" and target.read_bytes() == b"precious"
    assert context.undo.is_clean(document)  # exported as it is: quitting loses nothing now
    assert context.status.currentMessage() == f"Exported {written.args[0]}"


def test_the_quit_guard_names_unsaved_photos_and_hands_the_choice_to_the_window(
        qtbot: QtBot, context: WindowContext, photo_path: Path) -> None:
    exporter = ExportRunner(context)
    projects = ProjectFiles(context)
    batch = BatchRunner(context, exporter, Filmstrip(context.parent))
    guard = QuitGuard(context, projects, batch, exporter)
    document = edited_photo(context, photo_path)
    assert guard.unexported_documents() == [document]

    assert not guard.may_close()
    box = context.messages.shown
    assert box is not None and box.objectName() == "QuitQuestion" and photo_path.name in box.text()
    assert {b.text() for b in box.buttons()} == {"Save", "Export…", "Discard and quit", "Cancel"}
    with qtbot.waitSignal(guard.quit_chosen, timeout=WAIT_MS):
        button(box, "Discard and quit").click()
    assert guard.may_close()  # the user said so: the window's next close goes through

    assert not guard.close_document(document)
    close = context.messages.shown
    assert close is not None and close.objectName() == "CloseQuestion"
    with qtbot.waitSignal(guard.close_chosen, timeout=WAIT_MS) as chosen:
        button(close, "Discard").click()
    assert chosen.args == [document]
    document.alpha[...] = 0  # type: ignore[index]
    context.undo.stacks[document.doc_id].setClean()
    assert guard.close_document(document)  # nothing unsaved: no question
    assert context.messages.shown is close


def test_exporting_a_small_photo_at_a_larger_size_says_it_was_enlarged(
        qtbot: QtBot, context: WindowContext, photo_path: Path, tmp_path: Path) -> None:
    edited_photo(context, photo_path)
    exporter = ExportRunner(context)
    width, height = Image.open(photo_path).size
    with qtbot.waitSignal(exporter.exported, timeout=WAIT_MS) as written:
        exporter.export_to(tmp_path / "big.png", ExportOptions(resize_long_edge=3 * max(width, height)))
    assert context.status.currentMessage() == (f"Exported {written.args[0]} (enlarged 3.0×: the photo is smaller "
                                               "than the size asked and may look soft)")
    with qtbot.waitSignal(exporter.exported, timeout=WAIT_MS) as written:
        exporter.export_to(tmp_path / "same.png", ExportOptions(resize_long_edge=max(width, height)))
    assert context.status.currentMessage() == f"Exported {written.args[0]}"
