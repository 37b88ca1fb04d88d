"""What the canvas shows for each view mode, computed with numpy (the widget only displays it)."""

from __future__ import annotations

import numpy as np

VIEW_MODES = ("cutout", "color", "overlay", "mask", "original")
OVERLAY_TINT = np.array([255, 40, 80], np.float32)


def render_view(
    rgb: np.ndarray,
    alpha: np.ndarray | None,
    mode: str,
    color: tuple[int, int, int] = (255, 255, 255),
    overlay_strength: float = 0.55,
) -> np.ndarray:
    """HxWx4 (cutout) or HxWx3 (others) uint8 for ``mode``; without an alpha, the photo itself.

    ``overlay`` tints the *background* (what will be removed), so the subject stays readable.
    """
    if mode not in VIEW_MODES:
        raise ValueError(f"unknown view mode {mode!r}; choose one of {VIEW_MODES}")
    if alpha is None or mode == "original":
        return rgb
    if mode == "mask":
        return np.repeat(alpha[..., None], 3, axis=2)
    if mode == "cutout":
        return np.concatenate([rgb, alpha[..., None]], axis=2)
    a = alpha.astype(np.float32)[..., None] / 255.0
    if mode == "color":
        flat = rgb * a + np.asarray(color, np.float32) * (1.0 - a)
        return flat.astype(np.uint8)
    weight = (1.0 - a) * overlay_strength
    tinted = rgb * (1.0 - weight) + OVERLAY_TINT * weight
    return tinted.astype(np.uint8)
