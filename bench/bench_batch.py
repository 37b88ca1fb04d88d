"""Batch throughput over a folder of 12 MP JPEGs vs pure inference on the same images, same run.

"Pure inference" is the model alone (resize + forward + upsample on already decoded photos);
"batch" is files on disk -> PNG files (decode, inference, encode, atomic write) through
``core.batch.iter_export`` with and without its decode/encode overlap.

    .venv/bin/python bench/bench_batch.py [--count 8] [--megapixels 12]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import bench_weights_dir, make_test_photo, table  # noqa: E402
from clearbg_desktop.core.batch import iter_export, plan_batch  # noqa: E402
from clearbg_desktop.core.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.imageio import load_image  # noqa: E402
from clearbg_desktop.core.segmenter import Segmenter  # noqa: E402


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
    for label, prefetch, level in (("batch, overlapped (default)", 2, 1), ("batch, no overlap", 0, 1),
                                   ("batch, overlapped, PNG level 6", 2, 6)):
        out = folder / f"out-{prefetch}-{level}"
        options = ExportOptions(png_compress_level=level)
        plan = plan_batch([photos], out, options)
        started = time.perf_counter()
        if prefetch == 0:  # the same work strictly one file after another
            from clearbg_desktop.core.export import export_photo

            for item in plan.items:
                loaded = load_image(item.source)
                export_photo(loaded, segmenter.predict_alpha(loaded.rgb), item.target, options)
        else:
            list(iter_export(plan, segmenter, options, prefetch=prefetch))
        elapsed = time.perf_counter() - started
        rows.append([label, f"{elapsed:.2f}", f"{args.count / elapsed:.2f}", f"{elapsed / pure:.2f}×"])
    table(["run", "seconds", "images/s", "time vs pure inference"], rows,
          f"Batch of {args.count} × {args.megapixels:g} MP JPEGs, {args.threads} threads")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
