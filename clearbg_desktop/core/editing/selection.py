"""Selecting the subject: an object box, click to keep or remove a part, the lasso — each one undoable step.

Every function here *computes* a :class:`MaskEdit` (only the changed rectangle, before and after) and leaves the
mask as it was: the caller applies it (``edit.apply(alpha)``) and pushes it on the undo stack, as the window does
for whole-mask operations. None means the gesture changes nothing (no undo step).

The box's pixels come from the model (``core.inference.box_prompt.mask_in_box``); this room never runs a model,
so the caller (the window's box tool, the CLI) runs the box prompt and hands the result to :func:`box_edit`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from clearbg_desktop.core.components import HARD_LEVEL, grow_local, label, part_masks, soft_reach, without_parts
from clearbg_desktop.core.editing.mask_edits import Box, MaskEdit

SELECTION_MODES = ("replace", "add", "subtract", "separate")
BOX_LABELS = {"replace": "Object box", "add": "Object box (add)", "subtract": "Object box (subtract)",
              "separate": "Keep the clicked object"}
LASSO_LABELS = {"add": "Lasso (add)", "subtract": "Lasso (subtract)"}
#: An Alt-box takes away what the model finds in the box at this gain: from half-sure (128) on it goes entirely,
#: and a faint answer still fades the mask there (the soft edge of what is taken away leaves no ghost).
SUBTRACT_GAIN = 2
#: Pixels on each side of the lasso's line within which the edge snaps to the photo's. A hand-drawn line misses the
#: edge by a few pixels: on a synthetic photo a line 6 px off snaps fully with 8 (tests/core/editing/test_selection.py).
LASSO_SNAP_BAND = 8
#: An Alt-click on the mask this faint or more (but under :data:`~clearbg_desktop.core.components.HARD_LEVEL`) takes
#: away the faint blob under it: walk 39's debris (a haze of alpha 30-120 beside a rider) could not be clicked away
#: while parts were only counted from 128. 16 of 255 is about where a blob shows on the checkerboard.
FAINT_LEVEL = 16


def _edit(alpha: np.ndarray, box: Box, after: np.ndarray, label_text: str) -> MaskEdit | None:
    left, top, right, bottom = box
    before = alpha[top:bottom, left:right]
    if np.array_equal(before, after):
        return None
    return MaskEdit(box, before.copy(), np.ascontiguousarray(after, np.uint8), label_text)


def _check_mode(mode: str, modes: Sequence[str]) -> None:
    if mode not in modes:
        raise ValueError(f"unknown selection mode {mode!r}; choose one of {tuple(modes)}")


def box_edit(alpha: np.ndarray, box: Box, region: np.ndarray, mode: str = "replace") -> MaskEdit | None:
    """The object box's undo step: ``region`` (the box prompt's alpha, the box's height × width) put into ``alpha``
    inside ``box`` (left, top, right, bottom). ``replace`` (the default): the box becomes the model's answer;
    ``add``: the larger of both; ``subtract``: the answer is taken out (at :data:`SUBTRACT_GAIN`: what the model is
    half sure of goes entirely), with the faint outline the old mask leaves round it. Outside the box nothing
    changes, except in ``separate``: the mask is kept only where the answer is (within a soft edge's reach of what
    it is half sure of), and of that only the part the answer covers most; everywhere else it goes — a Shift-click
    on people who touch keeps the clicked one."""
    _check_mode(mode, SELECTION_MODES)
    left, top, right, bottom = box
    height, width = alpha.shape
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise ValueError(f"the box {box} is not inside the {width}×{height} mask")
    if region.shape != (bottom - top, right - left):
        raise ValueError(f"the box's alpha is {region.shape[1]}×{region.shape[0]}, its box {right - left}×{bottom - top}")
    current = alpha[top:bottom, left:right]
    region = region.astype(np.uint8, copy=False)
    if mode == "separate":
        answer = np.zeros(alpha.shape, bool)
        answer[top:bottom, left:right] = region >= HARD_LEVEL
        reach = soft_reach(alpha.shape)
        allowed = grow_local(answer, reach)
        # Where the answer runs into a side of the square that cuts through the photo, the object goes on beyond it
        # (the walk: a rider's helmet and legs were cut flat at the square): the mask there stays, in the rows or
        # columns the answer reaches that side with.
        solid = region >= HARD_LEVEL

        def widened(line: np.ndarray) -> np.ndarray:
            return np.convolve(line, np.ones(2 * reach + 1))[reach:reach + len(line)] > 0

        allowed[:top, left:right] |= widened(solid[0])[None, :]
        allowed[bottom:, left:right] |= widened(solid[-1])[None, :]
        allowed[top:bottom, :left] |= widened(solid[:, 0])[:, None]
        allowed[top:bottom, right:] |= widened(solid[:, -1])[:, None]
        within = np.where(allowed, alpha, 0).astype(np.uint8)
        labels, count = label(within >= HARD_LEVEL)
        if count > 1:  # of what is left, the part the answer covers most: the clicked object, not a neighbour's arm
            covered = np.bincount(labels[answer], minlength=count + 1)
            covered[0] = 0
            keep = np.zeros(count + 1, bool)
            keep[int(np.argmax(covered))] = True
            within = np.where(part_masks(within, keep, labels), within, 0).astype(np.uint8)
        return _whole_edit(alpha, within, BOX_LABELS[mode])
    if mode == "replace":
        after = region
    elif mode == "add":
        after = np.maximum(current, region)
    else:  # what the model is half sure of goes entirely: 255 - region left a ghost of it (walk 39: alpha up to 175)
        taken = np.minimum(region.astype(np.uint16) * SUBTRACT_GAIN, 255).astype(np.uint8)
        after = np.minimum(current, 255 - taken)
        # Walk 39: the old mask's outline, a pixel or two beside the model's new answer, stayed as a thin line round
        # what was taken. Within a soft edge's reach of the answer nothing stays but what joins a part beyond it.
        reach = soft_reach(alpha.shape)
        along = grow_local(region >= HARD_LEVEL, reach)
        after = np.where(along & ~grow_local((after >= HARD_LEVEL) & ~along, reach), 0, after).astype(np.uint8)
    return _edit(alpha, box, after, BOX_LABELS[mode])


def has_part_at(alpha: np.ndarray, x: float, y: float, level: int = HARD_LEVEL) -> bool:
    """Whether a click at (x, y) lands on the mask (a part to keep or remove): its alpha there at least ``level``;
    where not, the click tool runs the model around the click (``core.inference.box_prompt.mask_at_click``). An Alt-click
    also takes away faint parts (``level`` :data:`FAINT_LEVEL`, :func:`remove_component`)."""
    height, width = alpha.shape
    column, row = int(x), int(y)
    return 0 <= column < width and 0 <= row < height and alpha[row, column] >= level


def _clicked_part(alpha: np.ndarray, x: float, y: float) -> tuple[np.ndarray, int] | None:
    if not has_part_at(alpha, x, y):
        return None
    labels, _count = label(alpha >= HARD_LEVEL)
    return labels, int(labels[int(y), int(x)])


def faint_near(alpha: np.ndarray, x: float, y: float, radius: float) -> tuple[int, int] | None:
    """The nearest pixel from :data:`FAINT_LEVEL` up within ``radius`` pixels of a click (x, y), as (x, y); None if
    there is none. A faint line of debris one or two pixels wide is hard to hit exactly (walk 39)."""
    height, width = alpha.shape
    reach = max(0, int(round(radius)))
    column, row = int(x), int(y)
    left, top = max(0, column - reach), max(0, row - reach)
    rows, columns = np.nonzero(alpha[top:min(height, row + reach + 1), left:min(width, column + reach + 1)]
                               >= FAINT_LEVEL)
    if rows.size == 0:
        return None
    nearest = int(np.argmin((rows + top - row) ** 2 + (columns + left - column) ** 2))
    return left + int(columns[nearest]), top + int(rows[nearest])


def without_faint_part(alpha: np.ndarray, x: float, y: float) -> np.ndarray | None:
    """``alpha`` without the faint blob under (x, y) (alpha there from :data:`FAINT_LEVEL` to under 128): the
    connected pixels down to a sixteenth of the click's alpha (a blurred blob's tail is wide; the background's
    haze of 1-2 would join every faint thing on the photo), with their rim, but never a solid part's soft edge
    (pixels within :func:`~clearbg_desktop.core.components.soft_reach` of alpha ≥ 128 stay). None where the click is
    not on such a blob, or on a solid part's own edge."""
    if not has_part_at(alpha, x, y, FAINT_LEVEL) or has_part_at(alpha, x, y):
        return None
    column, row = int(x), int(y)
    reach = soft_reach(alpha.shape)
    near_solid = grow_local(alpha >= HARD_LEVEL, reach)
    if near_solid[row, column]:
        return None
    labels, _count = label((alpha >= max(2, int(alpha[row, column]) // 16)) & ~near_solid)
    blob = labels == labels[row, column]
    rim = (alpha > 0) & grow_local(blob, reach) & ~near_solid
    return np.where(blob | rim, 0, alpha).astype(np.uint8)


def _changed_box(before: np.ndarray, after: np.ndarray) -> Box | None:
    rows = np.flatnonzero((before != after).any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero((before[rows[0]:rows[-1] + 1] != after[rows[0]:rows[-1] + 1]).any(axis=0))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def _whole_edit(alpha: np.ndarray, after: np.ndarray, label_text: str) -> MaskEdit | None:
    box = _changed_box(alpha, after)
    if box is None:
        return None
    left, top, right, bottom = box
    return _edit(alpha, box, after[top:bottom, left:right], label_text)


def keep_component(alpha: np.ndarray, x: float, y: float) -> MaskEdit | None:
    """Click to keep: only the part of the mask under (x, y) stays, with its soft edge; every other part goes.
    None when the click is not on the mask (see :func:`has_part_at`) or nothing else was there."""
    clicked = _clicked_part(alpha, x, y)
    if clicked is None:
        return None
    labels, part = clicked
    keep = np.zeros(int(labels.max()) + 1, bool)
    keep[part] = True
    after = np.where(part_masks(alpha, keep, labels), alpha, 0).astype(np.uint8)
    return _whole_edit(alpha, after, "Keep part")


def remove_component(alpha: np.ndarray, x: float, y: float) -> MaskEdit | None:
    """Click to remove (Alt): the part of the mask under (x, y) goes, with its soft edge (an edge it shares with
    another part stays, so that part keeps a soft edge); on a faint blob, that blob goes (:func:`without_faint_part`).
    None when the click is on neither."""
    clicked = _clicked_part(alpha, x, y)
    if clicked is None:
        after = without_faint_part(alpha, x, y)
        return None if after is None else _whole_edit(alpha, after, "Remove part")
    labels, part = clicked
    drop = np.zeros(int(labels.max()) + 1, bool)
    drop[part] = True
    return _whole_edit(alpha, without_parts(alpha, drop, labels), "Remove part")


#: How strongly the snapped line resists bending, per pixel it moves sideways between neighbouring points, against
#: an edge's strength (1 = the photo's strongest edges near the line). 0.6 keeps a straight edge straight on a
#: granite block where the matting solve wandered (row-to-row jumps 0.6-1.4 px -> 0.10-0.14 px, walk 39's photo)
#: and still follows a corner.
LASSO_STIFFNESS = 0.6
#: What moving away from the drawn line costs, per pixel: where the photo shows no edge, the line stays put.
LASSO_STAY = 0.02


def _dense_loop(points: np.ndarray) -> np.ndarray:
    """The closed polygon as points about one pixel apart."""
    closed = np.vstack([points, points[:1]])
    steps = np.diff(closed, axis=0)
    counts = np.maximum(1, np.ceil(np.hypot(steps[:, 0], steps[:, 1]))).astype(int)
    fractions = np.concatenate([np.arange(n) / n for n in counts])
    starts = np.repeat(np.arange(len(points)), counts)
    return closed[starts] + fractions[:, None] * steps[starts]


def _normals(line: np.ndarray) -> np.ndarray:
    """Unit normals of a closed line, from the direction over a few points either side (a hand-drawn line wobbles)."""
    reach = max(1, min(5, len(line) // 4))
    tangent = np.roll(line, -reach, 0) - np.roll(line, reach, 0)
    length = np.hypot(tangent[:, 0], tangent[:, 1])
    tangent /= np.where(length > 0, length, 1.0)[:, None]
    return np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)


def _sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``image`` (HxWxC float) at fractional positions, bilinear, clamped to its edge."""
    height, width = image.shape[:2]
    xs, ys = np.clip(xs, 0, width - 1), np.clip(ys, 0, height - 1)
    x0, y0 = np.minimum(xs.astype(int), width - 2).clip(0), np.minimum(ys.astype(int), height - 2).clip(0)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    return top * (1 - fy) + (image[y1, x0] * (1 - fx) + image[y1, x1] * fx) * fy


def snap_polygon(photo: np.ndarray, polygon: np.ndarray, band: int = LASSO_SNAP_BAND) -> np.ndarray:
    """The lasso's line moved onto the photo's edge: each point (about a pixel apart) may move up to ``band`` pixels
    across the line, in half pixels, to where the photo changes most *across* it, and neighbouring points move
    alike (a dynamic programme over the whole line, :data:`LASSO_STIFFNESS`), so the edge found is one smooth line,
    not the texture's every speck. ``photo``: the region's HxWx3 uint8; ``polygon``: its points in the region's
    pixels (pixel centres at whole numbers)."""
    line = _dense_loop(np.asarray(polygon, np.float64))
    normal = _normals(line)
    blurred = np.asarray(Image.fromarray(np.ascontiguousarray(photo[..., :3])).filter(ImageFilter.GaussianBlur(1.0)),
                         np.float32)
    offsets = np.arange(-2 * band, 2 * band + 1) / 2.0
    xs = line[:, :1] + offsets * normal[:, :1]
    ys = line[:, 1:] + offsets * normal[:, 1:]
    across = np.abs(_sample(blurred, xs + normal[:, :1] / 2, ys + normal[:, 1:] / 2)
                    - _sample(blurred, xs - normal[:, :1] / 2, ys - normal[:, 1:] / 2)).sum(-1)
    strength = np.minimum(across / (np.percentile(across, 95) + 1e-6), 1.5)
    cost = LASSO_STAY * np.abs(offsets)[None, :] - strength
    bend = LASSO_STIFFNESS * np.abs(offsets[:, None] - offsets[None, :])
    total = cost[0].copy()
    came_from = np.zeros(cost.shape, np.int16)
    columns = np.arange(len(offsets))
    for i in range(1, len(line)):
        options = total[:, None] + bend
        came_from[i] = np.argmin(options, axis=0)
        total = options[came_from[i], columns] + cost[i]
    chosen = np.empty(len(line), int)
    chosen[-1] = int(np.argmin(total))
    for i in range(len(line) - 1, 0, -1):
        chosen[i - 1] = came_from[i, chosen[i]]
    moved = offsets[chosen]
    moved = np.convolve(np.concatenate([moved[-3:], moved, moved[:3]]), np.ones(7) / 7, "valid")  # stairs
    return line + moved[:, None] * normal


def _filled(polygon: Sequence[tuple[float, float]], size: tuple[int, int]) -> np.ndarray:
    """The polygon filled (uint8), its edge antialiased by drawing at twice the size."""
    width, height = size
    canvas = Image.new("L", (2 * width, 2 * height), 0)
    ImageDraw.Draw(canvas).polygon([(2 * x + 1, 2 * y + 1) for x, y in polygon], fill=255)
    return np.asarray(canvas.resize(size, Image.Resampling.BOX))


def lasso_edit(alpha: np.ndarray, photo: np.ndarray | None, polygon: Sequence[tuple[float, float]],
               mode: str = "add", snap: bool = True, band: int = LASSO_SNAP_BAND) -> MaskEdit | None:
    """The lasso's (or polygon lasso's) undo step: the closed ``polygon`` (photo pixels) added to the mask or
    subtracted from it. ``snap``: the edge is not the drawn line but the photo's edge within ``band`` pixels of it
    (:func:`snap_polygon`); where the photo shows no edge near the line, the edge stays on the line. Walk 39: Refine
    Edge's matting solve, used for this before, followed a granite block's texture and left a ragged edge; the line
    moved as one keeps a straight edge straight. ``photo``: HxWx3 uint8, needed when snapping. None for a polygon
    of no area on the photo."""
    _check_mode(mode, tuple(LASSO_LABELS))
    if len(polygon) < 3:
        return None
    height, width = alpha.shape
    if snap and (photo is None or photo.shape[:2] != alpha.shape):
        raise ValueError("snapping the lasso's edge needs the photo the mask belongs to")
    points = np.asarray(polygon, np.float64)
    if not np.isfinite(points).all():
        raise ValueError("the lasso has a point that is not a number")
    reach = band + 3 if snap else 1  # the snapped line moves up to band; the gradient reads two pixels beyond
    left = max(0, int(np.floor(points[:, 0].min())) - reach)
    top = max(0, int(np.floor(points[:, 1].min())) - reach)
    right = min(width, int(np.ceil(points[:, 0].max())) + reach + 1)
    bottom = min(height, int(np.ceil(points[:, 1].max())) + reach + 1)
    if left >= right or top >= bottom:
        return None
    shifted = points - (left, top)
    if not _filled([(x, y) for x, y in shifted], (right - left, bottom - top)).any():
        return None
    if snap and band > 0:
        assert photo is not None
        shifted = snap_polygon(photo[top:bottom, left:right], shifted, band)
    shape = _filled([(x, y) for x, y in shifted], (right - left, bottom - top))
    current = alpha[top:bottom, left:right]
    after = np.maximum(current, shape) if mode == "add" else np.minimum(current, 255 - shape)
    return _edit(alpha, (left, top, right, bottom), after, LASSO_LABELS[mode])
