"""How the model should look at an object box's crop: which side, mirrored or not, which model (#39, second round).

    .venv/bin/python bench/box_views.py [--data-root ../shared/data] [--set coco|people-val|whole-photos] [--limit N]

The object box shows the model the box plus 10 % of context, faded half-way to grey
(``core.inference.box_prompt.model_input``). U²-Net was trained at 320 px on whole photos; this asks whether it sees a
box's crop better at another side, mirrored and averaged (test-time augmentation), or beside the small model, and
what each costs. Every view is one of the app's engines (PyTorch fp32, 2 threads) at that side; views are combined
by the mean of their maps (each stretched as the app stretches it). Scored inside the box as ``bench/box_prompt.py``
scores it: on COCO objects (the 294 of ``box_prompt.objects``, halves by photo id) and on people-val's subject box
(validation only). The maps are cached under .cache/box_views/; the app's own choice is measured again, through the
app's code and ONNX Runtime, by ``bench/box_prompt.py``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.box_prompt import objects, pixel_box, scores, subject_box  # noqa: E402
from bench.common import table  # noqa: E402
from clearbg_desktop.core.inference.box_prompt import alpha_from_probability, context_crop, model_input  # noqa: E402

CACHE = REPO / ".cache" / "box_views"
#: (model, side) of each single view; "+m" in a combination's name: its mirrored copy too.
VIEWS = {"F320": ("full", 320), "F256": ("full", 256), "F224": ("full", 224), "F192": ("full", 192),
         "F160": ("full", 160), "S320": ("small", 320), "S256": ("small", 256), "S224": ("small", 224),
         "S192": ("small", 192), "S160": ("small", 160)}
#: Combinations measured (view name, with "f" for the mirrored map: weight).
COMBINATIONS: dict[str, dict[str, float]] = {
    "F320 (the box as a photo: before)": {"F320": 1},
    "F320 + mirror": {"F320": 1, "F320f": 1},
    "F256": {"F256": 1}, "F224": {"F224": 1}, "F192": {"F192": 1}, "F160": {"F160": 1},
    "F256 + mirror": {"F256": 1, "F256f": 1},
    "F224 + mirror (shipped)": {"F224": 1, "F224f": 1},
    "F192 + mirror": {"F192": 1, "F192f": 1},
    "F256 + F192 mirrored": {"F256": 1, "F192f": 1},
    "F256 + F224 mirrored + F192": {"F256": 1, "F224f": 1, "F192": 1},
    "F224 + mirror + S192 mirrored": {"F224": 1, "F224f": 1, "S192f": 1},
    "S320 (small model, as a photo)": {"S320": 1},
    "S224": {"S224": 1}, "S192": {"S192": 1},
    "S224 + mirror (shipped for the small model)": {"S224": 1, "S224f": 1},
    "S192 + mirror": {"S192": 1, "S192f": 1},
}


class Views:
    """The maps of each view of each crop, computed once (float16 on disk)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._engines: dict[str, object] = {}
        self.seconds: dict[str, list[float]] = {}

    def engine(self, model: str, side: int):  # type: ignore[no-untyped-def]
        from clearbg_desktop.core.inference.segmenter import Segmenter
        from clearbg_desktop.core.inference.weights import find_weights, load_model

        key = f"{model}{side}"
        if key not in self._engines:
            engine = Segmenter(load_model(find_weights(model)), device="cpu", threads=2, input_size=side,
                               precision="fp32")
            engine.input_resize = "lanczos-gap3"  # one resize for every view, the full model's
            self._engines[key] = engine
        return self._engines[key]

    def of(self, key: str, seen: Image.Image, name: str) -> np.ndarray:
        """The view ``name`` (a :data:`VIEWS` key, "f" after it: mirrored) of the model input ``seen``, at 320²."""
        path = self.folder / f"{key}_{name}.npy"
        if not path.exists():
            mirrored = name.endswith("f")
            model, side = VIEWS[name.rstrip("f")]
            image = seen.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else seen
            started = time.perf_counter()
            probability = self.engine(model, side).predict_probabilities([image])[0]
            self.seconds.setdefault(name, []).append(time.perf_counter() - started)
            np.save(path, (probability[:, ::-1] if mirrored else probability).astype(np.float16))
        probability = np.load(path).astype(np.float32)
        if probability.shape[0] != 320:
            probability = np.asarray(Image.fromarray(probability).resize((320, 320), Image.Resampling.BILINEAR))
        return probability


