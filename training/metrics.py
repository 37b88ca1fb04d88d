"""Salient-object metrics as the SOD benchmarks compute them (and as ``pysodmetrics`` does).

Predictions are min-max normalised per image (MATLAB ``mapminmax(im2double(.))``), ground
truths binarised at 128. Curve metrics (max Fβ, max Eφ) take the maximum of the mean curve
over images, thresholds 0..255. ``tests/training/test_metrics.py`` checks agreement with
``pysodmetrics`` to 1e-4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

EPS = np.spacing(1)
BETA2 = 0.3


def _prepare(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in shape")
    pred = np.asarray(pred, np.float64)
    gt_arr = np.asarray(gt)
    if np.issubdtype(gt_arr.dtype, np.floating) and gt_arr.max() <= 1.0:
        gt_arr = gt_arr * 255.0
    if pred.max() > 1.0 or np.issubdtype(np.asarray(pred).dtype, np.integer):
        pred = pred / 255.0
    low, high = pred.min(), pred.max()
    if high != low:
        pred = (pred - low) / (high - low)
    return pred, gt_arr > 128


def _threshold_counts(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Foreground/background pixel counts with prediction >= t, for t = 255 … 0."""
    levels = (pred * 255).astype(np.uint8)
    fg = np.cumsum(np.bincount(levels[gt], minlength=256)[::-1])
    bg = np.cumsum(np.bincount(levels[~gt], minlength=256)[::-1])
    return fg.astype(np.float64), bg.astype(np.float64)


def fbeta_curve(pred: np.ndarray, gt: np.ndarray, beta2: float = BETA2) -> np.ndarray:
    tp, fp = _threshold_counts(pred, gt)
    predicted = tp + fp
    predicted[predicted == 0] = 1
    precision = tp / predicted
    recall = tp / max(np.count_nonzero(gt), 1)
    numerator = (1 + beta2) * precision * recall
    denominator = np.where(numerator == 0, 1, beta2 * precision + recall)
    return numerator / denominator


