"""Issue #37, points 2 and 3 in the real window: keyboard focus never gets stuck in a brush setting, the view keys
and Ctrl+E work wherever the focus is, arrows go to the next and previous photo, and the toolbar's Undo/Redo cannot
be taken for photo navigation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QToolButton, QWidget

from clearbg_desktop.core.editing.document import Document
from tests.conftest import make_photo
from tests.gui.test_brushes import drag
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def open_three(qtbot: QtBot, window: MainWindow, tmp_path: Path, wait: bool = True) -> list[Document]:
    paths = []
    for index in range(3):
        paths.append(tmp_path / f"photo{index + 1}.jpg")
        make_photo((320, 240), seed=index).save(paths[-1], quality=92)
    if not wait:
        return window.open_paths(paths)
    with qtbot.waitSignals([window.document_ready] * 3, timeout=WAIT_MS):
        documents = window.open_paths(paths)
    return documents


def activate(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=WAIT_MS)


def press(qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key as the user types it: to whatever widget has the keyboard focus now."""
    focused = QApplication.focusWidget()
    assert focused is not None
    qtbot.keyClick(focused, key, modifier)


def test_focus_returns_to_the_canvas_when_the_mask_queue_buttons_go_away(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """D2: Pause, Resume, wait for the masks; then 4 is the Mask view and ↓ leaves the brush alone."""
    activate(qtbot, window)
    window.canvas.setFocus()
    open_three(qtbot, window, tmp_path, wait=False)
    progress = window.masks.progress
    qtbot.waitUntil(lambda: progress.isVisible(), timeout=WAIT_MS)
    qtbot.mouseClick(progress.pause_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(progress.pause_button, Qt.MouseButton.LeftButton)  # Resume
    qtbot.waitUntil(lambda: not progress.isVisible(), timeout=WAIT_MS)
    size = window.brush_bar.size_box.value()
    assert QApplication.focusWidget() is window.canvas
    press(qtbot, Qt.Key.Key_4)
    assert window.canvas.view_mode == "mask"
    press(qtbot, Qt.Key.Key_Down)
    press(qtbot, Qt.Key.Key_Up)
    assert window.brush_bar.size_box.value() == size


def test_a_transient_widget_that_had_the_focus_gives_it_back_to_the_canvas(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_three(qtbot, window, tmp_path)
    activate(qtbot, window)
    button = window.status.note_button  # any widget that comes and goes
    button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    button.setVisible(True)
    button.setFocus()
    assert QApplication.focusWidget() is button
    button.setVisible(False)
    assert QApplication.focusWidget() is window.canvas


def test_brush_settings_take_keys_only_while_the_user_edits_them(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Tab never lands in the brush settings; a click does, digits then type a size, Enter gives the keys back."""
    open_three(qtbot, window, tmp_path)
    activate(qtbot, window)
    bar = window.brush_bar
    for widget in (bar.size_box, bar.hardness_slider, bar.opacity_slider):
        assert widget.focusPolicy() == Qt.FocusPolicy.ClickFocus
    qtbot.mouseClick(bar.size_box.lineEdit(), Qt.MouseButton.LeftButton)
    assert bar.size_box.hasFocus()
    bar.size_box.selectAll()
    press(qtbot, Qt.Key.Key_3)
    press(qtbot, Qt.Key.Key_5)
    press(qtbot, Qt.Key.Key_Return)
    assert bar.size_box.value() == 35 and bar.brush.size == 35
    assert QApplication.focusWidget() is window.canvas  # Enter: done editing
    press(qtbot, Qt.Key.Key_2)
    assert window.canvas.view_mode == "color" and bar.size_box.value() == 35


def test_window_shortcuts_work_while_a_spin_box_has_the_focus(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Ctrl+E exports and Ctrl+B compares even from inside the Size box. A line edit takes Ctrl+E as "End" with
    the X11 key scheme only, so this fails without the fix under ``QT_QPA_PLATFORM=xcb`` (Xvfb), not offscreen,
    whose key scheme is Windows'."""
    open_three(qtbot, window, tmp_path)
    activate(qtbot, window)
    bar = window.brush_bar
    qtbot.mouseClick(bar.size_box.lineEdit(), Qt.MouseButton.LeftButton)
    assert bar.size_box.hasFocus()
    with qtbot.waitSignal(window.window_actions.compare.triggered, timeout=2000):
        press(qtbot, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(window.window_actions.export.triggered, timeout=2000):
        press(qtbot, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    window.exporter.dialog.reject()
    qtbot.mouseClick(bar.size_box.lineEdit(), Qt.MouseButton.LeftButton)
    bar.size_box.selectAll()
    press(qtbot, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # the field's own copy, not the cut-out's
    assert QApplication.clipboard().text() == str(bar.size_box.value())


def test_arrows_go_to_the_next_and_previous_photo(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """D3: Right/Left from the canvas and from the filmstrip; not inside a field being typed in."""
    first, second, third = open_three(qtbot, window, tmp_path)
    activate(qtbot, window)
    window.filmstrip.setCurrentRow(0)
    window.canvas.setFocus()
    assert window.workspace.current is first
    press(qtbot, Qt.Key.Key_Right)
    assert window.workspace.current is second
    press(qtbot, Qt.Key.Key_Right)
    press(qtbot, Qt.Key.Key_Right)  # the last photo: stays
    assert window.workspace.current is third
    window.filmstrip.setFocus()
    press(qtbot, Qt.Key.Key_Left)
    assert window.workspace.current is second
    window.panels.history_view.setFocus()
    press(qtbot, Qt.Key.Key_Left)
    assert window.workspace.current is first
    qtbot.mouseClick(window.brush_bar.size_box.lineEdit(), Qt.MouseButton.LeftButton)
    press(qtbot, Qt.Key.Key_Right)  # moves the text cursor
    assert window.workspace.current is first


def test_next_and_previous_photo_are_in_the_view_menu_with_their_keys(qtbot: QtBot, window: MainWindow,
                                                                     tmp_path: Path) -> None:
    first, second, _third = open_three(qtbot, window, tmp_path)
    window.filmstrip.setCurrentRow(0)
    actions = window.window_actions
    menu_actions = {a for menu in window.menuBar().findChildren(type(window.menuBar().addMenu("x")))
                    for a in menu.actions()}
    assert actions.next_photo in menu_actions and actions.previous_photo in menu_actions
    assert actions.next_photo.shortcut() == QKeySequence(Qt.Key.Key_Right)
    assert actions.previous_photo.shortcut() == QKeySequence(Qt.Key.Key_Left)
    assert not actions.previous_photo.isEnabled()
    actions.next_photo.trigger()
    assert window.workspace.current is second and actions.previous_photo.isEnabled()
    actions.previous_photo.trigger()
    assert window.workspace.current is first


def test_toolbar_undo_and_redo_do_not_look_like_photo_navigation(qtbot: QtBot, window: MainWindow,
                                                                 tmp_path: Path) -> None:
    """D3: not the arrows of QStyle (◀ ▶), and the tooltip says what the button does and its key."""
    documents = open_three(qtbot, window, tmp_path)
    window.filmstrip.setCurrentRow(2)
    style = window.style()
    actions = window.window_actions
    arrows = [style.standardIcon(p).pixmap(16, 16).toImage() for p in (
        style.StandardPixmap.SP_ArrowBack, style.StandardPixmap.SP_ArrowForward, style.StandardPixmap.SP_ArrowLeft,
        style.StandardPixmap.SP_ArrowRight, style.StandardPixmap.SP_MediaSeekBackward,
        style.StandardPixmap.SP_MediaSeekForward)]
    for action in (actions.undo, actions.redo):
        assert not action.icon().isNull()
        drawn = action.icon().pixmap(16, 16).toImage()
        assert not any(drawn == arrow for arrow in arrows)
    window.canvas.zoom_actual()
    drag(qtbot, window.canvas, [(40, 40), (120, 60)])
    button = window.window_actions.toolbar.widgetForAction(actions.undo)
    assert isinstance(button, QToolButton)
    assert "Undo" in button.toolTip() and "Ctrl+Z" in button.toolTip()
    assert "Redo" in window.window_actions.toolbar.widgetForAction(actions.redo).toolTip()
    assert documents[2] is window.workspace.current


def test_every_focusable_widget_of_the_window_lets_the_view_keys_through(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    """Tab from the canvas round the whole window: wherever it lands, 1 and 4 switch the view."""
    open_three(qtbot, window, tmp_path)
    activate(qtbot, window)
    window.canvas.setFocus()
    seen: list[QWidget] = []
    for _ in range(30):
        focused = QApplication.focusWidget()
        assert focused is not None
        seen.append(focused)
        press(qtbot, Qt.Key.Key_4)
        assert window.canvas.view_mode == "mask", f"4 was taken by {type(focused).__name__}"
        press(qtbot, Qt.Key.Key_1)
        assert window.canvas.view_mode == "cutout", f"1 was taken by {type(focused).__name__}"
        focused.focusNextChild()