def coco_boxes(data_root: Path) -> Iterator[tuple[str, str, Image.Image, tuple[int, int, int, int], np.ndarray]]:
    """(cache key, photo id, photo, box, truth inside the box) for each COCO object of ``box_prompt.objects``."""
    labels: dict[str, np.ndarray] = {}
    for photo_id, obj, path in objects(data_root):
        photo = Image.open(path).convert("RGB")
        box = pixel_box(obj)
        if photo_id not in labels:
            labels[photo_id] = np.asarray(Image.open(data_root / "photos-coco-mini" / "instances" / f"{photo_id}.png"))
        truth = labels[photo_id][box[1]:box[3], box[0]:box[2]] == obj["id"]
        yield f"{photo_id}_{obj['id']}", photo_id, photo, box, truth


def people_boxes(data_root: Path) -> Iterator[tuple[str, str, Image.Image, tuple[int, int, int, int], np.ndarray]]:
    """VALIDATION ONLY: people-val's photos, the box around each reference mask."""
    folder = data_root / "people-val"
    for path in sorted((folder / "images").glob("*.jpg")):
        reference = np.asarray(Image.open(folder / "masks" / f"{path.stem}.png").convert("L")) >= 128
        box = subject_box(reference)
        if box is None:
            continue
        yield path.stem, path.stem, Image.open(path).convert("RGB"), box, reference[box[1]:box[3], box[0]:box[2]]


def whole_photos(data_root: Path, limit: int | None) -> None:
    """The same views of whole photos, on the validation harness's two sets and metrics (``python -m training
    validate``'s): does the smaller view help a photo too, or only a crop its object fills?"""
    from clearbg_desktop.core.inference.segmenter import Segmenter, upsample_alpha
    from training.metrics import evaluate_masks
    from training.validation_sets import SET_NAMES, load_set

    engine = Segmenter.from_weights("full", device="cpu", threads=2, precision="fp32")
    rows = []
    for name in SET_NAMES:
        named = load_set(data_root, name, limit or 0)
        for side, mirrored in ((320, False), (320, True), (224, False), (224, True)):
            masks = [np.asarray(upsample_alpha(engine.predict_probabilities([photo], side=side,
                                                                            flip_average=mirrored)[0], photo.size))
                     for photo in named.photos]
            result = evaluate_masks(masks, named.truths, weighted=False)
            rows.append([name, f"{side} px" + (" + mirror" if mirrored else ""), f"{result['max_fbeta']:.4f}",
                         f"{result['mae']:.4f}", f"{result['s_measure']:.4f}", len(named)])
    table(["set", "whole photo at", "max Fβ", "MAE", "S-measure", "photos"], rows,
          title="Whole photos, the full U²-Net (PyTorch fp32)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--set", choices=["coco", "people-val", "whole-photos"], default="coco",
                        help="whole-photos: the views on whole photos of the validation harness's sets")
    parser.add_argument("--limit", type=int, help="only the first N boxes")
    args = parser.parse_args(argv)
    if args.set == "whole-photos":
        whole_photos(args.data_root, args.limit)
        return 0
    views = Views(CACHE / args.set)
    boxes = coco_boxes(args.data_root) if args.set == "coco" else people_boxes(args.data_root)
    rows: list[tuple[str, dict[str, tuple[float, float, float]]]] = []
    for n, (key, photo_id, photo, box, truth) in enumerate(boxes):
        if args.limit is not None and n >= args.limit:
            break
        crop = context_crop(box, photo.size, 0.1)
        seen = model_input(photo, crop, box)
        names = {name for weights in COMBINATIONS.values() for name in weights}
        maps = {name: views.of(key, seen, name) for name in sorted(names)}
        rows.append((photo_id, {combination: scores(alpha_from_probability(
            sum(maps[name] * weight for name, weight in weights.items()) / sum(weights.values()), crop, box,
            photo.size), truth) for combination, weights in COMBINATIONS.items()}))
    photos = sorted({photo for photo, _ in rows})
    first = set(photos[:len(photos) // 2])
    table_rows = []
    for combination in COMBINATIONS:
        values = np.array([row[combination] for _, row in rows])
        halves = [np.nanmean([row[combination][1] for photo, row in rows if (photo in first) == side])
                  for side in (True, False)]
        table_rows.append([combination, f"{np.nanmean(values[:, 0]):.3f}", f"{np.nanmean(values[:, 1]):.3f}",
                           f"{np.nanmean(values[:, 2]):.3f}", f"{halves[0]:.3f}", f"{halves[1]:.3f}"])
    table(["view of the box's crop", "IoU", "max Fβ", "MAE", "max Fβ, 1st half", "2nd half"], table_rows,
          title=f"{args.set}: {len(rows)} boxes, inside each box")
    if views.seconds:
        table(["view", "median ms (PyTorch, 2 threads)", "runs"],
              [[name, f"{statistics.median(times) * 1000:.0f}", len(times)] for name, times in views.seconds.items()],
              title="Model time per view, on the maps computed in this run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
