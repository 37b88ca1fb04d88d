"""How much a mask deserves a second look, from the mask alone.

Why: in a batch of 500 photos nobody checks every cut-out. The model is least sure where its mask is
neither subject nor background, where the "subject" is a speck or the whole frame, where it runs off the
photo's edges, and where it falls apart into islands. Each sign is a number in 0..1; the doubt score is
their weighted sum, with weights fitted on people-val so that the photos ranked most doubtful are the
ones with the worst error (``bench/doubt_calibration.py`` measures the rank correlation).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

GRID = 96  # signs are read on a copy this size: the same score at 0.3 and 24 MP, in a few milliseconds
UNCERTAIN_LOW, UNCERTAIN_HIGH = 26, 229  # alpha 0.1..0.9
UNCERTAIN_FULL = 0.12  # share of the frame in the uncertain band that counts as fully doubtful
TINY_SUBJECT, FULL_FRAME = 0.03, 0.85  # subject shares of the frame below / above which doubt rises
ISLAND_SHARE = 0.02  # an island smaller than this share of the largest one is dust, not a second subject
#: Weights of (uncertain, size, border, islands), fitted on people-val (see bench/doubt_calibration.py).
WEIGHTS = (0.8, 0.1, 0.05, 0.05)


@dataclass(frozen=True)
class Doubt:
    """The score (0 = looks clean, 1 = surely needs a look) and the signs it is made of."""

    score: float
    uncertain: float
    size: float
    border: float
    islands: float
    empty: float = 0.0  # 1: no pixel is even 10 % subject, the cut-out is empty (a model gave nothing back)

    def reasons(self) -> list[str]:
        """The signs that stand out, in words for the report and the filmstrip badge."""
        if self.empty:
            return ["no subject found: the cut-out is empty"]
        named = [(self.uncertain, "soft or unsure edges"), (self.size, "subject tiny or filling the frame"),
                 (self.border, "subject runs off the edges"), (self.islands, "mask in several pieces")]
        return [text for value, text in named if value >= 0.5]

    def to_dict(self) -> dict[str, float]:
        return {key: round(value, 4) for key, value in asdict(self).items()}


def _island_sizes(solid: np.ndarray) -> list[int]:
    """Areas of the 4-connected islands of ``solid`` (a small grid, so a plain flood fill is quick)."""
    seen = np.zeros_like(solid, bool)
    height, width = solid.shape
    sizes = []
    for start_y, start_x in zip(*np.nonzero(solid), strict=True):
        if seen[start_y, start_x]:
            continue
        seen[start_y, start_x] = True
        queue, size = deque([(int(start_y), int(start_x))]), 0
        while queue:
            y, x = queue.popleft()
            size += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < height and 0 <= nx < width and solid[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
        sizes.append(size)
    return sorted(sizes, reverse=True)


def doubt_of(alpha: np.ndarray | Image.Image, weights: tuple[float, float, float, float] = WEIGHTS) -> Doubt:
    """The doubt of an HxW uint8 mask (or an "L" image)."""
    image = alpha if isinstance(alpha, Image.Image) else Image.fromarray(np.asarray(alpha, np.uint8), "L")
    if int(np.max(np.asarray(image))) <= UNCERTAIN_LOW:  # an empty cut-out is always worth a look: Review shows it first (#36)
        return Doubt(1.0, 1.0, 1.0, 0.0, 0.0, empty=1.0)
    factor = max(1, -(-max(image.size) // GRID))
    small = np.asarray(image.reduce(factor) if factor > 1 else image)  # box-averaged, C speed
    # the band is read at full resolution, every step-th pixel (nearest, no averaging): a 96-px copy would blur
    # every edge into it
    step = max(1, max(image.size) // 512)
    sampled = np.asarray(image.resize((max(1, image.width // step), max(1, image.height // step)),
                                      Image.Resampling.NEAREST) if step > 1 else image)
    uncertain_share = float(np.mean((sampled > UNCERTAIN_LOW) & (sampled < UNCERTAIN_HIGH)))
    uncertain = min(1.0, uncertain_share / UNCERTAIN_FULL)
    solid = small > 127
    coverage = float(solid.mean())
    size = max(float(np.clip((TINY_SUBJECT - coverage) / TINY_SUBJECT, 0, 1)),
               float(np.clip((coverage - FULL_FRAME) / (1 - FULL_FRAME), 0, 1)))
    edges = np.concatenate([solid[0], solid[-1], solid[:, 0], solid[:, -1]])
    border = float(np.clip(edges.mean() * 2, 0, 1))
    islands_found = _island_sizes(solid)
    islands = 0.0
    if islands_found:
        real = [s for s in islands_found if s >= ISLAND_SHARE * islands_found[0]]
        islands = min(1.0, (len(real) - 1) / 3)
    signs = (uncertain, size, border, islands)
    score = float(sum(w * s for w, s in zip(weights, signs, strict=True)) / sum(weights))
    return Doubt(round(score, 4), *signs)
