"""Training packs: the ingested data, pre-rescaled, in a few tar shards that fit a size budget.

Why: a lent GPU machine receives only the working tree (64 MiB in all) and reaches neither
``../shared/data`` nor the teacher. ``pack`` stores each pair already at ``train.image_size``
(the RescaleT output, which is all the training ever reads) as JPEG + PNG mask, choosing the
highest JPEG quality that fits the budget; the validation folders travel as they are. ``unpack``
on the other side writes an ingest manifest with the *same* train/validation split and data hash,
so ``python -m training train`` runs there unchanged.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from clearbg_desktop.core.imaging.loading import load_image
from training.data import find_pairs, load_mask
from training.manifest import ingest_manifest_path, read_data_manifest
from training.transforms import rescale_pair

PACK_FORMAT = 1
QUALITIES = (95, 92, 90, 87, 85, 82, 80, 75, 70, 65, 60)
TAR_OVERHEAD_PER_PAIR = 2 * 1024  # a 512-byte header and up to 511 bytes of padding per member
SHARD_BYTES = 15 * 2**20  # below the 16 MiB a device call can bring back, should a pack travel that way


class PackError(ValueError):
    """The data cannot be packed within the budget, or a pack is incomplete."""


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return buffer.getvalue()


def _encode_smallest_png(mask: Image.Image) -> bytes:
    """Pillow's optimising writer, not the core's fast one: here size matters, not time (pack 49.8 vs 50.5 MiB)."""
    buffer = io.BytesIO()
    mask.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def _add(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def _folder_archive(folder: Path) -> bytes:
    """A validation folder (images/ + masks/ or DUTS layout) as an uncompressed tar, layout kept."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for pair in find_pairs(folder):
            archive.add(pair.image, f"images/{pair.image.name}")
            archive.add(pair.mask, f"masks/{pair.mask.name}")
    return buffer.getvalue()


def build_pack(
    manifest_path: Path,
    out_dir: Path,
    image_size: int,
    validation_folders: Iterable[str | Path] = (),
    budget_bytes: int = 56 * 2**20,
    progress: bool = True,
) -> dict:
    """Write ``out_dir/pack.json`` + shards; returns the pack description. Raises ``PackError``."""
    from tqdm import tqdm

    from training.manifest import manifest_hash

    manifest = read_data_manifest(manifest_path)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    validation = {Path(folder).name: _folder_archive(Path(folder)) for folder in validation_folders}
    validation_bytes = sum(len(payload) for payload in validation.values())

    rescaled, masks = [], []
    for record in tqdm(manifest["records"], desc="rescale", unit="pair", disable=not progress):
        loaded = load_image(Path(record["image"]))
        image, mask = rescale_pair(loaded.rgb, load_mask(Path(record["mask"]), loaded.rgb.size), image_size)
        rescaled.append(Image.fromarray(image))
        masks.append(_encode_smallest_png(Image.fromarray(mask)))
    mask_bytes = sum(len(m) for m in masks)

    for quality in QUALITIES:
        photos = [_encode_jpeg(image, quality) for image in rescaled]
        total = sum(len(p) for p in photos) + mask_bytes + validation_bytes + TAR_OVERHEAD_PER_PAIR * len(photos)
        if total <= budget_bytes:
            break
    else:
        raise PackError(f"{len(photos)} pairs at {image_size} px need {total / 2**20:.1f} MiB even at JPEG quality "
                        f"{QUALITIES[-1]}; the budget is {budget_bytes / 2**20:.1f} MiB (lower train.image_size)")

    for old in out_dir.glob("shard-*.tar"):
        old.unlink()
    records, shard_index, shard_size = [], 0, 0
    archive = tarfile.open(out_dir / f"shard-{shard_index:03d}.tar", "w")
    try:
        for index, (record, photo, mask_png) in enumerate(zip(manifest["records"], photos, masks, strict=True)):
            if shard_size and shard_size + len(photo) + len(mask_png) > SHARD_BYTES:
                archive.close()
                shard_index, shard_size = shard_index + 1, 0
                archive = tarfile.open(out_dir / f"shard-{shard_index:03d}.tar", "w")
            key = f"{index:05d}"
            _add(archive, f"images/{key}.jpg", photo)
            _add(archive, f"masks/{key}.png", mask_png)
            shard_size += len(photo) + len(mask_png)
            records.append({"key": key, "shard": shard_index, "name": Path(record["image"]).name,
                            "sha256": record["sha256"], "split": record["split"],
                            "source": record.get("source", Path(record["image"]).parent.name)})
    finally:
        archive.close()
    for name, payload in validation.items():
        (out_dir / f"validation-{name}.tar").write_bytes(payload)
    description = {
        "format": PACK_FORMAT,
        "image_size": image_size,
        "jpeg_quality": quality,
        "data_manifest_sha256": manifest_hash(manifest_path),
        "teacher": manifest.get("teacher"),
        "validation": sorted(validation),
        "bytes": total,
        "records": records,
    }
    (out_dir / "pack.json").write_text(json.dumps(description, indent=1) + "\n", encoding="utf-8")
    return description


def unpack(pack_dir: Path, work_dir: Path) -> tuple[Path, list[Path]]:
    """Extract a pack; returns (ingest manifest path, validation folders) for ``train``."""
    pack_dir, work_dir = Path(pack_dir), Path(work_dir)
    description_path = pack_dir / "pack.json"
    if not description_path.is_file():
        raise PackError(f"{pack_dir}: no pack.json (make one with `python -m training pack`)")
    description = json.loads(description_path.read_text(encoding="utf-8"))
    if description.get("format") != PACK_FORMAT:
        raise PackError(f"{description_path}: pack format {description.get('format')}, expected {PACK_FORMAT}")
    target = work_dir / "pack"
    for shard in sorted({record["shard"] for record in description["records"]}):
        shard_path = pack_dir / f"shard-{shard:03d}.tar"
        if not shard_path.is_file():
            raise PackError(f"{shard_path}: missing shard")
        with tarfile.open(shard_path) as archive:
            archive.extractall(target / "pairs", filter="data")
    validation_folders = []
    for name in description["validation"]:
        with tarfile.open(pack_dir / f"validation-{name}.tar") as archive:
            archive.extractall(target / "validation" / name, filter="data")
        validation_folders.append(target / "validation" / name)
    size = description["image_size"]
    records = [
        {"image": str(target / "pairs" / "images" / f"{r['key']}.jpg"),
         "mask": str(target / "pairs" / "masks" / f"{r['key']}.png"),
         "name": r["name"], "width": size, "height": size, "sha256": r["sha256"], "split": r["split"],
         "source": r["source"]}
        for r in description["records"]
    ]
    manifest = {
        "packed": {"image_size": size, "jpeg_quality": description["jpeg_quality"],
                   "data_manifest_sha256": description["data_manifest_sha256"]},
        "teacher": description.get("teacher"),
        "counts": {"train": sum(r["split"] == "train" for r in records),
                   "val": sum(r["split"] == "val" for r in records), "skipped": 0},
        "records": records,
        "skipped": [],
    }
    manifest_path = ingest_manifest_path(work_dir)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest_path, validation_folders
