"""The object box's model call and its geometry (``core.inference.box_prompt``), with small random weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.inference.box_prompt import (
    BOX_VIEWS,
    alpha_from_probability,
    auto_box,
    box_view,
    click_squares,
    clip_box,
    context_crop,
    mask_at_click,
    mask_in_box,
    mask_of_boxes,
    model_input,
    parse_box,
    pick_at_click,
    resolve_box,
)
from clearbg_desktop.core.inference.segmenter import Segmenter
from tests.conftest import make_photo


@pytest.fixture
def segmenter(random_weights: Path) -> Segmenter:
    return Segmenter.from_weights("small", device="cpu", threads=1, precision="fp32")  # maps compared to 1e-4


def test_boxes_are_clipped_to_the_photo_and_a_box_off_it_is_refused() -> None:
    assert clip_box((-10.5, 5.2, 50.1, 200), (100, 80)) == (0, 5, 51, 80)
    assert clip_box((50, 60, 10, 20), (100, 80)) == (10, 20, 50, 60)  # corners in any order
    with pytest.raises(ValueError, match="less than"):
        clip_box((98, 0, 140, 40), (100, 80))
    with pytest.raises(ValueError, match="finite"):
        clip_box((0, 0, float("inf"), 4), (100, 80))


def test_context_grows_the_box_on_each_side_within_the_photo() -> None:
    assert context_crop((20, 20, 60, 40), (100, 80), 0.25) == (10, 15, 70, 45)
    assert context_crop((0, 0, 100, 80), (100, 80), 0.5) == (0, 0, 100, 80)


@pytest.mark.parametrize(("text", "why"), [("1,2,3", "four numbers"), ("a,b,c,d", "four numbers"),
                                           ("0,0,nan,5", "finite"), ("-1,0,5,5", "negative"),
                                           ("10,10,5,20", "right of and below"), ("10,10,12,12", "smaller")])
def test_typed_boxes_are_checked(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_box(text)


def test_fractions_are_of_the_photo_and_pixels_stay_pixels() -> None:
    assert resolve_box(parse_box("0.25, 0.5, 0.75, 1"), (200, 100)) == (50, 50, 150, 100)
    assert resolve_box(parse_box("10,20,110,80"), (200, 100)) == (10, 20, 110, 80)


def test_the_boxes_alpha_is_the_crops_probability_cut_to_the_box_without_the_neighbour() -> None:
    probability = np.zeros((32, 32), np.float32)
    probability[8:24, 8:24] = 1.0  # the boxed object, in the middle of the crop
    probability[0:6, 0:6] = 1.0  # a neighbour reaching into the crop's corner
    crop, box = (10, 10, 74, 74), (16, 16, 68, 68)
    naive = alpha_from_probability(probability, crop, box, (200, 200), "none")
    cleaned = alpha_from_probability(probability, crop, box, (200, 200), "centre")
    assert naive.shape == cleaned.shape == (52, 52)
    assert naive[:4, :4].any() and not cleaned[:4, :4].any()
    assert (cleaned[20:30, 20:30] == 255).all()
    with pytest.raises(ValueError, match="clean-up"):
        alpha_from_probability(probability, crop, box, (200, 200), "magic")


def test_mask_in_box_runs_the_model_on_the_crop_at_the_box_views_side_and_mirrored(segmenter: Segmenter) -> None:
    photo = make_photo((160, 120))
    box, alpha = mask_in_box(segmenter, photo, (40.4, 20, 120, 100.2), margin=0.3, cleanup="none")
    assert box == (40, 20, 120, 101) and alpha.shape == (81, 80) and alpha.dtype == np.uint8
    crop = context_crop(box, photo.size, 0.3)
    share, mirrored = BOX_VIEWS[("u2net", "small")]  # the random test model: small, 64 px
    side = round(segmenter.input_size * share)
    assert box_view(segmenter) == (side, mirrored) and side < segmenter.input_size and mirrored
    seen = model_input(photo, crop, box)
    view = segmenter.predict_probabilities([seen], side=side, flip_average=True)[0]
    mirror = segmenter.predict_probabilities([seen.transpose(Image.Transpose.FLIP_LEFT_RIGHT)], side=side,
                                             flip_average=True)[0]
    one = segmenter.predict_probabilities([seen], side=side, flip_average=False)[0]
    assert view.shape == one.shape == (side, side)
    assert np.abs(view - mirror[:, ::-1]).max() < 1e-4 < np.abs(view - one).max()  # the mirrored map is in it
    assert (alpha == alpha_from_probability(view, crop, box, photo.size, "none")).all()
    _, naive = mask_in_box(segmenter, photo, (40.4, 20, 120, 100.2), margin=0.3, cleanup="none", fade=False)
    plain = segmenter.predict_probabilities([photo.crop(crop)], side=side, flip_average=True)[0]
    assert (naive == alpha_from_probability(plain, crop, box, photo.size, "none")).all()


def test_a_model_not_measured_or_an_engine_of_one_side_looks_at_the_box_as_at_a_photo(
        segmenter: Segmenter, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segmenter, "accepts_side", lambda side: side == segmenter.input_size)
    assert box_view(segmenter) == (segmenter.input_size, False)
    monkeypatch.undo()
    monkeypatch.setattr(Segmenter, "architecture", property(lambda self: ("isnet", "isnet-general-use")))
    assert box_view(segmenter) == (segmenter.input_size, False)


def test_the_model_sees_the_box_as_it_is_and_its_context_faded_half_way_to_grey() -> None:
    photo = make_photo((160, 120))
    crop, box = (20, 10, 140, 110), (40, 30, 120, 90)
    seen = np.asarray(model_input(photo, crop, box), np.int16)
    plain = np.asarray(photo.convert("RGB").crop(crop), np.int16)
    assert seen.shape == plain.shape
    assert np.array_equal(seen[20:80, 20:100], plain[20:80, 20:100])  # the box, untouched
    assert np.abs(seen[:20] - (plain[:20] + 128) / 2).max() <= 1  # the context, half-way to grey
    assert np.array_equal(np.asarray(model_input(photo, crop)), plain)  # no box: the plain crop


def test_the_photos_mask_is_empty_outside_the_boxes(segmenter: Segmenter) -> None:
    photo = make_photo((160, 120))
    alpha = np.asarray(mask_of_boxes(segmenter, photo, [(10, 10, 50, 60), (0.5, 0.5, 1.0, 1.0)]))
    outside = np.ones(alpha.shape, bool)
    outside[10:60, 10:50] = False
    outside[60:120, 80:160] = False
    assert alpha.shape == (120, 160) and not alpha[outside].any()
    with pytest.raises(ValueError, match="less than"):
        mask_of_boxes(segmenter, photo, [(300, 300, 400, 400)])


@pytest.mark.parametrize("method", ["doubt", "colour", "doubt+colour", "fixed"])
def test_auto_box_holds_the_click_and_finds_a_plain_object(method: str) -> None:
    photo = make_photo((160, 120))  # a disc over x 40-120, y 24-102
    alpha = np.zeros((120, 160), np.uint8)
    alpha[30:90, 50:110] = 60  # the model saw a little there
    left, top, right, bottom = auto_box(photo, alpha, 80, 60, method)
    assert left <= 80 < right and top <= 60 < bottom
    if method == "colour":  # the disc's edge
        assert left <= 42 and right >= 118 and top <= 26 and bottom >= 100
    if method in ("doubt", "doubt+colour"):  # what the model saw, padded
        assert left <= 50 and right >= 110 and top <= 30 and bottom >= 90 and right - left < 80
    with pytest.raises(ValueError, match="not on"):
        auto_box(photo, alpha, 170, 60, method)


def test_auto_box_without_the_models_map_uses_the_photo() -> None:
    photo = make_photo((160, 120))
    left, top, right, bottom = auto_box(photo, None, 80, 60, "doubt+colour")
    assert left <= 42 and right >= 118


def test_the_default_auto_box_is_a_square_around_the_click_kept_on_the_photo() -> None:
    photo = make_photo((160, 120))
    assert auto_box(photo, None, 80, 60) == (65, 45, 95, 75)  # a quarter of the short side
    assert auto_box(photo, None, 2, 118) == (0, 103, 17, 120)


def test_a_click_on_empty_mask_tries_three_squares_kept_on_the_photo() -> None:
    squares = click_squares((160, 120), 80, 60)
    assert squares == [(65, 45, 95, 75), (56, 36, 104, 84), (44, 24, 116, 96)]  # 0.25, 0.4, 0.6 of the short side
    assert click_squares((160, 120), 2, 118)[0] == (0, 103, 17, 120)
    with pytest.raises(ValueError, match="not on"):
        click_squares((160, 120), 170, 60)


def test_the_answer_surest_of_the_clicked_pixel_wins_and_ties_go_to_the_larger_square() -> None:
    small = ((10, 10, 20, 20), np.full((10, 10), 40, np.uint8))
    middle = ((5, 5, 25, 25), np.full((20, 20), 200, np.uint8))
    large = ((0, 0, 30, 30), np.full((30, 30), 200, np.uint8))
    assert pick_at_click([small, middle], 15, 15) is middle
    assert pick_at_click([small, middle, large], 15, 15) is large  # as sure: more of the object in view
    large[1][15, 15] = 10
    assert pick_at_click([small, middle, large], 15, 15) is middle


def test_mask_at_click_is_one_of_the_squares_answers(segmenter: Segmenter) -> None:
    photo = make_photo((160, 120))
    box, alpha = mask_at_click(segmenter, photo, 80, 60)
    assert box in click_squares(photo.size, 80, 60)
    assert alpha.shape == (box[3] - box[1], box[2] - box[0]) and alpha.dtype == np.uint8
    answers = [mask_in_box(segmenter, photo, square) for square in click_squares(photo.size, 80, 60)]  # faded too
    assert np.array_equal(alpha, pick_at_click(answers, 80, 60)[1])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_box_view_runs_on_either_precision_whatever_the_cpu(random_weights: Path, precision: str) -> None:
    """The smaller, mirrored view through PyTorch's fp32 and bf16 paths (bf16 is emulated where the CPU lacks it):
    the same shapes, and bf16's mask near fp32's."""
    photo = make_photo((160, 120))
    engine = Segmenter.from_weights("small", device="cpu", threads=1, precision=precision)
    reference = Segmenter.from_weights("small", device="cpu", threads=1, precision="fp32")
    box, alpha = mask_in_box(engine, photo, (40, 20, 120, 100))
    _, expected = mask_in_box(reference, photo, (40, 20, 120, 100))
    assert box == (40, 20, 120, 100) and alpha.shape == expected.shape == (80, 80)
    difference = np.abs(alpha.astype(int) - expected.astype(int)).mean()
    assert difference < (0.5 if precision == "fp32" else 2)  # bf16 here: 0.14 of 255 on average
