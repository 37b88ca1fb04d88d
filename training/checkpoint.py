"""Checkpoints and every other kind of weights a training stage starts from or scores, read in one place.

A training checkpoint is self-describing (``{model, ema, optimizer, model_config, train_config, ...}``);
``load_weights`` also reads an app weights folder (hash-checked, through the app's own loader), an official
U²-Net file (the authors' ``.pth`` or rembg's ``.onnx``, converted by the app's core) and a plain state dict.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from clearbg_desktop.core.inference.model import U2Net
from clearbg_desktop.core.inference.weights import WeightsEntry


def save_checkpoint(path: Path, state: dict) -> None:
    """Atomic: a checkpoint interrupted mid-write must not replace the last good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    torch.save(state, temp)
    os.replace(temp, path)


def load_checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def model_from_checkpoint(checkpoint: dict) -> U2Net:
    """Rebuild the model from a checkpoint alone (no params needed): the averaged weights when it has them."""
    model = U2Net(checkpoint["model_config"]["variant"])
    model.load_state_dict(checkpoint.get("ema") or checkpoint["model"])
    return model.eval()


def is_official_file(path: Path) -> bool:
    """The authors' ``.pth`` or rembg's ``.onnx``: converted by the app's core, not read as a checkpoint."""
    return Path(path).suffix.lower() in (".onnx", ".pth")


@dataclass(frozen=True)
class LoadedWeights:
    model: U2Net
    input_size: int
    label: str  # how a results table names it
    entry: WeightsEntry | None = None  # set for an app weights folder


def load_weights(path: Path, expected_sha256: str = "") -> LoadedWeights:
    """A model from a weights folder, a training checkpoint, an official file or a plain state dict.

    ``expected_sha256`` pins a file: a different file under the same name is refused, so a run
    that says it starts from the official u2netp cannot silently start from something else.
    """
    from clearbg_desktop.core.inference.official_weights import ConversionError, convert_checkpoint
    from clearbg_desktop.core.inference.weights import find_weights, load_model, sha256_file

    path = Path(path)
    if path.is_dir():
        entry = find_weights("small", [path])
        return LoadedWeights(load_model(entry), entry.input_size, f"ClearBG {entry.name} ({entry.short_hash})", entry)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (docs/training.md says where the official files come from)")
    actual = sha256_file(path) if expected_sha256 else ""
    if actual != expected_sha256.lower():
        raise ValueError(f"{path}: SHA-256 {actual[:12]}… is not the pinned {expected_sha256[:12]}…")
    if is_official_file(path):
        try:
            return LoadedWeights(convert_checkpoint(path), 320, f"{path.name} (converted)")
        except ConversionError as exc:
            raise ValueError(str(exc)) from None
    checkpoint = load_checkpoint(path)
    if "model_config" in checkpoint:
        return LoadedWeights(model_from_checkpoint(checkpoint), int(checkpoint["model_config"]["input_size"]),
                             f"checkpoint {path.name}")
    model = U2Net("small")
    model.load_state_dict(checkpoint)
    return LoadedWeights(model.eval(), 320, f"weights {path.name}")
