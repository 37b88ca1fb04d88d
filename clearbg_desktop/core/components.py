"""Connected parts of an alpha mask, in numpy alone (the app ships without SciPy or OpenCV).

Used by the box prompt (``core.inference.box_prompt``: keep the boxed object, drop its neighbours) and by click to
keep / remove (``core.editing.selection``), so the two rooms agree on what "one part of the mask" is: an
8-connected region of the mask at 50 %, with the soft edge around it (pixels under 50 % within
:func:`soft_reach` of it) belonging to it.
"""

from __future__ import annotations

import numpy as np

HARD_LEVEL = 128  # a pixel at or above this alpha is subject when parts are counted


def label(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labels of a boolean mask: int32 array (0 = background, 1..n) and n.

    Works on runs of each row (a mask has few runs per row), joining runs of neighbouring rows that touch, so a
    24 MP mask takes a fraction of a second without SciPy.
    """
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    if not mask.any():
        return np.zeros(mask.shape, np.int32), 0
    flat = mask.reshape(-1)
    # Run starts and ends, found in the row-major flat array with each row's borders forced: a run never wraps.
    edges = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    row_starts = np.arange(0, height * width, width)
    starts = np.union1d(edges, row_starts)
    starts = starts[flat[starts]]  # positions where a run of True begins (at an edge or a row's first pixel)
    after = np.union1d(edges, np.append(row_starts[1:], height * width))
    ends = after[flat[after - 1]]  # positions just after a run of True
    start_row, start_col = np.divmod(starts, width)
    end_col = ends - start_row * width
    runs = len(start_row)
    stride = width + 2  # keys: row * stride + column, so runs of different rows never compare equal
    start_key = start_row.astype(np.int64) * stride + start_col
    end_key = start_row.astype(np.int64) * stride + end_col  # exclusive end
    # Run b (row r+1) touches run a (row r) when a.start <= b.end and b.start <= a.end (diagonals included).
    below = np.flatnonzero(start_row > 0)
    row_above = (start_row[below] - 1).astype(np.int64) * stride
    first = np.searchsorted(end_key, row_above + start_col[below], side="left")
    last = np.searchsorted(start_key, row_above + end_col[below], side="right")
    counts = np.maximum(last - first, 0)
    b = np.repeat(below, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a = np.repeat(first, counts) + offsets
    parent = np.arange(runs)
    while a.size:
        pa, pb = parent[a], parent[b]
        if (pa == pb).all():
            break
        low = np.minimum(pa, pb)
        np.minimum.at(parent, pa, low)
        np.minimum.at(parent, pb, low)
        while True:  # pointer jumping: every run points at its root
            jumped = parent[parent]
            if (jumped == parent).all():
                break
            parent = jumped
    roots, ids = np.unique(parent, return_inverse=True)
    steps = np.zeros(height * width + 1, np.int32)  # +id where a run starts, -id after it: a cumulative sum paints
    steps[starts] = ids + 1
    steps[ends] -= ids + 1
    labels = np.cumsum(steps[:-1], dtype=np.int32).reshape(height, width)
    return labels, len(roots)


def grow(mask: np.ndarray, radius: int) -> np.ndarray:
    """``mask`` dilated by a (2r+1)² square, in log steps of shifted ORs."""
    out = np.asarray(mask, bool)
    if radius <= 0:
        return out.copy()
    for axis in (0, 1):
        out = _grow_axis(out, radius, axis)
    return out


def _grow_axis(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    size = values.shape[axis]
    length = 2 * radius + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    window = np.pad(values, pad)  # window[i] covers values[i - radius] after padding
    covered = 1
    while covered * 2 <= length:  # window[i] = OR over [i, i + covered)
        shifted = np.zeros_like(window)
        _shift(shifted, window, covered, axis)
        window = window | shifted
        covered *= 2
    if covered < length:
        shifted = np.zeros_like(window)
        _shift(shifted, window, length - covered, axis)
        window = window | shifted
    return np.take(window, np.arange(size), axis=axis)


def _shift(out: np.ndarray, values: np.ndarray, by: int, axis: int) -> None:
    """out[i] = values[i + by] along ``axis`` (zeros past the end)."""
    if axis == 0:
        out[:-by] = values[by:]
    else:
        out[:, :-by] = values[:, by:]


def grow_local(mask: np.ndarray, radius: int) -> np.ndarray:
    """:func:`grow` computed only around the mask's bounding box (a click on a 24 MP photo grows one part, not the
    whole frame)."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    out = np.zeros(mask.shape, bool)
    if rows.size == 0:
        return out
    top, bottom = max(0, rows[0] - radius), min(mask.shape[0], rows[-1] + radius + 1)
    left, right = max(0, columns[0] - radius), min(mask.shape[1], columns[-1] + radius + 1)
    out[top:bottom, left:right] = grow(mask[top:bottom, left:right], radius)
    return out


