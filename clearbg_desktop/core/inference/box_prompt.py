"""Object box: run the model on a box the user drew (plus context) instead of on the whole photo.

A salient-object model cuts out what looks like *the* subject of its input. Given only the region around the wanted
object, that object becomes the subject, and it gets most of the model's input (a small object on a large photo is
otherwise a few dozen of the model's 320 pixels) — shown at 224 px and mirrored (:data:`BOX_VIEWS`), where the model
sees an object that fills its view best. The crop takes a margin of context around the box, and
the model's answer for the crop is cut to the box. Measured on COCO instance masks and checked on people-val
(``bench/box_prompt.py``, bench/RESULTS.md §18): a margin of 10 % scored best (5 %, 20 % and 30 % lower), fading that
margin half-way to grey before the model sees it gave a clearly better mask (IoU and MAE; max Fβ level), and no
clean-up after the model helped — keeping only the parts that reach the box's centre (:mod:`core.components`) was even
on COCO and lost on people-val (IoU 0.908 against 0.913) — so the crop's answer is used as it is; the clean-ups stay
selectable for the benchmark.

This module returns arrays; combining them with the user's mask (replace, add, subtract, one undo step) is
``core.editing.selection``'s, and whoever calls both (the CLI, the window) joins them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from clearbg_desktop.core.components import clean_box_mask

if TYPE_CHECKING:
    from clearbg_desktop.core.inference.engines import Engine

Box = tuple[int, int, int, int]  # left, top, right, bottom in photo pixels (right, bottom exclusive)

#: Context around the box, as a fraction of the box's width and height on each side (bench/box_prompt.py).
DEFAULT_MARGIN = 0.1
#: The clean-up after the model (bench/box_prompt.py): "none" (the naive crop), "centre" (keep the components that
#: reach the box's central area), "border" (drop components touching the crop's border inside the photo),
#: "centre+border".
DEFAULT_CLEANUP = "none"
CLEANUPS = ("none", "centre", "border", "centre+border")
#: How far the context around the box is taken towards grey before the model sees it (0: not at all). Measured on 294
#: COCO objects (bench/box_prompt.py, RESULTS §18): against the plain crop, IoU 0.544 -> 0.587 (+0.043, 95 % interval
#: +0.025..+0.062 over photos; better on both halves and every size), MAE 0.309 -> 0.290, max Fβ 0.841 -> 0.839
#: (-0.002, interval -0.009..+0.005: level); on people-val IoU 0.913 -> 0.919, max Fβ level. Blurring the context
#: instead lost (max Fβ 0.821 on 120 objects).
CONTEXT_FADE = 0.5
MIN_BOX_SIDE = 4  # pixels: a smaller box is a click, not a box


def clip_box(box: Sequence[float], size: tuple[int, int]) -> Box:
    """``box`` (x0, y0, x1, y1, any order of corners, floats allowed) as whole pixels inside a photo of ``size``
    (width, height); ValueError when less than :data:`MIN_BOX_SIDE` pixels of it lie on the photo."""
    if len(box) != 4 or not all(math.isfinite(float(v)) for v in box):
        raise ValueError(f"a box is four finite numbers x0,y0,x1,y1, not {tuple(box)}")
    width, height = size
    x0, x1 = sorted((float(box[0]), float(box[2])))
    y0, y1 = sorted((float(box[1]), float(box[3])))
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    if right - left < MIN_BOX_SIDE or bottom - top < MIN_BOX_SIDE:
        raise ValueError(f"the box {x0:g},{y0:g},{x1:g},{y1:g} has less than {MIN_BOX_SIDE}×{MIN_BOX_SIDE} pixels on "
                         f"the {width}×{height} photo")
    return left, top, right, bottom


def context_crop(box: Box, size: tuple[int, int], margin: float = DEFAULT_MARGIN) -> Box:
    """The region the model sees for ``box``: the box grown by ``margin`` × its width (height) on each side,
    clipped to the photo of ``size`` (width, height)."""
    left, top, right, bottom = box
    width, height = size
    dx, dy = round((right - left) * margin), round((bottom - top) * margin)
    return max(0, left - dx), max(0, top - dy), min(width, right + dx), min(height, bottom + dy)


def model_input(photo: Image.Image, crop: Box, faded: Box | None = None) -> Image.Image:
    """The ``crop`` of ``photo`` as the model sees it; with ``faded`` (the box, photo pixels), the context around the
    box half-way to grey (:data:`CONTEXT_FADE`): the model still sees what is around, but the box is what stands
    out."""
    region = photo.convert("RGB").crop(crop)
    if faded is None:
        return region
    left, top = faded[0] - crop[0], faded[1] - crop[1]
    inner = (left, top, faded[2] - crop[0], faded[3] - crop[1])
    dimmed = Image.blend(region, Image.new("RGB", region.size, (128, 128, 128)), CONTEXT_FADE)
    dimmed.paste(region.crop(inner), (left, top))
    return dimmed


#: How the model looks at a box's crop, by (family, variant): the square's side as a share of the model's own (U²-Net's
#: 320 px: 224), and whether the mirrored crop's map is averaged in (one batch of two). A salient-object network trained
#: at 320 px on whole photos takes an object that fills its input for a blur of large textures; shown smaller, it sees
#: the object whole. On 294 COCO objects (bench/box_prompt.py, RESULTS §18) the full U²-Net's box at 224 px, mirrored:
#: IoU 0.587 -> 0.653, max Fβ 0.839 -> 0.855, MAE 0.290 -> 0.264, in about the time of one whole-photo mask; on
#: people-val IoU 0.919 -> 0.931, MAE 0.053 -> 0.049, max Fβ level; the small U²-Net likewise (bench/box_views.py:
#: 0.579 -> 0.643, 0.835 -> 0.852, 0.302 -> 0.269). 192 px + mirror edged it on COCO's IoU and MAE but lost on
#: people-val; 256 px lost on COCO; mixing sides or models bought at most +0.010 max Fβ for up to 1.5× the time.
#: Models not measured so look at the box as at a photo: their own side, no mirror.
BOX_VIEWS: dict[tuple[str, str], tuple[float, bool]] = {("u2net", "full"): (0.7, True),
                                                        ("u2net", "small"): (0.7, True)}


def measured_view(architecture: tuple[str, str], input_size: int) -> tuple[int, bool]:
    """(side, mirrored too) that :data:`BOX_VIEWS` gives a model of ``architecture`` and ``input_size``; its own side
    and no mirror where it was not measured."""
    share, flip = BOX_VIEWS.get(architecture, (1.0, False))
    return round(input_size * share), flip


def box_view(segmenter: Engine) -> tuple[int, bool]:
    """:func:`measured_view` for this engine's model; its own side and no mirror where the engine runs one side only
    (an imported file, a GPU session)."""
    side, flip = measured_view(segmenter.architecture, segmenter.input_size)
    if not segmenter.accepts_side(side):
        return segmenter.input_size, False
    return side, flip


def crop_probabilities(segmenter: Engine, inputs: Sequence[Image.Image]) -> np.ndarray:
    """The model's foreground probabilities for box crops as :func:`model_input` makes them, seen as
    :func:`box_view` says (float32 N×S×S; one model call)."""
    side, flip = box_view(segmenter)
    return segmenter.predict_probabilities(inputs, side=side, flip_average=flip)


def crop_probability(segmenter: Engine, photo: Image.Image, crop: Box, faded: Box | None = None) -> np.ndarray:
    """The model's foreground probability for the ``crop`` of ``photo`` (:func:`model_input`), at the box view's
    resolution (float32 S×S)."""
    return crop_probabilities(segmenter, [model_input(photo, crop, faded)])[0]


def alpha_from_probability(probability: np.ndarray, crop: Box, box: Box, photo_size: tuple[int, int],
                           cleanup: str = DEFAULT_CLEANUP) -> np.ndarray:
    """The box's alpha (uint8, the box's height × width) from the model's ``probability`` for ``crop``: upsampled to
    the crop's pixels, cut to the box, cleaned up (:data:`CLEANUPS`)."""
    if cleanup not in CLEANUPS:
        raise ValueError(f"unknown clean-up {cleanup!r}; choose one of {CLEANUPS}")
    c_left, c_top, c_right, c_bottom = crop
    small = Image.fromarray((probability * 255.0 + 0.5).clip(0, 255).astype(np.uint8), "L")
    alpha = np.asarray(small.resize((c_right - c_left, c_bottom - c_top), Image.Resampling.BILINEAR))
    if cleanup != "none":
        width, height = photo_size
        # The crop's sides that are cut out of the photo (not the photo's own edges): an object touching them
        # reaches beyond what the model saw, so it is a neighbour, not the boxed object.
        open_sides = (c_left > 0, c_top > 0, c_right < width, c_bottom < height)
        inner = (box[0] - c_left, box[1] - c_top, box[2] - c_left, box[3] - c_top)
        alpha = clean_box_mask(alpha, inner, open_sides, centre="centre" in cleanup, border="border" in cleanup)
    left, top, right, bottom = box
    return np.ascontiguousarray(alpha[top - c_top:bottom - c_top, left - c_left:right - c_left])


