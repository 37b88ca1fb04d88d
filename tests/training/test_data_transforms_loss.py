"""Pairs, ingest, joint transforms and the deep-supervision loss."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.training.conftest import make_pair
from training.config import DataParams
from training.data import PairDataset, PairingError, find_pairs
from training.ingest import ingest
from training.losses import DeepSupervisionLoss
from training.manifest import manifest_hash
from training.transforms import TrainTransform, copy_paste, rescale_pair


def test_plain_and_duts_layouts(pairs_folder: Path, duts_folder: Path) -> None:
    assert len(find_pairs(pairs_folder)) == 8
    pairs = find_pairs(duts_folder)
    assert len(pairs) == 4 and pairs[0].mask.parent.name == "DUTS-TR-Mask"


def test_unpaired_files_are_named(pairs_folder: Path) -> None:
    (pairs_folder / "masks" / "s003.png").unlink()
    (pairs_folder / "masks" / "extra.png").write_bytes(b"")
    with pytest.raises(PairingError, match="without a mask: s003.*without an image: extra"):
        find_pairs(pairs_folder)


def test_ingest_validates_and_splits_with_a_fixed_seed(pairs_folder: Path, duts_folder: Path, tmp_path: Path) -> None:
    (pairs_folder / "images" / "s005.jpg").write_bytes(b"garbage")  # a broken pair is skipped, not fatal
    params = DataParams(pair_folders=[str(pairs_folder), str(duts_folder)], val_fraction=0.25,
                        work_dir=str(tmp_path / "work"))
    manifest = json.loads(ingest(params, progress=False).read_text())
    assert manifest["counts"] == {"train": 8, "val": 3, "skipped": 1}
    assert "s005" in manifest["skipped"][0]["image"]
    by_name: dict[str, set[str]] = {}
    for record in manifest["records"]:  # s000-s003 are in both folders: one shot, one side of the split
        by_name.setdefault(Path(record["image"]).name, set()).add(record["split"])
    assert all(len(by_name[f"s00{index}.jpg"]) == 1 for index in range(4))
    assert len({r["group"] for r in manifest["records"]}) == 7
    record = manifest["records"][0]
    assert {"image", "mask", "width", "height", "sha256", "split"} <= set(record)
    again = ingest(params, progress=False)
    assert manifest_hash(again) == manifest_hash(tmp_path / "work" / "ingest" / "manifest.json")
    assert [r["split"] for r in json.loads(again.read_text())["records"]] == [r["split"] for r in manifest["records"]]


def test_ingest_accepts_a_zip_archive(pairs_folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "pairs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in pairs_folder.rglob("*.*"):
            handle.write(path, Path("pairs") / path.relative_to(pairs_folder))
    params = DataParams(pair_folders=[str(archive)], work_dir=str(tmp_path / "work"))
    assert json.loads(ingest(params, progress=False).read_text())["counts"]["train"] == 7


def test_mask_size_mismatch_is_skipped_with_reason(pairs_folder: Path, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (10, 10)).save(pairs_folder / "masks" / "s001.png")
    manifest = json.loads(ingest(DataParams(pair_folders=[str(pairs_folder)], work_dir=str(tmp_path / "w")),
                                 progress=False).read_text())
    assert "mask is 10×10" in manifest["skipped"][0]["reason"]


@pytest.mark.parametrize("min_crop_area", [0.0, 0.5])
def test_transforms_keep_image_and_mask_aligned(min_crop_area: float) -> None:
    """The mask is recomputable from the image; any flip/crop/zoom applied to one only would break that."""
    image, mask = make_pair(3, (90, 70))
    image_array, mask_array = rescale_pair(image, mask, 64)
    transform = TrainTransform(crop_size=48, hflip=True, vflip=True, jitter=0.0, min_crop_area=min_crop_area)
    flips = set()
    for seed in range(20):
        rng = np.random.default_rng(seed)
        out_image, out_mask = transform(image_array, mask_array, rng)
        assert out_image.shape[:2] == out_mask.shape == (48, 48)
        bright = out_image.min(axis=2) > 140
        agreement = (bright == (out_mask > 127)).mean()
        assert agreement > 0.97, f"seed {seed}: image and mask disagree on {1 - agreement:.1%} of pixels"
        flips.add((out_mask[:, 0].sum() > 0, out_mask[0].sum() > 0))
    assert len(flips) > 1  # the random choices really vary


def test_random_scale_crops_zoom_in_and_out() -> None:
    """With min_crop_area the subject's share of the crop varies a lot; a 48 px RandomCrop of 52 px barely."""
    image, mask = (np.asarray(x) for x in rescale_pair(*make_pair(4, (90, 70)), 52))

    def subject_shares(transform: TrainTransform) -> list[float]:
        return [float((transform(image, mask, np.random.default_rng(seed))[1] > 127).mean()) for seed in range(40)]

    zoomed = subject_shares(TrainTransform(crop_size=48, min_crop_area=0.3))
    plain = subject_shares(TrainTransform(crop_size=48))
    assert max(zoomed) - min(zoomed) > 2 * (max(plain) - min(plain))
    assert all(share > 0 for share in zoomed)  # a 30 % crop of this photo always holds part of the subject
    with pytest.raises(ValueError, match="min_crop_area"):
        TrainTransform(crop_size=48, min_crop_area=1.5)


