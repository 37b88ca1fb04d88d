"""U²-Net and U²-Net-small (Qin et al. 2020), the one definition shared by the app and training.

Attribute names follow the authors' reference code, so a state dict saved from their
``u2net.pth``/``u2netp.pth`` loads into these modules unchanged. ``forward`` returns logits
(fused first, then the six side outputs) because training applies ``BCEWithLogits``, which
is numerically safe under mixed precision; ``predict`` is the inference path.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


class REBNCONV(nn.Module):
    """3×3 (dilated) convolution, batch norm, ReLU: the building block of every RSU."""

    def __init__(self, in_ch: int, out_ch: int, dirate: int = 1) -> None:
        super().__init__()
        self.conv_s1 = nn.Conv2d(in_ch, out_ch, 3, padding=dirate, dilation=dirate)
        self.bn_s1 = nn.BatchNorm2d(out_ch)
        self.relu_s1 = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu_s1(self.bn_s1(self.conv_s1(x)))


def _upsample_like(src: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.interpolate(src, size=target.shape[2:], mode="bilinear", align_corners=False)


class RSU(nn.Module):
    """Residual U-block of height ``height`` (RSU-7 … RSU-4): a small U-Net inside each stage."""

    def __init__(self, height: int, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.height = height
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch)
        for level in range(1, height - 1):
            setattr(self, f"pool{level}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
            setattr(self, f"rebnconv{level + 1}", REBNCONV(mid_ch, mid_ch))
        setattr(self, f"rebnconv{height}", REBNCONV(mid_ch, mid_ch, dirate=2))
        for level in range(height - 1, 1, -1):
            setattr(self, f"rebnconv{level}d", REBNCONV(mid_ch * 2, mid_ch))
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        encoder = [self.rebnconv1(hxin)]
        for level in range(1, self.height - 1):
            pooled = getattr(self, f"pool{level}")(encoder[-1])
            encoder.append(getattr(self, f"rebnconv{level + 1}")(pooled))
        hx = getattr(self, f"rebnconv{self.height}")(encoder[-1])
        for level in range(self.height - 1, 0, -1):
            skip = encoder[level - 1]
            hx = getattr(self, f"rebnconv{level}d")(torch.cat((hx, skip), 1))
            if level > 1:
                hx = _upsample_like(hx, encoder[level - 2])
        return hx + hxin


class RSU4F(nn.Module):
    """RSU-4F: dilated convolutions instead of pooling, for the low-resolution stages."""

    def __init__(self, in_ch: int, mid_ch: int, out_ch: int) -> None:
        super().__init__()
        self.rebnconvin = REBNCONV(in_ch, out_ch)
        self.rebnconv1 = REBNCONV(out_ch, mid_ch, dirate=1)
        self.rebnconv2 = REBNCONV(mid_ch, mid_ch, dirate=2)
        self.rebnconv3 = REBNCONV(mid_ch, mid_ch, dirate=4)
        self.rebnconv4 = REBNCONV(mid_ch, mid_ch, dirate=8)
        self.rebnconv3d = REBNCONV(mid_ch * 2, mid_ch, dirate=4)
        self.rebnconv2d = REBNCONV(mid_ch * 2, mid_ch, dirate=2)
        self.rebnconv1d = REBNCONV(mid_ch * 2, out_ch, dirate=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hxin = self.rebnconvin(x)
        hx1 = self.rebnconv1(hxin)
        hx2 = self.rebnconv2(hx1)
        hx3 = self.rebnconv3(hx2)
        hx4 = self.rebnconv4(hx3)
        hx3d = self.rebnconv3d(torch.cat((hx4, hx3), 1))
        hx2d = self.rebnconv2d(torch.cat((hx3d, hx2), 1))
        hx1d = self.rebnconv1d(torch.cat((hx2d, hx1), 1))
        return hx1d + hxin


@dataclass(frozen=True)
class StageSpec:
    """(in, mid, out) channels of one stage."""

    in_ch: int
    mid_ch: int
    out_ch: int


# Encoder stages 1..6 then decoder stages 5d..1d, exactly as in the paper's Table/reference code.
_FULL = (
    StageSpec(3, 32, 64), StageSpec(64, 32, 128), StageSpec(128, 64, 256), StageSpec(256, 128, 512),
    StageSpec(512, 256, 512), StageSpec(512, 256, 512),
    StageSpec(1024, 256, 512), StageSpec(1024, 128, 256), StageSpec(512, 64, 128),
    StageSpec(256, 32, 64), StageSpec(128, 16, 64),
)
_SMALL = (
    StageSpec(3, 16, 64), StageSpec(64, 16, 64), StageSpec(64, 16, 64), StageSpec(64, 16, 64),
    StageSpec(64, 16, 64), StageSpec(64, 16, 64),
    StageSpec(128, 16, 64), StageSpec(128, 16, 64), StageSpec(128, 16, 64),
    StageSpec(128, 16, 64), StageSpec(128, 16, 64),
)
VARIANTS: dict[str, tuple[StageSpec, ...]] = {"full": _FULL, "small": _SMALL}

_ENCODER_HEIGHTS = (7, 6, 5, 4, 0, 0)  # 0 marks RSU-4F
_DECODER_HEIGHTS = (0, 4, 5, 6, 7)  # stages 5d, 4d, 3d, 2d, 1d


def _stage(height: int, spec: StageSpec) -> nn.Module:
    if height == 0:
        return RSU4F(spec.in_ch, spec.mid_ch, spec.out_ch)
    return RSU(height, spec.in_ch, spec.mid_ch, spec.out_ch)


class U2Net(nn.Module):
    """U²-Net with deep supervision.

    ``forward`` returns ``(fused, side1, …, side6)`` logits at the input's resolution;
    ``predict`` returns only the fused foreground probability (what the app ships).
    """

    def __init__(self, variant: str = "small", out_ch: int = 1) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown U²-Net variant {variant!r}; choose one of {sorted(VARIANTS)}")
        self.variant = variant
        specs = VARIANTS[variant]
        for index, height in enumerate(_ENCODER_HEIGHTS, start=1):
            setattr(self, f"stage{index}", _stage(height, specs[index - 1]))
            if index < 6:
                setattr(self, f"pool{index}{index + 1}", nn.MaxPool2d(2, stride=2, ceil_mode=True))
        for offset, height in enumerate(_DECODER_HEIGHTS):
            setattr(self, f"stage{5 - offset}d", _stage(height, specs[6 + offset]))
        side_channels = (
            specs[10].out_ch, specs[9].out_ch, specs[8].out_ch, specs[7].out_ch, specs[6].out_ch,
            specs[5].out_ch,
        )
        for index, channels in enumerate(side_channels, start=1):
            setattr(self, f"side{index}", nn.Conv2d(channels, out_ch, 3, padding=1))
        self.outconv = nn.Conv2d(6 * out_ch, out_ch, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        encoder = []
        hx = x
        for index in range(1, 7):
            hx = getattr(self, f"stage{index}")(hx)
            encoder.append(hx)
            if index < 6:
                hx = getattr(self, f"pool{index}{index + 1}")(hx)
        decoder = [encoder[5]]  # hx6 feeds side6 directly
        hx = encoder[5]
        for index in range(5, 0, -1):
            hx = _upsample_like(hx, encoder[index - 1])
            hx = getattr(self, f"stage{index}d")(torch.cat((hx, encoder[index - 1]), 1))
            decoder.append(hx)
        # decoder holds hx6, hx5d, hx4d, hx3d, hx2d, hx1d
        top = decoder[-1]
        sides = []
        for index in range(1, 7):
            side = getattr(self, f"side{index}")(decoder[6 - index])
            sides.append(side if index == 1 else _upsample_like(side, top))
        fused = self.outconv(torch.cat(sides, 1))
        return (fused, *sides)

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Fused foreground probability in [0, 1], shape (N, 1, H, W)."""
        return torch.sigmoid(self.forward(x)[0])