def mask_in_box(segmenter: Engine, photo: Image.Image, box: Sequence[float], margin: float = DEFAULT_MARGIN,
                cleanup: str = DEFAULT_CLEANUP, fade: bool = True) -> tuple[Box, np.ndarray]:
    """Run the model on ``box`` (photo pixels, clipped to the photo) plus ``margin`` of context, the context faded
    (:func:`model_input`; ``fade=False``: the naive crop); returns the clipped box and its alpha (uint8, the box's
    height × width). One model call, at the model's input size whatever the box's size. ValueError for a box that is
    (nearly) off the photo."""
    clipped = clip_box(box, photo.size)
    crop = context_crop(clipped, photo.size, margin)
    probability = crop_probability(segmenter, photo, crop, clipped if fade else None)
    return clipped, alpha_from_probability(probability, crop, clipped, photo.size, cleanup)


def mask_of_boxes(segmenter: Engine, photo: Image.Image, boxes: Sequence[Sequence[float]],
                  margin: float = DEFAULT_MARGIN, cleanup: str = DEFAULT_CLEANUP) -> Image.Image:
    """The photo's whole alpha when the subject is what is in ``boxes``: each box's alpha, added (max) where boxes
    overlap, and nothing outside them. Boxes as :func:`parse_box` gives them (pixels, or fractions of the photo). What
    ``clearbg-cli --box`` exports; ValueError for a box off the photo."""
    alpha = np.zeros((photo.height, photo.width), np.uint8)
    for box in boxes:
        (left, top, right, bottom), region = mask_in_box(segmenter, photo, resolve_box(box, photo.size), margin,
                                                         cleanup)
        np.maximum(alpha[top:bottom, left:right], region, out=alpha[top:bottom, left:right])
    return Image.fromarray(alpha, "L")


