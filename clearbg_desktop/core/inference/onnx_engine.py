"""Photo -> full-resolution alpha with ONNX Runtime, on the CPU or a GPU provider: the standalone app's engine.

Why: PyTorch is 415 MiB of a 925 MiB bundle, for one small network; ONNX Runtime runs the same graph from a
tenth of that. The standalone app ships the bundled weights as ONNX (exported at build time by
``core.inference.onnx_export``) and no torch; an install with torch keeps the PyTorch engine (CUDA, MPS, bf16).
Masks stay within the engines' quality rule of the fp32 PyTorch ones (``bench/engine_quality.py``). On a GPU
(``core.inference.accelerators``: CUDA, DirectML, CoreML) the session must really run there: ONNX Runtime falls
back to the CPU without a word when a provider cannot load, so that is checked and raised with the reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.model_families import FAMILIES, U2NET
from clearbg_desktop.core.inference.model_io import (
    average_flips,
    checked_maps,
    default_cpu_threads,
    input_resize_for,
    model_input,
    stretch_to_full_range,
    upsample_alpha,
)
from clearbg_desktop.core.inference.weights import WeightsEntry, WeightsError, verify_file

FREE_SIDE_AXES = ("height", "width")  # the names core.inference.onnx_export gives the square's free side

if TYPE_CHECKING:
    from clearbg_desktop.core.inference.accelerators import Accelerator


@dataclass(frozen=True)
class EngineDevice:
    """What callers read of a torch.device (``.type``: cpu, or an accelerator's cuda | dml | coreml), without
    torch."""

    type: str = "cpu"


CpuDevice = EngineDevice  # the name before GPU providers (#41)


class OnnxSegmenter:
    """The same interface as ``core.inference.segmenter.Segmenter``, run by an ONNX Runtime session (its
    ``input_resize`` and ``flip_average`` too)."""

    engine = "onnxruntime"
    choice_reason = ""
    untimed = False
    model_entry: WeightsEntry | None = None
    input_resize: str | None = None
    flip_average = False
    accelerator: Accelerator | None = None  # the GPU provider the session runs on; None: the CPU

    def __init__(self, entry: WeightsEntry, threads: int | None = None, lean_memory: bool = False,
                 accelerator: str | None = None) -> None:
        """``accelerator``: a device of ``core.inference.accelerators.ACCELERATORS`` (None: the CPU);
        ``AcceleratorUnavailable`` when ONNX Runtime cannot run the model there."""
        try:
            import onnxruntime as ort
        except ImportError:
            raise WeightsError("ONNX Runtime is not installed: pip install onnxruntime "
                               "(or install torch for the PyTorch engine)") from None
        if entry.format != "onnx":
            raise WeightsError(f"{entry.path.name} is a PyTorch file; ONNX Runtime runs .onnx models")
        verify_file(entry)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_cpu_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are not the user's business
        # The memory arena makes a full-model run ~15 % faster (378 vs 445 ms) but keeps ~560 MiB of activations
        # for good (bench/RESULTS.md §12): the CLI and batches want the speed, the window (24 MP edits, a whole
        # shoot open) the memory.
        options.enable_cpu_mem_arena = not lean_memory
        providers: list[str | tuple[str, dict[str, str]]] = ["CPUExecutionProvider"]
        gpu = None
        if accelerator is not None:
            from clearbg_desktop.core.inference.accelerators import ACCELERATORS, provider_setting

            gpu = ACCELERATORS[accelerator]
            providers.insert(0, provider_setting(gpu))
            options.enable_mem_pattern = gpu.memory_pattern
            # A GPU provider gets the graph as it was measured (#41): its square side fixed to the model's own.
            for axis in FREE_SIDE_AXES:
                options.add_free_dimension_override_by_name(axis, entry.input_size)
        try:
            with warnings.catch_warnings():  # "not in available provider names": checked and said below
                warnings.simplefilter("ignore")
                if gpu is not None:  # a provider that cannot load is said once, by us, with its reason
                    ort.set_default_logger_severity(4)
                try:
                    self.session = ort.InferenceSession(str(entry.path), options, providers=providers)
                finally:
                    if gpu is not None:
                        ort.set_default_logger_severity(2)  # ONNX Runtime's default: warnings
        except Exception as exc:  # noqa: BLE001 - ORT raises its own types for any bad file
            if gpu is not None:  # the file is fine on the CPU (the reference ran it); the provider is not
                from clearbg_desktop.core.inference.accelerators import AcceleratorUnavailable

                raise AcceleratorUnavailable(gpu.label, " ".join(str(exc).split())[:200]) from None
            raise WeightsError(f"weights file {entry.path.name} is not a model ONNX Runtime can run "
                               f"({str(exc)[:160]})") from None
        if gpu is not None and self.session.get_providers()[0] != gpu.provider:
            from clearbg_desktop.core.inference.accelerators import AcceleratorUnavailable, why_not_loaded

            raise AcceleratorUnavailable(gpu.label, why_not_loaded(gpu))
        self.accelerator = gpu
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise WeightsError(f"weights file {entry.path.name} does not take one NCHW image: not a U²-Net")
        self.input_name = inputs[0].name
        # Our exports leave the square's side free (core.inference.onnx_export.FREE_AXES); an imported file may not.
        self.free_side = all(not isinstance(n, int) for n in inputs[0].shape[2:]) and gpu is None
        self.output_name = self.session.get_outputs()[0].name  # U²-Net's fused map; every family's finest map
        self.family = FAMILIES.get(entry.family, U2NET)
        batch = inputs[0].shape[0]
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.entry = entry
        self.weights: WeightsEntry | None = entry
        self.input_size = entry.input_size
        self.device = EngineDevice(gpu.device if gpu is not None else "cpu")
        self.precision = "fp32"
        self.threads = options.intra_op_num_threads

    @classmethod
    def from_weights(cls, model_name: str = "small", threads: int | None = None) -> OnnxSegmenter:
        from clearbg_desktop.core.inference.weights import find_weights

        return cls(find_weights(model_name), threads)

    @property
    def description(self) -> str:
        where = self.accelerator.label if self.accelerator is not None else "CPU"
        return f"{self.family.label} {self.entry.name} on {where} (ONNX Runtime)"

    def model_input(self, rgbs: Sequence[Image.Image], side: int | None = None,
                    flip_average: bool | None = None) -> np.ndarray:
        """What the graph is fed: each photo resized to the model's square (:attr:`resolved_input_resize`; its
        mirrored copies after them with ``flip_average``), normalised as its family expects."""
        flip = self.flip_average if flip_average is None else flip_average
        return self.family.normalise(model_input(rgbs, side or self.input_size, self.resolved_input_resize, flip))

    @property
    def architecture(self) -> tuple[str, str]:
        return self.family.name, self.entry.variant

    def accepts_side(self, side: int) -> bool:
        """Whether the graph runs at another square side: ours do on the CPU, an imported file with a fixed
        side or a GPU session (fixed to the measured side) does not."""
        return side == self.input_size or (self.free_side and side >= 32)

    @property
    def resolved_input_resize(self) -> str:
        """The engine's own ``input_resize``, else its family's, else its architecture's (U²-Net full or small)."""
        return self.input_resize or self.family.input_resize or input_resize_for(self.entry.variant)

    def predict_probabilities(self, rgbs: Sequence[Image.Image], side: int | None = None,
                              flip_average: bool | None = None) -> np.ndarray:
        """Foreground probability at model resolution, float32 (N, S, S): the output checked (shape, NaN), the
        family's activation, then the per-image stretch. ``side`` (where :meth:`accepts_side`) and
        ``flip_average`` for one call, as the PyTorch engine's."""
        side = side or self.input_size
        if not self.accepts_side(side):
            raise ValueError(f"{self.entry.name} runs at {self.input_size}×{self.input_size} only, not {side}×{side}")
        flip = self.flip_average if flip_average is None else flip_average
        batch = self.model_input(rgbs, side, flip)
        step = self.max_batch or len(batch)
        maps = [checked_maps(self.session.run([self.output_name], {self.input_name: batch[i:i + step]})[0],
                             len(batch[i:i + step]), side, self.entry.name)
                for i in range(0, len(batch), step)]
        probability = average_flips(self.family.activate(np.concatenate(maps)), flip)
        return np.stack([stretch_to_full_range(p) for p in probability])

    def predict_alphas(self, rgbs: Sequence[Image.Image]) -> list[Image.Image]:
        probabilities = self.predict_probabilities(rgbs)
        return [upsample_alpha(p, rgb.size) for p, rgb in zip(probabilities, rgbs, strict=True)]

    def predict_alpha(self, rgb: Image.Image) -> Image.Image:
        return self.predict_alphas([rgb])[0]
