"""Our metrics agree with pysodmetrics (the SOD benchmarks' reference code) to 1e-4."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image, ImageFilter

from tests.conftest import SHARED_DATA
from training.metrics import evaluate_masks

py_sod_metrics = pytest.importorskip("py_sod_metrics")


def reference(preds: list[np.ndarray], gts: list[np.ndarray]) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fm, em, sm, wfm, mae = (py_sod_metrics.Fmeasure(), py_sod_metrics.Emeasure(), py_sod_metrics.Smeasure(),
                                py_sod_metrics.WeightedFmeasure(), py_sod_metrics.MAE())
    for pred, gt in zip(preds, gts, strict=True):
        for metric in (fm, em, sm, wfm, mae):
            metric.step(pred, gt)
    return {
        "max_fbeta": float(fm.get_results()["fm"]["curve"].max()),
        "mae": float(mae.get_results()["mae"]),
        "weighted_fbeta": float(wfm.get_results()["wfm"]),
        "s_measure": float(sm.get_results()["sm"]),
        "e_measure": float(em.get_results()["em"]["curve"].max()),
    }


def assert_agree(preds: list[np.ndarray], gts: list[np.ndarray]) -> None:
    ours, theirs = evaluate_masks(preds, gts), reference(preds, gts)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=1e-4), key


def test_random_masks_agree() -> None:
    rng = np.random.default_rng(0)
    preds, gts = [], []
    for _ in range(6):
        height, width = rng.integers(30, 90, 2)
        gt = np.zeros((height, width), np.uint8)
        gt[height // 4 : 3 * height // 4, width // 5 : width // 2] = 255
        preds.append(np.clip(gt * 0.7 + rng.normal(0, 50, gt.shape), 0, 255).astype(np.uint8))
        gts.append(gt)
    preds.append(rng.integers(0, 256, (40, 50), dtype=np.uint8))
    gts.append(np.zeros((40, 50), np.uint8))  # empty ground truth: the special cases
    preds.append(rng.integers(0, 256, (40, 50), dtype=np.uint8))
    gts.append(np.full((40, 50), 255, np.uint8))  # full ground truth
    assert_agree(preds, gts)


def test_real_masks_agree() -> None:
    masks = sorted((SHARED_DATA / "people-val" / "masks").glob("*.png"))[:6]
    if not masks:
        pytest.skip("../shared/data/people-val is not present")
    preds, gts = [], []
    for index, path in enumerate(masks):
        with Image.open(path) as opened:
            gt = opened.convert("L")
        gt.thumbnail((200, 200))
        blurred = gt.filter(ImageFilter.GaussianBlur(3 + index))
        preds.append(np.asarray(blurred.rotate(index * 2)))
        gts.append(np.asarray(gt))
    assert_agree(preds, gts)


def test_perfect_and_float_inputs() -> None:
    gt = np.zeros((20, 20), np.uint8)
    gt[5:15, 5:15] = 255
    perfect = evaluate_masks([gt], [gt])
    assert perfect["max_fbeta"] == pytest.approx(1.0) and perfect["mae"] == 0 and perfect["s_measure"] > 0.99
    assert evaluate_masks([gt.astype(np.float32) / 255], [gt]) == pytest.approx(perfect)
    with pytest.raises(ValueError, match="differ in shape"):
        evaluate_masks([gt], [gt[:10]])