#: How a click where the mask is empty finds the object's box (bench/box_prompt.py, COCO objects the model left out):
#: "doubt" grows a region from the click on the model's whole-photo alpha at a lower level, relative to the alpha at
#: the click; "colour" grows it on the photo's colours (a flood fill that stops at the photo's edges); "fixed" is a
#: square of a quarter of the photo's short side. "doubt+colour": doubt where the model saw anything there, else colour.
#: Grown regions fit people's boxes no better than a square (box IoU 0.35-0.37 for all four, 135 clicks), and a colour
#: region that spills over the neighbours hands the model a scene instead of an object: after the object box the
#: clicked object's IoU was 0.23 with the square and with "doubt", 0.16-0.17 with colour (bench/RESULTS.md §18). The
#: window no longer uses any of them: :func:`mask_at_click` (squares of several sizes, the model's answer surest of
#: the clicked pixel) did better; they stay for the benchmark's table.
AUTO_BOX_METHODS = ("doubt", "colour", "doubt+colour", "fixed")
DEFAULT_AUTO_BOX = "fixed"
AUTO_BOX_GRID = 160  # the long side the region is grown on: an object the size of a click box is dozens of cells
AUTO_BOX_PAD = 0.1  # the grown region's box is padded by this fraction of its size: regions stop short of the edge
DOUBT_FLOOR = 8  # below this alpha (of 255) at the click the model saw nothing there; "doubt" falls back to colour
DOUBT_RATIO = 0.5  # the region grown from a click: the alpha at least this share of the alpha at the click
COLOUR_TOLERANCE = 28.0  # RGB distance from the click's colour that still belongs to the object
FIXED_SIDE = 0.25  # the "fixed" box: this share of the photo's short side


