"""Shadows in the window (#40): the export dialog's Shadow row writes them into the file, is turned off where a file
keeps no shadow (layered files, masks), comes from the marketplace preset, and the canvas's colour view shows it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.output_file import render_output
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.canvas.mask_canvas import MaskCanvas
from clearbg_desktop.gui.dialogs.export_form import ExportOptionsForm
from tests.gui.test_export_batch import open_photo, run_export_dialog

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.dialogs.export_dialog import ExportDialog
    from clearbg_desktop.gui.window.main_window import MainWindow


def product_mask(document) -> np.ndarray:  # noqa: ANN001 - a Document
    """A product standing in the photo (what the random test weights give is no product)."""
    document.alpha[...] = 0
    document.alpha[40:140, 90:150] = 255
    document.alpha[40:140, 89] = 120  # a soft edge
    return document.alpha.copy()


@pytest.mark.slow  # the real window, a model run and an export: ~3-5 s on 2 cores
def test_a_contact_shadow_through_the_export_dialog_is_in_the_file_and_on_the_canvas(
        qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    document = open_photo(qtbot, window, tmp_path / "shoot")
    alpha = product_mask(document)
    out = tmp_path / "exports"
    out.mkdir()

    def configure(dialog: ExportDialog) -> None:
        dialog.folder_edit.setText(str(out))
        form = dialog.form
        form.format_box.setCurrentIndex(form.format_box.findData("png"))
        form.shadow_box.setCurrentIndex(form.shadow_box.findData("contact"))
        assert form.shadow_opacity.isEnabled() and form.shadow_blur.isEnabled()
        assert not form.shadow_distance.isEnabled() and not form.shadow_angle.isEnabled()  # a drop shadow's
        form.shadow_opacity.setValue(60)
        form.shadow_blur.setValue(6.0)

    written = Path(run_export_dialog(qtbot, window, configure))
    chosen = ShadowSettings(kind="contact", opacity=60.0, blur=6.0)
    assert window.settings.export.shadow == chosen and document.export_options.shadow == chosen  # remembered
    with Image.open(written) as image:
        exported = np.asarray(image)
    assert exported.shape == (180, 240, 4)
    expected = render_output(document.loaded, Image.fromarray(alpha, "L"), ExportOptions(shadow=chosen))
    np.testing.assert_array_equal(exported, np.asarray(expected))  # the core's picture, byte for byte
    opaque = alpha == 255
    np.testing.assert_array_equal(exported[opaque][:, :3], np.asarray(document.loaded.rgb)[opaque])
    assert exported[141:146, 100:140, 3].min() > 0 and (exported[141:146, 100:140, :3] == 0).all()  # under the base

    canvas = window.canvas
    canvas.set_background_color(QColor(255, 255, 255))
    window.set_view_mode("color")
    canvas.update_shadow()
    assert canvas.shown_shadow == chosen
    shown = canvas.displayed_array()
    assert shown is not None
    assert shown[142, 120].max() < 200 and (shown[10, 10] == 255).all()  # shadow under the base, white elsewhere
    np.testing.assert_array_equal(shown[opaque], np.asarray(document.loaded.rgb)[opaque])
    window.set_view_mode("cutout")
    assert canvas.shown_shadow is None  # the cut-out view is where the mask is judged: no shadow there


def test_the_shadow_row_is_off_for_layered_files_and_masks(qtbot: QtBot) -> None:
    form = ExportOptionsForm(ExportOptions(shadow=ShadowSettings(kind="drop")), settings=AppSettings())
    qtbot.addWidget(form)
    assert form.shadow_box.currentData() == "drop" and form.shadow_angle.isEnabled()
    form.format_box.setCurrentIndex(form.format_box.findData("psd"))
    assert not form.shadow_box.isEnabled() and not form.shadow_opacity.isEnabled()
    assert "layered" in form.shadow_box.toolTip()
    assert form.options().shadow is None  # turned off, not an error
    form.format_box.setCurrentIndex(form.format_box.findData("png"))
    assert form.options().shadow == ShadowSettings(kind="drop")  # back, as it was entered
    form.mask_only.setChecked(True)
    assert not form.shadow_box.isEnabled() and "mask" in form.shadow_box.toolTip()
    assert form.options().shadow is None
    form.mask_only.setChecked(False)
    form.shadow_box.setCurrentIndex(form.shadow_box.findData(None))
    assert form.options().shadow is None and not form.shadow_blur.isEnabled()


def test_the_marketplace_preset_with_a_contact_shadow_fills_the_row(qtbot: QtBot) -> None:
    form = ExportOptionsForm(ExportOptions(), settings=AppSettings())
    qtbot.addWidget(form)
    assert form.presets is not None
    form.presets.choose("Marketplace main image with contact shadow")
    assert form.shadow_box.currentData() == "contact" and form.shadow_opacity.value() == 40
    options = form.options()
    assert options.shadow is not None and options.subject_fill == 0.85
    assert options.background == Background(kind="color", color=(255, 255, 255))
    form.presets.choose("Marketplace main image (white square, subject 85 %)")
    assert form.shadow_box.currentData() is None and form.options().shadow is None


def test_the_shadow_row_is_in_the_tab_order_after_the_background(qtbot: QtBot) -> None:
    form = ExportOptionsForm(ExportOptions(), settings=AppSettings())
    qtbot.addWidget(form)
    order: list[QWidget] = []
    widget: QWidget = form.background_box
    for _ in range(40):
        widget = widget.nextInFocusChain()
        if widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            order.append(widget)
    shadow_row = [form.shadow_box, form.shadow_opacity, form.shadow_blur, form.shadow_distance, form.shadow_angle]
    positions = [order.index(w) for w in shadow_row]
    assert positions == sorted(positions) and positions[-1] < order.index(form.crop)


def test_the_colour_view_follows_an_edit_and_the_photos_own_shadow(qtbot: QtBot, tmp_path: Path) -> None:
    from clearbg_desktop.core.editing.document import Document
    from clearbg_desktop.core.imaging.loading import load_image
    from tests.conftest import make_photo

    photo = tmp_path / "p.png"
    make_photo((200, 150)).save(photo)
    document = Document(title="p.png", path=photo, loaded=load_image(photo))
    alpha = np.zeros((150, 200), np.uint8)
    alpha[30:110, 70:130] = 255
    document.alpha = alpha
    canvas = MaskCanvas()
    qtbot.addWidget(canvas)
    canvas.set_background_color(QColor(255, 255, 255))
    canvas.set_view_mode("color")
    canvas.set_document(document)
    assert canvas.shown_shadow is None  # the photo has no export options of its own
    document.export_options = ExportOptions(shadow=ShadowSettings(kind="contact", opacity=70.0))
    canvas.update_shadow()
    assert canvas.shown_shadow is not None
    before = canvas.displayed_array()
    assert before is not None and before[112, 100].max() < 200
    default = ShadowSettings(kind="drop", opacity=40.0)
    canvas.set_shadow_source(lambda doc: (doc.export_options or ExportOptions(shadow=default)).shadow)
    document.export_options = None
    canvas.update_shadow()
    assert canvas.shown_shadow == default
    document.alpha[30:110, 130:150] = 255  # a stroke widens the subject: the dab shows at once…
    canvas.repaint_region((130, 30, 150, 110))
    with qtbot.waitSignal(canvas.rendered, timeout=3000):  # …and the shadow follows once the edits pause
        pass
    assert canvas.shown_shadow == default
