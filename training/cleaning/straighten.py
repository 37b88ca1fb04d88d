"""Photos that a source rotated inside a black frame, put back upright before the teacher sees them.

About one in seven of ``photos-worksite`` are such photos (turned by some angle, the corners padded with black;
counts in ``training/annotations/photos-worksite.DATA_CARD.md``).
The teacher labels the whole bright, tilted rectangle as the salient object, so without this the student
learns "a bright rectangle on black is foreground". Recovering the upright photo gives the teacher the
photo it was made for and the student a realistic training image. Upright copies and their masks are
cached in ``data/teacher`` like every mask: after changing this module, delete ``data/teacher/**/*.upright.*``.
The algorithm: the frame is the near-black border (brightest channel under ``PADDING_LEVEL``, median-filtered);
the photo inside it must be a rectangle with right-angled corners; its tilt is fitted along the frame's inner
edges, the photo turned back by that angle and cropped to its largest upright rectangle. Near 45° the way up
is a guess (the teacher labelled sideways photos worse), so there landscape is chosen; upside down stays
possible.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PADDING_LEVEL = 12  # brightest value (0-255, any channel) still counted as the black frame (JPEG ringing)
CONTENT_LEVEL = 3  # darker than this after a median filter: the frame (darkened photos stay above it)
MIN_ANGLE_DEGREES = 2.0  # below this the photo is upright enough to label as it is
RIGHT_ANGLE_TOLERANCE_DEGREES = 8.0
AMBIGUOUS_TURN_DEGREES = 40.0  # near 45° a turn either way levels the photo: which way up is a guess
MIN_CONTENT_SHARE = 0.25  # of the frame: less than this and the "rectangle" is more likely a dark photo


def _brightness(rgb: Image.Image) -> np.ndarray:
    """Per pixel the brightest channel: the frame is black in all three."""
    return np.asarray(rgb.convert("RGB")).max(axis=2)


def _photo_region(value: np.ndarray) -> np.ndarray:
    """Where the photo is, not the frame; the median filter drops JPEG specks in the frame and dark specks
    in the photo."""
    return np.asarray(Image.fromarray(value).filter(ImageFilter.MedianFilter(5))) > CONTENT_LEVEL


def _corner_patches_are_black(value: np.ndarray) -> bool:
    height, width = value.shape
    k = max(3, min(height, width) // 20)
    corners = (value[:k, :k], value[:k, -k:], value[-k:, :k], value[-k:, -k:])
    return all(int(corner.max()) <= PADDING_LEVEL for corner in corners)


def _extreme_points(content: np.ndarray) -> list[tuple[float, float]]:
    """Top, right, bottom and left extremes of the content: the corners of a tilted rectangle."""
    ys, xs = np.nonzero(content)
    def mean_point(selected: np.ndarray) -> tuple[float, float]:
        return float(xs[selected].mean()), float(ys[selected].mean())
    return [mean_point(ys == ys.min()), mean_point(xs == xs.max()), mean_point(ys == ys.max()), mean_point(xs == xs.min())]


def tilt_of_framed_photo(rgb: Image.Image) -> tuple[float, list[tuple[float, float]]] | None:
    """(degrees counter-clockwise that undo the tilt, the content's four corners), or None when the photo
    is not a tilted rectangle on black (an upright photo, or a dark photo whose corners merely are black)."""
    value = _brightness(rgb)
    if not _corner_patches_are_black(value):
        return None
    content = _photo_region(value)
    if content.mean() < MIN_CONTENT_SHARE / 2:
        return None
    corners = _extreme_points(content)
    edges = [(corners[(i + 1) % 4][0] - corners[i][0], corners[(i + 1) % 4][1] - corners[i][1]) for i in range(4)]
    lengths = [math.hypot(dx, dy) for dx, dy in edges]
    if min(lengths) < 0.2 * max(lengths) or abs(lengths[0] - lengths[2]) > 0.1 * max(lengths[0], lengths[2]) \
            or abs(lengths[1] - lengths[3]) > 0.1 * max(lengths[1], lengths[3]):
        return None  # opposite sides must match: a parallelogram at least
    for i in range(4):
        (ax, ay), (bx, by) = edges[i], edges[(i + 1) % 4]
        corner_angle = math.degrees(math.acos(max(-1.0, min(1.0, (ax * bx + ay * by) / (lengths[i] * lengths[(i + 1) % 4])))))
        if abs(corner_angle - 90.0) > RIGHT_ANGLE_TOLERANCE_DEGREES:
            return None
    if _polygon_area(corners) / content.size < MIN_CONTENT_SHARE or not _black_outside(value, corners):
        return None
    turn = _fitted_turn(content, corners)
    if abs(turn) < MIN_ANGLE_DEGREES:
        return None
    return turn, corners


def _smallest_turn(edge_degrees: float) -> float:
    """Of the right-angle-equivalent turns that make an edge at ``edge_degrees`` level, the smallest one."""
    return (edge_degrees + 45.0) % 90.0 - 45.0


def _fitted_turn(content: np.ndarray, corners: list[tuple[float, float]]) -> float:
    """The tilt from straight lines fitted through the content's outline, edge by edge (the extreme points
    alone are a degree off on shallow tilts); the median of the four edges, in degrees."""
    rows = np.nonzero(content.any(axis=1))[0]
    left = np.array([np.argmax(content[y]) for y in rows], dtype=np.float64)
    right = np.array([content.shape[1] - 1 - np.argmax(content[y, ::-1]) for y in rows], dtype=np.float64)
    (_, top_y), (_, right_y), (_, bottom_y), (_, left_y) = corners
    estimates = []
    for outline, start, end in ((right, top_y, right_y), (right, right_y, bottom_y), (left, left_y, bottom_y), (left, top_y, left_y)):
        inner = (rows > start + 0.1 * (end - start)) & (rows < end - 0.1 * (end - start))  # away from the corners
        if inner.sum() >= 5:
            dx_per_row = float(np.polyfit(rows[inner], outline[inner], 1)[0])
            estimates.append(_smallest_turn(math.degrees(math.atan2(1.0, dx_per_row))))
    (x0, y0), (x1, y1) = corners[0], corners[1]
    rough = _smallest_turn(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    # Near 45° one edge may read +44.9 and the next -44.9: bring each to the rough value's side first.
    aligned = [rough + _smallest_turn(estimate - rough) for estimate in estimates]
    return _smallest_turn(float(np.median(aligned))) if aligned else rough


def _black_outside(value: np.ndarray, corners: list[tuple[float, float]]) -> bool:
    """A frame is black all round the rectangle (a dark photo may be dark inside it too, which is fine)."""
    cx, cy = (sum(x for x, _ in corners) / 4, sum(y for _, y in corners) / 4)
    grown = [(cx + 1.03 * (x - cx), cy + 1.03 * (y - cy)) for x, y in corners]
    inside = Image.new("L", (value.shape[1], value.shape[0]), 0)
    ImageDraw.Draw(inside).polygon(grown, fill=255)
    outside = np.asarray(inside) == 0
    return bool(outside.any()) and float((value[outside] > PADDING_LEVEL).mean()) < 0.03


def _polygon_area(corners: list[tuple[float, float]]) -> float:
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True)))


def straighten_framed_photo(rgb: Image.Image) -> Image.Image | None:
    """The upright photo cut out of its black frame, or None when ``rgb`` is not a tilted, framed photo."""
    found = tilt_of_framed_photo(rgb)
    if found is None:
        return None
    turn, _ = found
    # PIL turns counter-clockwise for positive angles. Turned back, the photo is a level rectangle in black:
    # crop to the rows and columns that are mostly photo, then one more pixel for the resampled rim.
    upright = rgb.convert("RGB").rotate(turn, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    content = _photo_region(_brightness(upright))
    row_share, column_share = content.mean(axis=1), content.mean(axis=0)
    rows = np.nonzero(row_share > 0.5 * row_share.max())[0]
    columns = np.nonzero(column_share > 0.5 * column_share.max())[0]
    rim = 1 + min(len(rows), len(columns)) // 200
    box = (int(columns[0]) + rim, int(rows[0]) + rim, int(columns[-1]) + 1 - rim, int(rows[-1]) + 1 - rim)
    if box[2] - box[0] < 16 or box[3] - box[1] < 16:
        return None
    level = upright.crop(box)
    if abs(turn) > AMBIGUOUS_TURN_DEGREES and level.height > level.width:
        level = level.transpose(Image.Transpose.ROTATE_90)  # most photos are landscape: the likelier way up
    return level
