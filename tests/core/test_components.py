"""Parts of a mask (``core.components``): the labels match a plain flood fill, growing matches a square window."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from clearbg_desktop.core.components import clean_box_mask, grow, label


def flood_labels(mask: np.ndarray) -> np.ndarray:
    """8-connected parts by breadth-first search: slow and obviously right."""
    labels = np.zeros(mask.shape, np.int32)
    count = 0
    for start in zip(*np.nonzero(mask), strict=True):
        if labels[start]:
            continue
        count += 1
        labels[start] = count
        queue = deque([start])
        while queue:
            r, c = queue.popleft()
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not labels[rr, cc]:
                        labels[rr, cc] = count
                        queue.append((rr, cc))
    return labels


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 24), st.integers(1, 24))))
def test_labels_are_the_flood_fills_parts(mask: np.ndarray) -> None:
    labels, count = label(mask)
    expected = flood_labels(mask)
    assert count == expected.max()
    assert ((labels > 0) == mask).all()
    # the same partition: each expected part maps to exactly one label and back
    pairs = set(zip(labels[mask].tolist(), expected[mask].tolist(), strict=True))
    assert len(pairs) == count


def test_diagonal_neighbours_are_one_part_and_a_gap_makes_two() -> None:
    mask = np.array([[1, 0, 0, 1],
                     [0, 1, 0, 1],
                     [0, 0, 0, 1]], bool)
    labels, count = label(mask)
    assert count == 2 and labels[0, 0] == labels[1, 1] != labels[0, 3]


@settings(max_examples=40, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 20), st.integers(1, 20))), st.integers(0, 6))
def test_grow_is_a_square_window_maximum(mask: np.ndarray, radius: int) -> None:
    padded = np.pad(mask, radius)
    expected = np.zeros_like(mask)
    for dr in range(2 * radius + 1):
        for dc in range(2 * radius + 1):
            expected |= padded[dr:dr + mask.shape[0], dc:dc + mask.shape[1]]
    assert (grow(mask, radius) == expected).all()


def test_box_clean_up_keeps_the_boxed_object_with_its_soft_edge_and_drops_a_neighbour() -> None:
    alpha = np.zeros((60, 80), np.uint8)
    alpha[20:40, 25:55] = 255  # the boxed object, in the centre
    alpha[19, 25:55] = 100  # its soft edge
    alpha[5:15, 0:10] = 255  # a neighbour in the corner of the crop
    cleaned = clean_box_mask(alpha, (10, 10, 70, 50), (True, True, True, True), centre=True)
    assert (cleaned[20:40, 25:55] == 255).all() and (cleaned[19, 25:55] == 100).all()
    assert not cleaned[5:15, 0:10].any()


@pytest.mark.parametrize("border", [False, True])
def test_box_clean_up_never_empties_a_mask_that_had_an_object(border: bool) -> None:
    alpha = np.zeros((40, 40), np.uint8)
    alpha[0:10, 0:10] = 255  # off-centre, touching the crop's open border: still the only candidate
    cleaned = clean_box_mask(alpha, (0, 0, 40, 40), (True, True, True, True), centre=True, border=border)
    assert cleaned.any()
