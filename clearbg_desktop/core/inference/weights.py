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

import io
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.image_io import OutputError, write_atomic
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
_FILE_PATTERN = re.compile(r"^[^/\\\x00-\x1f\x7f.][^/\\\x00-\x1f\x7f]{0,199}$")  # a plain name in the folder: no path
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
        return [f"{self.path}: skipped model {_shown(name)}: {why}" for name, why in self.skipped.items()]


class _TooLong:
    """A JSON integer of more than 400 digits: no value any field takes. Kept as its text, so a manifest holding
    one in a skipped entry is written back with it unchanged (it blocked every later import: round 5, X8)."""

    def __init__(self, digits: str) -> None:
        self.text = digits
        self.digits = len(digits)


def _parse_int(text: str) -> int | _TooLong:
    return int(text) if len(text) <= 400 else _TooLong(text)


def _shown(value: object) -> str:
    """A value as a warning may quote it: repr (control and bidi characters escaped), one line, short."""
    text = repr(value) if not isinstance(value, _TooLong) else f"a number of {value.digits} digits"
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
    if not isinstance(value, str) or not _FILE_PATTERN.match(value):
        raise ValueError(f"its {what} {_shown(value)} is not a file name in the folder")
    return value


def _choice(item: dict, key: str, default: str, known: tuple[str, ...]) -> str:
    value = item.get(key, default)
    if not isinstance(value, str) or value not in known:
        raise ValueError(f"unknown {key} {_shown(value)} (known: {', '.join(known)})")
    return value


def _entry(folder: Path, name: object, item: object) -> WeightsEntry:
    """One manifest entry, every field type- and range-checked; a ``ValueError`` saying what is wrong."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError("its name is not 1-64 letters, digits, '-', '_' or '.'")
    if not isinstance(item, dict):
        raise ValueError(f"its entry is {_shown(item)}, not a table")
    variant = _choice(item, "variant", name, VARIANT_NAMES)
    weights_format = _choice(item, "format", "torch", FORMATS)
    family = _choice(item, "family", "u2net", FAMILY_NAMES)
    storage = _choice(item, "storage", "fp32", STORAGES)
    file_name = _file_name(item.get("file"), "file")
    sha256 = item.get("sha256")
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError(f"its sha256 {_shown(sha256)} is not 64 hex digits")
    if variant == "other" and weights_format != "onnx":
        raise ValueError("only an ONNX model can be of another shape than U²-Net's")
    input_size = item.get("input_size", 320)
    if isinstance(input_size, bool) or not isinstance(input_size, int) \
            or not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
        raise ValueError(f"its input_size {_shown(input_size)} is not a whole number of px within "
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
            raise ValueError(f"its card's {key} is {_shown(card[key])}, not text")
    for key in _CARD_TABLES:
        if card.get(key) is not None and not isinstance(card[key], dict):
            raise ValueError(f"its card's {key} is {_shown(card[key])}, not a table")
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


def write_weights_folder(
    model: U2Net,
    folder: Path,
    name: str,
    card: dict | None = None,
    file_name: str | None = None,
    input_size: int = 320,
    manifest_extra: dict | None = None,
    storage: str = "fp32",
    replace: bool = True,
    check: Callable[[WeightsEntry], None] | None = None,
) -> WeightsEntry:
    """Save ``model`` into ``folder`` and add it to the manifest (export, model import, tests); ``check`` runs on
    the new entry before the folder changes (:func:`install_weights`).

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
    return write_weights_file(buffer.getvalue(), folder, name, file_name or f"u2net_{name}.pt", item, card, replace,
                              check)


def stored_tensor(tensor: torch.Tensor, storage: str) -> torch.Tensor:
    """A state-dict tensor as the file keeps it: kernels at half precision for fp16 storage."""
    import torch

    tensor = tensor.detach().cpu()
    if storage == "fp16" and tensor.ndim == 4 and tensor.dtype == torch.float32:
        tensor = tensor.half()
    return tensor.contiguous()


def install_weights_copy(source: Path, folder: Path, name: str, file_name: str, item: dict,
                         card: dict | None = None, replace: bool = False,
                         check: Callable[[WeightsEntry], None] | None = None) -> WeightsEntry:
    """Like :func:`write_weights_file` for a file installed unchanged: copied in chunks, never held in memory."""
    return install_weights(folder, name, lambda target: shutil.copyfile(source, target), file_name, item, card,
                           replace, check)


def write_weights_file(data: bytes, folder: Path, name: str, file_name: str, item: dict,
                       card: dict | None = None, replace: bool = True,
                       check: Callable[[WeightsEntry], None] | None = None) -> WeightsEntry:
    """Write a weights file (``.pt`` or ``.onnx``), its card and its manifest entry (``item`` plus file and hash)."""
    return install_weights(folder, name, lambda target: target.write_bytes(data), file_name, item, card, replace,
                           check)


