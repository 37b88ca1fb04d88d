"""The GPUs ONNX Runtime can run a model on here: its CUDA, DirectML and CoreML execution providers (issue #41).

Why a table of three and not "whatever ONNX Runtime lists": each provider needs its own settings to keep fp32's
arithmetic (CUDA without TF32; CoreML as an ML Program on the CPU and GPU with fp32 accumulation, never the
Neural Engine's fp16), and the user reads its name. Which wheel carries which: ``onnxruntime-gpu`` CUDA (Linux,
Windows; it loads only where the CUDA and cuDNN it was built for are installed: CUDA 13 and cuDNN 9 for 1.31), ``onnxruntime-directml`` DirectML (Windows, any
DirectX 12 GPU), the standard macOS wheel CoreML. An accelerator is only ever a *candidate*: the engine choice
(``core.inference.engine_choice``) times it against ONNX Runtime on the CPU and uses it only where its map of the
sample photo is fp32's and it is faster; one that fails to load, or gives other masks, is reported once with the
reason and the CPU goes on.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Accelerator:
    """One ONNX Runtime execution provider on a GPU, as a candidate's ``device``."""

    device: str  # the candidate's device key: cuda | dml | coreml
    provider: str  # ONNX Runtime's name for it
    label: str  # for people: Preferences, the status bar, the CLI
    package: str  # the wheel that carries it
    options: Mapping[str, str] = field(default_factory=dict)
    # DirectML runs neither with memory patterns nor in parallel execution (its documented limits).
    memory_pattern: bool = True


ACCELERATORS: dict[str, Accelerator] = {
    accelerator.device: accelerator for accelerator in (
        # TF32 rounds convolutions' inputs to 10 mantissa bits: fp32 means fp32 here (the mask check would judge
        # TF32 too, but the candidate's name would no longer say what it runs).
        Accelerator("cuda", "CUDAExecutionProvider", "NVIDIA GPU (CUDA)", "onnxruntime-gpu",
                    {"device_id": "0", "use_tf32": "0"}),
        Accelerator("dml", "DmlExecutionProvider", "GPU (DirectML)", "onnxruntime-directml", {"device_id": "0"},
                    memory_pattern=False),
        # An ML Program keeps fp32 tensors (the older NeuralNetwork format computes in fp16 on the GPU); the
        # Neural Engine computes in fp16 only, so it is left out; and the GPU accumulates in fp32.
        Accelerator("coreml", "CoreMLExecutionProvider", "Apple GPU (CoreML)", "onnxruntime",
                    {"ModelFormat": "MLProgram", "MLComputeUnits": "CPUAndGPU",
                     "AllowLowPrecisionAccumulationOnGPU": "0", "RequireStaticInputShapes": "0"}),
    )
}
#: A candidate's ``device`` -> the settings' device choice it answers to besides "auto" (which takes every one);
#: DirectML runs on any vendor's GPU, so only "auto" takes it.
DEVICE_CHOICE = {"cuda": "cuda", "coreml": "mps"}


class AcceleratorUnavailable(RuntimeError):
    """An execution provider that ONNX Runtime lists but could not use here; the message says why, in one line
    (``reason``: the same without the provider's name)."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}")
        self.reason = reason


def listed_providers() -> list[str]:
    """What this ONNX Runtime build lists (nothing when it is not installed). Listed is not loadable: the CUDA
    provider is listed wherever ``onnxruntime-gpu`` is installed, GPU or not."""
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def available_accelerators(device: str = "auto") -> list[Accelerator]:
    """The accelerators this ONNX Runtime lists, for the device choice ``device`` (auto: all of them)."""
    listed = set(listed_providers())
    return [accelerator for accelerator in ACCELERATORS.values() if accelerator.provider in listed
            and device in ("auto", DEVICE_CHOICE.get(accelerator.device))]


def provider_setting(accelerator: Accelerator) -> tuple[str, dict[str, str]]:
    """The ``providers=[...]`` entry for an ONNX Runtime session."""
    return accelerator.provider, dict(accelerator.options)


def why_not_loaded(accelerator: Accelerator) -> str:
    """Why ONNX Runtime fell back to the CPU: for CUDA the provider library's own loader error (which CUDA or cuDNN
    library is missing), read by loading it as ONNX Runtime would; else a plain sentence."""
    if accelerator.device == "cuda":
        import ctypes
        from pathlib import Path

        try:
            import onnxruntime as ort
        except ImportError:
            return "ONNX Runtime is not installed"
        folder = Path(ort.__file__).parent / "capi"
        name = "onnxruntime_providers_cuda.dll" if sys.platform == "win32" else "libonnxruntime_providers_cuda.so"
        shared = "onnxruntime_providers_shared.dll" if sys.platform == "win32" else "libonnxruntime_providers_shared.so"
        if not (folder / name).is_file():
            return "this ONNX Runtime has no CUDA provider library (install onnxruntime-gpu)"
        try:
            if (folder / shared).is_file():
                ctypes.CDLL(str(folder / shared), mode=getattr(ctypes, "RTLD_GLOBAL", 0))
            ctypes.CDLL(str(folder / name))
        except OSError as exc:
            detail = " ".join(str(exc).split())
            try:
                from onnxruntime.capi import build_and_package_info as built

                needs = f"CUDA {built.cuda_version.split('.')[0]} and cuDNN 9"
            except (ImportError, AttributeError):
                needs = "the CUDA and cuDNN versions this onnxruntime-gpu was built for"
            return f"its CUDA libraries did not load ({detail[:200]}); it needs {needs} and an NVIDIA driver"
        return "ONNX Runtime loaded its CUDA provider but ran on the CPU (no NVIDIA GPU or driver usable here?)"
    return f"ONNX Runtime could not start {accelerator.provider} here and ran on the CPU"
