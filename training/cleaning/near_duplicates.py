"""Near-duplicate photos (mirrored, turned, darkened copies of one shot), so a split never separates them.

``photos-worksite`` holds, besides its originals, copies its authors flipped, turned or darkened: its 1,800
photos are 855 shots (``training/annotations/photos-worksite.DATA_CARD.md``). A held-out photo whose mirror image is in the training split
measures memory, not agreement with the teacher, and the held-out split picks the shipped checkpoint. Two
photos are one shot when their 24×24 grey thumbnails (log brightness, so darkening matters less) correlate
above ``threshold`` under one of the square's 8 symmetries.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

SIGNATURE_SIZE = 24


def signature(path: Path | str) -> np.ndarray:
    """The thumbnail as a unit vector (mean removed), 8 ways: the 4 quarter turns, each also mirrored."""
    with Image.open(path) as image:
        grey = image.convert("L").resize((SIGNATURE_SIZE, SIGNATURE_SIZE), Image.Resampling.BILINEAR)
    values = np.log1p(np.asarray(grey, np.float32))
    views = []
    for mirrored in (values, values[:, ::-1]):
        for turns in range(4):
            view = np.rot90(mirrored, turns).ravel()
            view = view - view.mean()
            views.append(view / max(float(np.linalg.norm(view)), 1e-6))
    return np.stack(views)


def group_ids(paths: Sequence[Path | str], threshold: float = 0.97, block: int = 1024) -> list[int]:
    """One id per path; paths of one shot share it (ids are the smallest index of the group)."""
    if not paths:
        return []
    signatures = np.stack([signature(p) for p in paths])  # n x 8 x d
    plain = signatures[:, 0]
    every_view = signatures.reshape(-1, signatures.shape[2])  # (n * 8) x d
    parent = list(range(len(paths)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for start in range(0, len(paths), block):
        rows = plain[start : start + block]
        best = (rows @ every_view.T).reshape(len(rows), len(paths), 8).max(axis=2)  # block x n
        for i, j in zip(*np.nonzero(best > threshold), strict=True):
            a, b = root(start + int(i)), root(int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(paths))]
