"""Model families a rembg user already has, each with its own input, normalisation and activation.

Why here and not in rembg's code: ClearBG runs every family through one engine (ONNX Runtime) and one
pipeline (resize, normalise, model, activation, per-image stretch, upsample), so a family is only data —
exactly what rembg's sessions define:

| family | input | normalisation (RGB in 0–1) | output |
|---|---|---|---|
| U²-Net (u2net, u2netp, u2net_human_seg, silueta; ours) | 320 | ImageNet mean/std | first output, stretched |
| IS-Net (isnet-general-use, isnet-anime) | 1024 | mean 0.5, std 1.0 | first output, stretched |
| BiRefNet (every BiRefNet file) | 1024 | ImageNet mean/std | sigmoid of the first output, stretched |
| BRIA RMBG 2.0 (a BiRefNet ending in its sigmoid) | 1024 | ImageNet mean/std | first output, stretched |

The family is told from the graph (input size, output count, whether the first output is already a sigmoid),
never from the file name alone; an unknown graph is refused with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearbg_desktop.core.inference.model_io import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class ModelFamily:
    name: str
    label: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    sigmoid: bool  # the first output is a logit map: apply a sigmoid before the stretch
    # None: U²-Net's, per architecture (model_io.input_resize_for, chosen by ``python -m training validate`` on two
    # sets). A family nobody could measure here keeps the resize it had: a default changes only where measured (#45).
    input_resize: str | None = None

    def normalise(self, batch: np.ndarray) -> np.ndarray:
        """uint8 NHWC RGB at the model's size -> float32 NCHW as this family was trained."""
        mean = np.asarray(self.mean, np.float32).reshape(1, 3, 1, 1)
        std = np.asarray(self.std, np.float32).reshape(1, 3, 1, 1)
        return (batch.transpose(0, 3, 1, 2).astype(np.float32) / 255.0 - mean) / std

    def activate(self, first_output: np.ndarray) -> np.ndarray:
        """The model's first output (N, 1, S, S) -> foreground probability before the stretch, float32 (N, S, S)."""
        values = np.asarray(first_output, np.float32)[:, 0]
        if self.sigmoid:
            values = (1.0 / (1.0 + np.exp(-np.clip(values, -60.0, 60.0)))).astype(np.float32)
        return values


U2NET = ModelFamily("u2net", "U²-Net", 320, IMAGENET_MEAN, IMAGENET_STD, sigmoid=False)
UNMEASURED_RESIZE = "bilinear-gap3"  # no IS-Net, BiRefNet or BRIA weights on the machine that chose the default
ISNET = ModelFamily("isnet", "IS-Net", 1024, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0), sigmoid=False,
                    input_resize=UNMEASURED_RESIZE)
BIREFNET = ModelFamily("birefnet", "BiRefNet", 1024, IMAGENET_MEAN, IMAGENET_STD, sigmoid=True,
                       input_resize=UNMEASURED_RESIZE)
BRIA = ModelFamily("bria", "BRIA RMBG 2.0", 1024, IMAGENET_MEAN, IMAGENET_STD, sigmoid=False,
                   input_resize=UNMEASURED_RESIZE)
FAMILIES = {family.name: family for family in (U2NET, ISNET, BIREFNET, BRIA)}

U2NET_OUTPUTS = 7  # the fused map and six side outputs
ISNET_OUTPUTS = 6  # six side outputs, the first the finest


class UnknownFamilyError(ValueError):
    """The graph matches none of the families; the message says what it has."""


def recognise_family(input_size: int | None, output_count: int, ends_in_sigmoid: bool) -> ModelFamily:
    """The family of a graph from what it takes and gives (``input_size`` None: a dynamic size)."""
    if (input_size == 320 and output_count >= 1) or (input_size is None and output_count == U2NET_OUTPUTS):
        return U2NET  # rembg's files give all 7 maps; ClearBG's own exports only the fused one
    if input_size in (1024, None) and output_count == ISNET_OUTPUTS:
        return ISNET
    if input_size in (1024, None) and output_count >= 1 and output_count not in (U2NET_OUTPUTS, ISNET_OUTPUTS):
        return BRIA if ends_in_sigmoid else BIREFNET
    size = "any size" if input_size is None else f"{input_size}×{input_size} px"
    raise UnknownFamilyError(f"a model taking {size} with {output_count} output(s) is none of U²-Net (320 px, 7), "
                             "IS-Net (1024 px, 6) or BiRefNet (1024 px)")
