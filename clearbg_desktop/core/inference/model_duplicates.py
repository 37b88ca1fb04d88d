"""Whether a model file is already installed, by its content: rembg's ``u2netp.onnx`` is the bundled small
model's source, so importing it again would list the same weights twice under another name."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.inference.official_weights import md5_file
from clearbg_desktop.core.inference.weights import WeightsEntry


def source_digests(card: dict) -> set[str]:
    """The hashes of the file a model was made from, as its card records them (lower-case hex).

    A card's ``init`` file counts only when training saw no photo since: then the weights are that file's.
    """
    found = {card.get("source_sha256"), card.get("source_md5")}
    init = card.get("init")
    training = card.get("training")
    untrained = isinstance(training, dict) and training.get("images_seen") == 0
    if isinstance(init, dict) and untrained:
        found.add(init.get("sha256"))
    return {value.lower() for value in found if isinstance(value, str) and value}


def installed_copy(path: Path, entries: Iterable[WeightsEntry]) -> str | None:
    """The name of the installed model made from exactly this file's content, or None."""
    entries = list(entries)
    if not any(source_digests(entry.card) for entry in entries):
        return None
    digests = {sha256_file(path), md5_file(path)}
    return next((entry.name for entry in entries if digests & source_digests(entry.card)), None)
