"""The ``train`` stage: U²-Net(-small) with deep supervision, Adam, checkpoints, resume, MLflow.

Single process on CPU/CUDA, or several with ``torchrun`` (DistributedDataParallel; gloo on CPU,
NCCL on CUDA). Checkpoints are self-describing, so ``export`` and ``evaluate`` need no params:
``{model, optimizer, epoch, step, images_seen, model_config, train_config, best_metric, history}``, plus
``ema`` (the averaged weights, which validation, ``evaluate`` and ``export`` use) when ``train.ema_decay`` is on.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from clearbg_desktop.core.inference.devices import choose_device, cpu_has_native_bf16
from clearbg_desktop.core.inference.model import U2Net, build_model
from training.checkpoint import is_official_file, load_checkpoint, load_weights, save_checkpoint
from training.config import Params
from training.data import PairDataset, find_pairs
from training.engine import ValidationSet, autocast_dtype, init_xavier, train_steps, validate
from training.losses import DeepSupervisionLoss
from training.manifest import ingest_manifest_path, manifest_pairs, read_data_manifest
from training.tracking import Tracker, flatten_params
from training.transforms import TrainTransform
from training.weight_average import WeightAverage

LOSS_READ_EVERY_STEPS = 20  # reading a loss waits for the GPU: batch the reads


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def hardware_description(device: torch.device, world: int = 1) -> str:
    """What a run trained on, for the model card's cumulative training line."""
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA)"
    else:
        name = f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
    return f"{world} × {name}" if world > 1 else name


def add_run_to_hardware(prior: dict[str, dict[str, float]], hardware: str, images: int,
                        seconds: float) -> dict[str, dict[str, float]]:
    """``{hardware: {images, hours}}`` with this run's share added: later sessions may train elsewhere."""
    totals = {name: dict(share) for name, share in prior.items()}
    share = totals.setdefault(hardware, {"images": 0, "hours": 0.0})
    share["images"] = int(share["images"]) + images
    share["hours"] = round(float(share["hours"]) + seconds / 3600, 4)
    return totals


