"""Brush strokes on an alpha mask and the undo records they leave.

A stroke paints into the full-resolution alpha through a per-stroke coverage buffer, so
overlapping dabs of one stroke never exceed the brush opacity (as in any photo editor). When
the stroke ends it becomes a :class:`MaskEdit` holding only the changed rectangle before and
after, which keeps undo memory small on a 24 MP photo. Whole-mask operations (reset, invert,
refine, re-running the model) are MaskEdits over the full frame.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

Box = tuple[int, int, int, int]  # left, top, right, bottom (exclusive)


@dataclass(frozen=True)
class Brush:
    size: float = 60.0  # diameter in photo pixels
    hardness: float = 0.7  # 1 = hard edge, 0 = soft all the way from the centre
    opacity: float = 1.0
    mode: str = "restore"  # restore (paint subject back in) | erase | refine (re-solve the edge from the photo)

    @property
    def target(self) -> int:
        return 255 if self.mode == "restore" else 0


BRUSH_MODES = ("restore", "erase", "refine")
STROKE_LABELS = {"restore": "Restore stroke", "erase": "Erase stroke", "refine": "Refine edge stroke"}


@lru_cache(maxsize=64)
def dab_footprint(diameter: float, hardness: float) -> np.ndarray:
    """Coverage 0..255 (uint8) of one round dab: solid inside ``hardness``·radius, smooth falloff outside."""
    radius = max(diameter / 2.0, 0.5)
    size = int(math.ceil(radius * 2)) | 1
    centre = (size - 1) / 2.0
    y, x = np.ogrid[:size, :size]
    distance = np.sqrt((x - centre) ** 2 + (y - centre) ** 2) / radius
    inner = min(max(hardness, 0.0), 0.999)
    falloff = np.clip((1.0 - distance) / (1.0 - inner), 0.0, 1.0)
    smooth = falloff * falloff * (3 - 2 * falloff)  # smoothstep: no visible ring at the edge
    footprint = (smooth * 255 + 0.5).astype(np.uint8)
    footprint.setflags(write=False)
    return footprint


def interpolate(start: tuple[float, float], end: tuple[float, float], spacing: float) -> list[tuple[float, float]]:
    """Dab centres from ``start`` (excluded) to ``end`` (included), ``spacing`` px apart."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    steps = max(1, int(math.hypot(dx, dy) / max(spacing, 0.5)))
    return [(start[0] + dx * i / steps, start[1] + dy * i / steps) for i in range(1, steps + 1)]


def union(a: Box | None, b: Box) -> Box:
    if a is None:
        return b
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


class MaskEdit:
    """One undoable change: the rectangle ``box`` before and after.

    Both patches are kept zlib-compressed (level 1): masks are mostly flat, so a long stroke's
    rectangle shrinks ~10×, which keeps 100 strokes on a 24 MP photo well under 100 MB.
    """

    def __init__(self, box: Box, before: np.ndarray, after: np.ndarray, label: str = "Brush stroke") -> None:
        self.box = box
        self.label = label
        self.shape = before.shape
        self._before = zlib.compress(np.ascontiguousarray(before, np.uint8).tobytes(), 1)
        self._after = zlib.compress(np.ascontiguousarray(after, np.uint8).tobytes(), 1)

    def _unpack(self, data: bytes) -> np.ndarray:
        return np.frombuffer(zlib.decompress(data), np.uint8).reshape(self.shape)

    @property
    def before(self) -> np.ndarray:
        return self._unpack(self._before)

    @property
    def after(self) -> np.ndarray:
        return self._unpack(self._after)

    def apply(self, alpha: np.ndarray) -> None:
        left, top, right, bottom = self.box
        alpha[top:bottom, left:right] = self.after

    def revert(self, alpha: np.ndarray) -> None:
        left, top, right, bottom = self.box
        alpha[top:bottom, left:right] = self.before

    @property
    def packed(self) -> tuple[bytes, bytes]:
        """The before and after patches as stored (zlib), for saving the history in a project file."""
        return self._before, self._after

    @classmethod
    def from_packed(cls, box: Box, shape: tuple[int, int], label: str, before: bytes, after: bytes) -> MaskEdit:
        """The edit :attr:`packed` gave; the patches are checked to unpack to ``shape``."""
        edit = cls.__new__(cls)
        edit.box, edit.label, edit.shape = box, label, shape
        edit._before, edit._after = before, after
        left, top, right, bottom = box
        expected = shape[0] * shape[1]
        if (shape != (bottom - top, right - left) or len(zlib.decompress(before)) != expected
                or len(zlib.decompress(after)) != expected):
            raise ValueError(f"edit {label!r}: its patches do not match its rectangle {box}")
        return edit

    @property
    def nbytes(self) -> int:
        """Memory held for undo (compressed)."""
        return len(self._before) + len(self._after)

    @classmethod
    def whole(cls, before: np.ndarray, after: np.ndarray, label: str) -> MaskEdit:
        """A full-frame edit (reset, invert, refine, re-run the model)."""
        height, width = before.shape
        return cls((0, 0, width, height), before, after, label)


