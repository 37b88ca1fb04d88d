"""Finding, verifying and safely loading model weights.

A weights folder holds ``manifest.json``::

    {"models": {"small": {"file": "u2net_small.pt", "sha256": "...", "variant": "small",
                          "card": "MODEL_CARD.json"}}}

The bundled folder (``resources/weights``) is searched after the user's models folder, so a
user can drop in newer weights. Every file is SHA-256 checked before it is read, and read with
``torch.load(weights_only=True)``: no pickled code is ever executed. An entry's ``format`` is ``torch`` (a
state dict) or ``onnx`` (an ONNX graph, what the standalone app runs with ONNX Runtime, without torch).
``storage: fp16`` keeps the convolution kernels at half precision in the file (the full U²-Net: 88 MB
instead of 176 MB); they are widened to fp32 on load, so compute and masks stay fp32 (bench/RESULTS.md).
Reading manifests does not import torch.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.image_io import write_atomic
from clearbg_desktop.core.paths import bundled_weights_dir, user_models_dir

if TYPE_CHECKING:
    import torch

    from clearbg_desktop.core.inference.model import U2Net

MANIFEST_NAME = "manifest.json"
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 64, 1024  # beyond 1024 px the first photo alone needs tens of GiB
VARIANT_NAMES = ("full", "small", "other")  # core.inference.model.VARIANTS, and "other": an ONNX graph we run, not convert
FAMILY_NAMES = ("u2net", "isnet", "birefnet", "bria")  # core.inference.model_families.FAMILIES
FORMATS = ("torch", "onnx")
STORAGES = ("fp32", "fp16", "int8")  # int8: a quantized ONNX file, run as it is by ONNX Runtime


class WeightsError(Exception):
    """Weights are missing, corrupted or unreadable; the message names the file."""


@dataclass(frozen=True)
class WeightsEntry:
    """One model listed in a manifest."""

    name: str
    path: Path
    sha256: str
    variant: str
    card: dict
    input_size: int = 320  # the square size the model was trained at and expects
    format: str = "torch"  # torch (state dict) | onnx (graph for ONNX Runtime)
    storage: str = "fp32"  # how the file keeps the kernels: fp32 | fp16 (widened to fp32 on load)
    family: str = "u2net"  # whose pre- and post-processing it needs (core.inference.model_families)

    @property
    def onnx_only(self) -> bool:
        """Only ONNX Runtime runs it: a quantized graph, another family, or a U²-Net of no shape we know."""
        return self.format == "onnx" and (self.storage == "int8" or self.family != "u2net" or self.variant == "other")

    @property
    def short_hash(self) -> str:
        return self.sha256[:12]


def read_weights_manifest(folder: Path) -> dict[str, WeightsEntry]:
    """Entries of ``folder/manifest.json``; an absent manifest is an empty folder."""
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.exists():
        return {}
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        entries = {}
        for name, item in manifest["models"].items():
            card: dict = {}
            if item.get("card") and (folder / item["card"]).is_file():
                card = json.loads((folder / item["card"]).read_text(encoding="utf-8"))
            variant = item.get("variant", name)
            if variant not in VARIANT_NAMES:
                raise ValueError(f"model {name!r} has unknown variant {variant!r} (known: {', '.join(VARIANT_NAMES)})")
            weights_format = item.get("format", "torch")
            if weights_format not in FORMATS:
                raise ValueError(f"model {name!r} has unknown format {weights_format!r} (known: {', '.join(FORMATS)})")
            family = item.get("family", "u2net")
            if family not in FAMILY_NAMES:
                raise ValueError(f"model {name!r} has unknown family {family!r} (known: {', '.join(FAMILY_NAMES)})")
            if variant == "other" and item.get("format", "torch") != "onnx":
                raise ValueError(f"model {name!r}: only an ONNX model can be of another shape than U²-Net's")
            storage = item.get("storage", "fp32")
            if storage not in STORAGES:
                raise ValueError(f"model {name!r} has unknown storage {storage!r} (known: {', '.join(STORAGES)})")
            input_size = int(item.get("input_size", 320))
            if not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
                raise ValueError(f"model {name!r} has input_size {input_size}, "
                                 f"outside {MIN_INPUT_SIZE}-{MAX_INPUT_SIZE}")
            entries[name] = WeightsEntry(
                name=name,
                path=folder / item["file"],
                sha256=item["sha256"].lower(),
                variant=variant,
                card=card,
                input_size=input_size,
                format=weights_format,
                storage=storage,
                family=family,
            )
        return entries
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WeightsError(f"{manifest_path}: unreadable weights manifest ({exc})") from None


def search_folders() -> list[Path]:
    return [user_models_dir(), bundled_weights_dir()]


def available_models(folders: list[Path] | None = None) -> dict[str, WeightsEntry]:
    """Model name -> entry, the first folder listing a name wins (user before bundled).

    A broken manifest in one folder is skipped with a warning, so a damaged user folder never
    hides the good bundled model; only when no folder can be read at all is it an error.
    """
    found: dict[str, WeightsEntry] = {}
    errors: list[WeightsError] = []
    for folder in folders if folders is not None else search_folders():
        try:
            entries = read_weights_manifest(folder)
        except WeightsError as exc:
            errors.append(exc)
            continue
        for name, entry in entries.items():
            found.setdefault(name, entry)
    if not found and errors:
        raise errors[0]  # said once, as the error; a warning as well would say it twice
    for skipped in errors:
        warnings.warn(f"skipped: {skipped}", stacklevel=2)
    return found


def find_weights(name: str = "small", folders: list[Path] | None = None) -> WeightsEntry:
    models = available_models(folders)
    if name not in models:
        searched = ", ".join(str(f) for f in (folders if folders is not None else search_folders()))
        listed = ", ".join(sorted(models)) or "none"
        raise WeightsError(
            f"no weights for the {name!r} model (available: {listed}); searched {searched}"
        )
    return models[name]


def verify_file(entry: WeightsEntry) -> None:
    """The file exists and its SHA-256 is the manifest's; else a ``WeightsError`` naming it."""
    if not entry.path.exists():
        raise WeightsError(f"weights file missing: {entry.path}")
    if not entry.path.is_file():
        raise WeightsError(f"weights file {entry.path} is not a file (a folder?); reinstall ClearBG or remove it")
    try:
        actual = sha256_file(entry.path)
    except OSError as exc:
        raise WeightsError(f"weights file unreadable: {entry.path} ({exc.strerror or exc})") from None
    if actual != entry.sha256:
        raise WeightsError(
            f"weights file corrupted: {entry.path} has SHA-256 {actual[:12]}…, "
            f"the manifest expects {entry.sha256[:12]}…; reinstall ClearBG or remove the file"
        )


