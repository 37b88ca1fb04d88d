"""Carry a finished run back from a lent GPU machine, whose returned files are capped at 16 MiB each.

Why: a checkpoint with Adam's state is ~19 MB for U²-Net-small, over the cap. ``split_run`` (there)
writes each checkpoint without its optimizer state plus the last run's optimizer state as a separate
file; ``join_run`` (here) rebuilds ``last.pt``/``best.pt`` so ``train`` resumes and ``evaluate``/``export``
run unchanged, and points them at this machine's ingest manifest once its data hash matches the pack's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from training.checkpoint import load_checkpoint, save_checkpoint
from training.manifest import manifest_hash

OPTIMIZER_PART = "last-optimizer.pt"


class RunTransferError(ValueError):
    """The parts are incomplete, or were trained on other data than this machine's manifest."""


def split_run(run_dir: Path, parts_dir: Path) -> list[Path]:
    """``run_dir/{last,best}.pt`` -> ``parts_dir/{last,best}-model.pt`` + ``last-optimizer.pt`` + history."""
    run_dir, parts_dir = Path(run_dir), Path(parts_dir)
    parts_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("last", "best"):
        checkpoint = load_checkpoint(run_dir / f"{name}.pt")
        optimizer = checkpoint.pop("optimizer")
        checkpoint["data_manifest_sha256"] = manifest_hash(Path(checkpoint["data_manifest"]))
        if name == "last":
            save_checkpoint(parts_dir / OPTIMIZER_PART, optimizer)
            written.append(parts_dir / OPTIMIZER_PART)
        save_checkpoint(parts_dir / f"{name}-model.pt", checkpoint)
        written.append(parts_dir / f"{name}-model.pt")
    if (run_dir / "history.json").is_file():
        shutil.copy2(run_dir / "history.json", parts_dir / "history.json")
        written.append(parts_dir / "history.json")
    return written


def join_run(parts_dir: Path, run_dir: Path, manifest_path: Path) -> list[Path]:
    """Rebuild a run folder from ``split_run``'s parts; refuses parts trained on other data."""
    parts_dir, run_dir = Path(parts_dir), Path(run_dir)
    missing = [p for p in ("last-model.pt", "best-model.pt", OPTIMIZER_PART) if not (parts_dir / p).is_file()]
    if missing:
        raise RunTransferError(f"{parts_dir}: missing {', '.join(missing)} (written by `python -m training split-run`)")
    local_hash = manifest_hash(Path(manifest_path))
    optimizer = load_checkpoint(parts_dir / OPTIMIZER_PART)
    written = []
    for name in ("last", "best"):
        checkpoint = load_checkpoint(parts_dir / f"{name}-model.pt")
        remote_hash = checkpoint.get("data_manifest_sha256")
        if remote_hash != local_hash:
            raise RunTransferError(f"{parts_dir / f'{name}-model.pt'} was trained on data {remote_hash}, but "
                                   f"{manifest_path} is {local_hash}")
        checkpoint["data_manifest"] = str(manifest_path)
        checkpoint["optimizer"] = optimizer  # best.pt gets the last state too: only `train` reads it, from last.pt
        save_checkpoint(run_dir / f"{name}.pt", checkpoint)
        written.append(run_dir / f"{name}.pt")
    if (parts_dir / "history.json").is_file():
        shutil.copy2(parts_dir / "history.json", run_dir / "history.json")
    return written
