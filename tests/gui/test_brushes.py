"""Brushes, undo/redo and edge refinement driven through the real canvas with mouse events."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from tests.conftest import make_photo
from tests.gui.test_main_window import WAIT_MS

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
    from clearbg_desktop.gui.window.main_window import MainWindow



def open_photo(qtbot: QtBot, window: MainWindow, tmp_path: Path, size=(400, 300)):
    photo = tmp_path / "p.png"
    make_photo(size).save(photo)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS) as blocker:
        window.open_paths([photo])
    window.canvas.zoom_actual()
    window.canvas.centerOn(0, 0)
    return blocker.args[0]


def view_point(canvas: MaskCanvas, x: float, y: float) -> QPoint:
    return canvas.mapFromScene(x, y)


def drag(qtbot: QtBot, canvas: MaskCanvas, points: list[tuple[float, float]]) -> None:
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=view_point(canvas, *points[0]))
    for x, y in points[1:]:
        qtbot.mouseMove(viewport, view_point(canvas, x, y))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=view_point(canvas, *points[-1]))


def test_restore_erase_soft_edge_undo_redo(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    document.alpha[...] = 0  # a known starting mask (as if the model missed the subject)
    window.canvas.refresh()
    start = document.alpha.copy()
    window.brush_bar.size_box.setValue(20)
    window.brush_bar.hardness_slider.setValue(100)
    drag(qtbot, window.canvas, [(50, 50), (100, 50), (150, 50)])
    alpha = document.alpha
    assert alpha[50, 100] == 255 and alpha[50, 55] == 255
    changed = np.argwhere(alpha != start)
    assert changed[:, 0].min() >= 38 and changed[:, 0].max() <= 62  # exactly the stroke's band
    assert changed[:, 1].min() >= 38 and changed[:, 1].max() <= 162
    after_first = alpha.copy()

    window.brush_bar.toggle_action.trigger()  # X: erase
    assert window.canvas.brush.mode == "erase"
    window.brush_bar.hardness_slider.setValue(0)  # soft edge
    drag(qtbot, window.canvas, [(100, 40), (100, 60)])
    assert alpha[50, 100] < 40 and 0 < alpha[50, 105] < 255  # soft: intermediate values at the rim
    assert window.undo.stacks[document.doc_id].count() == 2

    window.window_actions.undo.trigger()
    assert np.array_equal(document.alpha, after_first)
    window.window_actions.undo.trigger()
    assert np.array_equal(document.alpha, start)  # bit for bit
    window.window_actions.redo.trigger()
    assert np.array_equal(document.alpha, after_first)
    assert np.array_equal(window.canvas.displayed_array()[..., 3], document.alpha)  # screen follows
    window.grab().save(str(tmp_path / "brush.png"))
    assert not QImage(str(tmp_path / "brush.png")).isNull()


def test_brush_size_shortcuts(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    open_photo(qtbot, window, tmp_path)
    window.brush_bar.size_box.setValue(50)
    window.brush_bar.bigger_action.trigger()
    assert window.canvas.brush.size == 55
    window.brush_bar.smaller_action.trigger()
    window.brush_bar.smaller_action.trigger()
    assert window.canvas.brush.size < 55
    qtbot.keyClick(window.canvas, Qt.Key.Key_BracketRight)
    assert window.brush_bar.size_box.value() > window.canvas.brush.size - 1


def test_reset_invert_and_refinement_are_undoable(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path)
    predicted = document.predicted.copy()
    window.window_actions.invert.trigger()
    assert np.array_equal(document.alpha, 255 - predicted)
    window.window_actions.reset.trigger()
    assert np.array_equal(document.alpha, predicted)
    document.alpha[...] = 0
    document.alpha[100:200, 100:300] = 255
    window.canvas.refresh()
    base = document.alpha.copy()
    window.panels.refine_panel.shift.setValue(5)
    window.panels.refine_panel.feather.setValue(2)
    qtbot.waitUntil(lambda: not np.array_equal(document.alpha, base), timeout=5000)  # live preview
    window.panels.refine_panel.apply_button.click()  # the preview on screen, or the refinement when it ends
    qtbot.waitUntil(lambda: window.canvas.painting_enabled, timeout=5000)
    grown = (document.alpha > 127).sum()
    assert grown > (base > 127).sum()
    window.window_actions.undo.trigger()
    assert np.array_equal(document.alpha, base)
    window.window_actions.redo.trigger()
    assert (document.alpha > 127).sum() == grown
    window.panels.refine_panel.shift.setValue(-5)
    qtbot.waitUntil(lambda: (document.alpha > 127).sum() < grown, timeout=5000)
    window.panels.refine_panel.reset_button.click()  # dropping a preview restores the mask
    assert (document.alpha > 127).sum() == grown


def test_large_photos_render_off_the_gui_thread_and_keep_dabs(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from clearbg_desktop.gui.canvas.image_item import ASYNC_RENDER_PIXELS

    document = open_photo(qtbot, window, tmp_path, size=(2400, 1200))
    assert 2400 * 1200 > ASYNC_RENDER_PIXELS
    canvas = window.canvas
    qtbot.waitUntil(lambda: not canvas.is_rendering, timeout=WAIT_MS)
    document.alpha[...] = 0
    with qtbot.waitSignal(canvas.rendered, timeout=WAIT_MS):
        canvas.refresh()  # runs on the thread pool…
        assert canvas.is_rendering
        window.brush_bar.size_box.setValue(40)
        window.brush_bar.hardness_slider.setValue(100)
        drag(qtbot, canvas, [(300, 300), (400, 300)])  # …while the user paints
    assert document.alpha[300, 350] == 255
    shown = canvas._item.image
    assert shown.pixelColor(350, 300).alpha() == 255  # the dab survived the late render
    assert shown.pixelColor(350, 600).alpha() == 0


def test_the_refine_edge_brush_resolves_a_painted_edge_in_one_undoable_stroke(qtbot: QtBot, window: MainWindow,
                                                                              tmp_path: Path) -> None:
    """make_photo's bright disc on a dark ground: a mask blurred at the disc's edge (as a 320 px map upsampled is)
    is painted over with the Refine Edge brush; the painted edge follows the photo again, and one undo gives the
    mask back exactly."""
    document = open_photo(qtbot, window, tmp_path)
    height, width = document.alpha.shape
    yy, xx = np.mgrid[:height, :width]
    disc = ((xx - width / 2) / (width * 0.25)) ** 2 + ((yy - height * 0.525) / (height * 0.325)) ** 2 < 1
    truth = disc.astype(np.uint8) * 255
    edge_x = int(width / 2 - width * 0.25) + 2
    blurred = np.asarray(Image.fromarray(truth).resize((width // 8, height // 8), Image.BILINEAR)
                         .resize((width, height), Image.BILINEAR))
    unsure = truth.copy()
    band = xx < edge_x + 25
    unsure[band] = blurred[band]  # the model's edge blurred along the disc's left side
    document.alpha[...] = unsure
    window.canvas.refresh()
    window.brush_bar.tool_actions["refine"].trigger()
    assert window.canvas.brush.mode == "refine"
    window.brush_bar.size_box.setValue(40)
    drag(qtbot, window.canvas, [(edge_x, y) for y in range(int(height * 0.35), int(height * 0.7), 10)])
    stack = window.undo.stacks[document.doc_id]
    assert stack.undoText() == "Refine edge stroke" and stack.count() >= 1
    changed = document.alpha != unsure
    assert changed.any()
    before = np.abs(unsure.astype(int) - truth)[changed].mean()
    after = np.abs(document.alpha.astype(int) - truth)[changed].mean()
    assert after < before / 2
    window.undo.group.undo()
    np.testing.assert_array_equal(document.alpha, unsure)
