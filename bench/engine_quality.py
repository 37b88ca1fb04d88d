"""Inference engines judged by their masks: people-val metrics and time per photo, PyTorch fp32, PyTorch bf16
autocast, and ONNX Runtime (the standalone app's engine, on the bundled weights exported to ONNX).

An engine passes when max Fβ, MAE and S-measure stay within 0.002 of fp32 (issue #20's rule); the app
then takes the fastest engine that passes on this machine (``core.inference.devices.choose_precision``).
Usage: python bench/engine_quality.py [../shared/data/people-val] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED, table  # noqa: E402
from clearbg_desktop.core.inference.devices import cpu_has_native_bf16  # noqa: E402
from clearbg_desktop.core.inference.engines import Engine  # noqa: E402
from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter  # noqa: E402
from clearbg_desktop.core.inference.onnx_export import export_weights_folder  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter  # noqa: E402
from clearbg_desktop.core.paths import bundled_weights_dir  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.engine import ValidationSet  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402

TOLERANCE = 0.002


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=SHARED / "people-val")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    dataset = ValidationSet.from_pairs(args.dataset.name, find_pairs(args.dataset))
    results = {}
    folder = Path(tempfile.mkdtemp(prefix="clearbg-onnx-"))
    onnx_entry = export_weights_folder(bundled_weights_dir(), folder)["small"]
    engines: dict[str, Callable[[], Engine]] = {
        precision: lambda p=precision: Segmenter.from_weights("small", device="cpu", threads=args.threads,
                                                              precision=p)
        for precision in ("fp32", "bf16")}
    engines["onnxruntime"] = lambda: OnnxSegmenter(onnx_entry, args.threads)
    for precision, load in engines.items():
        segmenter = load()
        segmenter.predict_alpha(dataset.photos[0])
        times, masks = [], []
        for photo in dataset.photos:
            started = time.perf_counter()
            masks.append(np.asarray(segmenter.predict_alpha(photo)))
            times.append(time.perf_counter() - started)
        results[precision] = {**evaluate_masks(masks, dataset.truths), "ms": statistics.median(times) * 1000}
    reference = results["fp32"]
    rows = []
    for name, metrics in results.items():
        worst = max(abs(metrics[k] - reference[k]) for k in ("max_fbeta", "mae", "s_measure"))
        rows.append([name, f"{metrics['max_fbeta']:.4f}", f"{metrics['mae']:.4f}", f"{metrics['s_measure']:.4f}",
                     f"{worst:.4f}", "yes" if worst <= TOLERANCE else "no", f"{metrics['ms']:.0f}",
                     f"{metrics['ms'] / reference['ms']:.2f}"])
    print(table(["engine", "max Fβ", "MAE", "S-measure", "max |Δ| vs fp32", "passes", "median ms/photo",
                 "ratio vs fp32"], rows,
                f"{args.dataset.name}: {len(dataset.photos)} photos, bundled model, {args.threads} threads, "
                f"native bf16: {cpu_has_native_bf16()}"))


if __name__ == "__main__":
    main()