def manifest_taking(folder: Path, name: str, replace: bool = False) -> Manifest:
    """The models folder's manifest, when a model called ``name`` may be added to it; else one WeightsError line
    (a bad name, a manifest that cannot be read — kept as it is — or the name taken)."""
    if not NAME_PATTERN.match(name):
        raise WeightsError(f"model name {name!r}: use letters, digits, '-', '_' or '.', at most 64 characters")
    try:
        current = read_manifest(folder)
    except WeightsError as exc:
        raise WeightsError(f"cannot add models: {exc}; it is kept as it is (repair or move it away, then add the "
                           "model again)") from None
    if name in current.data["models"] and not replace:
        raise WeightsError(f"a model named {name!r} is already installed; remove it first or choose another name")
    return current


def install_weights(folder: Path, name: str, write: Callable[[Path], object], file_name: str, item: dict,
                    card: dict | None = None, replace: bool = False,
                    check: Callable[[WeightsEntry], None] | None = None) -> WeightsEntry:
    """Add model ``name`` to ``folder``, changing the folder only once the new entry is known to be good.

    ``write(path)`` puts the weights file in a staging folder beside the manifest. There its card and a manifest
    of this one entry are written and read back with the loader's own checks, and ``check`` (an import's test
    prediction) runs on it. Only then are the file and card moved in, under names no other file has, and the
    manifest rewritten with every entry it had (skipped ones as they were), then read back. A manifest that
    cannot be read is never written over; whatever fails, the folder is left as it was. ``replace``: an entry of
    that name is replaced (its files deleted once the new manifest is in place).
    """
    current = manifest_taking(folder, name, replace)
    models = dict(current.data["models"])
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_abandoned_imports(folder)
        staging = Path(tempfile.mkdtemp(prefix=f".import-{os.getpid()}-", dir=folder))
    except OSError as exc:
        raise WeightsError(f"cannot write to {folder} ({exc.strerror or exc})") from None
    moved: list[Path] = []
    try:
        entry = _staged_entry(staging, name, write, file_name, item, card)
        if check is not None:
            check(entry)
        old = models.get(name)
        own = {value for key in ("file", "card") if isinstance(old, dict)
               for value in [old.get(key)] if isinstance(value, str)} - _referenced(models, but=name)
        final_file, final_card = _free_names(folder, file_name, card is not None, _referenced(models) - own, own)
        new_item = dict(item, file=final_file, sha256=entry.sha256)
        os.replace(staging / file_name, folder / final_file)
        moved.append(folder / final_file)
        if final_card is not None:
            os.replace(staging / f"{Path(file_name).stem}.card.json", folder / final_card)
            moved.append(folder / final_card)
            new_item["card"] = final_card
        models[name] = new_item
        _write_manifest(folder, current, models)
    except BaseException as exc:
        for path in moved:
            path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WeightsError(f"cannot write to {folder} ({exc.strerror or exc}); nothing was changed") from None
        if isinstance(exc, OutputError):
            raise WeightsError(f"{exc}; nothing was changed") from None
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            try:
                folder.rmdir()  # only if the failed import left it empty
            except OSError:
                pass
    for stale in own - {final_file, final_card}:
        (folder / stale).unlink(missing_ok=True)  # the replaced entry's files, now that nothing lists them
    return read_manifest(folder).entries[name]


ABANDONED_IMPORT_SECONDS = 3600  # a staging folder without a writer's pid (older versions) counts as abandoned after


