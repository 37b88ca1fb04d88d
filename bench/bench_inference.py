"""Inference engines for U²-Net-small and full on the CPU, 1 and 2 threads.

PyTorch eager fp32, channels_last, torch.compile (if it works here) and ONNX Runtime (if
installed; exported with torch.onnx.export), each the median of repeated runs after warm-up,
with FLOPs (torch.utils.flop_counter) and achieved GFLOP/s against this machine's matmul GFLOP/s.
Reference for ratios: eager fp32 with the same thread count.

    .venv/bin/python bench/bench_inference.py [--size 320] [--repeats 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import measure, table  # noqa: E402
from clearbg_desktop.core.inference.model import FusedProbability, build_model  # noqa: E402


def matmul_gflops(threads: int) -> float:
    torch.set_num_threads(threads)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    median, _ = measure(lambda: a @ b, repeats=10, warmup=3)
    return 2 * 1024**3 / median / 1e9


def count_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x)
    return float(counter.get_total_flops())


def onnx_session(model: torch.nn.Module, x: torch.Tensor, threads: int):  # type: ignore[no-untyped-def]
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    path = Path(tempfile.mkdtemp()) / "model.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, str(path), input_names=["input"], output_names=["alpha"], opset_version=17,
                          dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--variants", default="small,full")
    parser.add_argument("--no-compile", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(1, 3, args.size, args.size)
    rows = []
    machine = {t: matmul_gflops(t) for t in (1, 2)}
    for variant in args.variants.split(","):
        model = FusedProbability(build_model(variant).eval())
        flops = count_flops(model, x)
        with torch.inference_mode():
            reference_output = model(x).numpy()
        for threads in (1, 2):
            torch.set_num_threads(threads)
            engines: dict[str, object] = {}
            with torch.inference_mode():
                engines["eager fp32"] = lambda: model(x)
                cl_model = FusedProbability(build_model(variant).eval())
                cl_model.load_state_dict(model.state_dict())
                cl_model = cl_model.to(memory_format=torch.channels_last)
                x_cl = x.contiguous(memory_format=torch.channels_last)
                engines["channels_last"] = lambda: cl_model(x_cl)
            if not args.no_compile:
                try:
                    compiled = torch.compile(model)
                    with torch.inference_mode():
                        compiled(x)
                    engines["torch.compile"] = lambda: compiled(x)
                except Exception as exc:  # noqa: BLE001
                    print(f"torch.compile unavailable: {type(exc).__name__}: {str(exc)[:120]}")
            session = onnx_session(model, x, threads)
            if session is not None:
                feed = {"input": x.numpy()}
                diff = float(np.abs(session.run(None, feed)[0] - reference_output).max())
                engines[f"onnxruntime (max |Δ| {diff:.1e})"] = lambda: session.run(None, feed)
            reference = None
            for name, fn in engines.items():
                def call(fn=fn):  # type: ignore[no-untyped-def]
                    with torch.inference_mode():
                        return fn()  # type: ignore[operator]
                timing = measure(call, repeats=args.repeats)
                reference = reference or timing[0]
                gflops = flops / timing[0] / 1e9
                rows.append([variant, threads, name, f"{timing[0] * 1000:.1f} ± {timing[1] * 1000:.1f}",
                             f"{reference / timing[0]:.2f}×", f"{flops / 1e9:.1f}", f"{gflops:.1f}",
                             f"{gflops / machine[threads]:.0%}"])
    table(["model", "threads", "engine", "ms / image", "speed-up vs eager", "GFLOP", "GFLOP/s",
           "of matmul GFLOP/s"], rows, f"Inference at {args.size}×{args.size} (matmul: "
          + ", ".join(f"{t} thr {g:.0f} GFLOP/s" for t, g in machine.items()) + ")")


if __name__ == "__main__":
    main()
