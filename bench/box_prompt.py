"""Object box, click to keep and the automatic box, measured on COCO instance masks drawn by people (#39).

    .venv/bin/python bench/box_prompt.py [--data-root ../shared/data] [--model full] [--limit N]
    .venv/bin/python bench/box_prompt.py --people-val     # the check on people-val (validation only)

For each object of reasonable size (≥ 1 % of the photo, box sides ≥ 32 px, at least half of it
visible in the label image; the 4 largest per photo) it compares, inside the object's box
(the COCO box, drawn by people): the whole-photo mask restricted to the box (the baseline), the naive crop (box +
10 %, pasted back) and the box prompt at each margin and clean-up, by IoU (mask at 50 %) and max Fβ (β² = 0.3) against
the object's instance mask; per category and size. The model's maps are cached under .cache/box_prompt/ (one model
call per photo and per crop), so re-running only re-scores. Times: median of repeats, one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.common import table  # noqa: E402
from clearbg_desktop.core.editing.selection import box_edit, has_part_at, keep_component  # noqa: E402
from clearbg_desktop.core.inference.box_prompt import (  # noqa: E402
    AUTO_BOX_METHODS,
    CLEANUPS,
    CLICK_FADE,
    CLICK_SIDES,
    DEFAULT_CLEANUP,
    DEFAULT_MARGIN,
    alpha_from_probability,
    auto_box,
    click_squares,
    clip_box,
    context_crop,
    mask_at_click,
    mask_in_box,
    measured_view,
    model_input,
    pick_at_click,
)
from clearbg_desktop.core.inference.model_io import MODEL_INPUT_SIZE  # noqa: E402

CHOSEN = f"{DEFAULT_MARGIN}/{DEFAULT_CLEANUP}, context faded"  # the crop the app's box shows the model
BEFORE = f"{CHOSEN}, model's own side"  # shipped until the box view (#39's second round): the box as a photo
#: The box view's sides tried, as shares of the model's own (``core.inference.box_prompt.BOX_VIEWS``).
VIEW_SHARES = (0.8, 0.7, 0.6)
FINAL_METHODS = ("doubt", "colour", "doubt+colour", "fixed")  # run through the object box (one model call each)

MARGINS = (0.1, 0.2, 0.3)
#: Not shipped, measured to say why: the crop's answer averaged with the whole-photo mask the window already has
#: (``fused``), and the same turned back into a mask one can use (``fused, sharpened``: what both are sure of stays
#: 0 or 255; see report_objects).
WHOLE_WEIGHT = 0.25
NAIVE = (0.1, "none")  # the naive crop: box + 10 %, pasted back, nothing else
MIN_AREA, MIN_SIDE = 0.01, 32
PER_PHOTO = 4  # the largest objects of reasonable size on each photo (instance ids are largest first)
CACHE = REPO / ".cache" / "box_prompt"


def objects(data_root: Path) -> Iterator[tuple[str, dict, Path]]:
    """(photo id, object, photo path) for every object of reasonable size, photo by photo."""
    folder = data_root / "photos-coco-mini"
    index = json.loads((folder / "instances" / "instances.json").read_text())
    for photo_id in sorted(index):
        path = folder / "images" / f"{photo_id}.jpg"
        with Image.open(path) as image:
            width, height = image.size
        # Where instances overlap the larger keeps the pixel, so a bowl on a dining table can have none left: an
        # object counts by the pixels it has in the label image (at least half its polygon's area).
        visible = np.bincount(np.asarray(Image.open(folder / "instances" / f"{photo_id}.png")).ravel(), minlength=256)
        fit = [obj for obj in index[photo_id]
               if min(obj["area_px"], 2 * visible[obj["id"]]) >= MIN_AREA * width * height
               and min(obj["bbox_xyxy"][2] - obj["bbox_xyxy"][0], obj["bbox_xyxy"][3] - obj["bbox_xyxy"][1]) >= MIN_SIDE]
        for obj in fit[:PER_PHOTO]:
            yield photo_id, obj, path


def pixel_box(obj: dict) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = obj["bbox_xyxy"]
    return int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))


class Maps:
    """The model's probability maps, cached on disk (float16) by photo, crop and model."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.folder = CACHE / model
        self.folder.mkdir(parents=True, exist_ok=True)
        self._segmenter = None

    @property
    def segmenter(self):  # type: ignore[no-untyped-def]
        if self._segmenter is None:
            import torch

            torch.set_num_threads(1)
            from clearbg_desktop.core.inference.engines import load_segmenter

            self._segmenter = load_segmenter(self.model, device="cpu", threads=1, measure=False,
                                             engine="onnxruntime")
        return self._segmenter

    def shipped_view(self) -> tuple[int, bool]:
        """How the app looks at a box with this model (``core.inference.box_prompt.box_view``), without loading it
        when the architecture is known."""
        return measured_view(("u2net", self.model), MODEL_INPUT_SIZE)

    def of(self, photo_id: str, photo: Image.Image, crop: tuple[int, int, int, int] | None,
           faded: tuple[int, int, int, int] | None = None, view: tuple[int, bool] | None = None) -> np.ndarray:
        """``faded``: the box whose context the model saw faded (``core.inference.box_prompt.model_input``);
        ``view``: (side, mirrored too) as the app's box view (None: the model's own side, no mirror: as a photo)."""
        if crop == (0, 0, *photo.size) and faded is None and view is None:
            crop = None  # the same pixels as the whole photo's call
        key = "whole" if crop is None else "_".join(map(str, crop))
        if faded is not None:
            key += "_fade_" + "_".join(map(str, faded))
        if view is not None:
            key += f"_view{view[0]}{'m' if view[1] else ''}"
        path = self.folder / f"{photo_id}_{key}.npy"
        if path.exists():
            return np.load(path).astype(np.float32)
        if crop is None:
            probability = self.segmenter.predict_probabilities([photo])[0]
        else:
            side, flip = view or (None, False)
            probability = self.segmenter.predict_probabilities([model_input(photo, crop, faded)], side=side,
                                                               flip_average=flip)[0]
        np.save(path, probability.astype(np.float16))
        return probability


