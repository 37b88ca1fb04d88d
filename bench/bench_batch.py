"""Batch throughput over a folder of 12 MP JPEGs vs pure inference on the same images, same run.

"Pure inference" is the model alone (resize + forward + upsample on already decoded photos);
"batch" is files on disk -> PNG files (decode, inference, encode, atomic write) through
``core.batch.iter_export`` with and without its decode/encode overlap.

A second table says why the batch cannot get closer on this machine: the CPU time (all threads) each
stage costs per photo, and the floor that puts under any pipeline on ``--threads`` cores
(total CPU seconds / cores), so the ratio can be projected to machines with more cores.

    .venv/bin/python bench/bench_batch.py [--count 8] [--megapixels 12]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import bench_weights_dir, make_test_photo, table  # noqa: E402
from clearbg_desktop.core.batch import iter_export, plan_batch  # noqa: E402
from clearbg_desktop.core.imaging.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.imaging.output_file import export_photo  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter  # noqa: E402

T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_weights_dir()
    segmenter = Segmenter.from_weights("small", device="cpu", threads=args.threads)
    folder = Path(tempfile.mkdtemp(prefix="clearbg-batch-"))
    photos = folder / "photos"
    photos.mkdir()
    for index in range(args.count):
        make_test_photo(args.megapixels, photos, seed=index)
    decoded = [load_image(p).rgb for p in sorted(photos.iterdir())]
    segmenter.predict_alpha(decoded[0])  # warm-up
    started = time.perf_counter()
    for rgb in decoded:
        segmenter.predict_alpha(rgb)
    pure = time.perf_counter() - started
    rows = [["pure inference (decoded photos, model + upsample)", f"{pure:.2f}", f"{args.count / pure:.2f}", "1.00×"]]
    for label, prefetch, level in (("batch, overlapped (default; model on cores − 1)", 2, 1), ("batch, no overlap", 0, 1),
                                   ("batch, overlapped, PNG level 6", 2, 6)):
        out = folder / f"out-{prefetch}-{level}"
        options = ExportOptions(png_compress_level=level)
        plan = plan_batch([photos], out, options)
        started = time.perf_counter()
        if prefetch == 0:  # the same work strictly one file after another
            for item in plan.items:
                loaded = load_image(item.source)
                export_photo(loaded, segmenter.predict_alpha(loaded.rgb), item.target, options)
        else:
            list(iter_export(plan, segmenter, options, prefetch=prefetch))
        elapsed = time.perf_counter() - started
        rows.append([label, f"{elapsed:.2f}", f"{args.count / elapsed:.2f}", f"{elapsed / pure:.2f}×"])
    table(["run", "seconds", "images/s", "time vs pure inference"], rows,
          f"Batch of {args.count} × {args.megapixels:g} MP JPEGs, {args.threads} threads")
    stage_floor(sorted(photos.iterdir()), segmenter, folder / "stages", pure / args.count, args.threads)
    shutil.rmtree(folder, ignore_errors=True)


def cpu_seconds(work: Callable[[], T]) -> tuple[float, T]:
    """(CPU seconds of this process over all threads, result) of one call."""
    cpu = time.process_time()
    result = work()
    return time.process_time() - cpu, result


def stage_floor(photos: list[Path], segmenter: Segmenter, out: Path, pure_per_photo: float, cores: int) -> None:
    """Per-photo CPU cost of each stage, run one at a time, and the floor it puts under any overlap."""
    out.mkdir()
    costs: dict[str, list[float]] = {"decode": [], "inference": [], "compose + encode + write": []}
    options = ExportOptions()
    for photo in photos:
        cpu, loaded = cpu_seconds(lambda photo=photo: load_image(photo))
        costs["decode"].append(cpu)
        cpu, alpha = cpu_seconds(lambda loaded=loaded: segmenter.predict_alpha(loaded.rgb))
        costs["inference"].append(cpu)
        cpu, _ = cpu_seconds(lambda loaded=loaded, alpha=alpha, photo=photo:
                             export_photo(loaded, alpha, out / f"{photo.stem}.png", options))
        costs["compose + encode + write"].append(cpu)
    medians = {stage: statistics.median(values) for stage, values in costs.items()}
    total = sum(medians.values())
    rows = [[stage, f"{value * 1000:.0f}", f"{value / total:.0%}"] for stage, value in medians.items()]
    rows.append(["all stages", f"{total * 1000:.0f}", "100%"])
    table(["stage", "CPU ms per photo (all threads)", "share"], rows,
          f"Where a batch photo's CPU time goes (median of {len(photos)}, stages run one at a time)")
    floor = max(total / cores, pure_per_photo) / pure_per_photo
    needed = math.ceil(total / (1.3 * pure_per_photo))
    print(f"\nPure inference {pure_per_photo * 1000:.0f} ms per photo (wall). With perfect overlap on {cores} cores "
          f"a photo still needs {total * 1000:.0f} / {cores} ms, so the batch cannot beat {floor:.2f}× pure inference "
          f"here; 1.3× needs at least {needed} cores at these stage costs.", flush=True)


if __name__ == "__main__":
    main()
