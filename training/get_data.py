"""``python -m training get-data``: fill ``data.root`` with the photo folders the pipeline reads, checked.

Why: ``params.yaml`` and ``dvc.yaml`` name only paths inside the repository, so a user's clone and ours run the
same pipeline. Each folder is pinned by a tree hash (SHA-256 over its files' relative paths and contents) in
``training/annotations/data-sources.json``, with its licence and public source; a copy that does not match is
refused, never half used. The teacher and reference models come from ``get-official`` (PyPI wheels).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from clearbg_desktop.core.file_hash import sha256_file

SOURCES_FILE = Path(__file__).resolve().parent / "annotations" / "data-sources.json"


class DataSourceError(RuntimeError):
    """A folder could not be had or is not the pinned one; the message names it and says what to do."""


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            yield path


def tree_hash(folder: Path) -> tuple[str, int]:
    """(SHA-256 over every file's relative path and content hash, file count): one figure pins a folder."""
    digest = hashlib.sha256()
    count = 0
    for path in _files(folder):
        digest.update(f"{path.relative_to(folder).as_posix()}\0{sha256_file(path)}\n".encode())
        count += 1
    return digest.hexdigest(), count


def read_sources(path: Path = SOURCES_FILE) -> dict[str, dict]:
    return json.loads(path.read_text(encoding="utf-8"))["folders"]


def fetch_folder(name: str, pinned: dict, root: Path, from_dir: Path | None) -> Path:
    """``root/name`` as pinned: kept when it already matches, else copied from ``from_dir`` and checked."""
    target = root / name
    if target.is_dir() and tree_hash(target)[0] == pinned["tree_sha256"]:
        return target
    if from_dir is None:
        raise DataSourceError(
            f"{name}: these photos are a re-encoded selection of {pinned['source']} ({pinned['licence']}); "
            "the selection is not published as a download, so get it from a machine that has it: "
            "python -m training get-data --from DIR")
    source = from_dir / name
    if not source.is_dir():
        raise DataSourceError(f"{name}: not in {from_dir}")
    partial = root / f".{name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for path in _files(source):
        destination = partial / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)  # a copy, not a hard link: editing one must never change the other
    found, count = tree_hash(partial)
    if found != pinned["tree_sha256"]:
        shutil.rmtree(partial, ignore_errors=True)
        raise DataSourceError(f"{name} in {from_dir}: {count} files with tree hash {found[:12]}…, pinned "
                              f"{pinned['files']} files, {pinned['tree_sha256'][:12]}…; not the same data")
    shutil.rmtree(target, ignore_errors=True)
    partial.replace(target)
    return target


def get_data(root: Path, from_dir: Path | None, names: list[str] | None = None) -> list[Path]:
    sources = read_sources()
    root.mkdir(parents=True, exist_ok=True)
    return [fetch_folder(name, sources[name], root, from_dir) for name in (names or list(sources))]


def pin_sources(from_dir: Path, path: Path = SOURCES_FILE) -> None:
    """Rewrite the pins from a folder we trust (maintainers only; the licences and sources are kept)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in document["folders"].items():
        entry["tree_sha256"], entry["files"] = tree_hash(from_dir / name)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
