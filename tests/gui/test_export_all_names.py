"""Export all and the batch dialog name outputs with the one planner (#36): same-named photos from two cards
get two outputs, and a job whose outputs would be the photos themselves is refused with one message."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from clearbg_desktop.core.batch.naming import collision_key
from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.gui.dialogs.export_all import plan_documents
from clearbg_desktop.gui.window.main_window import MainWindow
from tests.conftest import make_photo

WAIT_MS = 60_000


def _cards(tmp_path: Path) -> list[Path]:
    paths = []
    for card in (1, 2):
        path = tmp_path / f"card{card}" / "IMG_0001.JPG"
        path.parent.mkdir()
        make_photo((320, 240), seed=card).save(path, format="JPEG")
        paths.append(path)
    return paths


def test_export_all_writes_same_named_photos_from_two_cards_apart(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    paths = _cards(tmp_path)
    with qtbot.waitSignals([window.document_ready] * 2, timeout=WAIT_MS):
        documents = window.open_paths(paths)
    out = tmp_path / "out"
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS) as blocker:
        window.batch.export_documents(documents, out, ExportOptions(), existing="overwrite")
    report = blocker.args[0]
    assert len(report.done) == 2 and not report.failed
    assert sorted(p.name for p in out.iterdir()) == ["IMG_0001-cutout-card1.png", "IMG_0001-cutout-card2.png"]


def test_export_all_into_the_photos_folder_as_themselves_is_refused(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """D1 in the window: Export all, the photo's folder, {name}, its own format, overwrite: nothing written."""
    photo = tmp_path / "1.jpg"
    make_photo((320, 240)).save(photo)
    before = sha256_file(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        documents = window.open_paths([photo])
    window.batch.export_documents(documents, tmp_path, ExportOptions(format="jpg", name_template="{name}"),
                                  existing="overwrite")
    box = window.context.messages.shown
    assert box is not None and "would replace the original photos" in box.text()
    assert not window.batch.running and sha256_file(photo) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["1.jpg"]
    box.close()


def test_single_export_never_replaces_the_photo(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    photo = tmp_path / "1.jpg"
    make_photo((320, 240)).save(photo)
    before = sha256_file(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    window.exporter.export_to(photo, ExportOptions(format="jpg", name_template="{name}"))
    box = window.context.messages.shown
    assert box is not None and "never replaces" in box.text() and sha256_file(photo) == before
    box.close()


PHOTOS = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(["IMG_0001", "img_0001", "a", "s"]),
                            st.sampled_from(["jpg", "JPG", "png", "tif"])), min_size=1, max_size=10)


@settings(max_examples=40, deadline=None)
@given(photos=PHOTOS, template=st.sampled_from(["{name}-cutout", "{name}", "x", "{name}-{ext}"]),
       fmt=st.sampled_from(["png", "jpg"]), into_card=st.booleans())
def test_export_all_plans_distinct_outputs_never_an_open_photo(
        photos: list[tuple[int, str, str]], template: str, fmt: str, into_card: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        documents = []
        for card, stem, ext in photos:
            path = root / f"card{card}" / f"{stem}.{ext}"
            if any(d.path.parent == path.parent and d.path.name.casefold() == path.name.casefold()
                   for d in documents):
                continue
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"photo")
            document = Document(title=path.name, path=path)
            document.set_prediction(np.zeros((2, 2), np.uint8))
            documents.append(document)
        out = root / "card0" if into_card else root / "out"
        plan = plan_documents(documents, out, ExportOptions(format=fmt, name_template=template), "small")
        originals = {d.path.resolve() for d in documents}
        written = [item for item in plan.items if item not in plan.problems]
        assert len({collision_key(item.target) for item in written}) == len(written)
        assert not any(item.target.resolve() in originals for item in written)
        assert all(item.target.resolve() in originals for item in plan.problems)
        assert len(plan.items) == len(documents) and set(plan.edited) == set(plan.items)


def test_the_export_all_dialog_says_it_before_closing(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 37b: the refusal came after the dialog had closed, with the choices gone; now the dialog says it and
    stays open for another folder or template."""
    from PySide6.QtWidgets import QDialogButtonBox

    photo = tmp_path / "1.jpg"
    make_photo((320, 240)).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    window.window_actions.export_all.trigger()
    dialog = window.batch.export_all_dialog
    assert dialog is not None
    dialog.output.setText(str(tmp_path))
    dialog.form.format_box.setCurrentIndex(dialog.form.format_box.findData("jpg"))
    dialog.form.template.setText("{name}")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and "would replace the original photos (first: 1.jpg)" in dialog.error_label.text()
    dialog.form.template.setText("{name}-web")
    with qtbot.waitSignal(window.batch.finished, timeout=WAIT_MS):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert (tmp_path / "1-web.jpg").is_file()


def test_same_named_photos_show_their_folder_in_the_filmstrip(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Walk 37b: two IMG_0001.JPG from two cards looked alike in the filmstrip; each now shows its folder, and a
    photo alone again shows just its name."""
    from PySide6.QtCore import Qt

    paths = _cards(tmp_path)
    with qtbot.waitSignals([window.document_ready] * 2, timeout=WAIT_MS):
        documents = window.open_paths(paths)
    strip = window.filmstrip.strip
    texts = [strip.data(strip.index(row), Qt.ItemDataRole.DisplayRole) for row in range(strip.rowCount())]
    assert texts == ["IMG_0001.JPG · card1", "IMG_0001.JPG · card2"]
    window.filmstrip.remove(documents[1].doc_id)
    assert strip.data(strip.index(0), Qt.ItemDataRole.DisplayRole) == "IMG_0001.JPG"


def test_the_export_all_list_tells_same_named_photos_apart(tmp_path: Path) -> None:
    """Walk 37b's leftover: the Export all dialog listed two IMG_0001.JPG alike; now as the filmstrip shows them."""
    from clearbg_desktop.gui.dialogs.export_all import listed_names

    first, second = _cards(tmp_path)
    alone = tmp_path / "card1" / "IMG_0002.JPG"
    documents = [Document(title=path.name, path=path) for path in (first, second, alone)]
    documents.append(Document(title="Pasted image 1"))
    assert [shown for shown, _ in listed_names(documents)] == [
        "IMG_0001.JPG · card1", "IMG_0001.JPG · card2", "IMG_0002.JPG", "Pasted image 1"]
    assert listed_names(documents)[1][1] == str(second)
