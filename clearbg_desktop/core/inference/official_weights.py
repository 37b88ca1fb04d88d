"""Official U²-Net checkpoints -> our :class:`U2Net`: the authors' ``.pth`` files and rembg's ``.onnx`` files.

Why it is exact: our module names follow the authors' code, so their ``.pth`` state dicts load as they
are. rembg's ONNX exports fold each BatchNorm into the Conv before it; walking the ONNX Conv nodes in
file order (topological, i.e. execution order) and our Conv modules in the order a forward pass calls
them pairs them one to one, and each BatchNorm becomes the identity (weight 1, bias 0, mean 0,
var 1 − eps). An export that kept its BatchNormalization nodes gets their real statistics instead.
The variant ("full" or "small") is told from the tensor shapes, never from the file name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clearbg_desktop.core.inference.onnx_reader import OnnxFormatError, OnnxGraph, read_onnx_graph

if TYPE_CHECKING:  # torch is imported where a conversion needs it: the standalone app lists models without it
    import torch
    from torch import nn

    from clearbg_desktop.core.inference.model import U2Net

AUTHORS_LICENCE = "Apache-2.0 (U²-Net, Qin et al. 2020, github.com/xuebinqin/U-2-Net)"


class ConversionError(ValueError):
    """The file is not a U²-Net checkpoint we can convert; the message names the file and the reason."""


@dataclass(frozen=True)
class OfficialModel:
    """A published model file: where rembg serves it, its pinned hash and what we know of it."""

    name: str
    file_name: str
    url: str
    md5: str  # rembg's pin ("" where rembg pins SHA-256 only)
    description: str
    sha256: str = ""  # where we, or rembg, have verified the file
    family: str = "u2net"
    licence: str = AUTHORS_LICENCE
    source: str = "github.com/xuebinqin/U-2-Net"
    accept_licence: bool = False  # non-commercial: the user accepts its licence before it is added


REMBG_RELEASE = "https://github.com/danielgatis/rembg/releases/download/v0.0.0"
_ISNET_LICENCE = "Apache-2.0 (DIS / IS-Net, Qin et al. 2022, github.com/xuebinqin/DIS)"
_ANIME_LICENCE = "Apache-2.0 (anime-segmentation, SkyTNT, github.com/SkyTNT/anime-segmentation)"
_BIREFNET_LICENCE = "MIT (BiRefNet, Zheng et al. 2024, github.com/ZhengPeng7/BiRefNet)"
_BRIA_LICENCE = "CC BY-NC 4.0: non-commercial use only (BRIA RMBG 2.0, huggingface.co/briaai/RMBG-2.0)"


def _rembg(name: str, md5: str, description: str, family: str = "u2net", sha256: str = "", licence: str = "",
           source: str = "", accept_licence: bool = False) -> OfficialModel:
    return OfficialModel(name, f"{name}.onnx", f"{REMBG_RELEASE}/{name}.onnx", md5, description, sha256, family,
                         licence or AUTHORS_LICENCE, source or "github.com/xuebinqin/U-2-Net", accept_licence)


OFFICIAL_MODELS: dict[str, OfficialModel] = {
    model.name: model
    for model in (
        _rembg("u2netp", "8e83ca70e441ab06c318d82300c84806", "U²-Net-small, general use (4.6 MB)",
               sha256="309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"),
        _rembg("u2net", "60024c5c889badc19c04ad937298a77b", "U²-Net, general use (176 MB, best quality, ~2.5× slower)",
               sha256="8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491"),
        _rembg("u2net_human_seg", "c09ddc2e0104f800e3e1bb4652583d1f", "U²-Net trained for people (176 MB)"),
        _rembg("silueta", "55e59e0d8062d2f5d013f4725ee84782", "U²-Net pruned by rembg's author (43 MB)"),
        _rembg("isnet-general-use", "fc16ebd8b0c10d971d3513d564d01e29", "IS-Net, general use (1024 px, 179 MB)",
               "isnet", licence=_ISNET_LICENCE, source="github.com/xuebinqin/DIS"),
        _rembg("isnet-anime", "6f184e756bb3bd901c8849220a83e38e", "IS-Net for anime characters (1024 px, 176 MB)",
               "isnet", licence=_ANIME_LICENCE, source="github.com/SkyTNT/anime-segmentation"),
        _rembg("BiRefNet-general-epoch_244", "7a35a0141cbbc80de11d9c9a28f52697",
               "BiRefNet, general use (1024 px, 973 MB, slow on a CPU)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-general-bb_swin_v1_tiny-epoch_232", "4fab47adc4ff364be1713e97b7e66334",
               "BiRefNet lite, general use (1024 px, 224 MB)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-portrait-epoch_150", "c3a64a6abf20250d090cd055f12a3b67", "BiRefNet for portraits (1024 px)",
               "birefnet", licence=_BIREFNET_LICENCE, source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-DIS-epoch_590", "2d4d44102b446f33a4ebb2e56c051f2b",
               "BiRefNet for fine detail (DIS, 1024 px)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-HRSOD_DHU-epoch_115", "c017ade5de8a50ff0fd74d790d268dda",
               "BiRefNet for high-resolution photos (1024 px)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-COD-epoch_125", "f6d0d21ca89d287f17e7afe9f5fd3b45",
               "BiRefNet for camouflaged objects (1024 px)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("BiRefNet-massive-TR_DIS5K_TR_TEs-epoch_420", "33e726a2136a3d59eb0fdf613e31e3e9",
               "BiRefNet trained on a massive set (1024 px)", "birefnet", licence=_BIREFNET_LICENCE,
               source="github.com/ZhengPeng7/BiRefNet"),
        _rembg("bria-rmbg-2.0", "", "BRIA RMBG 2.0 (1024 px, non-commercial licence)", "bria",
               sha256="5b486f08200f513f460da46dd701db5fbb47d79b4be4b708a19444bcd4e79958", licence=_BRIA_LICENCE,
               source="huggingface.co/briaai/RMBG-2.0", accept_licence=True),
    )
}
REMBG_FILE_NAMES = {model.file_name for model in OFFICIAL_MODELS.values()}


def identify_official(md5: str, sha256: str = "") -> OfficialModel | None:
    """The published model a file is, by its MD5 (the hash rembg pins) or SHA-256, or None."""
    return next((m for m in OFFICIAL_MODELS.values()
                 if (m.md5 and m.md5 == md5.lower()) or (m.sha256 and sha256 and m.sha256 == sha256.lower())), None)


def md5_file(path: Path) -> str:
    """The hash rembg pins its files by (identification, not security)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def _conv_order(model: U2Net) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
    """Our Conv modules in the order a forward pass calls them, each with the BatchNorm that follows it."""
    import torch
    from torch import nn

    from clearbg_desktop.core.inference.model import REBNCONV

    called: list[nn.Conv2d] = []
    handles = [m.register_forward_hook(lambda module, _in, _out: called.append(module))
               for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, 64, 64))
    finally:
        for handle in handles:
            handle.remove()
    batch_norm_after: dict[int, nn.BatchNorm2d] = {}
    for module in model.modules():
        if isinstance(module, REBNCONV):
            batch_norm_after[id(module.conv_s1)] = module.bn_s1
    return [(conv, batch_norm_after.get(id(conv))) for conv in called]


