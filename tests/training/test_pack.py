"""A training pack carries the ingested data to a machine without it: same split, same data hash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.training.test_train_evaluate_export import tiny_params
from training.checkpoint import load_checkpoint
from training.config import DataParams
from training.data import find_pairs, load_mask
from training.ingest import ingest
from training.manifest import manifest_hash, manifest_pairs, read_data_manifest
from training.remote.pack import PackError, build_pack, unpack
from training.remote.run_transfer import RunTransferError, join_run, split_run
from training.train import train
from training.transforms import rescale_pair


@pytest.mark.slow
def test_pack_round_trip_keeps_split_hash_and_pixels(pairs_folder: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    data = DataParams(pair_folders=[str(pairs_folder)], val_fraction=0.25, work_dir=str(tmp_path / "here"))
    manifest_path = ingest(data, progress=False)
    pack = build_pack(manifest_path, tmp_path / "pack", 64, [pairs_folder], progress=False)
    assert pack["jpeg_quality"] == 95 and len(pack["records"]) == 8

    unpacked, validation = unpack(tmp_path / "pack", tmp_path / "there")
    original, carried = read_data_manifest(manifest_path), read_data_manifest(unpacked)
    assert manifest_hash(unpacked) == manifest_hash(manifest_path)
    assert [r["split"] for r in carried["records"]] == [r["split"] for r in original["records"]]
    assert len(find_pairs(validation[0])) == 8

    first_original, first_carried = manifest_pairs(original, "train")[0], manifest_pairs(carried, "train")[0]
    with Image.open(first_original.image) as photo:
        expected_image, expected_mask = rescale_pair(photo.convert("RGB"), load_mask(first_original.mask), 64)
    carried_image = np.asarray(Image.open(first_carried.image).convert("RGB"), np.int16)
    assert carried_image.shape == (64, 64, 3)
    assert np.abs(carried_image - expected_image).mean() < 3  # JPEG at quality 95
    np.testing.assert_array_equal(np.asarray(load_mask(first_carried.mask)), expected_mask)  # masks lossless

    # and training runs there unchanged
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    params = tiny_params(pairs_folder, tmp_path / "run", epochs=1)
    params.data.validation_folders = [str(folder) for folder in validation]
    best = train(params, unpacked, progress=False)
    assert best.is_file()

    # ... and its run comes back in parts under the 16 MiB a device call returns per file
    parts = split_run(best.parent, tmp_path / "parts")
    assert {p.name for p in parts} == {"last-model.pt", "best-model.pt", "last-optimizer.pt", "history.json"}
    assert all("optimizer" not in load_checkpoint(p) for p in parts if p.name.endswith("-model.pt"))
    rebuilt = join_run(tmp_path / "parts", tmp_path / "back", manifest_path)
    last = load_checkpoint(tmp_path / "back" / "last.pt")
    assert [p.name for p in rebuilt] == ["last.pt", "best.pt"] and last["data_manifest"] == str(manifest_path)
    assert last["optimizer"]["state"] and last["images_seen"] == load_checkpoint(best.parent / "last.pt")["images_seen"]
    params.train.out_dir, params.train.epochs = str(tmp_path / "back"), 2  # training here resumes it
    train(params, manifest_path, progress=False)
    assert load_checkpoint(tmp_path / "back" / "last.pt")["images_seen"] == last["images_seen"] + 4

    other_data = DataParams(pair_folders=[str(pairs_folder)], val_fraction=0.5, work_dir=str(tmp_path / "other"))
    with pytest.raises(RunTransferError, match="trained on data"):
        join_run(tmp_path / "parts", tmp_path / "wrong", ingest(other_data, progress=False))


def test_pack_over_budget_is_a_clear_error_and_size_mismatch_stops_training(pairs_folder: Path,
                                                                            tmp_path: Path) -> None:
    data = DataParams(pair_folders=[str(pairs_folder)], val_fraction=0.25, work_dir=str(tmp_path / "here"))
    manifest_path = ingest(data, progress=False)
    with pytest.raises(PackError, match="budget"):
        build_pack(manifest_path, tmp_path / "pack", 64, budget_bytes=1000, progress=False)
    build_pack(manifest_path, tmp_path / "pack", 64, progress=False)
    unpacked, _ = unpack(tmp_path / "pack", tmp_path / "there")
    params = tiny_params(pairs_folder, tmp_path / "run", image_size=96)
    with pytest.raises(ValueError, match="packed at 64 px"):
        train(params, unpacked, progress=False)
    assert json.loads((tmp_path / "pack" / "pack.json").read_text())["image_size"] == 64
