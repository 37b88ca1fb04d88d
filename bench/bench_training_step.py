"""One training step (forward + deep-supervision loss + backward + Adam) of U²-Net-small on CPU.

Why: on a CPU the bundled weights' quality is bounded by images seen per hour, so the
training precision/layout is chosen by this table. Reference: fp32, default layout, in the
same process. bf16 rows only where the CPU multiplies bf16 natively (AVX512-BF16 / AMX).

    .venv/bin/python bench/bench_training_step.py [--threads 2] [--crop 176] [--batch 8] [--compile]

``--compile`` adds the default step with the model under ``torch.compile`` (its one-off compile time
is printed apart): a faster step would be worth the minutes it costs a long run.
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
from clearbg_desktop.core.model import build_model  # noqa: E402
from training.losses import DeepSupervisionLoss  # noqa: E402
from training.train import cpu_has_native_bf16  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--crop", type=int, default=176)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compile", action="store_true", help="add the default step under torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("small").train()
    criterion = DeepSupervisionLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(args.batch, 3, args.crop, args.crop)
    masks = torch.rand(args.batch, 1, args.crop, args.crop)

    bf16_native = cpu_has_native_bf16()
    variants = [("fp32, default layout (reference)", False, False, False), ("fp32, channels_last", False, True, False)]
    if bf16_native:
        variants += [("bf16 autocast, default layout", True, False, False),
                     ("bf16 autocast, channels_last (default)", True, True, False)]
    if args.compile:
        variants.append(("default + torch.compile", bf16_native, True, True))

    rows: list[list[object]] = []
    reference = None
    for label, bf16, channels_last, compiled in variants:
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model.to(memory_format=layout)  # type: ignore[call-overload]
        batch = images.contiguous(memory_format=layout)
        forward = torch.compile(model) if compiled else model

        def step(bf16: bool = bf16, batch: torch.Tensor = batch, forward: Callable[..., Any] = forward) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = forward(batch)
            loss = criterion(logits, masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        if compiled:
            started = time.perf_counter()
            step()  # the first call compiles forward and backward
            print(f"torch.compile: first step {time.perf_counter() - started:.0f} s", flush=True)
        median, spread = measure(step, repeats=args.repeats, warmup=2)
        reference = reference or median
        rows.append([label, f"{median * 1000:.0f} ± {spread * 1000:.0f} ms", f"{args.batch / median:.2f}",
                     f"{reference / median:.2f}×"])
    table(["training step", "time per step", "images/s", "speed-up vs reference"], rows,
          f"U²-Net-small, batch {args.batch}, crop {args.crop}, {args.threads} threads, "
          f"native bf16: {bf16_native}")


if __name__ == "__main__":
    main()
