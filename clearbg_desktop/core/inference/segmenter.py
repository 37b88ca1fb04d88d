"""Photo -> full-resolution alpha with PyTorch (CUDA, MPS or CPU). The steps around the model are in
``core.inference.model_io`` (shared with the ONNX Runtime engine); training and evaluation call :func:`resize_for_model`
and :func:`normalise` from here, so what is measured is what ships.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image

from clearbg_desktop.core.inference.devices import DEVICE_CHOICES, choose_device, choose_precision, device_availability
from clearbg_desktop.core.inference.model import U2Net
from clearbg_desktop.core.inference.model_io import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MODEL_INPUT_SIZE,
    average_flips,
    checked_maps,
    default_cpu_threads,
    input_resize_for,
    model_input,
    resize_for_model,
    stretch_to_full_range,
    upsample_alpha,
)
from clearbg_desktop.core.inference.weights import WeightsEntry, find_weights, load_model

__all__ = ["DEVICE_CHOICES", "IMAGENET_MEAN", "IMAGENET_STD", "MODEL_INPUT_SIZE", "Segmenter", "choose_device",
           "default_cpu_threads", "device_availability", "normalise", "resize_for_model", "stretch_to_full_range",
           "upsample_alpha"]


def normalise(batch: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 NHWC (or HWC) RGB -> float NCHW with ImageNet mean/std."""
    tensor = torch.as_tensor(batch)
    if tensor.ndim == 3:
        tensor = tensor.unsqueeze(0)
    tensor = tensor.permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(IMAGENET_MEAN, dtype=tensor.dtype, device=tensor.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=tensor.dtype, device=tensor.device).view(1, 3, 1, 1)
    return tensor.sub_(mean).div_(std)


class Segmenter:
    """A loaded model on a device: call :meth:`predict_alpha` for each photo.

    Load once and reuse; the model and thread settings are fixed for the object's lifetime. ``input_resize``
    (None: the default) and ``flip_average`` (mirrored copy averaged in, "best quality+", twice the model time)
    may be set on the object: the harness (``python -m training validate``) and opt-in callers do.
    """

    engine = "torch"
    choice_reason = ""
    untimed = False
    model_entry: WeightsEntry | None = None
    input_resize: str | None = None
    flip_average = False

    def __init__(
        self,
        model: U2Net,
        device: str = "auto",
        threads: int | None = None,
        input_size: int = MODEL_INPUT_SIZE,
        weights: WeightsEntry | None = None,
        channels_last: bool = True,
        precision: str = "auto",
    ) -> None:
        self.device = choose_device(device)
        self.precision = choose_precision(self.device, precision)
        self.input_size = input_size
        self.weights = weights
        if self.device.type == "cpu":
            torch.set_num_threads(threads or default_cpu_threads())
        # channels_last measured 1.7-1.8x faster than the default layout on CPU, same masks (bench/RESULTS.md)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.eval().to(self.device).to(memory_format=self.memory_format)  # type: ignore[call-overload]

    @classmethod
    def from_weights(
        cls, model_name: str = "small", device: str = "auto", threads: int | None = None, precision: str = "auto"
    ) -> Segmenter:
        """Find, verify and load the named model (raises ``WeightsError`` with a clear message)."""
        entry = find_weights(model_name)
        return cls(load_model(entry), device=device, threads=threads, input_size=entry.input_size, weights=entry,
                   precision=precision)

    @property
    def description(self) -> str:
        name = self.weights.name if self.weights else self.model.variant
        return f"U²-Net {name} on {self.device.type.upper()} ({self.precision})"

    @property
    def resolved_input_resize(self) -> str:
        """The resize this engine feeds the model with: its own ``input_resize``, else its architecture's."""
        return self.input_resize or input_resize_for(self.model.variant)

    @property
    def architecture(self) -> tuple[str, str]:
        return "u2net", self.model.variant

    def accepts_side(self, side: int) -> bool:
        """A convolutional network in PyTorch runs at any side."""
        return side >= 32

    def predict_probabilities(self, rgbs: Sequence[Image.Image], side: int | None = None,
                              flip_average: bool | None = None) -> np.ndarray:
        """Foreground probability at model resolution, float32 (N, S, S), checked (shape, NaN), stretched per
        image. ``side`` (None: the model's input size) and ``flip_average`` (None: the engine's) for one call: the
        object box's view (``core.inference.box_prompt``)."""
        side = side or self.input_size
        flip = self.flip_average if flip_average is None else flip_average
        batch = model_input(rgbs, side, self.resolved_input_resize, flip)
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
        with torch.inference_mode(), autocast:
            tensor = normalise(batch).to(self.device).contiguous(memory_format=self.memory_format)
            maps = self.model.predict(tensor).float().cpu().numpy()
        name = self.weights.name if self.weights else self.model.variant
        probability = average_flips(checked_maps(maps, len(batch), side, name)[:, 0], flip)
        return np.stack([stretch_to_full_range(p) for p in probability])

    def predict_alphas(self, rgbs: Sequence[Image.Image]) -> list[Image.Image]:
        """Full-resolution 8-bit alphas, one per photo (photos may differ in size)."""
        probabilities = self.predict_probabilities(rgbs)
        return [upsample_alpha(p, rgb.size) for p, rgb in zip(probabilities, rgbs, strict=True)]

    def predict_alpha(self, rgb: Image.Image) -> Image.Image:
        return self.predict_alphas([rgb])[0]
