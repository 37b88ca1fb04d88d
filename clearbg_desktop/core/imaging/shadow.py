"""Shadows for product cut-outs, made from the mask: a contact shadow (soft and dark right under the subject's base)
or a drop shadow (the silhouette moved away from the light, blurred), drawn only where the subject is not opaque.

Why sizes are shares of the subject: a preset is applied to photos of every size, before and after a resize; a
shadow 3 % of the subject's size looks the same on a 600 px phone photo and a 6000 px studio frame.

Everything here is float until the last step, so a 16-bit output gets a shadow with 65,536 levels (no bands in a
long, faint gradient). The blur is three box blurs (a Gaussian to within a few per cent) on a reduced copy: its
reach is finite and known from the settings alone, so the crop and the square frame leave room for exactly what is
drawn, and they can say how large the output will be without drawing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.compose import check_number, subject_box

SHADOW_KINDS = ("contact", "drop")
#: The range each setting may take, whichever front end sets it (CLI, dialogs, presets, project files).
OPACITY_RANGE = (1.0, 100.0)  # %
BLUR_RANGE = (0.0, 25.0)  # % of the subject's size (its longer side)
DISTANCE_RANGE = (0.0, 50.0)  # % of the subject's size
ANGLE_RANGE = (0.0, 360.0)  # degrees, where the light comes from (Photoshop's convention): 90 is from above
#: A contact shadow's core is this much tighter than its soft part, and lies this much flatter (a floor seen
#: from the camera's height is foreshortened).
CONTACT_CORE = 0.25
CONTACT_FLATTEN = 0.6
#: Columns whose lowest point is above the floor line by more than this many blurs get no contact shadow (the
#: seat of a chair is not on the floor; its legs are).
CONTACT_BAND = 1.5
#: A product seen from above stands on a floor line that rises towards the back: up to this share of the subject's
#: height above its lowest point (fading from half of it), its base still casts a contact shadow.
CONTACT_RISE = 0.5
#: The faintest shadow drawn (of 1): below it the shadow fades to exactly nothing, so where it ends no edge shows.
FAINTEST = 1.0 / 255.0
_ALPHA_FLOOR = 12  # the subject is where alpha > this (as for cropping: core.imaging.compose.subject_box)

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ShadowSettings:
    """A shadow under the cut-out. ``blur`` and ``distance`` are % of the subject's size (its longer side);
    ``angle`` is where the light comes from in degrees (0 right, 90 above, 120 upper left: the shadow falls the
    other way); a contact shadow uses only ``opacity`` and ``blur``."""

    kind: str = "contact"
    opacity: float = 50.0  # %
    blur: float = 5.0
    distance: float = 3.0
    angle: float = 120.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """ValueError with a sentence for the user when a setting is of the wrong type or out of range."""
        if self.kind not in SHADOW_KINDS:
            raise ValueError(f"unknown shadow {self.kind!r:.40}; choose one of {', '.join(SHADOW_KINDS)}")
        check_number("the shadow's opacity", self.opacity, *OPACITY_RANGE, unit="%")
        check_number("the shadow's blur", self.blur, *BLUR_RANGE, unit="% of the subject's size")
        check_number("the shadow's distance", self.distance, *DISTANCE_RANGE, unit="% of the subject's size")
        check_number("the shadow's angle", self.angle, *ANGLE_RANGE, unit="degrees")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "opacity": self.opacity, "blur": self.blur, "distance": self.distance,
                "angle": self.angle}

    @classmethod
    def from_dict(cls, data: object) -> ShadowSettings:
        """As :meth:`to_dict` wrote it (unknown keys ignored, missing ones the defaults); anything else is a
        ValueError (presets and projects are input)."""
        if not isinstance(data, dict):
            raise ValueError(f"the shadow must be a mapping, not {type(data).__name__}")
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @staticmethod
    def maybe_from_dict(data: object) -> ShadowSettings | None:
        """``None`` (no shadow) or a shadow's mapping."""
        return None if data is None else ShadowSettings.from_dict(data)


# ----- where the shadow lies (from the settings and the subject's box alone) ----------------------------------

@dataclass(frozen=True)
class _Plan:
    """How a shadow is drawn for one subject: the box it may cover (photo coordinates, may pass the photo's
    edges), the reduction it is blurred at, and its blur radii in reduced pixels (horizontal, vertical)."""

    box: Box
    factor: int
    radii: tuple[tuple[int, int], ...]  # one (rx, ry) per component
    weights: tuple[float, ...]
    shift: tuple[int, int]  # drop shadow: (dx, dy) in photo pixels
    size: int  # the subject's size (its longer side), photo pixels
    height: int  # the subject's height, photo pixels