class FusedProbability(nn.Module):
    """Wraps a U2Net so that tracing/exporting (ONNX, torch.compile) sees a single output."""

    def __init__(self, net: U2Net) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)[0])


def build_model(variant: str = "small") -> U2Net:
    """A freshly initialised U²-Net of the given variant ("small" or "full")."""
    return U2Net(variant)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def mismatch_summary(error: RuntimeError) -> str:
    """PyTorch's multi-line key list from ``load_state_dict`` as one short line."""
    import re

    text = str(error)
    missing = re.findall(r'"([^"]+)"', text.split("Missing key(s) in state_dict:")[1].split("Unexpected")[0]) \
        if "Missing key(s)" in text else []
    unexpected = re.findall(r'"([^"]+)"', text.split("Unexpected key(s) in state_dict:")[1].split("size mismatch")[0]) \
        if "Unexpected key(s)" in text else []
    sizes = re.findall(r"size mismatch for ([^:]+):", text)
    parts = [f"{len(missing)} missing tensor(s) (e.g. {missing[0]})" if missing else "",
             f"{len(unexpected)} unexpected (e.g. {unexpected[0]})" if unexpected else "",
             f"{len(sizes)} of another shape (e.g. {sizes[0]})" if sizes else ""]
    return ", ".join(p for p in parts if p) or text.splitlines()[0][:160]