def _distributed() -> tuple[int, int]:
    """(rank, world size); initialises the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def prior_training(init_from: Path) -> dict[str, Any]:
    """Cumulative counters of the weights a run continues from, so the model card keeps adding up.

    The curve keeps only the checks up to those weights: when they were the best, not the last, of their
    run, the later checks belong to a branch the new run does not continue.
    """
    from clearbg_desktop.core.inference.weights import find_weights

    if is_official_file(init_from):
        return {"images_seen": 0, "train_seconds": 0.0, "hardware": {}, "history": []}
    if init_from.is_dir():
        card = find_weights("small", [init_from]).card
        training = card.get("training", {})
        images_seen = int(training.get("images_seen", 0))
        seconds = float(training.get("train_hours", 0.0)) * 3600
        history = list(card.get("validation_history", []))
        hardware = training.get("hardware_breakdown") or (
            {training["hardware"]: {"images": images_seen, "hours": seconds / 3600}} if training.get("hardware") else {})
    else:
        checkpoint = load_checkpoint(init_from)
        images_seen = int(checkpoint.get("images_seen", 0))
        seconds = float(checkpoint.get("train_seconds", 0.0))
        history = list(checkpoint.get("history", []))
        hardware = checkpoint.get("hardware", {})
    return {"images_seen": images_seen, "train_seconds": seconds, "hardware": hardware,
            "history": [entry for entry in history if entry["images_seen"] <= images_seen]}


def _validation_sets(params: Params, manifest: dict) -> list[ValidationSet]:
    limit = params.train.val_max_images
    sets = []
    teacher_val = manifest_pairs(manifest, "val")
    if teacher_val:
        sets.append(ValidationSet.from_pairs("heldout", teacher_val, limit))
    for folder in params.data.validation_folders:
        sets.append(ValidationSet.from_pairs(Path(folder).name, find_pairs(folder), limit))
    return sets


def train(params: Params, manifest_path: Path | None = None, progress: bool = True) -> Path:
    """Train (or resume) and return the path of the best checkpoint."""
    from tqdm import tqdm

    config = params.train
    rank, world = _distributed()
    main_process = rank == 0
    seed_everything(config.seed + rank)
    device = choose_device("auto")
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    on_cuda = device.type == "cuda"
    if on_cuda:
        torch.backends.cudnn.benchmark = True  # one input size throughout: let cuDNN pick its fastest kernels
    out_dir = Path(config.out_dir)
    manifest_path = manifest_path or ingest_manifest_path(params.data.work_dir)
    # A run with no steps (epochs: 0, e.g. the official weights as they are) needs no training data.
    manifest = read_data_manifest(manifest_path) if config.epochs > 0 or manifest_path.exists() else {"records": []}
    packed_size = (manifest.get("packed") or {}).get("image_size")
    if packed_size is not None and packed_size != config.image_size:
        raise ValueError(f"{manifest_path}: the data were packed at {packed_size} px but train.image_size is "
                         f"{config.image_size}; pack again at that size or --set train.image_size={packed_size}")

    dataset = PairDataset(
        manifest_pairs(manifest, "train"),
        config.image_size,
        TrainTransform(config.crop_size, config.hflip, config.vflip, config.color_jitter, config.copy_paste_prob,
                       config.min_crop_area),
        seed=config.seed,
    )
    sampler: DistributedSampler | RandomSampler | None = (
        DistributedSampler(dataset, num_replicas=world, rank=rank, seed=config.seed)
        if world > 1
        else RandomSampler(dataset, generator=torch.Generator().manual_seed(config.seed)) if len(dataset) else None
    )
    loader: DataLoader | list = DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.num_workers,
                        drop_last=len(dataset) > config.batch_size, pin_memory=on_cuda,
                        persistent_workers=config.num_workers > 0) if len(dataset) else []
    model = build_model(config.variant)
    init_xavier(model)
    if config.init_from:
        model.load_state_dict(load_weights(Path(config.init_from), config.init_sha256).model.state_dict())
    init_record = None
    if config.init_from and Path(config.init_from).is_file():
        from clearbg_desktop.core.inference.weights import sha256_file

        init_record = {"file": Path(config.init_from).name, "sha256": sha256_file(Path(config.init_from))}
    model.to(device)
    use_channels_last = config.channels_last
    if use_channels_last:
        model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    teacher = None
    if config.teacher:
        teacher = load_weights(Path(config.teacher), config.teacher_sha256).model.eval().to(device)
        for parameter in teacher.parameters():
            parameter.requires_grad_(False)
        if use_channels_last:
            teacher = teacher.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if main_process:
            print(f"teacher on the fly: {config.teacher} (U²-Net {teacher.variant}); the stored masks are not used")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps,
                                 weight_decay=config.weight_decay)
    criterion = DeepSupervisionLoss(config.loss_weights)
    use_amp = config.amp and (on_cuda or (device.type == "cpu" and cpu_has_native_bf16()))
    needs_scaler = use_amp and on_cuda and autocast_dtype(device) == torch.float16  # bf16 needs no loss scaling
    scaler = torch.amp.GradScaler("cuda") if needs_scaler else None

    state: dict[str, Any] = {"epoch": 0, "step": 0, "images_seen": 0, "best_metric": -math.inf, "history": [],
             "train_seconds": 0.0, "hardware": {}}
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if config.init_from and not last_path.exists():
        state.update(prior_training(Path(config.init_from)))
    checkpoint = load_checkpoint(last_path) if last_path.exists() else None
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        for group in optimizer.param_groups:  # params.yaml rules: a resumed run takes a changed lr, not the saved one
            group.update(lr=config.lr, betas=tuple(config.betas), eps=config.eps, weight_decay=config.weight_decay)
        state.update({k: checkpoint[k] for k in state if k in checkpoint})
        if main_process:
            print(f"resumed from {last_path}: epoch {state['epoch']}, step {state['step']}, "
                  f"{state['images_seen']} images seen")
    # Starts from the weights it continues from; a checkpoint written without averaging starts it afresh.
    average = WeightAverage(model, config.ema_decay) if config.ema_decay and main_process else None
    if average is not None and checkpoint is not None and checkpoint.get("ema"):
        average.load_state_dict(checkpoint["ema"])
    del checkpoint
    wrapped = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    base_model: U2Net = model

    tracker = Tracker("clearbg-u2net", run_name=f"{config.variant}-{config.image_size}",
                      enabled=main_process)
    tracker.log_params(flatten_params("", params.to_dict()))
    val_sets = _validation_sets(params, manifest) if main_process else []
    model_config = {"variant": config.variant, "input_size": config.image_size}

    run_hardware = hardware_description(device, world)

    def checkpoint_state() -> dict:
        hardware = add_run_to_hardware(hardware_before, run_hardware, state["images_seen"] - images_before,
                                       state["train_seconds"] - session_start_seconds)
        return {
            "model": {k: v.detach().cpu() for k, v in base_model.state_dict().items()},
            **({"ema": average.state_dict()} if average is not None else {}),
            "optimizer": optimizer.state_dict(),
            "model_config": model_config,
            "train_config": json.loads(json.dumps(asdict(config))),
            "data_manifest": str(manifest_path),
            "init": init_record,
            **state,
            "hardware": hardware,
        }

    started = time.perf_counter()
    session_start_seconds = state["train_seconds"]
    images_before, hardware_before = state["images_seen"], state["hardware"]
    deadline = started + config.max_minutes * 60 if config.max_minutes > 0 else math.inf
    val_every = config.val_every_images or len(dataset)
    next_val = (state["images_seen"] // val_every + 1) * val_every

    def run_validation() -> None:
        evaluated = average.model if average is not None else base_model
        metrics = validate(evaluated, val_sets, str(device), config.image_size)
        metrics["train_loss"] = float(np.mean(recent_losses)) if recent_losses else float("nan")
        entry = {"images_seen": state["images_seen"], "epoch": state["epoch"], "step": state["step"],
                 "train_hours": state["train_seconds"] / 3600, "weights": "average" if average else "raw", **metrics}
        state["history"].append(entry)
        tracker.log_metrics({k.replace("/", "."): v for k, v in metrics.items()}, step=state["images_seen"])
        improved = metrics["score"] > state["best_metric"]
        if improved:
            state["best_metric"] = metrics["score"]
        save_checkpoint(last_path, checkpoint_state())
        if improved:
            save_checkpoint(best_path, checkpoint_state())
        (out_dir / "history.json").write_text(json.dumps(state["history"], indent=1) + "\n")
        summary = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if "per_second" not in k)
        print(f"[validate] {state['images_seen']} images: {summary}{' (best)' if improved else ''}", flush=True)

    def budget_spent() -> bool:
        return 0 < config.max_images <= state["images_seen"]

    recent_losses: list[float] = []
    pending_losses: list[torch.Tensor] = []
    stopped = False
    epoch_bar = None

    def read_losses() -> None:
        """Bring the steps' losses to the CPU in one go (one GPU sync), for the progress bar and MLflow."""
        nonlocal recent_losses
        if not pending_losses:
            return
        values = torch.stack(pending_losses).float().cpu().tolist()
        pending_losses.clear()
        recent_losses = (recent_losses + values)[-200:]
        if epoch_bar is not None:
            epoch_bar.set_postfix(loss=f"{values[-1]:.3f}")
        if main_process:
            tracker.log_metrics({"loss": float(np.mean(values))}, step=state["images_seen"])

    try:
        while state["epoch"] < config.epochs and not stopped:
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(state["epoch"])
            dataset.set_epoch(state["epoch"])
            epoch_bar = tqdm(total=len(loader), desc=f"epoch {state['epoch'] + 1}/{config.epochs}",
                             disable=not (progress and main_process), unit="batch")
            steps = train_steps(wrapped, loader, optimizer, criterion, device, use_amp, use_channels_last, scaler,
                                should_stop=lambda: time.perf_counter() > deadline or budget_spent(),
                                freeze_batchnorm=config.freeze_batchnorm, target_contrast=config.target_contrast,
                                teacher=teacher, distill_sides=config.distill_sides)
            for loss, batch in steps:
                state["step"] += 1
                if average is not None:
                    average.update(base_model)
                state["images_seen"] += batch * world
                state["train_seconds"] = session_start_seconds + time.perf_counter() - started
                pending_losses.append(loss)
                epoch_bar.update(1)
                due_validation = state["images_seen"] >= next_val
                due_checkpoint = state["step"] % config.checkpoint_every == 0
                if len(pending_losses) >= LOSS_READ_EVERY_STEPS or due_validation or due_checkpoint:
                    read_losses()
                if main_process:
                    if due_validation:
                        next_val += val_every
                        run_validation()
                    elif due_checkpoint:
                        save_checkpoint(last_path, checkpoint_state())
            read_losses()
            epoch_bar.close()
            if time.perf_counter() > deadline or budget_spent():
                stopped = True
                if main_process:
                    print(f"budget reached ({config.max_minutes} min / {config.max_images} images)", flush=True)
            else:
                state["epoch"] += 1
        if main_process:
            if not state["history"] or state["history"][-1]["images_seen"] != state["images_seen"]:
                run_validation()
            save_checkpoint(last_path, checkpoint_state())
            tracker.log_artifact(best_path)
            tracker.log_artifact(out_dir / "history.json")
    finally:
        if epoch_bar is not None:
            epoch_bar.close()
        tracker.close()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    return best_path
