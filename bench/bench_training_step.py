"""One training step (forward + deep-supervision loss + backward + Adam) of U²-Net-small on CPU.

Why: on a CPU the bundled weights' quality is bounded by images seen per hour, so the
training precision/layout is chosen by this table. Reference: fp32, default layout, in the
same process. bf16 rows only where the CPU multiplies bf16 natively (AVX512-BF16 / AMX).

    .venv/bin/python bench/bench_training_step.py [--threads 2] [--crop 176] [--batch 8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("small").train()
    criterion = DeepSupervisionLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images = torch.randn(args.batch, 3, args.crop, args.crop)
    masks = torch.rand(args.batch, 1, args.crop, args.crop)

    variants = [("fp32, default layout (reference)", False, False), ("fp32, channels_last", False, True)]
    if cpu_has_native_bf16():
        variants += [("bf16 autocast, default layout", True, False), ("bf16 autocast, channels_last (default)", True, True)]

    rows, reference = [], None
    for label, bf16, channels_last in variants:
        layout = torch.channels_last if channels_last else torch.contiguous_format
        model.to(memory_format=layout)  # type: ignore[call-overload]
        batch = images.contiguous(memory_format=layout)

        def step(bf16: bool = bf16, batch: torch.Tensor = batch) -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                logits = model(batch)
            loss = criterion(logits, masks)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        median, spread = measure(step, repeats=args.repeats, warmup=2)
        reference = reference or median
        rows.append([label, f"{median * 1000:.0f} ± {spread * 1000:.0f} ms", f"{args.batch / median:.2f}",
                     f"{reference / median:.2f}×"])
    table(["training step", "time per step", "images/s", "speed-up vs reference"], rows,
          f"U²-Net-small, batch {args.batch}, crop {args.crop}, {args.threads} threads, "
          f"native bf16: {cpu_has_native_bf16()}")


if __name__ == "__main__":
    main()
