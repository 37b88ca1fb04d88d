"""ONNX Runtime on every provider this machine lists (CPU, CUDA, DirectML, CoreML: issue #41), photos per model
call 1, 2, 4, 8: median ms per photo of the model call (preprocessing, the session, the probability map), photos
per second, the ratio to the CPU at one photo per call in the same run (group sizes take turns in each repeat), and
the masks against that CPU's: the worst photo's mean |Δα| (the engine rule allows 1/255). A provider that cannot run here gets one row with the reason.

Photos: people-val's (its images, not its masks), resized as the model sees them, so the masks are compared on
real photos; ``--photos`` names another folder. On a GPU machine this is the measurement the issue asks for;
on a CPU it says whether grouping photos pays there (it does not: bench/RESULTS.md, the #41 section).
Usage: nice python bench/gpu_providers.py [--model full] [--photos DIR] [--limit 16] [--repeats 5] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import SHARED  # noqa: E402
from clearbg_desktop.core.inference.accelerators import ACCELERATORS, AcceleratorUnavailable, listed_providers  # noqa: E402
from clearbg_desktop.core.inference.engines import onnx_copy  # noqa: E402
from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter  # noqa: E402
from clearbg_desktop.core.inference.weights import find_weights  # noqa: E402

GROUPS = (1, 2, 4, 8)


def photos(folder: Path, limit: int) -> list[Image.Image]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:limit]
    if not files:
        raise SystemExit(f"no photos in {folder}")
    loaded = []
    for path in files:
        with Image.open(path) as image:
            loaded.append(image.convert("RGB"))
    return loaded


def timed(engine: OnnxSegmenter, batch: list[Image.Image], groups: tuple[int, ...], repeats: int
          ) -> dict[int, tuple[float, np.ndarray]]:
    """Per group size: (median seconds per photo over ``repeats`` passes through ``batch``, the maps). The group
    sizes take turns within each repeat, so a machine shared with other work slows each of them alike."""
    def one_pass(group: int) -> np.ndarray:
        return np.concatenate([engine.predict_probabilities(batch[i:i + group]) for i in range(0, len(batch), group)])

    maps = {group: one_pass(group) for group in groups}  # warm-up: kernels, algorithm search, arenas for each shape
    times: dict[int, list[float]] = {group: [] for group in groups}
    for _ in range(repeats):
        for group in groups:
            started = time.perf_counter()
            one_pass(group)
            times[group].append((time.perf_counter() - started) / len(batch))
    return {group: (statistics.median(times[group]), maps[group]) for group in groups}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="full")
    parser.add_argument("--photos", type=Path, default=SHARED / "people-val" / "images")
    parser.add_argument("--limit", type=int, default=16, help="photos per pass (a multiple of 8)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int)
    args = parser.parse_args()
    batch = photos(args.photos, args.limit)
    entry = onnx_copy(find_weights(args.model))
    listed = listed_providers()
    devices = [None] + [a.device for a in ACCELERATORS.values() if a.provider in listed]
    print(f"{args.model}: {len(batch)} photos from {args.photos}, {args.repeats} repeats (median), ONNX Runtime "
          f"lists {', '.join(listed)}\n")
    print("| provider | photos per call | ms per photo | photos/s | × CPU, 1 per call | worst photo mean |Δα| vs CPU |")
    print("|---|---|---|---|---|---|")
    reference_seconds: float | None = None
    reference_maps: np.ndarray | None = None
    for device in devices:
        label = "CPU" if device is None else ACCELERATORS[device].label
        try:
            engine = OnnxSegmenter(entry, args.threads, accelerator=device)
        except AcceleratorUnavailable as exc:
            print(f"| {label} | – | not usable here: {exc.reason} | | | |", flush=True)
            continue
        if engine.max_batch == 1:
            groups: tuple[int, ...] = (1,)
        else:
            groups = GROUPS
        for group, (seconds, maps) in timed(engine, batch, groups, args.repeats).items():
            if reference_seconds is None:
                reference_seconds, reference_maps = seconds, maps
            assert reference_maps is not None
            worst = float(np.abs(maps - reference_maps).mean(axis=(1, 2)).max()) * 255
            print(f"| {label} | {group} | {seconds * 1000:.0f} | {1 / seconds:.2f} | {reference_seconds / seconds:.2f}× "
                  f"| {worst:.3f}/255 |", flush=True)


if __name__ == "__main__":
    main()
