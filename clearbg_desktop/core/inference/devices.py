"""Which compute devices this machine has, and the one to use.

Kept apart from the model code so that the CLI and the GUI can list the choices without importing
torch at start-up (``clearbg-cli --help`` stays fast); torch is imported when a device is asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def choose_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU; an explicit choice that is unavailable falls back to CPU."""
    import torch

    if preference not in DEVICE_CHOICES:
        raise ValueError(f"unknown device {preference!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if preference in ("auto", "cuda") and cuda:
        return torch.device("cuda")
    if preference in ("auto", "mps") and mps:
        return torch.device("mps")
    return torch.device("cpu")


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a broken or blocked one counts as absent)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def gpu_may_exist() -> bool:
    """Whether this machine could have a CUDA or Apple GPU, told without importing torch (~200 MiB).

    Linux without the NVIDIA driver's device nodes and Intel Macs cannot; elsewhere (Windows, Apple silicon)
    only torch can say, so "maybe".
    """
    import platform
    import sys

    if sys.platform.startswith("linux"):
        return Path("/dev/nvidiactl").exists() or Path("/proc/driver/nvidia").exists()
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return True


def has_torch() -> bool:
    """Whether torch is installed (the standalone app ships without it)."""
    return is_installed("torch")


def preferred_device_type() -> str:
    """What "auto" picks here ("cuda", "mps" or "cpu"); "cpu" where ClearBG runs without torch."""
    return choose_device("auto").type if has_torch() else "cpu"


def device_availability() -> dict[str, str]:
    """Device choice -> "" when this machine has it, else the reason it cannot be used."""
    import platform

    if not has_torch():  # the standalone app: ONNX Runtime, with the GPU providers its wheel carries (#41)
        from clearbg_desktop.core.inference.accelerators import DEVICE_CHOICE, available_accelerators

        gpus = {DEVICE_CHOICE.get(a.device) for a in available_accelerators()}
        reason = "this ClearBG's ONNX Runtime has no {} provider; Automatic tries the GPU providers it has"
        return {"auto": "", "cuda": "" if "cuda" in gpus else reason.format("CUDA"),
                "mps": "" if "mps" in gpus else reason.format("CoreML"), "cpu": ""}
    if not gpu_may_exist():  # said without importing torch (2.4 s the first time Preferences opened)
        mps_reason = "Apple GPUs only exist on Macs" if platform.system() != "Darwin" else \
            "Intel Macs have no Metal GPU that PyTorch can use"
        return {"auto": "", "cuda": "no NVIDIA GPU with a CUDA driver found", "mps": mps_reason, "cpu": ""}
    import torch

    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if mps:
        mps_reason = ""
    elif platform.system() != "Darwin":
        mps_reason = "Apple GPUs only exist on Macs"
    else:
        mps_reason = "this Mac or this PyTorch build has no Metal support"
    cuda_reason = "" if cuda else (
        "no NVIDIA GPU with a CUDA driver found" if torch.version.cuda else "this build of PyTorch has no CUDA support")
    return {"auto": "", "cuda": cuda_reason, "mps": mps_reason, "cpu": ""}


PRECISIONS = ("auto", "fp32", "bf16")


def cpu_has_native_bf16() -> bool:
    """bf16 only pays where the CPU multiplies bf16 natively (AVX512-BF16, AMX); elsewhere it is slower."""
    import torch

    cpu = torch.cpu
    return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                or getattr(cpu, "_is_amx_tile_supported", lambda: False)())


def choose_precision(device: torch.device, preference: str = "auto") -> str:
    """The precision asked for; "auto" is ``CLEARBG_PRECISION`` when set, else fp32 on every device.

    Never bf16 by CPU flags: bf16 runs only where ``core.inference.engine_choice`` found its masks equal to fp32's
    and faster on this machine (on a native-bf16 Xeon it was neither for the small model, issue #27).
    """
    import os

    if preference == "auto":
        preference = os.environ.get("CLEARBG_PRECISION") or "fp32"
    if preference not in PRECISIONS or preference == "auto":
        raise ValueError(f"unknown precision {preference!r}; choose one of {', '.join(PRECISIONS)}")
    return preference