def _blur_px(settings: ShadowSettings, size: int) -> float:
    return settings.blur / 100.0 * size


def _offset(settings: ShadowSettings, size: int) -> tuple[int, int]:
    if settings.kind != "drop":
        return 0, 0
    distance = settings.distance / 100.0 * size
    theta = math.radians(settings.angle)
    return round(-distance * math.cos(theta)), round(distance * math.sin(theta))  # away from the light; y is down


def _plan(subject: Box, settings: ShadowSettings) -> _Plan:
    left, top, right, bottom = subject
    size = max(right - left, bottom - top, 1)
    sigma = _blur_px(settings, size)
    components: tuple[tuple[float, float], ...]
    if settings.kind == "contact":
        sigma = max(sigma, 1.0)
        components = ((sigma * CONTACT_CORE, sigma * CONTACT_CORE * CONTACT_FLATTEN),
                      (sigma, sigma * CONTACT_FLATTEN))
        weights: tuple[float, ...] = (0.5, 0.5)
    else:
        components = ((sigma, sigma),)
        weights = (1.0,)
    smallest = min(min(pair) for pair in components)
    factor = max(1, min(64, int(smallest / 3.0)))  # a reduced copy: blurs of 3+ reduced pixels look the same
    radii = tuple((round(sx / factor), round(sy / factor)) for sx, sy in components)
    reach_x = 3 * max(rx for rx, _ in radii) * factor + 2 * factor  # three box passes, then bilinear upsampling
    reach_y = 3 * max(ry for _, ry in radii) * factor + 2 * factor
    dx, dy = _offset(settings, size)
    if settings.kind == "contact":
        band = math.ceil(CONTACT_RISE * (bottom - top)) + factor
        box = (left - reach_x, bottom - band - reach_y, right + reach_x, bottom + reach_y)
    else:
        box = (left + dx - reach_x, top + dy - reach_y, right + dx + reach_x, bottom + dy + reach_y)
    # A whole number of reduced pixels, so reducing and enlarging again keep every pixel where it was.
    width = -(-(box[2] - box[0]) // factor) * factor
    height = -(-(box[3] - box[1]) // factor) * factor
    return _Plan((box[0], box[1], box[0] + width, box[1] + height), factor, radii, weights, (dx, dy), size,
                 bottom - top)


def subject_of(alpha: Image.Image) -> Box | None:
    """The box of what casts a shadow (as cropping finds the subject); None for an empty mask."""
    return subject_box(alpha, 0, _ALPHA_FLOOR)


def shadow_box(alpha: Image.Image, settings: ShadowSettings, subject: Box | None = None) -> Box | None:
    """The box the shadow may cover, in the photo's coordinates (it may pass the photo's edges); None when the mask
    is empty. Cheap: the crop, the square frame and the size estimate use it without drawing the shadow."""
    subject = subject or subject_of(alpha)
    return None if subject is None else _plan(subject, settings).box


# ----- drawing it ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ShadowLayer:
    """The shadow's opacity over ``box`` (photo coordinates; nothing outside it), kept at the reduced size it was
    blurred at (``small``, float 0..1, ``factor`` times smaller): a long, soft drop shadow may cover ten times the
    photo, and only the part an output shows is ever made at full size (:meth:`on`)."""

    small: np.ndarray
    factor: int
    box: Box

    @property
    def values(self) -> np.ndarray:
        """The whole shadow at full size, uint16 (0..65535)."""
        whole = self.on(self.box)
        assert whole is not None
        return whole[0]

    def on(self, canvas: Box) -> tuple[np.ndarray, tuple[int, int]] | None:
        """The part of the shadow on a picture covering ``canvas`` (photo coordinates), at full size (uint16 of
        65535), and where it lies on that picture; None when none of it does (``core.imaging.compose.PlacedShadow``).
        """
        left, top = max(self.box[0], canvas[0]), max(self.box[1], canvas[1])
        right, bottom = min(self.box[2], canvas[2]), min(self.box[3], canvas[3])
        if right <= left or bottom <= top:
            return None
        x0, y0, x1, y1 = left - self.box[0], top - self.box[1], right - self.box[0], bottom - self.box[1]
        if self.factor == 1:
            part = self.small[y0:y1, x0:x1]
        else:  # the same samples as enlarging the whole and cropping, made only for this part
            f = self.factor
            part = np.asarray(Image.fromarray(self.small, "F").resize(
                (x1 - x0, y1 - y0), Image.Resampling.BILINEAR, box=(x0 / f, y0 / f, x1 / f, y1 / f)))
        values = (np.clip(part, 0.0, 1.0) * 65535.0 + 0.5).astype(np.uint16)
        return values, (left - canvas[0], top - canvas[1])

    def placed(self, canvas: Box) -> np.ndarray:
        """The shadow on a canvas covering ``canvas`` (photo coordinates): HxW uint16, zero where it does not
        reach."""
        out = np.zeros((canvas[3] - canvas[1], canvas[2] - canvas[0]), np.uint16)
        found = self.on(canvas)
        if found is not None:
            values, (left, top) = found
            out[top:top + values.shape[0], left:left + values.shape[1]] = values
        return out


def render_shadow(alpha: Image.Image, settings: ShadowSettings, subject: Box | None = None) -> ShadowLayer | None:
    """The shadow of the subject ``alpha`` (8-bit ``L`` at the photo's size) casts; None for an empty mask.
    ``subject``: its box (:func:`subject_of`), when the caller has it already."""
    subject = subject or subject_of(alpha)
    if subject is None:
        return None
    plan = _plan(subject, settings)
    left, top, right, bottom = plan.box
    dx, dy = plan.shift
    # The silhouette under the shadow's box (moved away from the light for a drop shadow), reduced; zeros off the
    # photo, and only the photo's part of the box is read at full size.
    silhouette = _reduced_silhouette(alpha, (left - dx, top - dy, right - dx, bottom - dy), plan.factor)
    if settings.kind == "contact":
        seed = _contact_seed(silhouette, subject[3] - top, plan, settings)
    else:
        seed = silhouette
    blurred = np.zeros_like(seed)
    for (rx, ry), weight in zip(plan.radii, plan.weights, strict=True):
        blurred += weight * _box_blur3(_box_blur3(seed, ry, 0), rx, 1)
    if settings.kind == "contact":
        seen_part = blurred[silhouette < 0.5]  # what the subject does not hide
        peak = float(seen_part.max()) if seen_part.size else 0.0
        if peak > 0:
            blurred = np.minimum(blurred / peak, 1.0)  # the darkest point seen is the opacity asked, whatever the blur
    opacity = settings.opacity / 100.0
    faded = np.clip((blurred * opacity - FAINTEST) / (1.0 - FAINTEST), 0.0, 1.0).astype(np.float32)
    return ShadowLayer(faded, plan.factor, plan.box)


def _reduced_silhouette(alpha: Image.Image, box: Box, factor: int) -> np.ndarray:
    """``alpha`` over ``box`` (whose sides are whole multiples of ``factor``), reduced ``factor`` times, 0..1."""
    width, height = (box[2] - box[0]) // factor, (box[3] - box[1]) // factor
    out = np.zeros((height, width), np.float32)
    # The photo's part of the box, widened to whole reduced pixels (the reduced grid starts at the box's corner).
    x0 = box[0] + (max(box[0], 0) - box[0]) // factor * factor
    y0 = box[1] + (max(box[1], 0) - box[1]) // factor * factor
    x1 = box[0] + -(-(min(box[2], alpha.width) - box[0]) // factor) * factor
    y1 = box[1] + -(-(min(box[3], alpha.height) - box[1]) // factor) * factor
    if x1 <= x0 or y1 <= y0:
        return out
    seen = alpha.crop((x0, y0, x1, y1))
    small = np.asarray(seen.reduce(factor) if factor > 1 else seen, np.float32) / 255.0
    left, top = (x0 - box[0]) // factor, (y0 - box[1]) // factor
    out[top:top + small.shape[0], left:left + small.shape[1]] = small
    return out


def _contact_seed(silhouette: np.ndarray, base_row: int, plan: _Plan, settings: ShadowSettings) -> np.ndarray:
    """A short band of floor under the lowest point of each column that stands on the floor (reduced pixels):
    blurred, it is darkest where the subject meets the floor and fades away from it.

    Which columns stand: those whose lowest point lies on the silhouette's lower hull (the floor line a product
    seen from above rises along, in perspective), within a band; the seat between a chair's legs lies far above
    the hull drawn from leg to leg and casts nothing. Columns far above the lowest point cast less, then nothing."""
    factor = plan.factor
    solid = silhouette > 0.5
    height, width = silhouette.shape
    rows = np.arange(height)[:, None]
    lowest = np.where(solid.any(axis=0), height - 1 - np.argmax(solid[::-1], axis=0), -1).astype(np.float64)
    standing = lowest >= 0
    seed = np.zeros_like(silhouette)
    if not standing.any():
        return seed
    columns = np.flatnonzero(standing)
    floor = _lower_hull(columns.astype(np.float64), lowest[columns], width)
    sigma = max(1.0, settings.blur / 100.0 * plan.size) / factor
    band = CONTACT_BAND * sigma
    on_floor = np.clip(1.0 - (floor - lowest) / max(band, 1e-6), 0.0, 1.0)
    subject_height = plan.height / factor
    rise = (base_row / factor - 1 - lowest) / max(subject_height, 1e-6)
    low_enough = np.clip((CONTACT_RISE - rise) / (CONTACT_RISE / 2), 0.0, 1.0)
    weight = on_floor * low_enough * standing
    thickness = max(1.0, sigma * CONTACT_CORE)
    under = (rows > lowest[None, :]) & (rows <= lowest[None, :] + thickness)  # the floor right under it
    return (under * weight[None, :]).astype(np.float32)


def _lower_hull(xs: np.ndarray, ys: np.ndarray, width: int) -> np.ndarray:
    """The convex envelope under points (x, y) with y growing downwards, at every column 0..width-1."""
    hull: list[tuple[float, float]] = []
    for point in zip(xs.tolist(), (-ys).tolist(), strict=True):  # y upwards: the lower hull of (x, -y)
        while len(hull) >= 2 and ((hull[-1][0] - hull[-2][0]) * (point[1] - hull[-2][1])
                                  - (hull[-1][1] - hull[-2][1]) * (point[0] - hull[-2][0])) <= 0:
            hull.pop()
        hull.append(point)
    hull_x = np.array([x for x, _ in hull])
    hull_y = -np.array([y for _, y in hull])
    return np.interp(np.arange(width, dtype=np.float64), hull_x, hull_y)


def _box_blur3(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Three box blurs of ``radius`` along ``axis`` (close to a Gaussian of sigma ≈ radius + 0.5), zeros outside."""
    for _ in range(3 if radius > 0 else 0):
        values = _box_blur(values, radius, axis)
    return values


def _box_blur(values: np.ndarray, radius: int, axis: int, chunk: int = 256) -> np.ndarray:
    """One box blur along ``axis``, summed in float64 a chunk of lines at a time (exact, and bounded memory)."""
    width = 2 * radius + 1
    count = values.shape[axis]
    out = np.empty_like(values, dtype=np.float32)
    lines = values.shape[1 - axis]
    for start in range(0, lines, chunk):
        part = values[:, start:start + chunk] if axis == 0 else values[start:start + chunk]
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius + 1, radius)
        sums = np.cumsum(np.pad(part.astype(np.float64), pad), axis=axis)
        if axis == 0:
            out[:, start:start + chunk] = (sums[width:width + count] - sums[:count]) / width
        else:
            out[start:start + chunk] = (sums[:, width:width + count] - sums[:, :count]) / width
    return out


def colour_view(rgb: np.ndarray, alpha: np.ndarray, color: tuple[int, int, int], layer: ShadowLayer | None,
                origin: tuple[int, int] = (0, 0), rows: int = 512) -> np.ndarray:
    """The canvas's colour view with the shadow: the subject (HxWx3 uint8, HxW alpha) over ``color`` darkened by
    ``layer`` (HxWx3 uint8). ``origin``: where this patch lies in the photo (a brush dab repaints a patch). Without
    a shadow, exactly what ``core.editing.preview.render_view`` shows in its colour mode."""
    height, width = alpha.shape
    shadow = None if layer is None else layer.placed((origin[0], origin[1], origin[0] + width, origin[1] + height))
    behind = np.asarray(color, np.float32)
    out = np.empty((height, width, 3), np.uint8)
    for top in range(0, height, rows):
        band = slice(top, top + rows)
        a = alpha[band].astype(np.float32)[..., None] / 255.0
        under = behind * (1.0 - a)
        if shadow is not None:
            under = under * (1.0 - shadow[band].astype(np.float32)[..., None] / 65535.0)
        out[band] = (rgb[band] * a + under).astype(np.uint8)
    return out
