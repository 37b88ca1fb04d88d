"""Does the doubt score rank the worst masks first? Spearman's ρ between doubt and MAE on people-val.

Runs the bundled model on every photo as the batch exporter does, scores each mask with
``core.inference.doubt``, and prints: ρ for each sign alone, for the shipped weights, and for the weights that fit
best on one half of the photos, checked on the other half (so the figure is not fitted to itself); plus how
much worse the most doubtful tenth is than the rest.
Usage: python bench/doubt_calibration.py [../shared/data/people-val] [--threads N]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.inference.doubt import WEIGHTS, doubt_of  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.engine import ValidationSet  # noqa: E402

SIGNS = ("uncertain", "size", "border", "islands")


def ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank."""
    order = np.argsort(values, kind="stable")
    ranked = np.empty(len(values))
    ranked[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranked[tied] = ranked[tied].mean()
    return ranked


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def scores(signs: np.ndarray, weights: tuple[float, ...]) -> np.ndarray:
    return signs @ np.asarray(weights) / sum(weights)


def best_weights(signs: np.ndarray, errors: np.ndarray) -> tuple[float, ...]:
    grid = [w for w in itertools.product(np.arange(0, 1.01, 0.05), repeat=4) if abs(sum(w) - 1) < 1e-6]
    return max(grid, key=lambda w: spearman(scores(signs, w), errors))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=SHARED / "people-val")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    dataset = ValidationSet.from_pairs(args.dataset.name, find_pairs(args.dataset))
    segmenter = Segmenter.from_weights("small", device="cpu", threads=args.threads)
    errors, signs = [], []
    for photo, truth in zip(dataset.photos, dataset.truths, strict=True):
        alpha = np.asarray(segmenter.predict_alpha(photo))
        errors.append(float(np.abs(alpha.astype(np.float32) - np.asarray(truth, np.float32)).mean() / 255))
        doubt = doubt_of(alpha)
        signs.append([getattr(doubt, name) for name in SIGNS])
    error, sign = np.asarray(errors), np.asarray(signs)
    rows = [[f"{name} alone", f"{spearman(sign[:, i], error):.3f}", "all"] for i, name in enumerate(SIGNS)]
    shipped = scores(sign, WEIGHTS)
    rows.append([f"shipped weights {WEIGHTS}", f"{spearman(shipped, error):.3f}", "all"])
    even, odd = np.arange(0, len(error), 2), np.arange(1, len(error), 2)
    for fit, check, label in ((even, odd, "even→odd"), (odd, even, "odd→even")):
        fitted = best_weights(sign[fit], error[fit])
        rounded = tuple(round(float(w), 2) for w in fitted)
        rows.append([f"fitted on half {rounded}", f"{spearman(scores(sign[check], fitted), error[check]):.3f}",
                     f"other half ({label})"])
    fitted_all = tuple(round(float(w), 2) for w in best_weights(sign, error))
    rows.append([f"best on all {fitted_all}", f"{spearman(scores(sign, fitted_all), error):.3f}", "all (in-sample)"])
    table(["doubt", "Spearman ρ with MAE", "photos"], rows,
          f"{args.dataset.name}: {len(error)} photos, bundled model")
    worst_tenth = np.argsort(-shipped)[: max(1, len(error) // 10)]
    rest = np.setdiff1d(np.arange(len(error)), worst_tenth)
    print(f"\nmost doubtful tenth: mean MAE {error[worst_tenth].mean():.4f} vs the rest {error[rest].mean():.4f}; "
          f"of the 10 % worst MAE, {len(set(worst_tenth) & set(np.argsort(-error)[:len(worst_tenth)]))} of "
          f"{len(worst_tenth)} are in the most doubtful tenth; doubt of the tenth ≥ {shipped[worst_tenth].min():.3f}")


if __name__ == "__main__":
    main()
