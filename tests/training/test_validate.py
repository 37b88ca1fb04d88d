"""The validation harness of #45: the objects set's rule, the paired bootstrap, the decision rule, the cache and
the one command, on tiny real data made here (the real sets live outside the project)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.training.conftest import write_pairs
from training.cli import main as training_main
from training.validate import (
    Comparison,
    Pipeline,
    Runner,
    Scores,
    decide,
    paired_bootstrap,
    rembg_alpha,
    verdict,
)
from training.validation_sets import OBJECTS, PEOPLE, dominant_instances, load_set

ROOT = Path(__file__).resolve().parents[2]


def labels_with(areas: list[tuple[int, int, int, int]], size: tuple[int, int] = (200, 100)) -> np.ndarray:
    """A COCO-style label image: instance k (from 1, largest first) fills box k."""
    image = Image.new("L", size, 0)
    for k, box in enumerate(areas, start=1):
        ImageDraw.Draw(image).rectangle(box, fill=k)
    return np.asarray(image)


def test_the_subject_is_the_largest_instance_and_those_near_its_size() -> None:
    one_and_specks = labels_with([(10, 10, 79, 69), (150, 10, 154, 14)])
    subject = dominant_instances(one_and_specks)
    assert subject is not None and subject.sum() == 70 * 60  # the speck is left out

    two_alike = labels_with([(10, 10, 69, 69), (100, 10, 149, 59)])  # 3600 and 2500 px: both are the subject
    subject = dominant_instances(two_alike)
    assert subject is not None and subject.sum() == 3600 + 2500


def test_a_photo_without_one_clear_subject_group_is_left_out() -> None:
    # a third instance (1000 px) is under a third of the largest (3600) but not clearly smaller than the second
    # dominant one (1600 px): no clear subject
    assert dominant_instances(labels_with([(10, 10, 69, 69), (100, 10, 139, 49), (150, 10, 174, 49)])) is None
    assert dominant_instances(np.zeros((50, 50), np.uint8)) is None  # no instance at all
    assert dominant_instances(labels_with([(0, 0, 199, 99)])) is None  # fills the frame
    assert dominant_instances(labels_with([(0, 0, 5, 5)])) is None  # a speck: not a salient subject


def write_coco(root: Path, count: int) -> Path:
    """``photos-coco-mini`` in small: photos and instance label images, one of them without a clear subject."""
    images, instances = root / "photos-coco-mini" / "images", root / "photos-coco-mini" / "instances"
    images.mkdir(parents=True)
    instances.mkdir(parents=True)
    for index in range(count):
        boxes = [(20 + index, 15, 120, 85)] if index else [(0, 0, 199, 99)]  # the first fills the frame
        labels = labels_with(boxes)
        Image.fromarray(labels).save(instances / f"{index:012d}.png")
        photo = np.where(labels[..., None] > 0, 200, 60).astype(np.uint8).repeat(3, axis=2)
        Image.fromarray(photo).save(images / f"{index:012d}.jpg", quality=95)
    return root


def test_both_sets_load_from_a_data_root(tmp_path: Path) -> None:
    write_pairs(tmp_path / PEOPLE, 3)
    write_coco(tmp_path, 4)
    people, objects = load_set(tmp_path, PEOPLE), load_set(tmp_path, OBJECTS)
    assert len(people) == 3 and people.ids == ["s000", "s001", "s002"]
    assert objects.ids == [f"{i:012d}" for i in (1, 2, 3)]  # the full-frame one is not a subject photo
    assert objects.truths[0].dtype == np.uint8 and set(np.unique(objects.truths[0])) == {0, 255}
    assert objects.photos[0].size == (200, 100)
    with pytest.raises(ValueError, match="unknown validation set"):
        load_set(tmp_path, "duts")


def scores_from(curves: np.ndarray, mae: np.ndarray) -> Scores:
    return Scores(curves, {"mae": mae, "weighted_fbeta": 1 - mae, "s_measure": 1 - mae}, np.zeros(len(mae)))


def test_a_pipeline_equal_to_the_baseline_neither_wins_nor_loses() -> None:
    rng = np.random.default_rng(0)
    base = scores_from(rng.random((30, 256)), rng.random(30) * 0.1)
    intervals = paired_bootstrap([base], [base], resamples=200)
    assert all(v == (0.0, 0.0, 0.0) for v in intervals.values())
    assert verdict(intervals) == ([], [])


def test_a_pipeline_better_on_every_photo_wins_and_worse_loses() -> None:
    rng = np.random.default_rng(1)
    curves, mae = rng.random((40, 256)) * 0.8, rng.random(40) * 0.1 + 0.05
    base = scores_from(curves, mae)
    better = scores_from(curves + 0.02, mae - 0.01)
    loses, wins = verdict(paired_bootstrap([better], [base], resamples=300))
    assert loses == [] and set(wins) == {"max_fbeta", "mae", "weighted_fbeta", "s_measure"}
    loses, wins = verdict(paired_bootstrap([base], [better], resamples=300))
    assert wins == [] and set(loses) == {"max_fbeta", "mae", "weighted_fbeta", "s_measure"}


def test_a_noisy_small_difference_is_noise() -> None:
    rng = np.random.default_rng(2)
    curves, mae = rng.random((40, 256)) * 0.8, rng.random(40) * 0.1 + 0.05
    jitter = rng.normal(0, 0.02, 40)
    noisy = scores_from(curves + jitter[:, None], mae - jitter / 2)
    d, low, high = paired_bootstrap([noisy], [scores_from(curves, mae)], resamples=500)["mae"]
    assert low < 0 < high and low <= d <= high


def comparison(name: str, loses: dict[str, list[str]], wins: dict[str, list[str]], pooled_gain: float) -> Comparison:
    intervals = {"pooled": {"max_fbeta": (pooled_gain, 0.0, 0.0), "mae": (0.0, 0.0, 0.0)}}
    return Comparison(Pipeline("full", name), intervals, loses, wins)  # type: ignore[arg-type]


def test_the_default_never_changes_to_a_pipeline_that_loses_on_one_set() -> None:
    strong_but_loses = comparison("bilinear-plain", {PEOPLE: ["mae"], OBJECTS: [], "pooled": []},
                                  {PEOPLE: [], OBJECTS: ["max_fbeta"], "pooled": ["max_fbeta"]}, 0.01)
    modest = comparison("lanczos", {PEOPLE: [], OBJECTS: [], "pooled": []},
                        {PEOPLE: ["mae"], OBJECTS: [], "pooled": []}, 0.001)
    noise_only = comparison("area", {PEOPLE: [], OBJECTS: [], "pooled": []},
                            {PEOPLE: [], OBJECTS: [], "pooled": ["mae"]}, 0.005)
    chosen = decide([strong_but_loses, modest, noise_only])
    assert chosen is not None and chosen.pipeline.input_resize == "lanczos"
    assert decide([strong_but_loses, noise_only]) is None  # a pooled-only win is not a win on a set
    same_masks_faster = comparison("lanczos-gap3", {PEOPLE: [], OBJECTS: [], "pooled": []},
                                   {PEOPLE: ["mae"], OBJECTS: [], "pooled": []}, 0.001)
    chosen = decide([modest, same_masks_faster])
    assert chosen is not None and chosen.pipeline.input_resize == "lanczos-gap3"  # a tie goes to the faster


class FakeRembgSession:
    """onnxruntime's session interface (third-party), giving a known map."""

    def __init__(self) -> None:
        self.fed: list[np.ndarray] = []

    def get_inputs(self) -> list:  # type: ignore[type-arg]
        return [type("Input", (), {"name": "input.1"})()]

    def run(self, outputs: object, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        self.fed.append(feed["input.1"])
        ramp = np.linspace(0.2, 0.6, 320, dtype=np.float32)
        return [np.broadcast_to(ramp, (1, 1, 320, 320)).copy()]


def test_rembgs_steps_divide_by_the_max_and_stretch_the_map() -> None:
    session = FakeRembgSession()
    photo = Image.fromarray(np.full((50, 80, 3), 100, np.uint8))
    alpha = rembg_alpha(session, photo)
    assert alpha.shape == (50, 80) and alpha.dtype == np.uint8
    assert alpha.min() <= 3 and alpha.max() >= 250  # min-max stretched from 0.2..0.6
    fed = session.fed[0]
    assert fed.shape == (1, 3, 320, 320)  # divided by the image's max (100): every pixel 1.0, then mean/std
    np.testing.assert_allclose(fed[0, 0, 0, 0], (1.0 - 0.485) / 0.229, rtol=1e-5)


def test_masks_are_cached_per_pipeline_and_the_one_command_writes_both_tables(
        random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    write_pairs(data / PEOPLE, 3)
    write_coco(data, 3)
    messages: list[str] = []
    runner = Runner(tmp_path / "cache", tmp_path / "no-rembg", log=messages.append)
    people = load_set(data, PEOPLE)
    first = runner.scores(Pipeline("small", "lanczos"), people)
    assert messages and "3 new masks" in messages[0]
    messages.clear()
    again = runner.scores(Pipeline("small", "lanczos"), people)
    assert messages == [] and np.array_equal(first.f_curves, again.f_curves)
    runner.scores(Pipeline("small", "lanczos", flip_average=True), people)
    assert messages and "flip average" in messages[0] and "3 new masks" in messages[0]  # its own masks
    messages.clear()
    # below 1920 px lanczos-gap3 feeds the model lanczos's very bytes: its masks are taken, not computed again
    same_inputs = runner.scores(Pipeline("small", "lanczos-gap3"), people)
    assert "0 new masks, 3 of a pipeline with the same model inputs" in messages[0]
    assert np.array_equal(same_inputs.f_curves, first.f_curves)
    messages.clear()
    runner.scores(Pipeline("small", "area"), people)
    assert "3 new masks, 0 of" in messages[0]
    assert set(runner.cached_pipelines("small")) == {Pipeline("small", r) for r in ("lanczos", "lanczos-gap3", "area")} \
        | {Pipeline("small", "lanczos", flip_average=True)}

    monkeypatch.chdir(tmp_path)
    code = training_main(["validate", "--params", str(ROOT / "params.yaml"), "--data-root", str(data),
                          "--model", "small", "--resize", "bilinear-gap3", "--resize", "lanczos", "--no-rembg",
                          "--baseline", "bilinear-gap3", "--flip-resize", "lanczos", "--resamples", "50", "--cache-dir", str(tmp_path / "cache"),
                          "--no-progress"])
    assert code == 0
    table = (tmp_path / "runs" / "validate" / "validation.md").read_text(encoding="utf-8")
    assert "people-val (3): max Fβ" in table and "coco-objects (2): max Fβ" in table and "pooled (5)" in table
    assert "small: lanczos (bilinear-gap3)" in table and "small: lanczos + flip average" in table
