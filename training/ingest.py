"""The ``ingest`` stage: validated pairs (labelled folders/archives and teacher-labelled photos)
-> ``<work_dir>/ingest/manifest.json`` with a fixed-seed train/validation split.

Sources are parameters (``params.yaml``: ``data.pair_folders``, ``data.photo_folders``,
``data.teacher_onnx``); nothing is downloaded.
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_image
from training.cleaning.near_duplicates import group_ids
from training.cleaning.turns import read_turn_lists
from training.config import DataParams
from training.data import PairingError, find_pairs, load_mask
from training.manifest import ingest_manifest_path
from training.teacher import OnnxSaliencyModel, label_folders


def unpack_if_archive(source: Path, work_dir: Path) -> Path:
    """A .zip/.tar(.gz) of pairs is extracted under ``work_dir/extracted``; folders pass through."""
    if source.is_dir():
        return source
    name = source.name
    target = work_dir / "extracted" / name.split(".")[0]
    if target.exists():
        return target
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            archive.extractall(target)
    elif tarfile.is_tarfile(source):
        with tarfile.open(source) as archive:
            archive.extractall(target, filter="data")
    else:
        raise PairingError(f"{source}: neither a folder nor a zip/tar archive of pairs")
    children = [p for p in target.iterdir() if p.is_dir()]
    if len(children) == 1 and not (target / "images").exists():
        return children[0]
    return target


def validate_pair(image_path: Path, mask_path: Path) -> dict:
    """Decode both, check sizes agree and the mask is a mask; returns the manifest record."""
    loaded = load_image(image_path)
    load_mask(mask_path, loaded.rgb.size)  # raises for an unreadable mask; an empty one is a valid label
    return {
        "image": str(image_path),
        "mask": str(mask_path),
        "width": loaded.rgb.width,
        "height": loaded.rgb.height,
        "sha256": sha256_file(image_path),
    }


def assign_splits(records: list[dict], val_fraction: float, seed: int) -> None:
    """A seeded ``val_fraction`` of the records held out, whole near-duplicate groups at a time
    (``training.cleaning.near_duplicates``): a mirrored copy in training would make the held-out score a memory test."""
    groups = group_ids([r["image"] for r in records])
    members: dict[int, list[int]] = {}
    for index, group_id in enumerate(groups):
        members.setdefault(group_id, []).append(index)
    order = np.random.default_rng(seed).permutation(len(members))
    keys = list(members)
    val_count = int(round(len(records) * val_fraction))
    val_indices: set[int] = set()
    for position in order:  # whole groups that still fit, so the held-out share stays val_fraction
        shot = members[keys[position]]
        if len(val_indices) + len(shot) <= val_count:
            val_indices.update(shot)
    if val_count and not val_indices:  # every group is larger than the share: hold out one anyway
        val_indices.update(members[keys[order[0]]])
    for index, record in enumerate(records):
        record["split"] = "val" if index in val_indices else "train"
        record["group"] = groups[index]


def ingest(params: DataParams, progress: bool = True) -> Path:
    """Run the stage; returns the manifest path."""
    work_dir = Path(params.work_dir)
    path = ingest_manifest_path(work_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    (work_dir / "teacher").mkdir(exist_ok=True)  # a declared DVC output, even with no photo folders
    records: list[dict] = []
    skipped: list[dict] = []
    for raw in params.pair_folders:
        folder = unpack_if_archive(Path(raw), work_dir)
        for pair in find_pairs(folder):
            try:
                record = validate_pair(pair.image, pair.mask)
            except (ImageLoadError, PairingError, OSError) as exc:
                skipped.append({"image": str(pair.image), "reason": str(exc)})
                continue
            record["source"] = folder.name
            records.append(record)
    teacher_info = None
    if params.photo_folders:
        if not params.teacher_onnx:
            raise ValueError("data.photo_folders needs data.teacher_onnx (the teacher ONNX file) to label them")
        teacher = OnnxSaliencyModel(Path(params.teacher_onnx))
        teacher_info = {"file": Path(params.teacher_onnx).name, "sha256": teacher.sha256}
        folders = [Path(f) for f in params.photo_folders]
        turns = read_turn_lists(params.turn_lists)
        labelled, bad = label_folders(folders, teacher, work_dir / "teacher", progress, turns)
        for record in labelled:
            record["sha256"] = sha256_file(Path(record["image"]))
        records += labelled
        skipped += bad
    if not records:
        raise PairingError("no usable pairs: set data.pair_folders and/or data.photo_folders in params.yaml")
    assign_splits(records, params.val_fraction, params.seed)
    manifest = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": params.seed,
        "val_fraction": params.val_fraction,
        "teacher": teacher_info,
        "counts": {
            "train": sum(r["split"] == "train" for r in records),
            "val": sum(r["split"] == "val" for r in records),
            "skipped": len(skipped),
        },
        "records": records,
        "skipped": skipped,
    }
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path
