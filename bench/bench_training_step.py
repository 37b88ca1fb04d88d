"""One training step (forward + deep-supervision loss + backward + Adam) of U²-Net-small, CPU or CUDA.

Why: the bundled weights' quality is bounded by images seen per hour of the compute a session gets, so the
training precision/layout is chosen by this table. Reference: fp32, default layout, in the same process.
On a CPU, bf16 rows only where it multiplies bf16 natively (AVX512-BF16 / AMX).

    .venv/bin/python bench/bench_training_step.py [--device cpu|cuda] [--threads 2] [--crop 176] [--batch 8]
                                                  [--compile] [--profile]

``--compile`` adds the default step with the model under ``torch.compile`` (its one-off compile time
is printed apart): a faster step would be worth the minutes it costs a long run. ``--profile`` prints the
operators that took the most time in a few default steps (session 6 trained at only ~300 images/s on an
H200 and had no device time left to find out why: one short call with this flag answers it).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import measure, table  # noqa: E402
from clearbg_desktop.core.inference.model import build_model  # noqa: E402
from training.engine import autocast_dtype  # noqa: E402
from training.losses import DeepSupervisionLoss  # noqa: E402
from training.train import cpu_has_native_bf16  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crop", type=int, default=176)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="add the default step under torch.compile")
    parser.add_argument("--profile", action="store_true", help="print the costliest operators of the default step")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.backends.cudnn.benchmark = True  # as training does
    model = build_model("small").train().to(device)
    criterion = DeepSupervisionLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(args.batch, 3, args.crop, args.crop, device=device)
    masks = torch.rand(args.batch, 1, args.crop, args.crop, device=device)

    bf16_native = autocast_dtype(device) == torch.bfloat16 if on_cuda else cpu_has_native_bf16()
    variants = [("fp32, default layout (reference)", False, False, False), ("fp32, channels_last", False, True, False)]
    if bf16_native:
        variants += [("bf16 autocast, default layout", True, False, False),
                     ("bf16 autocast, channels_last (default)", True, True, False)]
    if args.compile:
        variants.append(("default + torch.compile", bf16_native, True, True))
    default_step: Callable[[], None] | None = None

    rows: list[list[object]] = []
    reference = None
    for label, bf16, channels_last, compiled in variants:
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model.to(memory_format=layout)  # type: ignore[call-overload]
        batch = images.contiguous(memory_format=layout)
        forward = torch.compile(model) if compiled else model

        def step(bf16: bool = bf16, batch: torch.Tensor = batch, forward: Callable[..., Any] = forward) -> None:
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = forward(batch)
            loss = criterion(logits, masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if on_cuda:
                torch.cuda.synchronize()  # time the GPU's work, not the launches

        if (bf16, channels_last, compiled) == (bf16_native, True, False):
            default_step = step

        if compiled:
            started = time.perf_counter()
            step()  # the first call compiles forward and backward
            print(f"torch.compile: first step {time.perf_counter() - started:.0f} s", flush=True)
        median, spread = measure(step, repeats=args.repeats, warmup=2)
        reference = reference or median
        rows.append([label, f"{median * 1000:.0f} ± {spread * 1000:.0f} ms", f"{args.batch / median:.2f}",
                     f"{reference / median:.2f}×"])
    where = torch.cuda.get_device_name(device) if on_cuda else f"{args.threads} threads"
    table(["training step", "time per step", "images/s", "speed-up vs reference"], rows,
          f"U²-Net-small, batch {args.batch}, crop {args.crop}, {where}, native bf16: {bf16_native}")
    if args.profile and default_step is not None:  # every variant list ends in channels_last, the default's layout
        profile(default_step, on_cuda)


def profile(step: Callable[[], None], on_cuda: bool, steps: int = 3) -> None:
    """The operators that cost the most over a few steps (self time, so each is counted once)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    with torch_profile(activities=activities) as recorded:
        for _ in range(steps):
            step()
    sort_by = "self_cuda_time_total" if on_cuda else "self_cpu_time_total"
    print(f"\n### costliest operators over {steps} default steps (sorted by {sort_by})\n")
    print(recorded.key_averages().table(sort_by=sort_by, row_limit=20), flush=True)


if __name__ == "__main__":
    main()