def test_copy_paste_keeps_both_subjects_in_the_target() -> None:
    image, mask = (np.asarray(x) for x in make_pair(1, (40, 40)))
    donor = np.full_like(image, 7)
    pasted, target = copy_paste(image, mask, donor, np.zeros_like(mask))
    assert np.array_equal(target, mask)  # a donor without a subject: only the pasted one
    assert (pasted[mask == 0] == 7).all() and np.array_equal(pasted[mask == 255], image[mask == 255])

    donor_mask = np.zeros_like(mask)
    donor_mask[:, :6] = 255  # the donor's own subject, a strip at the left edge
    donor_mask[:, 6:8] = 128  # with a soft edge
    _, target = copy_paste(image, mask, donor, donor_mask)
    uncovered = mask == 0
    assert (target[uncovered & (donor_mask == 255)] == 255).all()  # the donor's subject is still foreground
    assert (np.abs(target[uncovered & (donor_mask == 128)].astype(int) - 128) <= 1).all()
    assert np.array_equal(target[mask == 255], mask[mask == 255])
    assert (target[uncovered & (donor_mask == 0)] == 0).all()


def test_dataset_yields_normalised_tensors(pairs_folder: Path) -> None:
    dataset = PairDataset(find_pairs(pairs_folder), 64, TrainTransform(crop_size=56))
    image, mask = dataset[0]
    assert image.shape == (3, 56, 56) and mask.shape == (1, 56, 56)
    assert image.min() < -1 and 0 <= mask.min() and mask.max() <= 1


def test_persistent_workers_crop_each_epoch_afresh(pairs_folder: Path) -> None:
    """Workers keep their own copy of the dataset for the whole run; the epoch must still reach them."""
    from torch.utils.data import DataLoader

    dataset = PairDataset(find_pairs(pairs_folder)[:2], 64, TrainTransform(crop_size=40))
    loader = DataLoader(dataset, batch_size=2, num_workers=1, persistent_workers=True)
    batches = []
    for epoch in range(2):
        dataset.set_epoch(epoch)
        batches.append(next(iter(loader))[0])
    assert not torch.equal(batches[0], batches[1])
    dataset.set_epoch(0)
    assert torch.equal(next(iter(loader))[0], batches[0])  # still reproducible per epoch


def test_loss_matches_a_hand_computation() -> None:
    torch.manual_seed(0)
    logits = [torch.randn(2, 1, 8, 8) for _ in range(7)]
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    weights = [1.0, 0.5, 1.0, 2.0, 1.0, 1.0, 0.0]
    by_hand = 0.0
    for weight, logit in zip(weights, logits, strict=True):
        p = torch.sigmoid(logit)
        by_hand += weight * float(-(target * torch.log(p) + (1 - target) * torch.log(1 - p)).mean())
    assert float(DeepSupervisionLoss(weights)(logits, target)) == pytest.approx(by_hand, rel=1e-5)
    assert float(DeepSupervisionLoss()(logits, target)) == pytest.approx(
        sum(float(F.binary_cross_entropy_with_logits(logit, target)) for logit in logits), rel=1e-6)
    with pytest.raises(ValueError, match="need 7 loss weights"):
        DeepSupervisionLoss([1.0] * 6)


@pytest.mark.slow
def test_teacher_on_the_fly_labels_each_batch_and_can_teach_the_side_outputs() -> None:
    """The teacher labels the augmented batch itself (stored masks unused), stays frozen, and with side
    distillation each of the student's seven outputs gets the teacher's own map."""
    from clearbg_desktop.core.inference.model import build_model
    from training.engine import train_steps

    torch.manual_seed(0)
    student, teacher = build_model("small"), build_model("small").eval()
    teacher_before = [p.detach().clone() for p in teacher.parameters()]
    images = torch.rand(2, 3, 64, 64)
    stored = torch.zeros(2, 1, 64, 64)  # what a stale label file would say; must not be used

    seen: list[object] = []

    class Spy(DeepSupervisionLoss):
        def forward(self, logits, target):  # type: ignore[no-untyped-def]
            seen.append(target)
            return super().forward(logits, target)

    optimizer = torch.optim.Adam(student.parameters(), lr=1e-4)
    for distill_sides in (False, True):
        steps = list(train_steps(student, [(images, stored)], optimizer, Spy(), torch.device("cpu"),
                                 teacher=teacher, distill_sides=distill_sides, freeze_batchnorm=True))
        assert len(steps) == 1 and torch.isfinite(steps[0][0])
    with torch.no_grad():
        expected = [torch.sigmoid(t) for t in teacher(images)]
    fused_only, per_output = seen
    assert isinstance(fused_only, torch.Tensor) and torch.allclose(fused_only, expected[0], atol=1e-5)
    assert not torch.equal(fused_only, stored)
    assert isinstance(per_output, list) and len(per_output) == 7
    assert all(torch.allclose(got, want, atol=1e-5) for got, want in zip(per_output, expected, strict=True))
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters(), strict=True))


def test_float_parameters_written_without_a_dot_are_numbers() -> None:
    """YAML 1.1 reads ``1e-5`` as a string; ``--set train.lr=1e-5`` must still train at 1e-5."""
    from training.config import TrainParams, _section

    assert _section(TrainParams, {"lr": "1e-5"}).lr == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="lr: 'fast' is not a number"):
        _section(TrainParams, {"lr": "fast"})