@cache
def _conv_shapes(variant: str) -> tuple[tuple[int, ...], ...]:
    from clearbg_desktop.core.inference.model import U2Net

    return tuple(tuple(conv.weight.shape) for conv, _bn in _conv_order(U2Net(variant)))


#: SHA-256 of ``repr`` of each variant's 119 Conv kernel shapes, sorted, so that the standalone app, which has
#: no torch to build the model, checks every convolution of an ONNX file. Sorted because a quantizer may write
#: the same graph in another topological order; the conversion to PyTorch still pairs them in execution order.
#: ``tests/core/inference/test_default_model.py`` recomputes them from ``core.inference.model``.
CONV_SHAPES_SHA256 = {
    "full": "12bc80c08f6d7281ae16827f538fdccf8add3f20cf216d5984724fb7739f2294",
    "small": "909876d7dbe213259ee56d1d82f7ff3b6b038c33166a89446d6bd3f860db1d15",
}


def variant_from_conv_shapes(shapes: list[tuple[int, ...]]) -> str | None:
    """"full" or "small" when the convolutions have exactly U²-Net's shapes, in order; None otherwise."""
    from clearbg_desktop.core.inference.model import VARIANTS

    for variant in VARIANTS:
        if tuple(shapes) == _conv_shapes(variant):
            return variant
    return None


