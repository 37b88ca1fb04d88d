"""Writing weights folders: a model's file and manifest entry installed, copied or removed atomically, never
writing over another entry or a file a manifest still names, and imports abandoned by a killed run cleaned up."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
from clearbg_desktop.core.inference.weights import (
    FILE_PATTERN,
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    NAME_PATTERN,
    STORAGES,
    Manifest,
    TooLong,
    WeightsEntry,
    WeightsError,
    read_manifest,
    shown_value,
)
from clearbg_desktop.core.paths import read_user_file

if TYPE_CHECKING:
    import torch

    from clearbg_desktop.core.inference.model import U2Net


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

    from clearbg_desktop.core.imaging.atomic_write import pid_alive

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
    if not FILE_PATTERN.match(file_name):
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
        if isinstance(value, TooLong):
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
    raise TypeError(f"{shown_value(value)} cannot be written as JSON")


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
        if isinstance(file_name, str) and FILE_PATTERN.match(file_name) and file_name not in kept:
            (folder / file_name).unlink(missing_ok=True)
