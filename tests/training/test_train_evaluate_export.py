"""Training really learns, resumes where it stopped, evaluates, and exports what the app loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from clearbg_desktop.core.inference.model import U2Net, build_model
from clearbg_desktop.core.inference.segmenter import Segmenter
from clearbg_desktop.core.inference.weights import find_weights, load_model
from training.checkpoint import load_checkpoint
from training.config import DataParams, EvalParams, Params, TrainParams
from training.data import find_pairs
from training.engine import ValidationSet, init_xavier, train_steps, validate
from training.evaluate import run_evaluation
from training.export import export
from training.ingest import ingest
from training.losses import DeepSupervisionLoss
from training.train import train

REPO = Path(__file__).resolve().parents[2]


def tiny_params(pairs: Path, work: Path, **train_overrides: object) -> Params:
    settings: dict = {"image_size": 64, "crop_size": 56, "batch_size": 4, "epochs": 2, "val_every_images": 8,
                      "checkpoint_every": 1, "out_dir": str(work / "runs"), **train_overrides}
    train_params = TrainParams(**settings)
    return Params(data=DataParams(pair_folders=[str(pairs)], validation_folders=[str(pairs)], val_fraction=0.25,
                                  work_dir=str(work / "data")),
                  train=train_params)


@pytest.mark.slow
def test_thirty_iterations_lower_the_loss_markedly(pairs_folder: Path) -> None:
    from torch.utils.data import DataLoader

    from training.data import PairDataset
    from training.transforms import TrainTransform

    torch.manual_seed(0)
    dataset = PairDataset(find_pairs(pairs_folder), 64, TrainTransform(crop_size=56))
    model = build_model("small")
    init_xavier(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loader = DataLoader(dataset, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    losses: list[float] = []
    while len(losses) < 30:
        dataset.set_epoch(len(losses))
        losses += [float(loss) for loss, _ in train_steps(model, loader, optimizer, DeepSupervisionLoss(),
                                                          torch.device("cpu"))]
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    assert last < 0.6 * first, f"loss went from {first:.3f} to {last:.3f}"


def test_validation_keeps_the_trainers_thread_count(pairs_folder: Path) -> None:
    """Parallel CPU runs (torchrun, A/B arms) each set their threads; validating must not raise them to all cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        val_set = ValidationSet.from_pairs("pairs", find_pairs(pairs_folder), limit=2)
        metrics = validate(build_model("small").eval(), [val_set], "cpu", 64)
        assert torch.get_num_threads() == 1 and 0 <= metrics["pairs/mae"] <= 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.slow
def test_train_resume_evaluate_export(pairs_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    params = tiny_params(pairs_folder, tmp_path, epochs=1, ema_decay=0.5)
    manifest = ingest(params.data, progress=False)
    best = train(params, manifest, progress=False)
    first = load_checkpoint(tmp_path / "runs" / "last.pt")
    assert first["epoch"] == 1 and first["step"] == 1 and first["images_seen"] == 4
    assert set(first) >= {"model", "optimizer", "epoch", "model_config", "train_config", "best_metric", "history",
                          "ema"}
    assert first["model_config"] == {"variant": "small", "input_size": 64}

    params.train.epochs = 3  # resume: continues from step 1, not from scratch
    params.train.lr = 2e-4  # ... with the lr params.yaml says now, not the one saved in the optimizer state
    train(params, manifest, progress=False)
    resumed = load_checkpoint(tmp_path / "runs" / "last.pt")
    assert [group["lr"] for group in resumed["optimizer"]["param_groups"]] == [2e-4]
    assert not torch.equal(resumed["ema"]["stage1.rebnconvin.conv_s1.weight"], resumed["model"]["stage1.rebnconvin.conv_s1.weight"])
    assert resumed["step"] == 3 and resumed["epoch"] == 3 and resumed["images_seen"] == 12
    history = json.loads((tmp_path / "runs" / "history.json").read_text())
    assert [h["images_seen"] for h in history] == [4, 8, 12]
    assert "people-val" not in history[0] and "pairs/max_fbeta" in history[0]

    if (tmp_path / "mlruns").exists():  # MLflow installed: the run is recorded
        assert list((tmp_path / "mlruns").rglob("metrics/loss"))

    held_out = [r for r in json.loads(manifest.read_text())["records"] if r["split"] == "val"]
    evaluation = EvalParams(dataset=str(pairs_folder), weights=str(best), out_dir=str(tmp_path / "eval"),
                            input_sizes=[48], heldout_manifest=str(manifest),
                            domains={"everything": sorted({r["source"] for r in held_out}), "none": ["nowhere"]})
    table = run_evaluation(evaluation)
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    agreement = metrics["teacher_agreement"]  # the held-out split, per domain that has photos
    assert list(agreement) == ["everything"] and agreement["everything"]["images"] == len(held_out) > 0
    assert "held-out everything" in table
    (name, values), (resized_name, resized) = metrics["models"].items()  # trained size first, then the sweep
    assert resized_name == f"{name} at 48 px" and f"| {resized_name} |" in table
    assert set(values) == set(resized) == {"max_fbeta", "mae", "weighted_fbeta", "s_measure", "e_measure",
                                           "images_per_second"}
    assert 0 <= values["mae"] <= 1 and "| max Fβ |" in table

    entry = export(best, tmp_path / "weights", "small")
    loaded = find_weights("small", [tmp_path / "weights"])
    assert loaded.sha256 == entry.sha256 and loaded.input_size == 64
    assert loaded.card["training"]["images_seen"] >= 4 and loaded.card["data_manifest_sha256"]
    (hardware, share), = loaded.card["training"]["hardware_breakdown"].items()  # one CPU so far
    assert "CPU" in hardware and share["images"] == loaded.card["training"]["images_seen"]
    model = load_model(loaded)
    reference = load_checkpoint(best)["ema"]  # the averaged weights are what ships
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, reference[key])
    assert (tmp_path / "weights" / "MODEL_CARD.md").exists()
    alpha = Segmenter(model, device="cpu", input_size=loaded.input_size).predict_alpha(
        __import__("PIL.Image", fromlist=["Image"]).open(find_pairs(pairs_folder)[0].image).convert("RGB"))
    assert alpha.size == (72, 56)

    # A later session continues from the bundled weights: the counters keep adding up. On the same CPU with the
    # same threads: the Segmenter above set torch's threads to all cores, and an xdist worker starts on one
    # (whether another test had run first in the worker decided it: it failed by test order).
    torch.set_num_threads(int(hardware.split("CPU, ")[1].split(" ")[0]))
    later = tiny_params(pairs_folder, tmp_path / "later", epochs=1, init_from=str(tmp_path / "weights"))
    train(later, manifest, progress=False)
    continued = load_checkpoint(tmp_path / "later" / "runs" / "last.pt")
    assert continued["images_seen"] == loaded.card["training"]["images_seen"] + 4
    assert continued["hardware"][hardware]["images"] == continued["images_seen"]  # the same CPU: shares add up
    # The curve up to the exported (best) weights; checks after them belonged to the abandoned branch.
    earlier_curve = [h["images_seen"] for h in loaded.card["validation_history"]
                     if h["images_seen"] <= loaded.card["training"]["images_seen"]]
    assert [h["images_seen"] for h in continued["history"]] == earlier_curve + [continued["images_seen"]]


