"""Issue #37, point 6 in the real window: no ghost of an undone stroke at a fractional zoom, one doubt badge per
photo, readable names in the filmstrip, the first of several opened photos shown, a guide whose menus exist, and
Help with the keyboard shortcuts and the user guide."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Slot
from PySide6.QtGui import QAction, QDesktopServices, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionViewItem

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.gui.window.actions import plain_text
from tests.conftest import make_photo
from tests.gui.test_brushes import drag
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.widgets.filmstrip import Filmstrip
    from clearbg_desktop.gui.window.main_window import MainWindow

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "user-guide.md"


def open_photos(qtbot: QtBot, window: MainWindow, tmp_path: Path, names: list[str],
                size: tuple[int, int] = (320, 240)) -> list[Document]:
    paths = []
    for index, name in enumerate(names):
        paths.append(tmp_path / name)
        make_photo(size, seed=index).save(paths[-1], quality=92)
    with qtbot.waitSignals([window.document_ready] * len(paths), timeout=WAIT_MS):
        documents = window.open_paths(paths)
    return documents


def as_array(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    return np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4).copy()


def on_screen(window: MainWindow) -> np.ndarray:
    """The canvas as the screen shows it: the window's backing store, where a repaint that missed some pixels
    leaves them stale (``widget.grab()`` renders the widget afresh and would hide exactly that)."""
    viewport = window.canvas.viewport()
    corner = viewport.mapTo(window, viewport.rect().topLeft())
    shot = window.screen().grabWindow(window.winId(), corner.x(), corner.y(), viewport.width(), viewport.height())
    return as_array(shot.toImage())


def pointer_leaves(window: MainWindow) -> None:
    """The pointer goes to the toolbar or the menu: the brush circle is not part of the comparison."""
    QApplication.sendEvent(window.canvas, QEvent(QEvent.Type.Leave))


@pytest.mark.parametrize("mode", ["refine", "erase"])
def test_undo_at_a_fractional_zoom_leaves_no_ghost_of_the_stroke(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                                 mode: str) -> None:
    """D7: two strokes over a textured photo fitted at 338 %, then Ctrl+Z twice: the screen shows exactly what it
    showed before the strokes (the walk saw 1 342 pixels of thin lines along the stroke path)."""
    window.resize(1500, 950)
    photo = tmp_path / "hair.jpg"
    texture = np.random.default_rng(3).integers(0, 255, (227, 275, 3), dtype=np.uint8)
    Image.fromarray(texture).save(photo, quality=90)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    document = blocker.args[0]
    document.alpha[:, :140] = 255  # a mask edge the strokes cross
    document.alpha[:, 140:] = 0
    window.canvas.refresh()
    window.canvas.zoom_fit()
    assert window.canvas.zoom != round(window.canvas.zoom)
    (window.brush_bar.tool_actions["refine"] if mode == "refine" else window.brush_bar.tool_actions["erase"]).trigger()
    window.brush_bar.size_box.setValue(40)
    pointer_leaves(window)
    qtbot.wait(50)
    before = on_screen(window)
    width, height = 275, 227
    drag(qtbot, window.canvas, [(width * 0.3 + i * 1.37, height * 0.2 + 0.5 * i) for i in range(60)])
    drag(qtbot, window.canvas, [(width * 0.5 + 0.3 * i, height * 0.2 + 1.1 * i) for i in range(60)])
    pointer_leaves(window)
    assert window.undo.stacks[document.doc_id].count() == 2
    window.activateWindow()  # Ctrl+Z is a window shortcut: it needs the window active (X11 without a window manager)
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.undo.stacks[document.doc_id].index() == 0
    qtbot.wait(100)
    after = on_screen(window)
    differing = int(np.count_nonzero(np.any(before != after, axis=-1)))
    assert differing == 0, f"{differing} screen pixels still show the undone strokes"


def test_a_reviewed_photo_keeps_one_badge_when_its_doubt_changes(qtbot: QtBot, window: MainWindow,
                                                                 tmp_path: Path) -> None:
    """D8: a reviewed photo exported again (Replace) gets its new doubt; the old badge goes."""
    (document,) = open_photos(qtbot, window, tmp_path, ["plums.jpg"])
    window.filmstrip.set_badge(document.doc_id, 0.81, ["soft or unsure edges"])
    window.filmstrip.set_badge(document.doc_id, 0.82, ["soft or unsure edges"])  # what Replace does
    lines = window.filmstrip.row_text(0).splitlines()
    assert lines == ["plums.jpg", "⚠ 0.82"]
    tooltip = window.filmstrip.strip.rows[0].tooltip
    assert tooltip.count("Doubt") == 1 and "0.82" in tooltip


def shown_text(filmstrip: Filmstrip, row: int) -> str:
    """The name as the filmstrip draws it: the item's text rectangle from the style, elided as the view elides."""
    index = filmstrip.model().index(row, 0)
    filmstrip.scrollTo(index)
    option = QStyleOptionViewItem()
    filmstrip.initViewItemOption(option)
    option.rect = filmstrip.visualRect(index)
    filmstrip.itemDelegateForIndex(index).initStyleOption(option, index)
    text_rect = filmstrip.style().subElementRect(QStyle.SubElement.SE_ItemViewItemText, option, filmstrip)
    text_rect = text_rect.intersected(filmstrip.viewport().rect())  # what is off the panel is not seen
    room = text_rect.width() - 2 * (filmstrip.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 1)
    name = option.text.splitlines()[0]
    return option.fontMetrics.elidedText(name, filmstrip.textElideMode(), room)


