"""Both bundled models on every CPU engine and precision, side by side: people-val metrics, the worst photo's
mean |Δα| against fp32, whether the engine-choice rule lets it run, and median ms per photo (model and the
steps around it) with the ratio to PyTorch fp32 in the same run. ``python -m training check-engines`` is the
same measurement, written into the model cards.

``--storage`` adds, for the full model, the weights as published (fp32, converted from teacher/u2net.onnx) as
the reference row, to show that the fp16-stored file gives the same masks.
Usage: python bench/model_engines.py [DATASET] [--model full --model small] [--storage] [--threads N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, SHARED  # noqa: E402
from clearbg_desktop.core.inference.engine_choice import Candidate  # noqa: E402
from clearbg_desktop.core.inference.weights import find_weights  # noqa: E402
from training.data import find_pairs  # noqa: E402
from training.engine import ValidationSet  # noqa: E402
from training.engine_checks import CPU_CANDIDATES, Row, candidate_rows, measure_rows, table  # noqa: E402


def published_weights_row(threads: int | None) -> Row:
    """The full U²-Net with the published fp32 weights (not the fp16-stored file), PyTorch fp32."""

    def load():  # type: ignore[no-untyped-def]
        from clearbg_desktop.core.inference.official_weights import model_from_onnx
        from clearbg_desktop.core.inference.segmenter import Segmenter

        model = model_from_onnx(REPO / "teacher" / "u2net.onnx")
        return Segmenter(model, device="cpu", threads=threads, precision="fp32").predict_alpha

    return Row("published fp32 weights, PyTorch fp32", load)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", nargs="?", type=Path, default=SHARED / "people-val")
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--storage", action="store_true", help="full model: fp16-stored file against fp32 weights")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    dataset = ValidationSet.from_pairs(args.dataset.name, find_pairs(args.dataset), args.limit)
    for name in args.model or ["full", "small"]:
        entry = find_weights(name)
        if args.storage:
            rows = [published_weights_row(args.threads),
                    *candidate_rows(entry, [Candidate("torch", "cpu", "fp32")], args.threads)]
            rows[1] = Row(f"{entry.storage}-stored file, PyTorch fp32", rows[1].load)
        else:
            rows = candidate_rows(entry, CPU_CANDIDATES, args.threads)
        results = measure_rows(rows, dataset, progress=True)
        print(table(results, f"{name}: {dataset.name}, {len(dataset.photos)} photos, {args.threads or 'default'} "
                             "threads; the first row is the reference"), flush=True)


if __name__ == "__main__":
    main()