@pytest.mark.slow
def test_teacher_mode_labels_photos_and_records_its_hash(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from clearbg_desktop.core.inference.model import FusedProbability
    from tests.training.conftest import make_pair

    teacher_path = tmp_path / "teacher.onnx"
    torch.manual_seed(0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(FusedProbability(build_model("small").eval()), torch.randn(1, 3, 320, 320),
                          str(teacher_path), input_names=["input.1"], dynamo=False, opset_version=17)
    photos = tmp_path / "photos" / "images"
    photos.mkdir(parents=True)
    for index in range(5):
        make_pair(index)[0].save(photos / f"p{index}.jpg")
    (photos / "broken.jpg").write_bytes(b"nope")
    from tests.training.test_straighten import framed, scene

    framed(scene(), 30.0).save(photos / "tilted.png")  # as some sources deliver them: turned, black corners
    tilted_bytes = (photos / "tilted.png").read_bytes()
    turn_list = tmp_path / "turns.csv"  # p3 was delivered on its side: the list says so
    turn_list.write_text("source,file,rotate_clockwise\nphotos,p3.jpg,90\n", encoding="utf-8")
    p3_bytes = (photos / "p3.jpg").read_bytes()
    params = DataParams(photo_folders=[str(photos)], teacher_onnx=str(teacher_path), val_fraction=0.2,
                        turn_lists=[str(turn_list)], work_dir=str(tmp_path / "work"))
    manifest = json.loads(ingest(params, progress=False).read_text())
    assert manifest["counts"] == {"train": 5, "val": 1, "skipped": 1}
    assert len(manifest["teacher"]["sha256"]) == 64
    masks = sorted((tmp_path / "work" / "teacher" / "photos").glob("p[0-9].png"))
    assert len(masks) == 4
    (straightened,) = [r for r in manifest["records"] if r.get("straightened")]
    assert straightened["original"] == str(photos / "tilted.png")
    assert straightened["image"].endswith("tilted.upright.jpg") and straightened["mask"].endswith("tilted.upright.png")
    assert abs(straightened["width"] - 240) <= 4 and abs(straightened["height"] - 160) <= 4  # the photo, level again
    assert (photos / "tilted.png").read_bytes() == tilted_bytes  # the original is never touched
    from PIL import Image

    (turned,) = [r for r in manifest["records"] if "turned_clockwise" in r]
    assert turned["original"] == str(photos / "p3.jpg") and turned["turned_clockwise"] == 90
    assert turned["image"].endswith("p3.cw90.jpg") and turned["mask"].endswith("p3.cw90.png")
    assert (turned["width"], turned["height"]) == (56, 72)  # 72 x 56 on its side
    with Image.open(turned["mask"]) as mask:
        assert mask.size == (56, 72)  # the teacher labelled the upright copy
    assert (photos / "p3.jpg").read_bytes() == p3_bytes
    turn_list.write_text("source,file,rotate_clockwise\nphotos,p9.jpg,90\n", encoding="utf-8")
    with pytest.raises(ValueError, match="photos/p9.jpg"):  # a mistyped name is refused, not ignored
        ingest(params, progress=False)
    turn_list.write_text("source,file,rotate_clockwise\nphotos,p3.jpg,90\n", encoding="utf-8")

    from training.teacher import OnnxSaliencyModel

    with Image.open(masks[0]) as mask, Image.open(photos / "p0.jpg") as photo:
        assert mask.mode == "L" and mask.size == (72, 56)
        expected = OnnxSaliencyModel(teacher_path).predict_alpha(photo.convert("RGB"))
        assert np.array_equal(np.asarray(mask), expected)  # exactly the teacher's soft mask, 8-bit
    before = masks[0].stat().st_mtime_ns
    ingest(params, progress=False)  # resume: existing masks are kept, not recomputed
    assert masks[0].stat().st_mtime_ns == before


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(pairs_folder: Path, tmp_path: Path) -> None:
    import yaml

    params = {
        "data": {"pair_folders": [str(pairs_folder)], "validation_folders": [], "val_fraction": 0.25,
                 "work_dir": str(tmp_path / "data")},
        "train": {"image_size": 64, "crop_size": 56, "batch_size": 2, "epochs": 1, "out_dir": str(tmp_path / "runs")},
    }
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(params))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"file:{tmp_path / 'mlruns'}", "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "training", "ingest", "--params", str(params_file), "--no-progress"],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=300)
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "training", "train",
         "--params", str(params_file), "--no-progress"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    checkpoint = load_checkpoint(tmp_path / "runs" / "last.pt")
    # 6 train images: 3 per rank, one full batch of 2 each (drop_last) -> 1 step, 4 images
    assert checkpoint["images_seen"] == 4 and checkpoint["step"] == 1


def test_training_shares_add_up_per_hardware_for_the_model_card() -> None:
    """A later session on a GPU adds its own share; images trained before shares were recorded are named."""
    from training.export import describe_hardware
    from training.train import add_run_to_hardware

    cpu = {"x86_64 CPU, 2 threads": {"images": 100, "hours": 2.0}}
    both = add_run_to_hardware(cpu, "NVIDIA H200 (CUDA)", 400, 360.0)
    assert both == {"x86_64 CPU, 2 threads": {"images": 100, "hours": 2.0},
                    "NVIDIA H200 (CUDA)": {"images": 400, "hours": 0.1}}
    assert cpu == {"x86_64 CPU, 2 threads": {"images": 100, "hours": 2.0}}  # the prior shares are not mutated
    assert add_run_to_hardware(both, "NVIDIA H200 (CUDA)", 100, 360.0)["NVIDIA H200 (CUDA)"] == {"images": 500,
                                                                                                  "hours": 0.2}
    assert describe_hardware(both, 550) == ("100 images, 2.00 h on x86_64 CPU, 2 threads + 400 images, 0.10 h on "
                                            "NVIDIA H200 (CUDA) + 50 images on unrecorded hardware")
    assert describe_hardware({}, 10) == "10 images on unrecorded hardware"


def test_gpus_with_only_emulated_bf16_train_in_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pre-Ampere GPUs emulate bf16 (slowly): they get fp16 + GradScaler; CPUs and Ampere+ get bf16."""
    from training.engine import autocast_dtype

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation)
    assert autocast_dtype(torch.device("cuda")) == torch.float16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert autocast_dtype(torch.device("cuda")) == torch.bfloat16
    assert autocast_dtype(torch.device("cpu")) == torch.bfloat16


@pytest.mark.slow
def test_frozen_batchnorm_keeps_converted_weights_and_targets_can_be_sharpened() -> None:
    """Weights converted from ONNX have identity BatchNorms: a step must not replace their statistics."""
    torch.manual_seed(0)
    model = U2Net("small")
    images = torch.randn(2, 3, 64, 64)
    soft = torch.full((2, 1, 64, 64), 0.7)
    seen: list[torch.Tensor] = []

    class Recording(DeepSupervisionLoss):
        def forward(self, logits, target):  # noqa: ANN001, ANN201 - the parent's signature
            seen.append(target.clone())
            return super().forward(logits, target)

    bn = model.stage1.rebnconvin.bn_s1
    before = bn.running_mean.clone()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    list(train_steps(model, [(images, soft)], optimizer, Recording(), torch.device("cpu"), freeze_batchnorm=True,
                     target_contrast=4.0))
    torch.testing.assert_close(bn.running_mean, before)
    assert float(seen[0].max()) == pytest.approx(1.0)  # 0.7 sharpened by 4 around 0.5 -> 1.3, clamped
    list(train_steps(model, [(images, soft)], optimizer, Recording(), torch.device("cpu")))
    assert not torch.equal(bn.running_mean, before)  # unfrozen, training mode updates them