def load_state_dict(entry: WeightsEntry) -> dict[str, torch.Tensor]:
    """Verify the hash, then load tensors only."""
    import torch

    if entry.format != "torch":
        raise WeightsError(f"{entry.path.name} is an {entry.format} model, not a PyTorch state dict")
    verify_file(entry)
    try:
        state = torch.load(entry.path, map_location="cpu", weights_only=True)
    except Exception:  # torch raises many types for a bad file; its advice (weights_only=False) is unsafe
        raise WeightsError(f"weights file unreadable: {entry.path} is not a tensors-only PyTorch file") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {entry.path} does not hold a state dict")
    return state


def load_model(entry: WeightsEntry) -> U2Net:
    """A ready-to-use model in eval mode, on the CPU (an ONNX entry is converted exactly)."""
    from clearbg_desktop.core.inference.model import U2Net, mismatch_summary

    if entry.format == "onnx":
        from clearbg_desktop.core.inference.official_weights import ConversionError, model_from_onnx

        verify_file(entry)
        try:
            return model_from_onnx(entry.path).eval()
        except ConversionError as exc:
            raise WeightsError(f"weights file {entry.path}: {exc}") from None
    model = U2Net(entry.variant)
    try:
        model.load_state_dict(load_state_dict(entry))  # copy_ widens fp16-stored kernels to the model's fp32
    except RuntimeError as exc:
        raise WeightsError(
            f"weights file {entry.path} does not match the {entry.variant!r} U²-Net ({mismatch_summary(exc)})"
        ) from None
    return model.eval()