def _grid(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    scale = AUTO_BOX_GRID / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _region_box(region: np.ndarray, size: tuple[int, int]) -> Box | None:
    """The photo-pixel box of a region on the grid, padded by :data:`AUTO_BOX_PAD`."""
    rows, columns = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    if rows.size == 0:
        return None
    grid_height, grid_width = region.shape
    width, height = size
    sx, sy = width / grid_width, height / grid_height
    x0, x1 = columns[0] * sx, (columns[-1] + 1) * sx
    y0, y1 = rows[0] * sy, (rows[-1] + 1) * sy
    dx, dy = (x1 - x0) * AUTO_BOX_PAD, (y1 - y0) * AUTO_BOX_PAD
    box = (max(0, math.floor(x0 - dx)), max(0, math.floor(y0 - dy)),
           min(width, math.ceil(x1 + dx)), min(height, math.ceil(y1 + dy)))
    if box[2] - box[0] < MIN_BOX_SIDE or box[3] - box[1] < MIN_BOX_SIDE:
        return None
    return box


def _grown(inside: np.ndarray, column: int, row: int) -> np.ndarray:
    from clearbg_desktop.core.components import label

    labels, _ = label(inside)
    part = labels[row, column]
    return labels == part if part else np.zeros_like(inside)


def auto_box(photo: Image.Image, alpha: np.ndarray | None, x: float, y: float,
             method: str = DEFAULT_AUTO_BOX) -> Box:
    """A box around the object under a click where the mask is empty, to run :func:`mask_in_box` on.

    ``alpha``: the model's whole-photo alpha (uint8, the photo's size; None: only the photo is used). Always returns
    a box that contains the click: when growing finds nothing usable, the "fixed" square."""
    if method not in AUTO_BOX_METHODS:
        raise ValueError(f"unknown auto-box method {method!r}; choose one of {AUTO_BOX_METHODS}")
    width, height = photo.size
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"the click {x:g},{y:g} is not on the {width}×{height} photo")
    grid = _grid(photo.size)
    column = min(grid[0] - 1, int(x * grid[0] / width))
    row = min(grid[1] - 1, int(y * grid[1] / height))
    box: Box | None = None
    if method in ("doubt", "doubt+colour") and alpha is not None:
        small = np.asarray(Image.fromarray(alpha, "L").resize(grid, Image.Resampling.BOX), np.float32)
        seen = small[row, column]
        if seen >= DOUBT_FLOOR:
            box = _region_box(_grown(small >= seen * DOUBT_RATIO, column, row), photo.size)
    if box is None and method in ("colour", "doubt+colour") or method == "colour":
        from PIL import ImageFilter

        pixels = np.asarray(photo.convert("RGB").resize(grid, Image.Resampling.BOX).filter(
            ImageFilter.GaussianBlur(1)), np.float32)
        distance = np.sqrt(((pixels - pixels[row, column]) ** 2).sum(-1))
        box = _region_box(_grown(distance <= COLOUR_TOLERANCE, column, row), photo.size)
    if box is None:
        side = min(width, height) * FIXED_SIDE
        box = (max(0, math.floor(x - side / 2)), max(0, math.floor(y - side / 2)),
               min(width, math.ceil(x + side / 2)), min(height, math.ceil(y + side / 2)))
    return box


