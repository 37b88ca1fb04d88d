"""Object box, click to keep / remove and the lasso as undo steps (``core.editing.selection``)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.editing.selection import (
    FAINT_LEVEL,
    box_edit,
    faint_near,
    has_part_at,
    keep_component,
    lasso_edit,
    remove_component,
)


def two_people() -> np.ndarray:
    """Two solid parts with soft edges, a gap between them."""
    alpha = np.zeros((60, 100), np.uint8)
    alpha[10:50, 10:40] = 255
    alpha[10:50, 9] = alpha[10:50, 40] = 120  # left part's soft edge
    alpha[10:50, 60:90] = 255
    alpha[10:50, 59] = alpha[10:50, 90] = 120
    return alpha


def applied(alpha: np.ndarray, edit: object) -> np.ndarray:
    out = alpha.copy()
    edit.apply(out)  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(("mode", "expected"), [("replace", 200), ("add", 200), ("subtract", 0)])
def test_box_edit_changes_only_the_box_and_undoes(mode: str, expected: int) -> None:
    alpha = np.full((40, 50), 100, np.uint8)
    alpha[:, :5] = 0
    region = np.full((10, 20), 200, np.uint8)
    edit = box_edit(alpha, (10, 5, 30, 15), region, mode)
    assert edit is not None and edit.box == (10, 5, 30, 15)
    after = applied(alpha, edit)
    assert (after[5:15, 10:30] == expected).all()
    outside = np.ones(alpha.shape, bool)
    outside[5:15, 10:30] = False
    assert (after[outside] == alpha[outside]).all()
    edit.revert(after)
    assert (after == alpha).all()
    assert alpha[5, 10] == 100  # computing the edit left the mask alone


def test_box_edit_refuses_a_region_of_the_wrong_size_or_a_box_off_the_mask() -> None:
    alpha = np.zeros((40, 50), np.uint8)
    with pytest.raises(ValueError, match="box's alpha"):
        box_edit(alpha, (0, 0, 10, 10), np.zeros((5, 5), np.uint8))
    with pytest.raises(ValueError, match="not inside"):
        box_edit(alpha, (40, 0, 60, 10), np.zeros((10, 20), np.uint8))
    with pytest.raises(ValueError, match="mode"):
        box_edit(alpha, (0, 0, 10, 10), np.zeros((10, 10), np.uint8), "invert")
    assert box_edit(alpha, (0, 0, 10, 10), np.zeros((10, 10), np.uint8)) is None  # no change: no undo step


def test_click_keeps_only_that_part_with_its_soft_edge() -> None:
    alpha = two_people()
    edit = keep_component(alpha, 20, 30)
    assert edit is not None and edit.label == "Keep part"
    after = applied(alpha, edit)
    assert (after[10:50, 9:41] == alpha[10:50, 9:41]).all()  # the left person, soft edge included
    assert not after[:, 50:].any()  # the right one, soft edge included, is gone
    assert edit.box == (59, 10, 91, 50)  # only the changed rectangle is kept for undo


def test_alt_click_removes_that_part_with_its_soft_edge() -> None:
    alpha = two_people()
    after = applied(alpha, remove_component(alpha, 70, 30))
    assert not after[:, 50:].any()
    assert (after[:, :50] == alpha[:, :50]).all()


def faint_debris() -> np.ndarray:
    """A solid subject with a soft edge, and a faint blurred blob of debris beside it (alpha at most ~90)."""
    from PIL import ImageFilter

    alpha = np.zeros((80, 120), np.uint8)
    alpha[20:60, 10:50] = 255
    blob = Image.new("L", (120, 80), 0)
    blob.paste(90, (75, 30, 95, 50))
    alpha = np.maximum(np.asarray(Image.fromarray(alpha).filter(ImageFilter.GaussianBlur(1.5))),
                       np.asarray(blob.filter(ImageFilter.GaussianBlur(3))))
    return alpha


def test_alt_click_takes_away_faint_debris_with_its_soft_rim() -> None:
    """Walk 39: a faint haze beside a rider could not be clicked away while parts were counted at alpha >= 128."""
    alpha = faint_debris()
    assert alpha[40, 85] < 128 and not has_part_at(alpha, 85, 40) and has_part_at(alpha, 85, 40, FAINT_LEVEL)
    edit = remove_component(alpha, 85, 40)
    assert edit is not None and edit.label == "Remove part"
    after = applied(alpha, edit)
    assert not after[:, 60:].any()  # the blob and its rim
    assert np.array_equal(after[:, :60], alpha[:, :60])  # the subject and its soft edge untouched
    assert keep_component(alpha, 85, 40) is None  # a plain click on a faint blob is the object box's, not a part


def test_alt_click_on_a_solid_parts_own_soft_edge_or_on_nothing_changes_nothing() -> None:
    alpha = faint_debris()
    assert 16 <= alpha[40, 51] < 128  # the subject's own soft edge
    assert remove_component(alpha, 51, 40) is None
    assert remove_component(alpha, 115, 5) is None  # alpha 0


def test_a_click_off_the_mask_changes_nothing_and_says_so() -> None:
    alpha = two_people()
    assert not has_part_at(alpha, 50, 30) and has_part_at(alpha, 20, 30)
    assert keep_component(alpha, 50, 30) is None and remove_component(alpha, 50, 30) is None
    assert keep_component(alpha, 500, 30) is None  # off the photo
    single = np.zeros((20, 20), np.uint8)
    single[5:15, 5:15] = 255
    assert keep_component(single, 10, 10) is None  # nothing else to drop


def framed_photo() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    photo = (rng.random((120, 160, 3)) * 30 + 40).astype(np.uint8)
    photo[30:90, 40:120] = np.array([200, 180, 60]) + rng.integers(0, 20, (60, 80, 3))
    truth = np.zeros((120, 160), bool)
    truth[30:90, 40:120] = True
    return photo, truth


def iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    solid = alpha >= 128
    return float((solid & truth).sum() / (solid | truth).sum())


@pytest.mark.parametrize("off", [-6, -3, 3, 6])
def test_lasso_edge_snaps_to_the_photo(off: int) -> None:
    """A line drawn a few pixels off the object's edge, inside or outside, ends on the edge."""
    photo, truth = framed_photo()
    alpha = np.zeros(truth.shape, np.uint8)
    polygon = [(40 - off, 30 - off), (119 + off, 30 - off), (119 + off, 89 + off), (40 - off, 89 + off)]
    drawn = applied(alpha, lasso_edit(alpha, photo, polygon, snap=False))
    snapped = applied(alpha, lasso_edit(alpha, photo, polygon, snap=True))
    assert iou(drawn, truth) < 0.86
    assert iou(snapped, truth) > 0.95


