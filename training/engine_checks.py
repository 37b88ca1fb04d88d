"""The ``check-engines`` stage: each bundled model on every engine and precision, judged by its masks.

Why: the app runs a precision other than fp32 only where the model's card records that its masks equal fp32's
on people-val (``core.inference.engine_choice``'s rule: MAE within +0.0005, max Fβ within −0.001, mean |Δα| ≤ 1/255 on
every photo). This stage measures that, through the app's own engines, and writes ``precision_checks`` (and
the fp32 metrics) into each card; ``bench/model_engines.py`` prints the same table with timings.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.engine_choice import QUALITY_RULE, Candidate, passes_quality_rule
from clearbg_desktop.core.inference.engines import build_engine
from clearbg_desktop.core.inference.weights import WeightsEntry
from training.engine import ValidationSet
from training.metrics import evaluate_masks

REFERENCE = Candidate("torch", "cpu", "fp32")
CPU_CANDIDATES = (REFERENCE, Candidate("torch", "cpu", "bf16"), Candidate("onnxruntime", "cpu", "fp32"))


@dataclass(frozen=True)
class Row:
    """One way of running a model: a label and a loader of its ``photo -> alpha`` function."""

    label: str
    load: Callable[[], Callable[[Image.Image], Image.Image]]
    precision: str = "fp32"


def candidate_rows(entry: WeightsEntry, candidates: Sequence[Candidate] = CPU_CANDIDATES,
                   threads: int | None = None) -> list[Row]:
    def loader(candidate: Candidate) -> Callable[[], Callable[[Image.Image], Image.Image]]:
        return lambda: build_engine(entry, candidate, threads).predict_alpha

    return [Row(c.label, loader(c), c.precision) for c in candidates]


def measure_rows(rows: Sequence[Row], dataset: ValidationSet, progress: bool = False) -> dict[str, dict]:
    """Metrics, median ms per photo and the worst photo's mean |Δα| against the first row (the reference)."""
    results: dict[str, dict] = {}
    reference_masks: list[np.ndarray] | None = None
    for row in rows:
        predict = row.load()
        predict(dataset.photos[0])  # warm-up
        masks, times = [], []
        photos = dataset.photos
        if progress:
            from tqdm import tqdm

            photos = tqdm(photos, desc=row.label, leave=False)
        for photo in photos:
            started = time.perf_counter()
            masks.append(np.asarray(predict(photo)))
            times.append(time.perf_counter() - started)
        metrics: dict = {**evaluate_masks(masks, dataset.truths), "ms_per_photo": statistics.median(times) * 1000,
                         "precision": row.precision}
        if reference_masks is None:
            reference_masks = masks
        metrics["worst_mean_abs_alpha"] = max(
            float(np.abs(ours.astype(np.float32) - ref.astype(np.float32)).mean()) / 255.0
            for ours, ref in zip(masks, reference_masks, strict=True))
        results[row.label] = metrics
    reference = next(iter(results.values()))
    for metrics in results.values():
        metrics["passes"] = passes_quality_rule(reference, metrics)
    return results


def precision_checks(results: dict[str, dict], dataset: str) -> dict[str, dict]:
    """What a card records: per precision other than fp32, whether every row at it passed, and by how much."""
    reference = next(iter(results.values()))
    checks: dict[str, dict] = {}
    for metrics in list(results.values())[1:]:
        precision = metrics["precision"]
        if precision == "fp32":
            continue
        checks[precision] = {
            "passed": bool(metrics["passes"]),
            "mae_increase": round(metrics["mae"] - reference["mae"], 5),
            "max_fbeta_drop": round(reference["max_fbeta"] - metrics["max_fbeta"], 5),
            "worst_mean_abs_alpha": round(metrics["worst_mean_abs_alpha"], 5),
            "rule": QUALITY_RULE,
            "dataset": dataset,
            "measured_on": f"{platform.machine()} CPU",
        }
    return checks


def table(results: dict[str, dict], title: str) -> str:
    reference = next(iter(results.values()))
    lines = [f"### {title}", "",
             "| engine | max Fβ | MAE | weighted Fβ | S-measure | worst mean abs Δα | passes | ms/photo | × reference |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, m in results.items():
        lines.append(f"| {label} | {m['max_fbeta']:.4f} | {m['mae']:.4f} | {m['weighted_fbeta']:.4f} | "
                     f"{m['s_measure']:.4f} | {m['worst_mean_abs_alpha'] * 255:.2f}/255 | "
                     f"{'yes' if m['passes'] else 'no'} | {m['ms_per_photo']:.0f} | "
                     f"{m['ms_per_photo'] / reference['ms_per_photo']:.2f} |")
    return "\n".join(lines)


def record_in_card(entry: WeightsEntry, results: dict[str, dict], dataset: str) -> None:
    """``precision_checks`` into the entry's card file, and the fp32 reference's metrics where the card has none
    (``training evaluate``'s fuller table is kept). The manifest keeps pointing at the card; cards are not hashed."""
    card_path = entry.path.with_name(f"{entry.path.stem}.card.json")
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    # a precision measured elsewhere (int8: ``training quantize``) keeps its check; the ones measured here are new
    card["precision_checks"] = {**card.get("precision_checks", {}), **precision_checks(results, dataset)}
    reference_label, reference = next(iter(results.items()))
    keys = ("max_fbeta", "mae", "weighted_fbeta", "s_measure")
    if card.get("metrics"):
        card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        return
    card["metrics"] = {"dataset": dataset, "models": {f"{entry.name} ({reference_label})":
                                                      {k: round(reference[k], 4) for k in keys}}}
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def check_models(entries: Sequence[WeightsEntry], dataset: ValidationSet, out_dir: Path, write_cards: bool,
                 threads: int | None = None, progress: bool = False) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = []
    for entry in entries:
        results = measure_rows(candidate_rows(entry, threads=threads), dataset, progress)
        tables.append(table(results, f"{entry.name}: {dataset.name}, {len(dataset.photos)} photos, "
                                     f"{platform.machine()} CPU, {threads or 'default'} threads"))
        (out_dir / f"{entry.name}.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        if write_cards:
            record_in_card(entry, results, dataset.name)
    text = "\n\n".join(tables)
    (out_dir / "engines.md").write_text(text + "\n", encoding="utf-8")
    return text
