"""The data manifest that ``ingest`` (or ``unpack``) writes and ``train`` reads: where it is, its pairs, its hash.

One record per labelled pair (image, mask, SHA-256, split, source); the hash covers the records only, so
the same data hash the same whatever day they were ingested.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from training.data import Pair


def ingest_manifest_path(work_dir: Path | str) -> Path:
    """Where the ``ingest`` stage (or ``unpack``) writes the manifest that ``train`` reads."""
    return Path(work_dir) / "ingest" / "manifest.json"


def read_data_manifest(path: Path | str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def manifest_pairs(manifest: dict, split: str, sources: list[str] | None = None) -> list[Pair]:
    """The pairs of one split, optionally only those from the given photo sources (folder names)."""
    return [Pair(Path(r["image"]), Path(r["mask"])) for r in manifest["records"]
            if r["split"] == split and (sources is None or r.get("source") in sources)]


def manifest_hash(path: Path) -> str:
    """Hash of the records only (not the creation time), so the same data hashes the same."""
    manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    payload = json.dumps(
        [(r.get("name", Path(r["image"]).name), r["sha256"], r["split"]) for r in manifest["records"]], sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()
