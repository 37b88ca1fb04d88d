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
Reading manifests does not import torch. A manifest is hostile input: it is read entry by entry, so one bad
entry is named in a warning and skipped while the rest load, and a manifest that cannot be read at all is never
written over (:func:`install_weights` refuses to add to it).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.paths import bundled_weights_dir, read_user_file, user_models_dir

if TYPE_CHECKING:
    import torch

    from clearbg_desktop.core.inference.model import U2Net

MANIFEST_NAME = "manifest.json"
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 64, 1024  # beyond 1024 px the first photo alone needs tens of GiB
VARIANT_NAMES = ("full", "small", "other")  # core.inference.model.VARIANTS, and "other": an ONNX graph we run, not convert
FAMILY_NAMES = ("u2net", "isnet", "birefnet", "bria")  # core.inference.model_families.FAMILIES
FORMATS = ("torch", "onnx")
STORAGES = ("fp32", "fp16", "int8")  # int8: a quantized ONNX file, run as it is by ONNX Runtime
MAX_MANIFEST_BYTES = 4 << 20  # thousands of entries; a larger file is not one ClearBG wrote, and is not read
MAX_CARD_BYTES = 4 << 20
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # a model's name: also its file's name
FILE_PATTERN = re.compile(r"^[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,199}$")  # a plain name in the folder: no path
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CARD_TEXT = ("name", "architecture", "family", "source_file", "source_sha256", "source_md5", "official",
              "description", "licence", "source", "storage")  # what the app shows or compares of a card
_CARD_TABLES = ("init", "training", "metrics", "precision_checks")


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


@dataclass
class Manifest:
    """A folder's manifest as read: the usable entries, why each other entry was skipped, and the JSON itself
    (what an import adds to, so a skipped entry is kept as it was, never dropped)."""

    path: Path
    entries: dict[str, WeightsEntry] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # name as written -> one line saying why
    data: dict = field(default_factory=lambda: {"models": {}})
    raw: bytes | None = None  # the file's bytes (None: there is no manifest yet)

    def warnings(self) -> list[str]:
        return [f"{self.path}: skipped model {shown_value(name)}: {why}" for name, why in self.skipped.items()]


class TooLong:
    """A JSON integer of more than 400 digits: no value any field takes. Kept as its text, so a manifest holding
    one in a skipped entry is written back with it unchanged (it blocked every later import: round 5, X8)."""

    def __init__(self, digits: str) -> None:
        self.text = digits
        self.digits = len(digits)


def _parse_int(text: str) -> int | TooLong:
    return int(text) if len(text) <= 400 else TooLong(text)


def shown_value(value: object) -> str:
    """A value as a warning may quote it: repr (control and bidi characters escaped), one line, short."""
    text = repr(value) if not isinstance(value, TooLong) else f"a number of {value.digits} digits"
    return text if len(text) <= 48 else text[:45] + "…"