def granite_block() -> tuple[np.ndarray, np.ndarray]:
    """A straight-edged block of speckled stone on paving of nearly its colour (walk 39's concrete block)."""
    from PIL import ImageFilter

    rng = np.random.default_rng(0)

    def texture(mean: float) -> np.ndarray:
        noise = rng.normal(mean, 60, (160, 200, 3)).clip(0, 255).astype(np.uint8)
        return np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(1.2)))

    truth = np.zeros((160, 200), bool)
    truth[30:130, 50:150] = True
    return np.where(truth[..., None], texture(140), texture(110)).astype(np.uint8), truth


@pytest.mark.parametrize("off", [-5, 5])
def test_a_snapped_straight_edge_stays_straight_on_texture(off: int) -> None:
    """Walk 39: the snapped edge of a granite block came out ragged (Refine Edge's matting followed the speckles);
    the line is now moved as one, so its left side stays one straight column."""
    photo, truth = granite_block()
    alpha = np.zeros(truth.shape, np.uint8)
    polygon = [(50 - off, 30 - off), (149 + off, 30 - off), (149 + off, 129 + off), (50 - off, 129 + off)]
    snapped = applied(alpha, lasso_edit(alpha, photo, polygon, snap=True))
    left_edge = [int(np.argmax(snapped[row, :100] >= 128)) for row in range(40, 120)]
    assert np.abs(np.diff(left_edge)).mean() < 0.05 and abs(np.median(left_edge) - 50) <= 1
    assert iou(snapped, truth) > 0.95


def test_lasso_subtracts_and_leaves_the_rest() -> None:
    photo, _ = framed_photo()
    alpha = np.full((120, 160), 255, np.uint8)
    edit = lasso_edit(alpha, photo, [(10, 10), (30, 10), (30, 30), (10, 30)], mode="subtract", snap=False)
    assert edit is not None and edit.label == "Lasso (subtract)"
    after = applied(alpha, edit)
    assert not after[12:28, 12:28].any() and (after[40:, :] == 255).all()


