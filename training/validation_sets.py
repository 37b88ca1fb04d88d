"""The validation sets every default is chosen on (issue #45): people-val and a salient-object set from COCO.

Why two: a pipeline chosen on people-val alone (90 photos of people) lost to rembg's on 243 kept-aside photos.
A second, independent set with other subjects (animals, vehicles, food, objects) and human labels catches a
choice that only suits people. Both are read from a data root (``../shared/data``), never copied into the project.

The objects set is built, not labelled: from COCO's instance masks (polygons drawn by people,
``photos-coco-mini/instances``) a photo's salient object is the union of its *dominant* instances — the largest,
and any other at least a third of its area — kept only when the photo has one clear subject group
(:func:`dominant_instances`). COCO polygons are coarse (edges a few pixels off, hair not traced): the set judges
where the subject is, not fine edges.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.loading import load_image
from training.data import find_pairs, load_mask

PEOPLE = "people-val"
OBJECTS = "coco-objects"
SET_NAMES = (PEOPLE, OBJECTS)

DOMINANT_SHARE = 1 / 3  # an instance at least this share of the largest one's area is part of the subject
CLEAR_GAP = 2.0  # every other instance at most 1/CLEAR_GAP of the smallest dominant one: "clearly smaller"
MIN_COVER, MAX_COVER = 0.02, 0.75  # the subject covers this share of the frame: visible, and not the whole photo


@dataclass
class NamedSet:
    """Photos and reference masks decoded once, with stable ids (the cache key and the bootstrap's unit)."""

    name: str
    ids: list[str]
    photos: list[Image.Image]
    truths: list[np.ndarray]
    sources: list[Path]

    def __len__(self) -> int:
        return len(self.ids)


def dominant_instances(labels: np.ndarray) -> np.ndarray | None:
    """The salient-object mask (bool) of a COCO label image (0 = none, k = instance k), or None when the photo
    has no clear subject: no instance, a subject covering under 2 % or over 75 % of the frame, or another
    instance too close in size to the dominant ones to tell which is the subject."""
    areas = np.bincount(labels.ravel())[1:]
    present = np.flatnonzero(areas)
    if present.size == 0:
        return None
    largest = areas[present].max()
    dominant = present[areas[present] >= largest * DOMINANT_SHARE]
    others = np.setdiff1d(present, dominant)
    if others.size and areas[others].max() * CLEAR_GAP > areas[dominant].min():
        return None
    cover = areas[dominant].sum() / labels.size
    if not MIN_COVER <= cover <= MAX_COVER:
        return None
    return np.isin(labels, dominant + 1)


def objects_pairs(coco_root: Path) -> list[tuple[str, Path, np.ndarray]]:
    """(id, photo, 8-bit reference mask) for each photo of ``photos-coco-mini`` with a clear subject group."""
    instances, images = coco_root / "instances", coco_root / "images"
    if not instances.is_dir() or not images.is_dir():
        raise FileNotFoundError(f"{coco_root}: expected images/ and instances/ (COCO instance label PNGs)")
    pairs = []
    for label_path in sorted(instances.glob("*.png")):
        photo = images / f"{label_path.stem}.jpg"
        if not photo.is_file():
            continue
        with Image.open(label_path) as opened:
            labels = np.asarray(opened)
        subject = dominant_instances(labels)
        if subject is not None:
            pairs.append((label_path.stem, photo, subject.astype(np.uint8) * 255))
    return pairs


def _decoded(name: str, items: Sequence[tuple[str, Path, np.ndarray]]) -> NamedSet:
    ids, photos, truths, sources = [], [], [], []
    for item_id, photo_path, truth in items:
        rgb = load_image(photo_path).rgb
        if rgb.size != (truth.shape[1], truth.shape[0]):
            raise ValueError(f"{photo_path.name}: mask is {truth.shape[1]}×{truth.shape[0]}, photo {rgb.size}")
        ids.append(item_id)
        photos.append(rgb)
        truths.append(truth)
        sources.append(photo_path)
    return NamedSet(name, ids, photos, truths, sources)


def load_set(data_root: Path, name: str, limit: int = 0) -> NamedSet:
    """``people-val`` (``<root>/people-val``: images/ + masks/) or ``coco-objects`` (built from
    ``<root>/photos-coco-mini``); ``limit`` keeps the first N (quick runs, tests)."""
    if name == PEOPLE:
        items = [(pair.image.stem, pair.image, np.asarray(load_mask(pair.mask)))
                 for pair in find_pairs(data_root / PEOPLE)]
    elif name == OBJECTS:
        items = objects_pairs(data_root / "photos-coco-mini")
    else:
        raise ValueError(f"unknown validation set {name!r}; one of {', '.join(SET_NAMES)}")
    return _decoded(name, items[:limit] if limit else items)