class Stroke:
    """Paints dabs into ``alpha`` in place; :meth:`finish` returns the undo record."""

    def __init__(self, alpha: np.ndarray, brush: Brush, photo: np.ndarray | None = None) -> None:
        if brush.mode == "refine" and (photo is None or photo.shape[:2] != alpha.shape):
            raise ValueError("the Refine Edge brush needs the photo the mask belongs to")
        self.alpha = alpha
        self.brush = brush
        self.photo = photo
        self.coverage = np.zeros(alpha.shape, np.uint8)  # calloc: pages appear only where painted
        self._touched: Box | None = None
        self._original = np.zeros(alpha.shape, np.uint8)
        self._saved = np.zeros(alpha.shape, bool)
        self._last: tuple[float, float] | None = None

    @property
    def touched(self) -> Box | None:
        return self._touched

    def _dab(self, x: float, y: float, pressure: float) -> Box | None:
        brush = self.brush
        footprint = dab_footprint(round(brush.size * max(pressure, 0.05), 1), round(brush.hardness, 2))
        size = footprint.shape[0]
        left, top = int(round(x - size / 2)), int(round(y - size / 2))
        height, width = self.alpha.shape
        x0, y0, x1, y1 = max(left, 0), max(top, 0), min(left + size, width), min(top + size, height)
        if x0 >= x1 or y0 >= y1:
            return None
        region = (slice(y0, y1), slice(x0, x1))
        fresh = ~self._saved[region]
        if fresh.any():  # remember original values the first time a pixel is touched
            self._original[region][fresh] = self.alpha[region][fresh]
            self._saved[region] = True
        coverage = np.maximum(self.coverage[region], footprint[y0 - top : y1 - top, x0 - left : x1 - left])
        self.coverage[region] = coverage
        if brush.mode == "refine":
            return self._rematte((x0, y0, x1, y1))
        original = self._original[region].astype(np.int16)
        weight = coverage.astype(np.float32) * (brush.opacity / 255.0)
        self.alpha[region] = (original + (brush.target - original) * weight + 0.5).astype(np.uint8)
        box = (x0, y0, x1, y1)
        self._touched = union(self._touched, box)
        return box

    def _rematte(self, box: Box) -> Box:
        """Re-solve the painted pixels of ``box`` from the photo, reading the few pixels around it the solve's
        windows need (so a dab's result equals the whole photo's)."""
        from clearbg_desktop.core.imaging.refine import REFINE_BRUSH_MARGIN, rematte_painted

        assert self.photo is not None
        x0, y0, x1, y1 = box
        radius = REFINE_BRUSH_MARGIN
        height, width = self.alpha.shape
        wx0, wy0, wx1, wy1 = max(x0 - radius, 0), max(y0 - radius, 0), min(x1 + radius, width), min(y1 + radius, height)
        window = (slice(wy0, wy1), slice(wx0, wx1))
        before = np.where(self._saved[window], self._original[window], self.alpha[window])
        painted = self.coverage[window].astype(np.float32) * (self.brush.opacity / 255.0)
        solved = rematte_painted(self.photo[window], before, painted)
        inner = (slice(y0 - wy0, y1 - wy0), slice(x0 - wx0, x1 - wx0))
        self.alpha[y0:y1, x0:x1] = solved[inner]
        self._touched = union(self._touched, box)
        return box

    def move_to(self, x: float, y: float, pressure: float = 1.0) -> Box | None:
        """Paint from the previous point to (x, y); returns the repainted rectangle."""
        if self._last is None:
            points = [(x, y)]
        else:
            points = interpolate(self._last, (x, y), spacing=max(1.0, self.brush.size * 0.15))
        self._last = (x, y)
        changed: Box | None = None
        for px, py in points:
            box = self._dab(px, py, pressure)
            if box is not None:
                changed = union(changed, box)
        return changed

    def finish(self) -> MaskEdit | None:
        """The undo record (changed rectangle only), or None if nothing was painted."""
        if self._touched is None:
            return None
        if self.brush.mode == "refine":  # once more over the whole stroke: every pixel sees the final unknown area
            self._rematte(self._touched)
        left, top, right, bottom = self._touched
        region = (slice(top, bottom), slice(left, right))
        before = np.where(self._saved[region], self._original[region], self.alpha[region])
        label = STROKE_LABELS.get(self.brush.mode, "Stroke")
        edit = MaskEdit(self._touched, before.copy(), self.alpha[region].copy(), label)
        del self._original, self._saved, self.coverage
        return edit
