"""Brush strokes and undo records on the core side (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.editing.mask_edits import Brush, MaskEdit, Stroke, dab_footprint, interpolate
from clearbg_desktop.core.imaging.refine import refine_edges


def test_footprint_hard_and_soft() -> None:
    hard = dab_footprint(21, 1.0)
    soft = dab_footprint(21, 0.0)
    assert hard.shape == (21, 21) and hard[10, 10] == 255 and hard[0, 0] == 0
    assert ((soft > 0) & (soft < 255)).sum() > ((hard > 0) & (hard < 255)).sum()


def test_interpolation_is_evenly_spaced() -> None:
    points = interpolate((0, 0), (10, 0), 2.5)
    assert points == [(2.5, 0), (5.0, 0), (7.5, 0), (10.0, 0)]


def test_restore_stroke_changes_only_its_path_and_undoes_bit_for_bit() -> None:
    alpha = np.zeros((100, 200), np.uint8)
    alpha[70:, :] = 90
    original = alpha.copy()
    stroke = Stroke(alpha, Brush(size=20, hardness=1.0, opacity=1.0, mode="restore"))
    stroke.move_to(30, 30)
    stroke.move_to(170, 30)
    edit = stroke.finish()
    assert edit is not None
    assert alpha[30, 100] == 255 and alpha[30, 30] == 255 and alpha[30, 170] == 255
    assert (alpha[:15] == 0).all() and (alpha[46:] == original[46:]).all()
    left, top, right, bottom = edit.box
    assert 15 <= top and bottom <= 46 and 15 <= left and right <= 185  # only the changed rectangle
    assert edit.nbytes < alpha.nbytes
    edit.revert(alpha)
    assert np.array_equal(alpha, original)
    edit.apply(alpha)
    assert alpha[30, 100] == 255


def test_overlapping_dabs_never_exceed_the_opacity() -> None:
    alpha = np.full((60, 60), 200, np.uint8)
    stroke = Stroke(alpha, Brush(size=30, hardness=1.0, opacity=0.5, mode="erase"))
    for _ in range(5):
        stroke.move_to(30, 30)
        stroke.move_to(31, 30)
    assert alpha[30, 30] == 100  # half of the way to 0, however often the same spot is crossed


def test_soft_brush_gives_intermediate_values() -> None:
    alpha = np.zeros((80, 80), np.uint8)
    stroke = Stroke(alpha, Brush(size=40, hardness=0.0, opacity=1.0))
    stroke.move_to(40, 40)
    stroke.finish()
    assert alpha[40, 40] > 240 and 0 < alpha[40, 52] < 240 and alpha[40, 62] == 0


def test_whole_frame_edit_round_trips() -> None:
    before = np.random.default_rng(0).integers(0, 256, (30, 40), dtype=np.uint8)
    alpha = before.copy()
    edit = MaskEdit.whole(alpha, 255 - alpha, "Invert mask")
    edit.apply(alpha)
    assert np.array_equal(alpha, 255 - before)
    edit.revert(alpha)
    assert np.array_equal(alpha, before)


def test_edge_matting_beats_the_raw_mask_on_a_known_alpha() -> None:
    rng = np.random.default_rng(0)
    height, width = 200, 240
    yy, xx = np.mgrid[:height, :width]
    true_alpha = np.clip((120 + 8 * np.sin(yy / 3.0) - xx) / 6.0 + 0.5, 0, 1)  # wavy, hair-like soft edge
    subject, background = np.array([220, 180, 60.0]), np.array([30, 90, 200.0])
    photo = true_alpha[..., None] * subject + (1 - true_alpha[..., None]) * background
    photo = (photo + rng.normal(0, 3, photo.shape)).clip(0, 255).astype(np.uint8)
    coarse = Image.fromarray((true_alpha * 255).astype(np.uint8)).resize((30, 25), Image.BILINEAR).resize(
        (width, height), Image.BILINEAR)  # what a 320-px model upsampled to full size looks like
    refined = refine_edges(Image.fromarray(photo), coarse, band=8)
    raw_error = np.abs(np.asarray(coarse) / 255 - true_alpha).mean()
    refined_error = np.abs(np.asarray(refined) / 255 - true_alpha).mean()
    assert refined_error < 0.5 * raw_error


def test_the_refine_edge_brush_solves_the_painted_edge_from_the_photo() -> None:
    """Where it paints, the model's blurred edge (a 320 px map upsampled) is worked out again from the photo and
    lands on the photo's own edge, closer than sharpening the model's map alone gets; elsewhere nothing changes;
    undo gives the exact mask back."""
    from clearbg_desktop.core.editing.mask_edits import Brush, Stroke

    height, width = 120, 200
    yy, xx = np.mgrid[:height, :width]
    truth = ((xx - 100) ** 2 + (yy - 60) ** 2 < 45**2).astype(np.uint8) * 255
    photo = np.where(truth[..., None] > 0, np.array([220, 60, 40], np.uint8), np.array([30, 80, 200], np.uint8))
    model = np.asarray(Image.fromarray(truth).resize((25, 15), Image.BILINEAR).resize((width, height),
                                                                                     Image.BILINEAR))
    alpha = model.copy()
    stroke = Stroke(alpha, Brush(size=24, hardness=0.9, mode="refine"), photo)
    for y in range(20, 100, 4):  # along the right edge of the disc
        x = 100 + int(np.sqrt(max(45**2 - (y - 60) ** 2, 0)))
        stroke.move_to(x, y)
    edit = stroke.finish()
    assert edit is not None and edit.label == "Refine edge stroke"
    painted = alpha != model
    before_error = np.abs(model.astype(int) - truth)[painted].mean()
    after_error = np.abs(alpha.astype(int) - truth)[painted].mean()
    sharpened_only = ((model.astype(np.float32) - 127.5) * 5 + 127.5).clip(0, 255)  # the same crispness, no photo
    assert painted.any() and after_error < before_error / 3
    assert after_error < np.abs(sharpened_only - truth)[painted].mean() / 2  # the photo put the edge back in place
    left, top, right, bottom = edit.box
    outside = np.ones_like(painted)
    outside[top:bottom, left:right] = False
    assert (alpha[outside] == model[outside]).all()
    edit.revert(alpha)
    np.testing.assert_array_equal(alpha, model)


def test_the_refine_edge_brush_needs_the_photo() -> None:
    from clearbg_desktop.core.editing.mask_edits import Brush, Stroke

    with pytest.raises(ValueError, match="needs the photo"):
        Stroke(np.zeros((10, 10), np.uint8), Brush(mode="refine"))
