"""The ``evaluate`` stage: our weights (and, side by side, reference ONNX files) on a labelled set.

Our model goes through ``clearbg_desktop.core.inference.segmenter`` exactly as in the app; ONNX files
go through their authors' preprocessing (``training.teacher``). Same images, same run, same
metrics code; writes ``metrics.json`` and ``metrics.md``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from clearbg_desktop.core.inference.segmenter import Segmenter
from training.checkpoint import load_weights
from training.config import EvalParams
from training.data import find_pairs
from training.engine import ValidationSet
from training.manifest import manifest_pairs, read_data_manifest
from training.metrics import evaluate_masks
from training.model_card import markdown_table


def load_ours(path: Path) -> tuple[Segmenter, str]:
    """Segmenter for any weights ``training.checkpoint.load_weights`` reads, at their input size, in fp32 (the
    reference every engine is judged against: bench/engine_quality.py)."""
    loaded = load_weights(path)
    return (Segmenter(loaded.model, device="cpu", input_size=loaded.input_size, weights=loaded.entry, precision="fp32"),
            loaded.label)


def score(predict, dataset: ValidationSet) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """One table row: the metrics of ``predict``'s masks on ``dataset`` and its timed images/s."""
    predict(dataset.photos[0])  # warm-up: first call allocates
    started = time.perf_counter()
    preds = [np.asarray(predict(photo)) for photo in dataset.photos]
    speed = len(dataset.photos) / (time.perf_counter() - started)
    return {**evaluate_masks(preds, dataset.truths), "images_per_second": speed}


def evaluate_models(
    dataset: ValidationSet, ours: Path | None, onnx_files: list[Path],
    input_sizes: list[int] | None = None, other_weights: list[Path] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per model. ``input_sizes`` adds rows for our weights fed at other sizes: a model trained at
    one scale can lose a lot at another, which decides whether moving to a larger recipe is a fine-tune."""
    results: dict[str, dict[str, float]] = {}
    if ours is not None:
        segmenter, label = load_ours(ours)
        results[label] = score(segmenter.predict_alpha, dataset)
        for size in input_sizes or []:
            resized = Segmenter(segmenter.model, device="cpu", threads=torch.get_num_threads(), input_size=size)
            results[f"{label} at {size} px"] = score(resized.predict_alpha, dataset)
    for other in other_weights or []:
        segmenter, label = load_ours(other)
        results[f"{label} [{other}]"] = score(segmenter.predict_alpha, dataset)
    for onnx_path in onnx_files:
        if not onnx_path.exists():
            warnings.warn(f"{onnx_path} not found: skipped in the comparison", stacklevel=2)
            continue
        try:
            from training.teacher import OnnxSaliencyModel

            reference = OnnxSaliencyModel(onnx_path)
        except RuntimeError as exc:
            warnings.warn(str(exc), stacklevel=2)
            continue
        results[onnx_path.name] = score(reference.predict_alpha, dataset)
    return results


def run_evaluation(params: EvalParams) -> str:
    dataset_path = Path(params.dataset)
    dataset = ValidationSet.from_pairs(dataset_path.name, find_pairs(dataset_path))
    ours = Path(params.weights) if params.weights else None
    results = evaluate_models(dataset, ours, [Path(p) for p in params.compare_onnx], params.input_sizes,
                              [Path(p) for p in params.compare_weights if Path(p).exists()])
    out_dir = Path(params.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {"dataset": str(dataset_path), "images": len(dataset.photos), "models": results}
    table = markdown_table(results, dataset_path.name, len(dataset.photos))
    agreement = teacher_agreement(params, ours)
    if agreement:
        summary["teacher_agreement"] = agreement
        for domain, block in agreement.items():
            table += "\n" + markdown_table(block["models"], f"held-out {domain} (agreement with the teacher's masks)",
                                            block["images"])
    (out_dir / "metrics.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out_dir / "metrics.md").write_text(table, encoding="utf-8")
    return table


def teacher_agreement(params: EvalParams, ours: Path | None) -> dict[str, dict]:
    """Per domain, how well each model agrees with the teacher on the held-out split (whole shots no model trained
    on): the same models as on the labelled set, the teacher's masks as the truth."""
    manifest_path = Path(params.heldout_manifest) if params.heldout_manifest else None
    if manifest_path is None or not manifest_path.is_file():
        return {}
    manifest = read_data_manifest(manifest_path)
    agreement: dict[str, dict] = {}
    for domain, sources in params.domains.items():
        pairs = manifest_pairs(manifest, "val", sources)
        if not pairs:
            continue
        dataset = ValidationSet.from_pairs(f"heldout-{domain}", pairs)
        results = evaluate_models(dataset, ours, [Path(p) for p in params.compare_onnx], [],
                                  [Path(p) for p in params.compare_weights if Path(p).exists()])
        agreement[domain] = {"images": len(pairs), "sources": sources, "models": results}
    return agreement