def variant_from_conv_shape_set(shapes: list[tuple[int, ...]]) -> str | None:
    """Like :func:`variant_from_conv_shapes`, in any order, without torch (the shapes' fingerprint)."""
    ordered = tuple(sorted(tuple(int(d) for d in shape) for shape in shapes))
    digest = hashlib.sha256(repr(ordered).encode()).hexdigest()
    return next((variant for variant, known in CONV_SHAPES_SHA256.items() if known == digest), None)


def onnx_variant(graph: OnnxGraph) -> str | None:
    """The U²-Net variant of an ONNX graph, by its Conv weights' shapes (stored, fp16 or quantized)."""
    convs = [node for node in graph.nodes if node.op_type == "Conv"]
    if any(len(n.inputs) < 2 or n.inputs[1] not in graph.tensors for n in convs):
        return None
    return variant_from_conv_shape_set([tuple(graph.tensors[n.inputs[1]].shape) for n in convs])


def compact_storage(graph: OnnxGraph) -> str | None:
    """"int8" (quantized) or "fp16" when Conv weights are not kept as plain fp32 initialisers — such files are
    worth installing as they are, for ONNX Runtime's speed or size — else None."""
    produced = {out: node.op_type for node in graph.nodes for out in node.outputs}
    kinds = {produced.get(node.inputs[1]) for node in graph.nodes if node.op_type == "Conv" and len(node.inputs) > 1}
    return "int8" if "DequantizeLinear" in kinds else "fp16" if "Cast" in kinds else None


def _set_identity(batch_norm: nn.BatchNorm2d) -> None:
    import torch

    assert batch_norm.running_mean is not None and batch_norm.running_var is not None
    with torch.no_grad():
        batch_norm.weight.fill_(1.0)
        batch_norm.bias.zero_()
        batch_norm.running_mean.zero_()
        batch_norm.running_var.fill_(1.0 - batch_norm.eps)