@pytest.mark.parametrize("width", [150, 200])
def test_landscape_names_stay_readable_in_the_filmstrip(qtbot: QtBot, window: MainWindow, tmp_path: Path,
                                                       width: int) -> None:
    """D4: "IMG_0017.jpg" under a landscape thumbnail, not "I…g", at the panel's narrowest and a usual width."""
    names = [f"IMG_{n:04d}.jpg" for n in range(15, 30)]
    open_photos(qtbot, window, tmp_path, names, size=(360, 240))
    window.resizeDocks([window.panels.photos_dock], [width], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: abs(window.panels.photos_dock.width() - width) <= 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.filmstrip.verticalScrollBar().isVisible(), timeout=WAIT_MS)
    for row in (0, 2, 14):
        assert shown_text(window.filmstrip, row) == names[row]


def test_opening_several_photos_shows_the_first_and_scrolls_to_it(qtbot: QtBot, window: MainWindow,
                                                                  tmp_path: Path) -> None:
    """R5: the first of the photos opened is on screen and in view in the filmstrip, also after earlier ones."""
    open_photos(qtbot, window, tmp_path, [f"early-{n}.jpg" for n in range(12)])
    assert window.workspace.current.title == "early-0.jpg"
    window.filmstrip.scrollToTop()
    later = open_photos(qtbot, window, tmp_path, [f"later-{n}.jpg" for n in range(12)])
    assert window.workspace.current is later[0] and window.canvas.document is later[0]
    row = window.filmstrip.order().index(later[0].doc_id)
    assert window.filmstrip.currentRow() == row
    qtbot.waitUntil(lambda: window.filmstrip.viewport().rect().contains(
        window.filmstrip.visualRect(window.filmstrip.model().index(row, 0))), timeout=WAIT_MS)


def test_every_menu_entry_the_guide_names_exists(window: MainWindow) -> None:
    """R8: the guide said "Image ▸ Refine edge", which is a panel, not an entry of the Image menu."""
    guide = " ".join(GUIDE.read_text(encoding="utf-8").split())
    menus = {plain_text(entry.text()): [plain_text(a.text()).rstrip("…") for a in entry.menu().actions() if a.text()]
             for entry in window.menuBar().actions() if entry.menu() is not None}
    named = 0
    for title, entries in menus.items():
        for match in re.finditer(rf"\b{re.escape(title)} ▸ ", guide):
            following = guide[match.end():match.end() + 60]
            assert any(following.startswith(entry) for entry in entries), f"{title} ▸ {following[:30]}…"
            named += 1
    assert named >= 5


def test_help_lists_every_shortcut_of_the_window(qtbot: QtBot, window: MainWindow) -> None:
    actions = window.window_actions
    help_menu = next(e.menu() for e in window.menuBar().actions() if plain_text(e.text()) == "Help")
    assert actions.shortcuts_help in help_menu.actions() and actions.user_guide in help_menu.actions()
    dialog = window.show_shortcuts()
    listed = dialog.rows()
    keys = {k for _section, _command, k in listed}
    for action in window.findChildren(QAction):
        for shortcut in action.shortcuts():
            assert any(shortcut.toString(QKeySequence.SequenceFormat.NativeText) in k.split(", ") for k in keys), \
                f"{action.text()} ({shortcut.toString()}) is not listed"
    assert ("View", "Next photo", "Right") in listed and ("View", "Previous photo", "Left") in listed
    assert any(row[:2] == ("Edit", "Undo") and row[2].startswith("Ctrl+Z") for row in listed)
    assert ("View", "Mask only", "4") in listed
    dialog.reject()


class _Opened(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:  # noqa: A003 - the name QDesktopServices calls
        self.urls.append(url)


def test_help_user_guide_opens_the_guide(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    opened = _Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")  # the desktop's viewer is not started in a test
    try:
        monkeypatch.delenv("CLEARBG_RESOURCES", raising=False)
        window.window_actions.user_guide.trigger()
        assert [Path(url.toLocalFile()) for url in opened.urls] == [GUIDE]
        monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "nowhere" / "resources"))
        window.window_actions.user_guide.trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    box = window.messages.shown
    assert box.objectName() == "UserGuideBox" and "docs/user-guide.md" in box.text()
    box.close()
