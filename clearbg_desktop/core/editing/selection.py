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

from clearbg_desktop.core.components import HARD_LEVEL, label, part_masks, without_parts
from clearbg_desktop.core.editing.mask_edits import Box, MaskEdit

SELECTION_MODES = ("replace", "add", "subtract")
BOX_LABELS = {"replace": "Object box", "add": "Object box (add)", "subtract": "Object box (subtract)"}
LASSO_LABELS = {"add": "Lasso (add)", "subtract": "Lasso (subtract)"}
#: An Alt-box takes away what the model finds in the box at this gain: from half-sure (128) on it goes entirely,
#: and a faint answer still fades the mask there (the soft edge of what is taken away leaves no ghost).
SUBTRACT_GAIN = 2
#: Pixels on each side of the lasso's line within which the edge snaps to the photo's. A hand-drawn line misses the
#: edge by a few pixels: on a synthetic photo a line 6 px off snaps fully with 8 (IoU 0.68-0.73 -> 0.97-1.0), only
#: partly with 4 (0.83-0.85; tests/core/editing/test_selection.py).
LASSO_SNAP_BAND = 8


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
    half sure of goes entirely). Outside the box nothing changes."""
    _check_mode(mode, SELECTION_MODES)
    left, top, right, bottom = box
    height, width = alpha.shape
    if not (0 <= left < right <= width and 0 <= top < bottom <= height):
        raise ValueError(f"the box {box} is not inside the {width}×{height} mask")
    if region.shape != (bottom - top, right - left):
        raise ValueError(f"the box's alpha is {region.shape[1]}×{region.shape[0]}, its box {right - left}×{bottom - top}")
    current = alpha[top:bottom, left:right]
    region = region.astype(np.uint8, copy=False)
    if mode == "replace":
        after = region
    elif mode == "add":
        after = np.maximum(current, region)
    else:  # what the model is half sure of goes entirely: 255 - region left a ghost of it (walk 39: alpha up to 175)
        taken = np.minimum(region.astype(np.uint16) * SUBTRACT_GAIN, 255).astype(np.uint8)
        after = np.minimum(current, 255 - taken)
    return _edit(alpha, box, after, BOX_LABELS[mode])


def has_part_at(alpha: np.ndarray, x: float, y: float) -> bool:
    """Whether a click at (x, y) lands on the mask (a part to keep or remove); where not, the click tool runs the
    object box on ``core.inference.box_prompt.auto_box`` instead."""
    height, width = alpha.shape
    column, row = int(x), int(y)
    return 0 <= column < width and 0 <= row < height and alpha[row, column] >= HARD_LEVEL


def _clicked_part(alpha: np.ndarray, x: float, y: float) -> tuple[np.ndarray, int] | None:
    if not has_part_at(alpha, x, y):
        return None
    labels, _count = label(alpha >= HARD_LEVEL)
    return labels, int(labels[int(y), int(x)])


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
    another part stays, so that part keeps a soft edge). None when the click is not on the mask."""
    clicked = _clicked_part(alpha, x, y)
    if clicked is None:
        return None
    labels, part = clicked
    drop = np.zeros(int(labels.max()) + 1, bool)
    drop[part] = True
    return _whole_edit(alpha, without_parts(alpha, drop, labels), "Remove part")


def lasso_edit(alpha: np.ndarray, photo: np.ndarray | None, polygon: Sequence[tuple[float, float]],
               mode: str = "add", snap: bool = True, band: int = LASSO_SNAP_BAND) -> MaskEdit | None:
    """The lasso's (or polygon lasso's) undo step: the closed ``polygon`` (photo pixels) added to the mask or
    subtracted from it. ``snap``: the edge is not the drawn line but the photo's edge near it. The line is softened
    over ``band`` pixels each side, then Refine Edge solves that band: the edge matting (``refine_edges``, local
    subject and background colours) moves the edge onto the photo's, and the Refine Edge brush's solve
    (``rematte_painted``) makes it crisp. The brush's solve alone reads 5×5 windows and moves a line 3 px off by
    less than a pixel, so it cannot snap a hand-drawn line by itself. Where the photo shows no edge near the line,
    the edge stays on the line. ``photo``: HxWx3 uint8, needed when snapping. None for a polygon of no area on the
    photo."""
    _check_mode(mode, tuple(LASSO_LABELS))
    if len(polygon) < 3:
        return None
    height, width = alpha.shape
    if snap and (photo is None or photo.shape[:2] != alpha.shape):
        raise ValueError("snapping the lasso's edge needs the photo the mask belongs to")
    points = np.asarray(polygon, np.float64)
    if not np.isfinite(points).all():
        raise ValueError("the lasso has a point that is not a number")
    from clearbg_desktop.core.imaging.refine import REFINE_BRUSH_MARGIN, refine_edges, rematte_painted

    reach = (3 * band + REFINE_BRUSH_MARGIN + 1) if snap else 1  # the matting reads colours 2·band beyond the band
    left = max(0, int(np.floor(points[:, 0].min())) - reach)
    top = max(0, int(np.floor(points[:, 1].min())) - reach)
    right = min(width, int(np.ceil(points[:, 0].max())) + reach + 1)
    bottom = min(height, int(np.ceil(points[:, 1].max())) + reach + 1)
    if left >= right or top >= bottom:
        return None
    shifted = [(float(px) - left, float(py) - top) for px, py in points]
    canvas = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(canvas).polygon(shifted, fill=255)
    inside = np.asarray(canvas)
    if not inside.any():
        return None
    shape = inside
    if snap and band > 0:
        line = Image.new("L", canvas.size, 0)
        ImageDraw.Draw(line).line(shifted + [shifted[0]], fill=255, width=2 * band + 1, joint="curve")
        painted = np.asarray(line, np.float32) / 255.0
        softened = Image.fromarray(np.where(painted > 0, np.asarray(canvas.filter(ImageFilter.BoxBlur(band))),
                                            inside).astype(np.uint8), "L")
        assert photo is not None
        region = np.ascontiguousarray(photo[top:bottom, left:right, :3])
        matted = np.asarray(refine_edges(Image.fromarray(region, "RGB"), softened, band))
        shape = rematte_painted(region, matted, painted)
    current = alpha[top:bottom, left:right]
    after = np.maximum(current, shape) if mode == "add" else np.minimum(current, 255 - shape)
    return _edit(alpha, (left, top, right, bottom), after, LASSO_LABELS[mode])