def emeasure_curve(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    size = gt.size
    gt_fg = np.count_nonzero(gt)
    fg_fg, fg_bg = _threshold_counts(pred, gt)
    pred_fg = fg_fg + fg_bg
    pred_bg = size - pred_fg
    if gt_fg == 0:
        return pred_bg / (size - 1 + EPS)
    if gt_fg == size:
        return pred_fg / (size - 1 + EPS)
    bg_fg = gt_fg - fg_fg
    bg_bg = pred_bg - bg_fg
    mean_pred = pred_fg / size
    mean_gt = gt_fg / size
    total = np.zeros_like(pred_fg)
    for count, p, g in (
        (fg_fg, 1 - mean_pred, 1 - mean_gt),
        (fg_bg, 1 - mean_pred, -mean_gt),
        (bg_fg, -mean_pred, 1 - mean_gt),
        (bg_bg, -mean_pred, -mean_gt),
    ):
        align = 2 * p * g / (p**2 + g**2 + EPS)
        total += (align + 1) ** 2 / 4 * count
    return total / (size - 1 + EPS)


def mae(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.mean(np.abs(pred - gt)))


def _s_object(values: np.ndarray) -> float:
    mean = np.mean(values)
    std = np.std(values, ddof=1) if values.size > 1 else 0.0
    return float(2 * mean / (mean**2 + 1 + std + EPS))


def _ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    n = pred.size
    x, y = np.mean(pred), np.mean(gt)
    sigma_x = np.sum((pred - x) ** 2) / (n - 1 + EPS)
    sigma_y = np.sum((gt - y) ** 2) / (n - 1 + EPS)
    sigma_xy = np.sum((pred - x) * (gt - y)) / (n - 1 + EPS)
    alpha = 4 * x * y * sigma_xy
    beta = (x**2 + y**2) * (sigma_x + sigma_y)
    if alpha != 0:
        return float(alpha / (beta + EPS))
    return 1.0 if beta == 0 else 0.0


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """Structure measure (Fan et al. 2017): object- and region-aware similarity."""
    y = np.mean(gt)
    if y == 0:
        return float(1 - np.mean(pred))
    if y == 1:
        return float(np.mean(pred))
    gt_f = gt.astype(np.float64)
    object_score = _s_object(pred[gt]) * y + _s_object((1 - pred)[~gt]) * (1 - y)
    h, w = gt.shape
    cy, cx = np.argwhere(gt).mean(axis=0).round()
    cy, cx = int(cy) + 1, int(cx) + 1
    area = h * w
    w_lt = cx * cy / area
    w_rt = cy * (w - cx) / area
    w_lb = (h - cy) * cx / area
    w_rb = 1 - w_lt - w_rt - w_lb
    region_score = (
        _ssim(pred[:cy, :cx], gt_f[:cy, :cx]) * w_lt
        + _ssim(pred[:cy, cx:], gt_f[:cy, cx:]) * w_rt
        + _ssim(pred[cy:, :cx], gt_f[cy:, :cx]) * w_lb
        + _ssim(pred[cy:, cx:], gt_f[cy:, cx:]) * w_rb
    )
    return float(max(0.0, alpha * object_score + (1 - alpha) * region_score))


def _gauss2d(size: int = 7, sigma: float = 5.0) -> np.ndarray:
    half = (size - 1) / 2
    y, x = np.ogrid[-half : half + 1, -half : half + 1]
    kernel = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    kernel[kernel < np.finfo(kernel.dtype).eps * kernel.max()] = 0
    return kernel / kernel.sum()


def weighted_fbeta(pred: np.ndarray, gt: np.ndarray, beta2: float = 1.0) -> float:
    """Weighted Fβ (Margolin et al. 2014), β² = 1 as in the benchmarks."""
    from scipy.ndimage import convolve, distance_transform_edt

    if not gt.any():
        return 0.0
    distance, indices = distance_transform_edt(~gt, return_indices=True)
    error = np.abs(pred - gt)
    spread = error.copy()
    outside = ~gt
    spread[outside] = spread[indices[0][outside], indices[1][outside]]
    blurred = convolve(spread, weights=_gauss2d(), mode="constant", cval=0)
    min_error = np.where(gt & (blurred < error), blurred, error)
    importance = np.where(outside, 2 - np.exp(np.log(0.5) / 5 * distance), 1.0)
    weighted = min_error * importance
    tp = np.sum(gt) - np.sum(weighted[gt])
    fp = np.sum(weighted[outside])
    recall = 1 - np.mean(weighted[gt])
    precision = tp / (tp + fp + EPS)
    return float((1 + beta2) * recall * precision / (recall + beta2 * precision + EPS))


def photo_scores(raw_pred: np.ndarray, raw_gt: np.ndarray, weighted: bool = True) -> dict[str, Any]:
    """One photo's share of :func:`evaluate_masks`: its Fβ and Eφ curves (256 thresholds, 255 … 0) and its MAE,
    S-measure and weighted Fβ. Kept per photo so a paired bootstrap can resample photos (``training.validate``)."""
    pred, gt = _prepare(raw_pred, raw_gt)
    scores: dict[str, Any] = {
        "f_curve": fbeta_curve(pred, gt), "e_curve": emeasure_curve(pred, gt),
        "mae": mae(pred, gt), "s_measure": s_measure(pred, gt),
    }
    if weighted:
        scores["weighted_fbeta"] = weighted_fbeta(pred, gt)
    return scores


def evaluate_masks(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], weighted: bool = True) -> dict[str, float]:
    """Averages over images: ``max_fbeta``, ``mae``, ``weighted_fbeta``, ``s_measure``, ``e_measure``.

    ``preds``/``gts``: uint8 (0..255) or float (0..1) arrays, pairwise equal in size.
    ``weighted=False`` skips the (slow) weighted Fβ, for quick validation inside training.
    """
    if len(preds) != len(gts) or not preds:
        raise ValueError(f"need equally many predictions and ground truths, got {len(preds)} and {len(gts)}")
    per_photo = [photo_scores(pred, gt, weighted) for pred, gt in zip(preds, gts, strict=True)]
    results = {
        "max_fbeta": float(np.mean([p["f_curve"] for p in per_photo], axis=0).max()),
        "mae": float(np.mean([p["mae"] for p in per_photo])),
        "s_measure": float(np.mean([p["s_measure"] for p in per_photo])),
        "e_measure": float(np.mean([p["e_curve"] for p in per_photo], axis=0).max()),
    }
    if weighted:
        results["weighted_fbeta"] = float(np.mean([p["weighted_fbeta"] for p in per_photo]))
    return results