def remove_abandoned_imports(folder: Path) -> list[Path]:
    """Staging folders of imports that were killed (``kill -9``, a power cut) before they finished: each holds a
    copy of a model (up to 1 GiB) that nothing else will remove. One whose writer process is gone is deleted."""
    import time

    from clearbg_desktop.core.imaging.image_io import pid_alive

    removed: list[Path] = []
    pattern = re.compile(r"^\.import-(?:(\d+)-)?[A-Za-z0-9_]+$")
    try:
        candidates = [p for p in folder.iterdir() if pattern.match(p.name) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return removed
    for path in candidates:
        match = pattern.match(path.name)
        assert match is not None
        try:
            pid = match.group(1)
            abandoned = not pid_alive(int(pid)) if pid else time.time() - path.stat().st_mtime > ABANDONED_IMPORT_SECONDS
        except (OSError, ValueError):
            continue
        if abandoned:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _staged_entry(staging: Path, name: str, write: Callable[[Path], object], file_name: str, item: dict,
                  card: dict | None) -> WeightsEntry:
    """The new entry alone in ``staging``, read back as the loader reads it."""
    if not _FILE_PATTERN.match(file_name):
        raise WeightsError(f"{file_name!r} is not a file name for the models folder")
    try:
        write(staging / file_name)
    except OSError as exc:
        raise WeightsError(f"cannot copy it into {staging.parent} ({exc.strerror or exc}); nothing was changed") from None
    staged = {**item, "file": file_name, "sha256": sha256_file(staging / file_name)}
    if card is not None:
        staged["card"] = f"{Path(file_name).stem}.card.json"
        (staging / staged["card"]).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (staging / MANIFEST_NAME).write_text(json.dumps({"models": {name: staged}}), encoding="utf-8")
    manifest = read_manifest(staging)
    if name not in manifest.entries:
        raise WeightsError(f"not installed: {manifest.skipped.get(name, 'its entry did not read back')}")
    return manifest.entries[name]


def _referenced(models: dict, but: str | None = None) -> set[str]:
    """Every file name the manifest's entries (skipped ones too) point at, but ``but``'s."""
    return {value for name, item in models.items() if name != but and isinstance(item, dict)
            for key in ("file", "card") for value in [item.get(key)] if isinstance(value, str)}


def _free_names(folder: Path, file_name: str, with_card: bool, taken: set[str],
                own: set[str]) -> tuple[str, str | None]:
    """``file_name`` (and its card's name), or ``stem-2.ext``… where a file of that name is already there that is
    not one of ``own``, the files of the entry being replaced (a replace asked for: the bundled names stay)."""
    stem, suffix = Path(file_name).stem, Path(file_name).suffix
    for number in range(1, 1000):
        candidate = file_name if number == 1 else f"{stem}-{number}{suffix}"
        card = f"{Path(candidate).stem}.card.json" if with_card else None
        names = [candidate] + ([card] if card else [])
        if all(n in own or (n not in taken and not os.path.lexists(folder / n)) for n in names):
            return candidate, card
    raise WeightsError(f"no free file name for {file_name} in {folder}")


def _write_manifest(folder: Path, read: Manifest, models: dict) -> None:
    """``read``'s manifest with ``models`` in it, written only if the file is still the one that was read, then
    read back; when it does not read back with every entry it had, the old bytes are put back."""
    verbatim: dict[str, str] = {}
    marker = f"clearbg-verbatim-{os.urandom(8).hex()}-"

    def keep_verbatim(value: object) -> object:
        if isinstance(value, _TooLong):
            verbatim[f'"{marker}{len(verbatim)}"'] = value.text
            return f"{marker}{len(verbatim) - 1}"
        return _unwritable(value)

    try:
        text = json.dumps({**read.data, "models": models}, indent=2, default=keep_verbatim) + "\n"
        for token, digits in verbatim.items():
            text = text.replace(token, digits)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{read.path} holds a value that cannot be written back ({exc}); it is kept as it is "
                           "(repair it, then add the model again)") from None
    path = folder / MANIFEST_NAME
    try:
        now = read_user_file(path, MAX_MANIFEST_BYTES) if os.path.lexists(path) else None
    except (OSError, ValueError):
        now = b"\0"  # unreadable now: it changed
    if now != read.raw:
        raise WeightsError(f"{path} changed while the model was being added (another import?); try again")
    write_atomic(text.encode(), path, overwrite=True)
    try:
        again = read_manifest(folder)
        good = set(again.entries) >= (set(read.entries) & set(models)) | (set(models) - set(read.data["models"]))
    except WeightsError:
        good = False
    if not good:
        if read.raw is None:
            path.unlink(missing_ok=True)
        else:
            write_atomic(read.raw, path, overwrite=True)
        raise WeightsError(f"{path} did not read back after the change; the old one was put back")


def _unwritable(value: object) -> object:
    raise TypeError(f"{_shown(value)} cannot be written as JSON")


def remove_weights_entry(folder: Path, name: str) -> None:
    """Take ``name`` out of ``folder``'s manifest, then delete its weights and card files (not a file another
    entry still lists). A manifest that cannot be read is left alone."""
    current = read_manifest(folder)
    models = dict(current.data["models"])
    item = models.pop(name, None)
    if item is None:
        raise WeightsError(f"no model named {name!r} in {folder}")
    _write_manifest(folder, current, models)
    kept = _referenced(models)
    for key in ("file", "card"):
        file_name = item.get(key) if isinstance(item, dict) else None
        if isinstance(file_name, str) and _FILE_PATTERN.match(file_name) and file_name not in kept:
            (folder / file_name).unlink(missing_ok=True)