def max_f_beta(prediction: np.ndarray, truth: np.ndarray, beta2: float = 0.3) -> float:
    """Max over 256 thresholds of Fβ (uint8 prediction, bool truth)."""
    positives = truth.sum()
    if positives == 0:
        return float("nan")
    hist_fg = np.bincount(prediction[truth].ravel(), minlength=256)[::-1].cumsum()
    hist_all = np.bincount(prediction.ravel(), minlength=256)[::-1].cumsum()
    precision = hist_fg / np.maximum(hist_all, 1)
    recall = hist_fg / positives
    f = (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-12)
    return float(f.max())


def iou(prediction: np.ndarray, truth: np.ndarray) -> float:
    solid = prediction >= 128
    union = (solid | truth).sum()
    return float((solid & truth).sum() / union) if union else float("nan")


def mae(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error of the alpha (0..1) against the instance: unlike max Fβ, whose threshold is chosen per
    object afterwards, it counts a half-transparent answer as half wrong."""
    return float(np.abs(prediction.astype(np.float32) / 255.0 - truth).mean())


def scores(prediction: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    return iou(prediction, truth), max_f_beta(prediction, truth), mae(prediction, truth)


def fused(crop_alpha: np.ndarray, whole_alpha: np.ndarray, sharpen: bool) -> np.ndarray:
    mixed = (1 - WHOLE_WEIGHT) * crop_alpha.astype(np.float32) + WHOLE_WEIGHT * whole_alpha
    if sharpen:  # the crop sure and the photo's mask not (or the other way) -> 0 or 255 again
        low, high = 255 * WHOLE_WEIGHT, 255 * (1 - WHOLE_WEIGHT)
        mixed = (mixed - low) * 255 / (high - low)
    return (mixed.clip(0, 255) + 0.5).astype(np.uint8)


def size_class(fraction: float) -> str:
    return "S (1-5 %)" if fraction < 0.05 else "M (5-20 %)" if fraction < 0.2 else "L (≥ 20 %)"


def variants() -> list[tuple[float, str]]:
    return [NAIVE] + [(m, c) for m in MARGINS for c in CLEANUPS if (m, c) != NAIVE and (c == "none" or m != 0.2)]


FUSED = {False: f"0.1/none + {WHOLE_WEIGHT:g} whole photo", True: f"0.1/none + {WHOLE_WEIGHT:g} whole photo, sharpened"}


def score_objects(data_root: Path, maps: Maps, limit: int | None, predict_only: bool = False) -> list[dict]:
    """One row per object: the baseline's and every variant's IoU and max Fβ inside the object's box."""
    rows: list[dict] = []
    labels_cache: dict[str, np.ndarray] = {}
    for n, (photo_id, obj, path) in enumerate(objects(data_root)):
        if limit is not None and n >= limit:
            break
        photo = Image.open(path).convert("RGB")
        size = photo.size
        box = pixel_box(obj)
        left, top, right, bottom = box
        whole = maps.of(photo_id, photo, None)
        crops = {m: context_crop(box, size, m) for m in MARGINS}
        probabilities = {m: maps.of(photo_id, photo, crop) for m, crop in crops.items()}
        faded = maps.of(photo_id, photo, crops[DEFAULT_MARGIN], box)
        shipped = maps.shipped_view()
        views = {view: maps.of(photo_id, photo, crops[DEFAULT_MARGIN], box, view) for view in view_rows(maps)}
        naive_view = maps.of(photo_id, photo, crops[NAIVE[0]], None, shipped)
        if predict_only:
            print(f"{n} {photo_id} {obj['id']}", flush=True)
            continue
        if photo_id not in labels_cache:
            labels_cache[photo_id] = np.asarray(Image.open(data_root / "photos-coco-mini" / "instances"
                                                           / f"{photo_id}.png"))
        truth = labels_cache[photo_id][top:bottom, left:right] == obj["id"]
        whole_alpha = np.asarray(Image.fromarray((whole * 255 + 0.5).astype(np.uint8)).resize(size, Image.BILINEAR))
        row = {"photo": photo_id, "id": obj["id"], "category": obj["category"],
               "size": size_class(obj["area_px"] / (size[0] * size[1])),
               "whole": scores(whole_alpha[top:bottom, left:right], truth)}
        for margin, cleanup in variants():
            alpha = alpha_from_probability(probabilities[margin], crops[margin], box, size, cleanup)
            row[f"{margin}/{cleanup}"] = scores(alpha, truth)
        row[BEFORE] = scores(alpha_from_probability(faded, crops[DEFAULT_MARGIN], box, size, DEFAULT_CLEANUP), truth)
        for view, probability in views.items():
            row[view_name(maps, view)] = scores(alpha_from_probability(probability, crops[DEFAULT_MARGIN], box, size,
                                                                       DEFAULT_CLEANUP), truth)
        row[NAIVE_VIEW] = scores(alpha_from_probability(naive_view, crops[NAIVE[0]], box, size, NAIVE[1]), truth)
        naive = alpha_from_probability(probabilities[NAIVE[0]], crops[NAIVE[0]], box, size, NAIVE[1])
        for sharpen in (False, True):
            row[FUSED[sharpen]] = scores(fused(naive, whole_alpha[top:bottom, left:right], sharpen), truth)
        rows.append(row)
    return rows


NAIVE_VIEW = "0.1/none (naive crop), box view"


def view_rows(maps: Maps) -> list[tuple[int, bool]]:
    """The box views measured: each share of :data:`VIEW_SHARES` alone, then the shipped one (mirrored)."""
    singles = [(round(MODEL_INPUT_SIZE * share), False) for share in VIEW_SHARES]
    return singles + [maps.shipped_view()] * (maps.shipped_view() not in singles)


def view_name(maps: Maps, view: tuple[int, bool]) -> str:
    side, mirrored = view
    name = f"{CHOSEN}, {side} px" + (" + mirror" if mirrored else "")
    return name + (" — shipped" if view == maps.shipped_view() else "")


def shipped_name(maps: Maps) -> str:
    return view_name(maps, maps.shipped_view())


def mean(values: list[float]) -> float:
    kept = [v for v in values if v == v]
    return sum(kept) / len(kept) if kept else float("nan")


def halves(rows: list[dict]) -> tuple[set[str], set[str]]:
    """The photos in two halves by id: a choice that only wins on one half was tuned to it."""
    photos = sorted({r["photo"] for r in rows})
    return set(photos[:len(photos) // 2]), set(photos[len(photos) // 2:])


def report_objects(rows: list[dict], maps: Maps) -> None:
    names = (["whole"] + [f"{m}/{c}" for m, c in variants()] + list(FUSED.values()) + [BEFORE, NAIVE_VIEW]
             + [view_name(maps, view) for view in view_rows(maps)])
    first, second = halves(rows)
    table(["method", "IoU", "max Fβ", "MAE", "max Fβ, photos 1st half", "2nd half", "objects"],
          [[{"0.1/none": "0.1/none (naive crop)", BEFORE: f"{BEFORE} (shipped until now)"}.get(name, name),
            f"{mean([r[name][0] for r in rows]):.3f}", f"{mean([r[name][1] for r in rows]):.3f}",
            f"{mean([r[name][2] for r in rows]):.3f}",
            f"{mean([r[name][1] for r in rows if r['photo'] in first]):.3f}",
            f"{mean([r[name][1] for r in rows if r['photo'] in second]):.3f}", len(rows)]
           for name in names], title="Inside each object's box, mean over objects")


def report_differences(rows: list[dict], pairs: list[tuple[str, str]], resamples: int = 2000) -> None:
    """Paired differences (candidate − reference) of the mean IoU, max Fβ and MAE over objects, with a 95 % interval
    from a bootstrap over photos (objects of one photo move together): a gain has to be more than one photo's luck."""
    photos = sorted({row["photo"] for row in rows})
    index = {photo: [i for i, row in enumerate(rows) if row["photo"] == photo] for photo in photos}
    rng = np.random.default_rng(0)
    table_rows = []
    for candidate, reference in pairs:
        delta = np.array([[a - b for a, b in zip(row[candidate], row[reference], strict=True)] for row in rows])
        draws = [np.nanmean(delta[np.concatenate([index[photos[i]] for i in rng.integers(0, len(photos), len(photos))])],
                            axis=0) for _ in range(resamples)]
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        means = np.nanmean(delta, axis=0)
        table_rows.append([f"{candidate} − {reference}"] + [f"{means[k]:+.3f} [{low[k]:+.3f}, {high[k]:+.3f}]"
                                                             for k in range(3)])
    table(["difference", "Δ IoU", "Δ max Fβ", "Δ MAE"], table_rows,
          title=f"Paired differences over objects, 95 % interval from {resamples:,} resamples of the photos")


def report_groups(rows: list[dict], chosen: str) -> None:
    for key in ("size", "category"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            groups[row[key]].append(row)
        table_rows = []
        for name, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            if key == "category" and len(members) < 5:
                continue
            table_rows.append([name, len(members)] + [f"{mean([r[m][1] for r in members]):.3f}"
                                                       for m in ("whole", "0.1/none", BEFORE, chosen)])
        table([key, "objects", "whole photo", "naive crop", BEFORE, f"box prompt {chosen}"], table_rows,
              title=f"max Fβ per {key} (categories with ≥ 5 objects)")


def upsampled(probability: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    small = Image.fromarray((probability * 255 + 0.5).clip(0, 255).astype(np.uint8))
    return np.asarray(small.resize(size, Image.Resampling.BILINEAR))


def click_point(truth: np.ndarray) -> tuple[int, int]:
    """Where a person clicks on an object: its pixel farthest from its outline."""
    from scipy.ndimage import distance_transform_edt  # the bench's, not the app's

    depth = distance_transform_edt(np.pad(truth, 1))[1:-1, 1:-1]
    row, column = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(column), int(row)


def box_alpha(maps: Maps, photo_id: str, photo: Image.Image, box: tuple[int, int, int, int],
              fade: bool = False, view: tuple[int, bool] | None = None) -> np.ndarray:
    """The box prompt (default margin and clean-up; ``fade``: as shipped for a drawn box, else the plain crop;
    ``view``: :meth:`Maps.of`'s), through the cache."""
    crop = context_crop(box, photo.size, DEFAULT_MARGIN)
    return alpha_from_probability(maps.of(photo_id, photo, crop, box if fade else None, view), crop, box, photo.size,
                                  DEFAULT_CLEANUP)


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    inter = max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area if area else 0.0


def whole_iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    solid = alpha >= 128
    return float((solid & truth).sum() / max((solid | truth).sum(), 1))


def click_answers(maps: Maps, photo_id: str, photo: Image.Image, x: int, y: int,
                  sides: tuple[float, ...] = CLICK_SIDES,
                  fade: bool = CLICK_FADE,
                  view: tuple[int, bool] | None = None) -> list[tuple[tuple[int, int, int, int], np.ndarray]]:
    """The box prompt on each square around a click (``core.inference.box_prompt.click_squares``), through the cache."""
    return [(box, box_alpha(maps, photo_id, photo, box, fade, view)) for box in click_squares(photo.size, x, y, sides)]


def auto_box_section(data_root: Path, maps: Maps, limit: int | None, final: bool) -> None:
    """Clicks where the model's mask is empty, on each object's deepest pixel: the automatic box against the
    object's box drawn by people, and (``final``) the object box run on it; then squares of several sizes around the
    click, one or the answer surest of the clicked pixel (what the window does)."""
    scores: dict[str, list[float]] = defaultdict(list)
    finals: list[tuple[float, ...]] = []
    photos: list[str] = []
    labels_cache: dict[str, np.ndarray] = {}
    for n, (photo_id, obj, path) in enumerate(objects(data_root)):
        if limit is not None and n >= limit:
            break
        photo = Image.open(path).convert("RGB")
        if photo_id not in labels_cache:
            labels_cache[photo_id] = np.asarray(Image.open(data_root / "photos-coco-mini" / "instances"
                                                           / f"{photo_id}.png"))
        truth = labels_cache[photo_id] == obj["id"]
        if not truth.any():
            continue
        whole = upsampled(maps.of(photo_id, photo, None), photo.size)
        x, y = click_point(truth)
        if has_part_at(whole, x, y):
            continue
        target = pixel_box(obj)
        for method in AUTO_BOX_METHODS:
            scores[method].append(box_iou(auto_box(photo, whole, x, y, method), target))
        if final:
            def placed(box: tuple[int, int, int, int], region: np.ndarray) -> float:
                added = np.zeros_like(whole)
                edit = box_edit(added, box, region, "replace")
                if edit is not None:
                    edit.apply(added)
                return whole_iou(added, truth)

            outcome = []
            for method in FINAL_METHODS:
                box = clip_box(auto_box(photo, whole, x, y, method), photo.size)
                outcome.append(placed(box, box_alpha(maps, photo_id, photo, box)))
            answers = click_answers(maps, photo_id, photo, x, y, SQUARE_SIDES, fade=False)
            by_side = dict(zip(SQUARE_SIDES, answers, strict=True))
            outcome += [placed(*by_side[side]) for side in (0.4, 0.6)]
            for sides in PICKS:
                picked = pick_at_click([by_side[side] for side in sides], x, y)
                outcome.append(placed(*picked))
                if sides == CLICK_SIDES:
                    scores["three squares, surest of the click"].append(box_iou(picked[0], target))
            faded = click_answers(maps, photo_id, photo, x, y, CLICK_SIDES, fade=True)
            outcome.append(placed(*pick_at_click(faded, x, y)))
            given = clip_box(target, photo.size)
            outcome.append(placed(given, box_alpha(maps, photo_id, photo, given)))
            outcome.append(placed(given, box_alpha(maps, photo_id, photo, given, fade=True)))
            shipped = maps.shipped_view()
            outcome.append(placed(*pick_at_click(click_answers(maps, photo_id, photo, x, y, CLICK_SIDES, True, shipped),
                                                 x, y)))
            outcome.append(placed(given, box_alpha(maps, photo_id, photo, given, True, shipped)))
            finals.append(tuple(outcome))
            photos.append(photo_id)
    rows = [[method, f"{mean(values):.3f}", f"{np.median(values):.3f}", len(values)]
            for method, values in scores.items()]
    table(["auto box", "box IoU vs people's box, mean", "median", "clicks"], rows,
          title="A click where the mask is empty (the object's deepest pixel, COCO objects the model left out)")
    if finals:
        names = ([f"automatic box ({method}) -> naive crop" for method in FINAL_METHODS]
                 + ["square 0.4 -> naive crop", "square 0.6 -> naive crop"]
                 + [f"squares {'/'.join(map(str, sides))}, surest of the click"
                    for sides in PICKS]
                 + ["squares 0.25/0.4/0.6, context faded, surest of the click (shipped until now)"]
                 + ["people's box -> naive crop", "people's box -> object box (context faded, own side)"]
                 + [f"squares 0.25/0.4/0.6, faded, {shipped_name(maps)}", f"people's box -> {shipped_name(maps)}"])
        calls = [1] * len(FINAL_METHODS) + [1, 1] + [len(sides) for sides in PICKS] + [len(CLICK_SIDES), 1, 1,
                                                                                      len(CLICK_SIDES), 1]
        order = sorted(set(photos))
        first = np.array([photo in set(order[:len(order) // 2]) for photo in photos])
        values = np.array(finals)
        table(["box", "object IoU (whole photo)", "photos 1st half", "2nd half", "model calls", "clicks"],
              [[name, f"{values[:, i].mean():.3f}", f"{values[first, i].mean():.3f}",
                f"{values[~first, i].mean():.3f}", calls[i], len(finals)]
               for i, name in enumerate(names)],
              title="What the click then gives")


SQUARE_SIDES = (0.15, 0.25, 0.4, 0.6)
PICKS = ((0.25, 0.4), (0.4, 0.6), CLICK_SIDES, SQUARE_SIDES)


def click_to_keep_section(data_root: Path, maps: Maps, last: str | None = None) -> None:
    """Photos with two or more people of reasonable size: a click on each person (its deepest pixel) keeps it;
    the kept person's IoU over the whole photo, against the whole-photo mask's. ``last``: the last photo (by id)
    the objects' section reached."""
    folder = data_root / "photos-coco-mini"
    index = json.loads((folder / "instances" / "instances.json").read_text())
    on_mask, off_mask, separated = [], [], []
    views: tuple[tuple[int, bool] | None, ...] = (None, maps.shipped_view())
    for photo_id in sorted(index):
        path = folder / "images" / f"{photo_id}.jpg"
        photo = Image.open(path).convert("RGB")
        width, height = photo.size
        people = [o for o in index[photo_id] if o["category"] == "person" and o["area_px"] >= MIN_AREA * width * height]
        if len(people) < 2 or (last is not None and photo_id > last):
            continue
        labels = np.asarray(Image.open(folder / "instances" / f"{photo_id}.png"))
        whole = upsampled(maps.of(photo_id, photo, None), photo.size)
        for person in people[:PER_PHOTO]:
            truth = labels == person["id"]
            if not truth.any():
                continue
            x, y = click_point(truth)
            after = []
            for view in views:
                alpha = whole.copy()
                if not has_part_at(alpha, x, y):  # the click runs the model around it first (the window's "add")
                    box, region = pick_at_click(click_answers(maps, photo_id, photo, x, y, view=view), x, y)
                    edit = box_edit(alpha, box, region, "add")
                    if edit is not None:
                        edit.apply(alpha)
                kept = keep_component(alpha, x, y)
                if kept is not None:
                    kept.apply(alpha)
                after.append(whole_iou(alpha, truth))
            (on_mask if has_part_at(whole, x, y) else off_mask).append((whole_iou(whole, truth), *after))
            if has_part_at(whole, x, y):  # Shift-click: the model tells the clicked one from what touches it
                apart_iou = []
                for view in views:
                    box, region = pick_at_click(click_answers(maps, photo_id, photo, x, y, view=view), x, y)
                    apart = whole.copy()
                    edit = box_edit(apart, box, region, "separate")
                    if edit is not None:
                        edit.apply(apart)
                    apart_iou.append(whole_iou(apart, truth))
                separated.append((whole_iou(whole, truth), *apart_iou))
    rows = []
    for name, pairs in (("click on the mask: keep that part", on_mask),
                        ("Shift-click on the mask: the model tells the clicked one apart", separated),
                        ("click off the mask: squares around it, then keep", off_mask),
                        ("all clicks", on_mask + off_mask)):
        if pairs:
            rows.append([name, len(pairs)] + [f"{mean([p[i] for p in pairs]):.3f}" for i in range(3)])
    table(["click", "people", "whole-photo mask IoU", "after the click, model's own side",
           f"after, {shipped_name(maps)}"], rows,
                title="Click to keep one person on COCO photos with ≥ 2 people (IoU with that person, whole photo)")


def subject_box(reference: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box around a reference mask's subject (bool), as a person would draw it round the whole subject."""
    rows, columns = np.flatnonzero(reference.any(1)), np.flatnonzero(reference.any(0))
    if rows.size == 0:
        return None
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def people_val_section(data_root: Path, maps: Maps, limit: int | None) -> None:
    """VALIDATION ONLY: people-val's subject box (from its reference mask): box prompt vs whole photo vs naive."""
    folder = data_root / "people-val"
    rows = []
    for n, path in enumerate(sorted((folder / "images").glob("*.jpg"))):
        if limit is not None and n >= limit:
            break
        photo = Image.open(path).convert("RGB")
        reference = np.asarray(Image.open(folder / "masks" / f"{path.stem}.png").convert("L")) >= 128
        box = subject_box(reference)
        if box is None or box[2] - box[0] < 8 or box[3] - box[1] < 8:
            continue
        key = f"pv{path.stem}"
        left, top, right, bottom = box
        truth = reference[top:bottom, left:right]
        whole = upsampled(maps.of(key, photo, None), photo.size)[top:bottom, left:right]
        row = {"whole": scores(whole, truth)}
        for margin, cleanup in dict.fromkeys((NAIVE, (DEFAULT_MARGIN, "centre"))):
            crop = context_crop(box, photo.size, margin)
            alpha = alpha_from_probability(maps.of(key, photo, crop), crop, box, photo.size, cleanup)
            row[f"{margin}/{cleanup}"] = scores(alpha, truth)
        crop = context_crop(box, photo.size, DEFAULT_MARGIN)
        alpha = alpha_from_probability(maps.of(key, photo, crop, box), crop, box, photo.size, DEFAULT_CLEANUP)
        row[BEFORE] = scores(alpha, truth)
        for view in view_rows(maps):
            alpha = alpha_from_probability(maps.of(key, photo, crop, box, view), crop, box, photo.size, DEFAULT_CLEANUP)
            row[view_name(maps, view)] = scores(alpha, truth)
        rows.append(row)
    names = list(rows[0]) if rows else []
    table(["method", "IoU", "max Fβ", "MAE", "photos"],
                [[name, f"{mean([r[name][0] for r in rows]):.3f}", f"{mean([r[name][1] for r in rows]):.3f}",
                  f"{mean([r[name][2] for r in rows]):.4f}", len(rows)] for name in names],
                title="people-val (validation only): inside the box around each reference mask")


def lasso_section(data_root: Path) -> None:
    """The snapped lasso on walk 39's straight-edged concrete block (COCO 434204): lines drawn 4 px outside, on and
    4 px inside its left edge; per row the column where the mask reaches 50 %: the row-to-row jumps (a ragged edge)
    and where the edge lands (the same edge from each line, or one that follows the line)."""
    from clearbg_desktop.core.editing.selection import lasso_edit

    photo = np.asarray(Image.open(data_root / "photos-coco-mini" / "images" / "000000434204.jpg").convert("RGB"))
    rows = np.arange(165, 320)
    table_rows = []
    for off in (-4, 0, 4):
        polygon = [(246 - off, 150 - off), (340, 150 - off), (340, 331), (253 - off, 331)]
        for snap in (True, False):
            alpha = np.zeros(photo.shape[:2], np.uint8)
            started = time.perf_counter()
            edit = lasso_edit(alpha, photo, polygon, snap=snap)
            seconds = time.perf_counter() - started
            assert edit is not None
            edit.apply(alpha)
            edge = np.array([np.argmax(alpha[row, 225:300] >= 128) + 225 for row in rows], float)
            line = np.polyfit(rows, edge, 1)
            table_rows.append([f"{abs(off)} px {'inside' if off < 0 else 'outside'}" if off else "on it",
                               "snapped" if snap else "drawn (Ctrl)",
                               f"{np.abs(np.diff(edge)).mean():.2f}", f"{np.polyval(line, rows[0]):.1f}",
                               f"{np.polyval(line, rows[-1]):.1f}", f"{seconds * 1000:.0f}"])
    table(["line drawn", "edge", "row-to-row jump, px", "edge x at row 165", "at row 319", "ms"], table_rows,
          title="Lasso round the concrete block of COCO 434204 (its left edge, rows 165-319)")


def timing_section(data_root: Path, maps: Maps, repeats: int) -> None:
    """One whole-photo mask vs one object box (model call, upsampling, clean-up), median of repeats, one thread."""
    segmenter = maps.segmenter
    samples = []
    for photo_id, obj, path in objects(data_root):
        if len(samples) >= 5:
            break
        if not samples or samples[-1][0] != photo_id:
            samples.append((photo_id, obj, path))
    whole_times, before_times, box_times, click_times = [], [], [], []
    for _photo_id, obj, path in samples:
        photo = Image.open(path).convert("RGB")
        segmenter.predict_alpha(photo)  # warm-up
        x0, y0, x1, y1 = obj["bbox_xyxy"]
        box = clip_box(obj["bbox_xyxy"], photo.size)
        crop = context_crop(box, photo.size, DEFAULT_MARGIN)
        for _ in range(repeats):
            started = time.perf_counter()
            segmenter.predict_alpha(photo)
            whole_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            alpha_from_probability(segmenter.predict_probabilities([model_input(photo, crop, box)])[0], crop, box,
                                   photo.size, DEFAULT_CLEANUP)
            before_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            mask_in_box(segmenter, photo, obj["bbox_xyxy"])
            box_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            mask_at_click(segmenter, photo, (x0 + x1) / 2, (y0 + y1) / 2)
            click_times.append(time.perf_counter() - started)
    whole, before, box_time, click = (statistics.median(t) for t in (whole_times, before_times, box_times,
                                                                     click_times))
    table(["", "median s", "× whole photo"],
                [["one whole-photo mask", f"{whole:.3f}", "1.00"],
                 [f"one object box, {BEFORE} (before)", f"{before:.3f}", f"{before / whole:.2f}"],
                 [f"one object box, {shipped_name(maps)}", f"{box_time:.3f}", f"{box_time / whole:.2f}"],
                 ["a click on empty mask (three squares, one batch)", f"{click:.3f}", f"{click / whole:.2f}"]],
                title=f"Time, {segmenter.description}, 1 thread, {len(samples)} COCO photos × {repeats} repeats")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", default="full")
    parser.add_argument("--limit", type=int, help="only the first N objects")
    parser.add_argument("--predict-only", action="store_true", help="fill the cache of model maps, score nothing")
    parser.add_argument("--people-val", action="store_true", help="only the check on people-val (validation only)")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats per photo")
    parser.add_argument("--skip", nargs="*", default=[], choices=["objects", "auto-box", "click", "lasso", "time"])
    args = parser.parse_args(argv)
    maps = Maps(args.model)
    print(f"model: {args.model}")
    if args.people_val:
        people_val_section(args.data_root, maps, args.limit)
        return 0
    rows = score_objects(args.data_root, maps, args.limit, args.predict_only)
    if args.predict_only:
        return 0
    if "objects" not in args.skip:
        report_objects(rows, maps)
        report_differences(rows, [(shipped_name(maps), BEFORE), (shipped_name(maps), "0.1/none"),
                                  (shipped_name(maps), NAIVE_VIEW)])
        report_groups(rows, shipped_name(maps))
    if "auto-box" not in args.skip:
        auto_box_section(args.data_root, maps, args.limit, final=True)
    if "click" not in args.skip:
        click_to_keep_section(args.data_root, maps, rows[-1]["photo"] if args.limit is not None and rows else None)
    if "lasso" not in args.skip:
        lasso_section(args.data_root)
    if "time" not in args.skip:
        timing_section(args.data_root, maps, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