def _json(data: bytes) -> object:
    try:
        return json.loads(data.decode("utf-8"), parse_int=_parse_int)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_manifest(folder: Path) -> Manifest:
    """``folder/manifest.json`` checked entry by entry (an absent manifest is an empty folder); ``WeightsError``
    only when the file as a whole cannot be read: not JSON, too large, not a table of models."""
    path = folder / MANIFEST_NAME
    try:
        if not os.path.lexists(path):
            return Manifest(path)
        raw = read_user_file(path, MAX_MANIFEST_BYTES)
        data = _json(raw)
    except OSError as exc:
        raise WeightsError(f"{path}: unreadable weights manifest ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise WeightsError(f"{path}: unreadable weights manifest ({str(exc)[:160]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise WeightsError(f"{path}: unreadable weights manifest (no table of \"models\" in it)")
    manifest = Manifest(path, data=data, raw=raw)
    for name, item in data["models"].items():
        try:
            manifest.entries[name] = _entry(folder, name, item)
        except ValueError as exc:
            manifest.skipped[name] = str(exc)
    return manifest


def _file_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not FILE_PATTERN.match(value):
        raise ValueError(f"its {what} {shown_value(value)} is not a file name in the folder")
    return value


def _choice(item: dict, key: str, default: str, known: tuple[str, ...]) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"unknown {key} {shown_value(value)} (known: {', '.join(known)})")
    return value


def _entry(folder: Path, name: object, item: object) -> WeightsEntry:
    """One manifest entry, every field type- and range-checked; a ``ValueError`` saying what is wrong."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError("its name is not 1-64 letters, digits, '-', '_' or '.'")
    if not isinstance(item, dict):
        raise ValueError(f"its entry is {shown_value(item)}, not a table")
    variant = _choice(item, "variant", name, VARIANT_NAMES)
    weights_format = _choice(item, "format", "torch", FORMATS)
    family = _choice(item, "family", "u2net", FAMILY_NAMES)
    storage = _choice(item, "storage", "fp32", STORAGES)
    file_name = _file_name(item.get("file"), "file")
    sha256 = item.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError(f"its sha256 {shown_value(sha256)} is not 64 hex digits")
    if variant == "other" and weights_format != "onnx":
        raise ValueError("only an ONNX model can be of another shape than U²-Net's")
    input_size = item.get("input_size", 320)
    if isinstance(input_size, bool) or not isinstance(input_size, int) \
            or not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
        raise ValueError(f"its input_size {shown_value(input_size)} is not a whole number of px within "
                         f"{MIN_INPUT_SIZE}-{MAX_INPUT_SIZE}")
    card: dict = {}
    card_name = item.get("card")
    if card_name not in (None, ""):
        card = _card(folder / _file_name(card_name, "card"))
    return WeightsEntry(name=name, path=folder / file_name, sha256=sha256.lower(), variant=variant, card=card,
                        input_size=input_size, format=weights_format, storage=storage, family=family)


def _card(path: Path) -> dict:
    """A model card: absent is empty (the model still runs); present, it must be a table whose fields the app
    reads have the types it reads them as."""
    if not os.path.lexists(path):
        return {}
    try:
        card = _json(read_user_file(path, MAX_CARD_BYTES))
    except OSError as exc:
        raise ValueError(f"its card {path.name} cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise ValueError(f"its card {path.name} is damaged ({str(exc)[:120]})") from None
    if not isinstance(card, dict):
        raise ValueError(f"its card {path.name} is not a table")
    for key in _CARD_TEXT:
        if card.get(key) is not None and not isinstance(card[key], str):
            raise ValueError(f"its card's {key} is {shown_value(card[key])}, not text")
    for key in _CARD_TABLES:
        if card.get(key) is not None and not isinstance(card[key], dict):
            raise ValueError(f"its card's {key} is {shown_value(card[key])}, not a table")
    return card


def read_weights_manifest(folder: Path) -> dict[str, WeightsEntry]:
    """The usable entries of ``folder/manifest.json``, each skipped one named in a warning."""
    manifest = read_manifest(folder)
    for line in manifest.warnings():
        _warn(line)
    return manifest.entries


def _warn(message: str) -> None:
    """From one place, so the default filter says each line once however many times the folder is read."""
    warnings.warn(message, UserWarning, stacklevel=1)


def search_folders() -> list[Path]:
    return [user_models_dir(), bundled_weights_dir()]


def available_models(folders: list[Path] | None = None) -> dict[str, WeightsEntry]:
    """Model name -> entry, the first folder listing a name wins (user before bundled).

    A broken manifest in one folder is skipped with a warning, so a damaged user folder never
    hides the good bundled model; only when no folder can be read at all is it an error.
    """
    found: dict[str, WeightsEntry] = {}
    errors: list[WeightsError] = []
    skipped: list[str] = []
    for folder in folders if folders is not None else search_folders():
        try:
            manifest = read_manifest(folder)
        except WeightsError as exc:
            errors.append(exc)
            continue
        skipped += manifest.warnings()
        for name, entry in manifest.entries.items():
            found.setdefault(name, entry)
    if not found and errors:
        raise errors[0]  # said once, as the error; a warning as well would say it twice
    for line in [f"skipped: {error}" for error in errors] + skipped:
        _warn(line)
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
