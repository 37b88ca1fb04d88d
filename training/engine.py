"""The training and validation steps, kept small and separate (torchvision references style)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.inference.segmenter import Segmenter
from training.data import Pair, load_mask
from training.losses import DeepSupervisionLoss
from training.metrics import evaluate_masks


def init_xavier(model: nn.Module) -> None:
    """Xavier-uniform conv weights, zero biases (the U²-Net recipe)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


@dataclass
class ValidationSet:
    """Photos and ground truths decoded once, evaluated at full resolution like the app."""

    name: str
    photos: list[Image.Image]
    truths: list[np.ndarray]

    @classmethod
    def from_pairs(cls, name: str, pairs: Sequence[Pair], limit: int = 0) -> ValidationSet:
        chosen = list(pairs)[:limit] if limit else list(pairs)
        photos, truths = [], []
        for pair in chosen:
            loaded = load_image(pair.image)
            photos.append(loaded.rgb)
            truths.append(np.asarray(load_mask(pair.mask, loaded.rgb.size)))
        return cls(name, photos, truths)


def predict_alphas(model: nn.Module, photos: Sequence[Image.Image], device: str, input_size: int) -> list[np.ndarray]:
    """Alphas through the app's own Segmenter (so validation measures what ships), in fp32: the reference the
    app's faster engines are judged against, and the same on every machine, so runs compare."""
    was_training = model.training
    # The trainer's thread count, not the app's default: validation must not oversubscribe parallel runs.
    segmenter = Segmenter(model, device=device, input_size=input_size, threads=torch.get_num_threads(),  # type: ignore[arg-type]
                          precision="fp32")
    try:
        return [np.asarray(segmenter.predict_alpha(photo)) for photo in photos]
    finally:
        model.train(was_training)


def validate(
    model: nn.Module, sets: Iterable[ValidationSet], device: str, input_size: int, weighted: bool = False
) -> dict[str, float]:
    """``{set/metric: value}`` plus ``score``: the mean max Fβ over the sets (model selection)."""
    results: dict[str, float] = {}
    scores = []
    for val_set in sets:
        started = time.perf_counter()
        preds = predict_alphas(model, val_set.photos, device, input_size)
        elapsed = time.perf_counter() - started
        metrics = evaluate_masks(preds, val_set.truths, weighted=weighted)
        metrics["images_per_second"] = len(preds) / max(elapsed, 1e-9)
        results.update({f"{val_set.name}/{k}": v for k, v in metrics.items()})
        scores.append(metrics["max_fbeta"])
    results["score"] = float(np.mean(scores)) if scores else 0.0
    return results


def autocast_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CPUs and on GPUs that have it (no loss scaling needed); fp16 + GradScaler on older GPUs.

    Native only: torch would also call bf16 "supported" on pre-Ampere GPUs, where it is emulated and slow.
    """
    if device.type == "cuda" and not torch.cuda.is_bf16_supported(including_emulation=False):
        return torch.float16
    return torch.bfloat16


def train_steps(
    model: nn.Module,
    loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    criterion: DeepSupervisionLoss,
    device: torch.device,
    amp: bool = False,
    channels_last: bool = False,
    scaler: torch.amp.GradScaler | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    freeze_batchnorm: bool = False,
    target_contrast: float = 1.0,
    teacher: nn.Module | None = None,
    distill_sides: bool = False,
) -> Iterable[tuple[torch.Tensor, int]]:
    """One epoch, yielding ``(loss tensor, batch size)`` after each optimiser step.

    ``freeze_batchnorm`` keeps every BatchNorm in eval mode (running statistics used, not updated):
    weights converted from ONNX carry each BatchNorm folded into its Conv, as an identity layer, and
    batch statistics in training mode would wreck them (loss 16-22 instead of 2.1, issue #18).
    ``target_contrast`` > 1 sharpens soft teacher masks around 50 % (the metrics stretch and threshold the
    student's map, so a student that copies the teacher's doubt scores worse than its agreement suggests).
    ``teacher`` (frozen, eval mode) labels each batch on the fly, so it sees exactly the crop, flip and colour
    jitter the student sees; the stored masks are then not used. With ``distill_sides`` each side output
    learns the teacher's side output (soft BCE on probabilities), else all seven learn its fused map.
    """
    model.train()
    if freeze_batchnorm:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
    dtype = autocast_dtype(device)  # asks the driver: once per epoch, not on the per-step path
    for images, masks in loader:
        if should_stop():
            return
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets: torch.Tensor | list[torch.Tensor]
        if teacher is not None:
            with torch.no_grad(), torch.autocast(device_type=device.type, dtype=dtype, enabled=amp):
                taught = [torch.sigmoid(t.float()) for t in teacher(images)]
            targets = taught if distill_sides else taught[0]
        else:
            targets = masks.to(device, non_blocking=True)
        if target_contrast != 1.0:
            def sharpen(mask: torch.Tensor) -> torch.Tensor:
                return ((mask - 0.5) * target_contrast + 0.5).clamp_(0.0, 1.0)

            targets = [sharpen(t) for t in targets] if isinstance(targets, list) else sharpen(targets)
        with torch.autocast(device_type=device.type, dtype=dtype, enabled=amp):
            logits = model(images)
        loss = criterion(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        # The loss stays on the device: reading it here would make a GPU wait for Python every step.
        yield loss.detach(), int(images.shape[0])