def model_from_onnx(path: Path) -> U2Net:
    """Our model with the weights of a U²-Net ONNX export (BatchNorm folded or not)."""
    import torch

    from clearbg_desktop.core.inference.model import U2Net

    try:
        graph = read_onnx_graph(path)
    except OnnxFormatError as exc:
        raise ConversionError(f"{path.name}: not a readable ONNX file: {exc}") from None
    convs = [node for node in graph.nodes if node.op_type == "Conv"]
    if not convs:
        raise ConversionError(f"{path.name}: an ONNX file without convolutions, not a U²-Net")
    missing = [n.inputs[1] for n in convs if len(n.inputs) < 2 or n.inputs[1] not in graph.tensors]
    if missing:
        raise ConversionError(f"{path.name}: Conv weights are computed, not stored ({missing[0]}); not a U²-Net export")
    shapes = [tuple(graph.tensors[n.inputs[1]].shape) for n in convs]
    variant = variant_from_conv_shapes(shapes)
    if variant is None:
        raise ConversionError(
            f"{path.name}: not a U²-Net (its {len(convs)} convolutions match neither U²-Net nor U²-Net-small)")
    if any(not node.outputs for node in convs):
        raise ConversionError(f"{path.name}: a convolution without an output; a damaged graph, not a U²-Net export")
    batch_norms = {n.inputs[0]: n for n in graph.nodes if n.op_type == "BatchNormalization" and len(n.inputs) == 5}
    model = U2Net(variant)
    with torch.no_grad():
        for node, (conv, batch_norm) in zip(convs, _conv_order(model), strict=True):
            conv.weight.copy_(torch.from_numpy(np.array(graph.tensors[node.inputs[1]], np.float32)))
            bias = graph.tensors.get(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
            if conv.bias is not None:
                if bias is not None:
                    _copy_checked(conv.bias, bias, path, node.inputs[2])
                else:
                    conv.bias.zero_()
            following = batch_norms.get(node.outputs[0])
            if batch_norm is None:
                if following is not None:
                    raise ConversionError(f"{path.name}: a BatchNorm where U²-Net has none; not a U²-Net export")
                continue
            if following is None:
                _set_identity(batch_norm)
                continue
            epsilon = following.attributes.get("epsilon", 1e-5)
            batch_norm.eps = float(epsilon) if isinstance(epsilon, float) else 1e-5
            assert batch_norm.running_mean is not None and batch_norm.running_var is not None
            targets = [batch_norm.weight, batch_norm.bias, batch_norm.running_mean, batch_norm.running_var]
            for target, name in zip(targets, following.inputs[1:], strict=True):
                if name not in graph.tensors:
                    raise ConversionError(f"{path.name}: BatchNorm parameter {name} is not stored")
                _copy_checked(target, graph.tensors[name], path, name)
    return model.eval()


def _copy_checked(target: torch.Tensor, values: np.ndarray, path: Path, name: str) -> None:
    """A bias or BatchNorm tensor into ours, only when it has our shape (else a clear error, not torch's)."""
    import torch

    if tuple(values.shape) != tuple(target.shape):
        raise ConversionError(f"{path.name}: tensor {name[:60]} has shape {list(values.shape)[:8]}, U²-Net's has "
                              f"{list(target.shape)}; not a U²-Net export")
    target.copy_(torch.from_numpy(np.array(values, np.float32)))


def model_from_state_dict_file(path: Path) -> U2Net:
    """Our model from a ``.pth``/``.pt`` state dict (the authors' files, ours, or a training checkpoint)."""
    import torch

    from clearbg_desktop.core.inference.model import VARIANTS, U2Net, mismatch_summary

    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:4] != b"PK\x03\x04" and head[:1] != b"\x80":  # torch's zip format, or a legacy pickle
        raise ConversionError(f"{path.name}: not a PyTorch file (neither its zip format nor a pickle; damaged or "
                              "another kind of file)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        text = str(exc)
        if "Unsupported global" in text or "weights_only" in text.split("\n")[0] or "GLOBAL" in text:
            reason = "it holds Python objects, not only tensors, and is not loaded for safety"
        else:
            reason = "damaged or truncated"
        raise ConversionError(f"{path.name}: not a readable PyTorch state dict ({reason})") from None
    if isinstance(state, dict):
        state = state.get("ema") or state.get("model") or state.get("state_dict") or state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConversionError(f"{path.name}: holds no tensor state dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    probe = state.get("stage1.rebnconv1.conv_s1.weight")
    if probe is None:
        raise ConversionError(f"{path.name}: not a U²-Net state dict (no stage1.rebnconv1 weights)")
    variant = next((v for v in VARIANTS if VARIANTS[v][0].mid_ch == probe.shape[0]), None)
    if variant is None:
        raise ConversionError(f"{path.name}: a U²-Net of unknown width ({probe.shape[0]} channels in stage 1)")
    model = U2Net(variant)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ConversionError(f"{path.name}: does not match the {variant} U²-Net ({mismatch_summary(exc)})") from None
    return model.eval()


def is_onnx_file(path: Path) -> bool:
    """By content: PyTorch files are zip archives (or start with a pickle); ONNX starts with field 1 (ir_version)."""
    with open(path, "rb") as handle:
        head = handle.read(2)
    return head[:1] == b"\x08"


def convert_checkpoint(path: Path) -> U2Net:
    """Any supported U²-Net file -> our model in eval mode; a clear :class:`ConversionError` otherwise."""
    path = Path(path)
    if path.is_dir():
        raise ConversionError(f"{path}: a folder, not a weights file")
    if not path.is_file():
        raise ConversionError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ConversionError(f"{path.name}: the file is empty")
    if path.suffix.lower() == ".onnx" or is_onnx_file(path):
        return model_from_onnx(path)
    return model_from_state_dict_file(path)