def write_weights_folder(
    model: U2Net,
    folder: Path,
    name: str,
    card: dict | None = None,
    file_name: str | None = None,
    input_size: int = 320,
    manifest_extra: dict | None = None,
    storage: str = "fp32",
) -> WeightsEntry:
    """Save ``model`` into ``folder`` and add it to the manifest (export, model import, tests).

    ``storage="fp16"`` halves the file: convolution kernels (4-D) go in at half precision, the small
    tensors (biases, BatchNorm statistics) stay fp32. The bytes are deterministic for the same weights
    and torch version, which is what lets ``training`` reproduce a bundled file byte for byte.
    """
    import torch

    if storage not in STORAGES:
        raise WeightsError(f"unknown storage {storage!r} (known: {', '.join(STORAGES)})")
    buffer = io.BytesIO()
    torch.save({k: stored_tensor(v, storage) for k, v in model.state_dict().items()}, buffer)
    item = {"variant": model.variant, "input_size": input_size, **(manifest_extra or {})}
    if storage != "fp32":
        item["storage"] = storage
    return write_weights_file(buffer.getvalue(), folder, name, file_name or f"u2net_{name}.pt", item, card)


def stored_tensor(tensor: torch.Tensor, storage: str) -> torch.Tensor:
    """A state-dict tensor as the file keeps it: kernels at half precision for fp16 storage."""
    import torch

    tensor = tensor.detach().cpu()
    if storage == "fp16" and tensor.ndim == 4 and tensor.dtype == torch.float32:
        tensor = tensor.half()
    return tensor.contiguous()


def install_weights_copy(source: Path, folder: Path, name: str, file_name: str, item: dict,
                         card: dict | None = None) -> WeightsEntry:
    """Like :func:`write_weights_file` for a file installed unchanged: copied in chunks, never held in memory."""
    import os
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{file_name[:64]}.{os.getpid()}.part"
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, folder / file_name)
    finally:
        partial.unlink(missing_ok=True)
    return _add_to_manifest(folder, name, file_name, item, card)


def write_weights_file(data: bytes, folder: Path, name: str, file_name: str, item: dict,
                       card: dict | None = None) -> WeightsEntry:
    """Write a weights file (``.pt`` or ``.onnx``), its card, then its manifest entry (``item`` plus file and hash).

    Every file goes through a temporary file and a rename, the manifest last, so an interrupted
    write leaves the folder as it was or complete, never listing a half-written file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(data, folder / file_name, overwrite=True)
    return _add_to_manifest(folder, name, file_name, item, card)


def _add_to_manifest(folder: Path, name: str, file_name: str, item: dict, card: dict | None) -> WeightsEntry:
    """The card, then the manifest entry (hash of the file now in place) — the manifest last."""
    manifest = _manifest_json(folder)
    item = {"file": file_name, "sha256": sha256_file(folder / file_name), **item}
    if card is not None:
        card_name = f"{Path(file_name).stem}.card.json"
        write_atomic((json.dumps(card, indent=2) + "\n").encode(), folder / card_name, overwrite=True)
        item["card"] = card_name
    manifest["models"][name] = item
    _write_manifest_json(folder, manifest)
    return read_weights_manifest(folder)[name]


def remove_weights_entry(folder: Path, name: str) -> None:
    """Take ``name`` out of ``folder``'s manifest, then delete its weights and card files."""
    manifest = _manifest_json(folder)
    item = manifest["models"].pop(name, None)
    if not isinstance(item, dict):
        raise WeightsError(f"no model named {name!r} in {folder}")
    _write_manifest_json(folder, manifest)
    for file_name in (item.get("file"), item.get("card")):
        if file_name:
            (folder / file_name).unlink(missing_ok=True)


def _manifest_json(folder: Path) -> dict:
    """The manifest as JSON to edit; an absent or unreadable one starts empty (its entries were unusable)."""
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"models": {}}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("models"), dict):
        return {"models": {}}
    return manifest


def _write_manifest_json(folder: Path, manifest: dict) -> None:
    write_atomic((json.dumps(manifest, indent=2) + "\n").encode(), folder / MANIFEST_NAME, overwrite=True)