def soft_reach(shape: tuple[int, int]) -> int:
    """How far a part's soft edge reaches, in pixels: the model's 320 px map upsampled to the photo blurs its edge
    over about two of the map's pixels."""
    return max(2, round(2 * max(shape) / 320))


def part_masks(alpha: np.ndarray, keep: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The pixels that belong to the kept parts ``keep`` (bool per label, index 0 unused): their solid pixels and
    the soft edge within :func:`soft_reach` of them (an edge shared with a dropped part stays: cutting it would
    leave the kept part a hard edge)."""
    solid = labels > 0
    kept_solid = keep[labels] & solid
    soft = (alpha > 0) & ~solid
    return kept_solid | (soft & grow_local(kept_solid, soft_reach(alpha.shape)))


def without_parts(alpha: np.ndarray, drop: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``alpha`` with the parts ``drop`` (bool per label, index 0 unused) taken out: their solid pixels and their soft
    edge within :func:`soft_reach`, except an edge shared with a part that stays. Soft pixels near no dropped part
    stay (the model's doubt about something else is not this function's to judge)."""
    solid = labels > 0
    dropped = drop[labels] & solid
    reach = soft_reach(alpha.shape)
    near_dropped = grow_local(dropped, reach)
    rows, columns = np.flatnonzero(near_dropped.any(axis=1)), np.flatnonzero(near_dropped.any(axis=0))
    near_kept = np.zeros(alpha.shape, bool)
    if rows.size:  # only where a dropped part's edge could be: the kept parts grown around that window
        top, bottom = max(0, rows[0] - reach), min(alpha.shape[0], rows[-1] + reach + 1)
        left, right = max(0, columns[0] - reach), min(alpha.shape[1], columns[-1] + reach + 1)
        near_kept[top:bottom, left:right] = grow((solid & ~dropped)[top:bottom, left:right], reach)
    gone = dropped | ((alpha > 0) & ~solid & near_dropped & ~near_kept)
    return np.where(gone, 0, alpha).astype(np.uint8)


def clean_box_mask(alpha: np.ndarray, box: tuple[int, int, int, int], open_sides: tuple[bool, bool, bool, bool],
                   centre: bool = True, border: bool = False) -> np.ndarray:
    """Keep the boxed object in a crop's alpha: ``box`` (left, top, right, bottom) inside the crop, ``open_sides``
    (left, top, right, bottom) the crop's sides that cut through the photo.

    ``centre``: drop the parts that do not reach the box's central third (where an object the user boxed lies),
    unless none does (then all but the largest part inside the box go). ``border``: drop parts that touch an open
    side of the crop (they continue beyond what the model saw), unless that would drop every part. A dropped part's
    soft edge goes with it.
    """
    labels, count = label(alpha >= HARD_LEVEL)
    if count == 0:
        return alpha.copy()
    left, top, right, bottom = box
    inside = np.zeros(count + 1, np.int64)
    np.add.at(inside, labels[top:bottom, left:right].ravel(), 1)
    inside[0] = 0
    keep = inside > 0
    if centre:
        w, h = right - left, bottom - top
        middle = labels[top + h // 3:bottom - h // 3, left + w // 3:right - w // 3]
        central = np.zeros(count + 1, bool)
        central[np.unique(middle)] = True
        central[0] = False
        keep = keep & central if (keep & central).any() else keep & (inside == inside.max())
    if border:
        edge_labels = [labels[:, 0] if open_sides[0] else None, labels[0] if open_sides[1] else None,
                       labels[:, -1] if open_sides[2] else None, labels[-1] if open_sides[3] else None]
        touching = np.zeros(count + 1, bool)
        for line in edge_labels:
            if line is not None:
                touching[np.unique(line)] = True
        if (keep & ~touching).any():
            keep &= ~touching
    drop = ~keep
    drop[0] = False
    return without_parts(alpha, drop, labels)
