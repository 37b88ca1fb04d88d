"""Edge refinement of an alpha: feather, grow/shrink, contrast, threshold, colour decontamination.

Used live by the GUI's refinement panel and, with the saved settings, by batch export.
Operations work on 8-bit ``L`` images at the photo's resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageFilter

from clearbg_desktop.core.imaging.compose import check_flag, check_number

#: The range each setting may take, whichever front end sets it (CLI, dialogs, project files).
FEATHER_MAX = 200.0
SHIFT_MAX = 200
CONTRAST_MAX = 10.0
EDGE_RADIUS_RANGE = (1, 64)


@dataclass(frozen=True)
class RefineSettings:
    """All default to "no change", so an unrefined export is byte-identical to the model's alpha."""

    feather: float = 0.0  # Gaussian blur radius, px
    shift: int = 0  # >0 grows the subject, <0 shrinks it, px
    contrast: float = 1.0  # >1 hardens soft edges around 50 %
    threshold: int | None = None  # binarise at this level (0..255)
    refine_edges: bool = False  # edge-aware matting of hair/fur in a band around the edge
    edge_radius: int = 8  # half-width of that band, px at the photo's resolution
    decontaminate: bool = False  # replace background colour bleeding into edge pixels

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """ValueError with a sentence for the user when a setting is of the wrong type or out of range."""
        check_number("feather", self.feather, 0.0, FEATHER_MAX, unit="px")
        check_number("grow/shrink", self.shift, -SHIFT_MAX, SHIFT_MAX, integer=True, unit="px")
        check_number("edge contrast", self.contrast, 0.0, CONTRAST_MAX)
        if self.threshold is not None:
            check_number("threshold", self.threshold, 0, 255, integer=True)
        check_number("edge band", self.edge_radius, *EDGE_RADIUS_RANGE, integer=True, unit="px")
        check_flag("refine edges", self.refine_edges)
        check_flag("decontaminate", self.decontaminate)

    @property
    def is_identity(self) -> bool:
        return (self.feather == 0 and self.shift == 0 and self.contrast == 1.0 and self.threshold is None
                and not self.refine_edges)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> RefineSettings:
        """As :meth:`to_dict` wrote it (unknown keys ignored); anything else is a ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"the refine settings must be a mapping, not {type(data).__name__}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def shift_edge(alpha: Image.Image, pixels: int) -> Image.Image:
    """Dilate (grow) or erode (shrink) by ``pixels``: the max/min over a (2p+1)² square, as Pillow's Max/MinFilter
    gives it, but separable and in O(log p) passes per axis (Pillow's rank filter is O(p²) per pixel: 8.5 s for
    p = 8 on 24 MP, which made Refine hair / edges take a minute; this takes ~0.2 s)."""
    if pixels == 0:
        return alpha
    values = np.asarray(alpha)
    reduce = np.maximum if pixels > 0 else np.minimum
    out = _window_extreme(_window_extreme(values, abs(pixels), 0, reduce), abs(pixels), 1, reduce)
    return Image.fromarray(out, alpha.mode)


def _window_extreme(values: np.ndarray, radius: int, axis: int, reduce: np.ufunc) -> np.ndarray:
    """Max (or min) over the window [i - radius, i + radius] along ``axis``, edges clamped.

    Windows of length 1, 2, 4, … are built by doubling; a window of any length is two overlapping ones of the
    largest power of two that fits (van Herk's idea in log steps)."""
    size = 2 * radius + 1
    pad = [(0, 0), (0, 0)]
    pad[axis] = (radius, radius)
    padded = np.pad(values, pad, mode="edge")
    length = padded.shape[axis]

    def take(array: np.ndarray, start: int, count: int) -> np.ndarray:
        return array[start:start + count] if axis == 0 else array[:, start:start + count]

    span = 1
    runs = padded  # runs[i] = extreme of padded[i : i + span]
    while span * 2 <= size:
        count = length - 2 * span + 1
        runs = reduce(take(runs, 0, count), take(runs, span, count))
        span *= 2
    count = values.shape[axis]
    return reduce(take(runs, 0, count), take(runs, size - span, count))


def feather(alpha: Image.Image, radius: float) -> Image.Image:
    if radius <= 0:
        return alpha
    return alpha.filter(ImageFilter.GaussianBlur(radius))


def adjust_contrast(alpha: Image.Image, contrast: float) -> Image.Image:
    """Stretch alpha around 50 %: soft, hazy edges become crisper without going binary."""
    if contrast == 1.0:
        return alpha
    lut = [int(np.clip((v - 127.5) * contrast + 127.5, 0, 255) + 0.5) for v in range(256)]
    return alpha.point(lut)


def threshold(alpha: Image.Image, level: int | None) -> Image.Image:
    if level is None:
        return alpha
    return alpha.point(lambda v: 255 if v >= level else 0)


def _box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window with edge clamping, via an integral image: O(1) per pixel."""
    padded = np.pad(values, ((radius + 1, radius), (radius + 1, radius)), mode="edge")
    integral = padded.cumsum(0).cumsum(1)
    size = 2 * radius + 1
    total = integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size] + integral[:-size, :-size]
    return total / float(size * size)


def _local_colour(image: np.ndarray, weight: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean colour around each pixel, and how much weight was found there."""
    found = _box_mean(weight, radius)
    total = np.stack([_box_mean(image[..., c] * weight, radius) for c in range(3)], -1)
    return total / np.maximum(found, 1e-6)[..., None], found


EDGE_CONTRAST = 2.0
STRIP_ROWS = 256  # rows matted at once


class RefineCancelled(Exception):
    """The user cancelled a refinement: the mask is left as it was."""


#: ``progress(fraction)`` is told how far a long refinement got (0..1) and returns False to cancel it.
Progress = Callable[[float], bool]


def _report(progress: Progress | None, fraction: float) -> None:
    if progress is not None and not progress(min(max(fraction, 0.0), 1.0)):
        raise RefineCancelled


def refine_edges(rgb: Image.Image, alpha: Image.Image, band: int = 8, colour_noise: float = 30.0,
                 progress: Progress | None = None) -> Image.Image:
    """Alpha matting in an unknown band around the mask's edge; confident subject and background are kept.

    Each band pixel is explained as a mix of the nearby sure-subject colour F and sure-background
    colour B (the colour-line model behind closed-form matting): alpha = (I−B)·(F−B)/|F−B|². Where
    F and B are too alike to tell apart, the model's alpha is kept (confidence |F−B|²/(|F−B|²+σ²)).
    Works on the band's bounding box only, so the cost follows the edge length, not the megapixels.
    """
    a = np.asarray(alpha)
    grown = np.asarray(shift_edge(alpha, band))
    shrunk = np.asarray(shift_edge(alpha, -band))
    unknown = (grown > 12) & (shrunk < 243)
    if not unknown.any():
        return alpha
    radius = 2 * band
    rows, cols = np.flatnonzero(unknown.any(1)), np.flatnonzero(unknown.any(0))
    top, bottom = max(rows[0] - radius, 0), min(rows[-1] + radius + 1, a.shape[0])
    left, right = max(cols[0] - radius, 0), min(cols[-1] + radius + 1, a.shape[1])
    photo = np.asarray(rgb)
    out = a.copy()
    # In strips with a halo of one window radius: every window lies inside its strip, so the result is the
    # same as for the whole box, and memory stays a few strips' worth (24 MP at once peaked at 4.5 GiB).
    for start in range(top, bottom, STRIP_ROWS):
        _report(progress, (start - top) / max(bottom - top, 1))
        stop = min(start + STRIP_ROWS, bottom)
        window = unknown[start:stop, left:right]
        if not window.any():
            continue
        low, high = max(start - radius, top), min(stop + radius, bottom)
        estimate = _matte(photo[low:high, left:right], a[low:high, left:right], radius, colour_noise)
        estimate = estimate[start - low:start - low + (stop - start)]
        out[start:stop, left:right][window] = (estimate[window] * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(out, "L")


def _matte(photo: np.ndarray, alpha: np.ndarray, radius: int, colour_noise: float) -> np.ndarray:
    """The colour-line estimate for one strip (float alpha 0..1, the strip's shape)."""
    image = photo.astype(np.float32)
    coarse = alpha.astype(np.float32) / 255.0
    fg, fg_found = _local_colour(image, (coarse > 0.95).astype(np.float32), radius)
    bg, bg_found = _local_colour(image, (coarse < 0.05).astype(np.float32), radius)
    spread = fg - bg
    separation = (spread * spread).sum(-1)
    mixed = ((image - bg) * spread).sum(-1) / np.maximum(separation, 1e-6)
    confidence = separation / (separation + colour_noise**2)
    confidence[(fg_found < 0.01) | (bg_found < 0.01)] = 0.0
    # Only the model's own doubt may be revised: the weight 4·a·(1−a) is 1 at a = 0.5 and 0 at 0 and 1,
    # so confident subject keeps its 255 (no holes in mouths and necks), confident background its 0 (no
    # specks), and the change fades smoothly instead of showing the box windows' edges.
    doubt = 4.0 * coarse * (1.0 - coarse)
    estimate = coarse + doubt * confidence * (mixed.clip(0, 1) - coarse)
    # Then the edge is made crisper around 50 %: the model's 320 px map, upsampled, leaves a blur several
    # pixels wide that the colour estimate alone does not remove (people-val MAE: bench/matting_quality.py).
    return ((estimate - 0.5) * EDGE_CONTRAST + 0.5).clip(0, 1)


def guided_alpha(photo: np.ndarray, alpha: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """The colour guided filter (He, Sun, Tang 2010) of ``alpha`` with the photo as guide.

    In every (2r+1)² window alpha is fitted as a linear function of the colour, the local colour-line model
    closed-form matting solves globally; the guided filter is its fast local solution, so the result follows
    the photo's edges (a strand, a collar) where the input mask only approximates them. ``photo`` HxWx3 and
    ``alpha`` HxW as floats in 0..1; returns float32 HxW (not clipped).
    """
    def mean(values: np.ndarray) -> np.ndarray:
        return _box_mean(values, radius).astype(np.float32)

    guide = [photo[..., c] for c in range(3)]
    guide_mean = [mean(g) for g in guide]
    alpha_mean = mean(alpha)
    covariance = np.stack([mean(g * alpha) - m * alpha_mean for g, m in zip(guide, guide_mean, strict=True)], -1)
    variance = np.empty(alpha.shape + (3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            variance[..., a, b] = variance[..., b, a] = mean(guide[a] * guide[b]) - guide_mean[a] * guide_mean[b]
    variance += eps * np.eye(3, dtype=np.float32)
    slope = np.linalg.solve(variance, covariance[..., None])[..., 0]
    offset = alpha_mean - sum(slope[..., c] * guide_mean[c] for c in range(3))
    return sum(mean(slope[..., c]) * guide[c] for c in range(3)) + mean(offset)


#: The Refine Edge brush's solve, chosen on people-val photos 31-60 and reported on photos 1-30 (bench/RESULTS.md
#: §12, ``bench/refine_brush.py``): 5×5 windows let a strand a few pixels wide keep its own colour line; a small
#: regularisation keeps the photo's edges; contrast 5 resolves the doubt into an edge ~a pixel or two soft.
GUIDE_RADIUS = 2
GUIDE_EPS = 1e-4
REFINE_BRUSH_CONTRAST = 5.0
REFINE_BRUSH_MARGIN = 2 * GUIDE_RADIUS + 1  # pixels the solve reads around a region (two box filters deep)


def rematte_painted(photo: np.ndarray, before: np.ndarray, painted: np.ndarray) -> np.ndarray:
    """The Refine Edge brush's solve for one region: where the user painted, the mask is recomputed from the
    photo; elsewhere it is kept.

    The model's mask (upsampled from 320 px, so several pixels blurred at the edge) is filtered with the photo as
    guide (:func:`guided_alpha`), averaged with the model's own probability, and its remaining doubt resolved
    into a crisp edge around 50 %. Measured inside strokes on people-val's hair lines (``bench/refine_brush.py``):
    MAE 0.106 → 0.091. The earlier colour-line solves measured worse (every painted pixel unknown: 0.169; only
    the model's doubt revised: 0.107), and so did the guided filter alone (0.093). Sharpening the model's map
    without the photo scores 0.089: the hand-traced binary references reward any crisp edge, not where it lies;
    the photo is what puts the edge on the photo's own edge (tests/core/editing/test_mask_edits.py). ``photo`` HxWx3 uint8, ``before`` the alpha (uint8) before the
    stroke, ``painted`` the stroke's coverage 0..1, all of one region that extends :data:`REFINE_BRUSH_MARGIN`
    beyond the painted pixels. Returns uint8 alpha of the region's shape.
    """
    coarse = before.astype(np.float32) / 255.0
    guided = guided_alpha(photo.astype(np.float32) / 255.0, coarse, GUIDE_RADIUS, GUIDE_EPS)
    estimate = 0.5 * (guided + coarse)
    crisp = ((estimate - 0.5) * REFINE_BRUSH_CONTRAST + 0.5).clip(0, 1)
    result = coarse + painted * (crisp - coarse)
    return (result * 255 + 0.5).clip(0, 255).astype(np.uint8)


def refine_alpha(rgb: Image.Image, alpha: Image.Image, settings: RefineSettings,
                 progress: Progress | None = None) -> Image.Image:
    """Apply the settings in a fixed order: edge matting, shift, contrast, threshold, feather.

    ``progress`` hears how far it got and may cancel (:class:`RefineCancelled`); matting is most of the work."""
    if settings.is_identity:
        return alpha
    if settings.refine_edges:
        alpha = refine_edges(rgb, alpha, settings.edge_radius,
                             progress=None if progress is None else lambda done: progress(0.8 * done))
        _report(progress, 0.8)
    alpha = shift_edge(alpha, settings.shift)
    alpha = adjust_contrast(alpha, settings.contrast)
    alpha = threshold(alpha, settings.threshold)
    _report(progress, 0.9)
    return feather(alpha, settings.feather)


def decontaminate_colors(rgb: Image.Image, alpha: Image.Image, radius: float = 6.0,
                         strip_rows: int = 256) -> Image.Image:
    """Replace the colour of semi-transparent edge pixels by nearby solid-subject colour.

    An edge pixel is a mix of subject and background; keeping its raw colour leaves a fringe of
    the old background. Solid-subject colour, spread outwards by a normalised Gaussian, is a
    good estimate of the subject's own colour there. Worked in strips of ``strip_rows`` rows with a halo wider
    than the blur, so the result is the whole-image one while a 24 MP photo needs ~100 MiB, not 1.7 GiB of
    float copies (bench/pipeline_memory.py).
    """
    alpha_values = np.asarray(alpha)
    edge_rows = np.flatnonzero(((alpha_values > 0) & (alpha_values < 250)).any(axis=1))
    if edge_rows.size == 0:
        return rgb
    pixels = np.asarray(rgb)
    out = pixels.copy()
    halo = int(radius * 4) + 8  # beyond Pillow's blur support: strips blur exactly as the whole image
    height = pixels.shape[0]
    for top in range(int(edge_rows[0]) // strip_rows * strip_rows, int(edge_rows[-1]) + 1, strip_rows):
        bottom = min(top + strip_rows, height)
        if not ((edge_rows >= top) & (edge_rows < bottom)).any():
            continue
        low, high = max(0, top - halo), min(height, bottom + halo)
        a = alpha_values[low:high].astype(np.float32) / 255.0
        solid = (a >= 0.98).astype(np.float32)
        image = pixels[low:high].astype(np.float32)
        weight_img = Image.fromarray((solid * 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(radius))
        weight = np.asarray(weight_img, np.float32) / 255.0
        spread = np.empty_like(image)
        for channel in range(3):
            layer = Image.fromarray((image[..., channel] * solid).astype(np.uint8), "L")
            spread[..., channel] = np.asarray(layer.filter(ImageFilter.GaussianBlur(radius)), np.float32)
        inner = slice(top - low, bottom - low)
        estimate = spread[inner] / np.maximum(weight[inner], 1e-3)[..., None]
        use = (a[inner] > 0.0) & (a[inner] < 0.98) & (weight[inner] > 0.02)
        out[top:bottom][use] = estimate[use].clip(0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGB")