def test_lasso_refuses_what_it_cannot_draw() -> None:
    alpha = np.zeros((20, 20), np.uint8)
    assert lasso_edit(alpha, None, [(1, 1), (5, 5)], snap=False) is None
    assert lasso_edit(alpha, None, [(100, 100), (120, 100), (120, 120)], snap=False) is None  # off the photo
    with pytest.raises(ValueError, match="photo"):
        lasso_edit(alpha, None, [(1, 1), (5, 1), (5, 5)], snap=True)
    with pytest.raises(ValueError, match="not a number"):
        lasso_edit(alpha, None, [(1, 1), (float("nan"), 1), (5, 5)], snap=False)


def test_an_alt_box_leaves_no_ghost_of_what_the_model_was_half_sure_of() -> None:
    """Walk 39: Alt-box round the unwanted rider left his helmet at alpha up to 175 (255 - a soft answer)."""
    alpha = np.full((10, 10), 255, np.uint8)
    region = np.array([[0, 40, 80, 128, 200, 255, 255, 200, 128, 64]] * 10, np.uint8)
    edit = box_edit(alpha, (0, 0, 10, 10), region, "subtract")
    assert edit is not None
    after = applied(alpha, edit)[0]
    assert list(after) == [255, 175, 95, 0, 0, 0, 0, 0, 0, 0]  # 127 beside what was taken, near no solid: gone


def test_an_alt_box_leaves_no_faint_outline_of_what_it_took() -> None:
    """Walk 39 again: the old mask's soft outline, a pixel or two off the model's answer, stayed as a faint line
    round the rider an Alt-box took away; a solid part beside it keeps its own soft edge."""
    from PIL import ImageFilter

    hard = np.zeros((60, 80), np.uint8)
    hard[10:50, 10:40] = 255  # the unwanted rider
    hard[10:50, 55:75] = 255  # someone to keep, also in the box
    alpha = np.asarray(Image.fromarray(hard).filter(ImageFilter.GaussianBlur(1)))
    answer = np.zeros((60, 80), np.uint8)
    answer[11:49, 11:39] = 255  # the model's answer is a pixel inside the old outline
    after = applied(alpha, box_edit(alpha, (0, 0, 80, 60), answer, "subtract"))
    assert after[:, :48].max() < FAINT_LEVEL  # no outline left (alpha 152 before)
    assert np.array_equal(after[:, 50:], alpha[:, 50:])  # the other one, soft edge and all


def test_an_alt_click_beside_a_thin_faint_line_finds_it() -> None:
    alpha = np.zeros((40, 40), np.uint8)
    alpha[20, 5:35] = 40  # a line one pixel wide
    assert faint_near(alpha, 18.5, 22.5, 3) == (18, 20)
    assert faint_near(alpha, 18.5, 26.5, 3) is None  # too far
    assert faint_near(alpha, 2, 21, 3) == (5, 20)  # the nearest
    assert faint_near(alpha, 0, 0, 0) is None


def test_separate_keeps_only_what_the_model_found_round_the_click_even_outside_its_square() -> None:
    """Shift-click on people who touch (one part): the model's answer for the clicked one is what stays."""
    alpha = np.zeros((60, 100), np.uint8)
    alpha[10:50, 10:60] = 255  # two people as one part
    alpha[5:8, 90:98] = 255  # something else, far away
    answer = np.zeros((40, 40), np.uint8)
    answer[0:40, 0:25] = 255  # in the square (10, 10)-(50, 50): the left one
    edit = box_edit(alpha, (10, 10, 50, 50), answer, "separate")
    assert edit is not None and edit.label == "Keep the clicked object"
    after = applied(alpha, edit)
    assert (after[10:50, 10:35] == 255).all()
    assert not after[:, 40:].any()  # the other one and what was far away


def test_separate_keeps_the_clicked_object_beyond_the_square_where_it_goes_on() -> None:
    """Walk 39 again: a Shift-click on a rider cut her helmet and legs flat at the square the model ran on."""
    alpha = np.zeros((100, 100), np.uint8)
    alpha[5:95, 20:40] = 255  # a tall person, taller than the square
    alpha[60:95, 40:80] = 255  # joined at the bottom to someone else
    answer = np.zeros((40, 40), np.uint8)
    answer[:, 5:25] = 255  # the square (15, 30)-(55, 70) sees the tall one, top to bottom
    after = applied(alpha, box_edit(alpha, (15, 30, 55, 70), answer, "separate"))
    assert (after[5:95, 20:40] == 255).all()  # above and below the square too
    assert not after[60:95, 45:80].any()  # not the one joined to it