#: A click where the mask is empty (an object the model left out): the model runs on squares of these shares of the
#: photo's short side around the click, each square's context faded as a drawn box's is, and the answer that is
#: surest of the clicked pixel is kept (ties: the larger square). On 135 COCO objects the model left out
#: (bench/box_prompt.py, RESULTS §18) the clicked object's IoU was 0.375 this way (0.415 and 0.341 on the two halves
#: of the photos; 0.357 without the fade), against 0.234 for one square of 0.25, 0.301 for one of 0.4, 0.337 for the
#: best pair, and 0.430 with the box people drew. Three model calls, in one batch.
CLICK_SIDES = (0.25, 0.4, 0.6)
#: Whether each square's context is faded as a drawn box's is (:data:`CONTEXT_FADE`): 0.375 against 0.357.
CLICK_FADE = True


def click_squares(size: tuple[int, int], x: float, y: float, sides: Sequence[float] = CLICK_SIDES) -> list[Box]:
    """Squares of ``sides`` × the short side of a photo of ``size`` centred on the click, clipped to the photo."""
    width, height = size
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"the click {x:g},{y:g} is not on the {width}×{height} photo")
    squares = []
    for share in sides:
        half = min(width, height) * share / 2
        squares.append(clip_box((x - half, y - half, x + half, y + half), size))
    return squares


def pick_at_click(answers: Sequence[tuple[Box, np.ndarray]], x: float, y: float) -> tuple[Box, np.ndarray]:
    """Of the (box, alpha) answers for squares around a click (smallest first), the one surest of the clicked pixel;
    ties go to the larger square (more of the object in view)."""
    def at_click(answer: tuple[Box, np.ndarray]) -> int:
        (left, top, _right, _bottom), alpha = answer
        return int(alpha[int(y) - top, int(x) - left])

    return max(reversed(answers), key=at_click)


def mask_at_click(segmenter: Engine, photo: Image.Image, x: float, y: float,
                  sides: Sequence[float] = CLICK_SIDES) -> tuple[Box, np.ndarray]:
    """A click on an object the mask left out: the model on each square of :func:`click_squares` (one batch), the
    answer :func:`pick_at_click` chooses; returns its box and alpha (uint8, the box's height × width) as
    :func:`mask_in_box` does."""
    boxes = click_squares(photo.size, x, y, sides)
    crops = [context_crop(box, photo.size) for box in boxes]
    probabilities = crop_probabilities(segmenter, [model_input(photo, crop, box if CLICK_FADE else None)
                                                   for box, crop in zip(boxes, crops, strict=True)])
    answers = [(box, alpha_from_probability(probability, crop, box, photo.size))
               for box, crop, probability in zip(boxes, crops, probabilities, strict=True)]
    return pick_at_click(answers, x, y)


def parse_box(text: str) -> tuple[float, float, float, float]:
    """``x0,y0,x1,y1`` as typed (``clearbg-cli --box``): four numbers, in pixels, or all four within 0..1 for
    fractions of the photo's width and height (:func:`resolve_box`). ValueError with one line for the user."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"a box is x0,y0,x1,y1 (four numbers), not {text[:60]!r}")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        raise ValueError(f"a box is x0,y0,x1,y1 (four numbers), not {text[:60]!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"a box's corners must be finite numbers, not {text[:60]!r}")
    if any(v < 0 for v in values):
        raise ValueError(f"a box's corners cannot be negative: {text[:60]!r}")
    x0, y0, x1, y1 = values
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"a box's second corner must be right of and below the first (x0 < x1, y0 < y1): {text[:60]!r}")
    if max(values) > 1 and max(x1 - x0, y1 - y0) < MIN_BOX_SIDE:
        raise ValueError(f"the box {text[:60]!r} is smaller than {MIN_BOX_SIDE}×{MIN_BOX_SIDE} pixels")
    return x0, y0, x1, y1


def resolve_box(box: Sequence[float], size: tuple[int, int]) -> tuple[float, float, float, float]:
    """A :func:`parse_box` box in the pixels of a photo of ``size``: all four corners within 0..1 are fractions of
    the width and height (``0.25,0.1,0.75,0.9``), anything else is pixels."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if max(x0, y0, x1, y1) <= 1:
        width, height = size
        return x0 * width, y0 * height, x1 * width, y1 * height
    return x0, y0, x1, y1
