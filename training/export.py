"""The ``export`` stage: best checkpoint -> the app's bundled weights folder.

Writes exactly what ``clearbg_desktop.core.weights`` loads: the state dict (tensors only), a
SHA-256 manifest entry, and a model card JSON (data manifest hash, teacher hash, params,
metrics, cumulative training time and hardware).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from clearbg_desktop.core.model import U2Net
from clearbg_desktop.core.weights import WeightsEntry, find_weights, load_model, write_weights_folder
from training.train import load_checkpoint, model_from_checkpoint


def describe_hardware(breakdown: dict[str, dict[str, float]], images_seen: int) -> str:
    """'139408 images, 9.34 h on x86_64 CPU, 2 threads + …'; images trained before it was recorded say so."""
    parts = [f"{int(share['images'])} images, {float(share['hours']):.2f} h on {name}" for name, share in breakdown.items()]
    unrecorded = images_seen - sum(int(share["images"]) for share in breakdown.values())
    if unrecorded > 0:
        parts.append(f"{unrecorded} images on unrecorded hardware")
    return " + ".join(parts) or "unrecorded hardware"


def load_any_weights(path: Path) -> U2Net:
    """A model from a training checkpoint or from an app weights folder/manifest entry."""
    path = Path(path)
    if path.is_dir():
        return load_model(find_weights("small", [path]))
    checkpoint = load_checkpoint(path)
    if "model_config" in checkpoint:
        return model_from_checkpoint(checkpoint)
    model = U2Net("small")
    model.load_state_dict(checkpoint)
    return model.eval()


def export(
    checkpoint_path: Path,
    out_dir: Path,
    name: str = "small",
    metrics_json: Path | str | None = None,
    extra_card: dict | None = None,
) -> WeightsEntry:
    from training.ingest import manifest_hash

    checkpoint = load_checkpoint(Path(checkpoint_path))
    model = model_from_checkpoint(checkpoint)
    history = checkpoint.get("history", [])
    run_end = checkpoint
    last_path = Path(checkpoint_path).with_name("last.pt")
    if last_path.is_file() and last_path != Path(checkpoint_path):
        # The run went on after its best checkpoint: keep the whole learning curve for the next session.
        last = load_checkpoint(last_path)
        if last.get("history", [])[: len(history)] == history:
            run_end, history = last, last["history"]
    data_manifest = Path(checkpoint.get("data_manifest", ""))
    teacher = None
    data_hash = None
    if data_manifest.is_file():
        data_hash = manifest_hash(data_manifest)
        teacher = json.loads(data_manifest.read_text(encoding="utf-8")).get("teacher")
    previous = {}
    card_path = Path(out_dir) / f"u2net_{name}.card.json"
    if card_path.exists():
        previous = json.loads(card_path.read_text(encoding="utf-8"))
    card = {
        "name": name,
        "architecture": f"U²-Net ({model.variant})",
        "input_size": checkpoint["model_config"]["input_size"],
        "exported": datetime.now(UTC).isoformat(timespec="seconds"),
        "training": {
            "epoch": checkpoint["epoch"],
            "step": checkpoint["step"],
            "images_seen": checkpoint["images_seen"],
            "train_hours": round(checkpoint.get("train_seconds", 0.0) / 3600, 3),
            "hardware": describe_hardware(checkpoint.get("hardware", {}), checkpoint["images_seen"]),
            "hardware_breakdown": checkpoint.get("hardware", {}),
            "best_validation_score": checkpoint.get("best_metric"),
            "run_images_seen": run_end["images_seen"],
            "run_train_hours": round(run_end.get("train_seconds", 0.0) / 3600, 3),
        },
        "train_config": checkpoint["train_config"],
        "data_manifest_sha256": data_hash,
        "teacher": teacher,
        "validation_history": history,
        "metrics": previous.get("metrics", {}),
    }
    if extra_card:
        card.update(extra_card)
    metrics_file = Path(metrics_json) if metrics_json else None
    if metrics_file is not None and metrics_file.is_file():
        card["metrics"] = json.loads(metrics_file.read_text(encoding="utf-8"))
    entry = write_weights_folder(model, Path(out_dir), name, card=card,
                                 input_size=int(checkpoint["model_config"]["input_size"]))
    (Path(out_dir) / "MODEL_CARD.md").write_text(model_card_markdown(card), encoding="utf-8")
    return entry


def model_card_markdown(card: dict) -> str:
    """Human-readable card: provenance, training so far, measured comparison, learning curve."""
    from training.evaluate import markdown_table

    training = card["training"]
    config = card["train_config"]
    lines = [
        f"# ClearBG bundled model: {card['architecture']}",
        "",
        f"- Input: {card['input_size']}×{card['input_size']} RGB, ImageNet mean/std (see `clearbg_desktop/core/segmenter.py`).",
        "- Trained from scratch (Xavier init) by `training/` on teacher-labelled photos"
        + (f", continued across sessions (last run started from `{config['init_from']}`)" if config.get("init_from") else "")
        + "; teacher: "
        f"{(card.get('teacher') or {}).get('file', 'none')} (SHA-256 {(card.get('teacher') or {}).get('sha256', '-')}).",
        f"- Data manifest SHA-256: {card.get('data_manifest_sha256')}.",
        f"- Cumulative training: {training['images_seen']} images seen in {training['train_hours']} h: "
        f"{training['hardware']} (the last run: {training['epoch']} epochs, {training['step']} steps)"
        + (f"; the run went on to {training['run_images_seen']} images ({training['run_train_hours']} h) without "
           f"beating it on validation (curve below)" if training.get("run_images_seen", 0) > training["images_seen"]
           else "") + ".",
        f"- Recipe: RescaleT {config['image_size']} → "
        + (f"random-scale crop (area {config['min_crop_area']}–1, resized) to {config['crop_size']}"
           if config.get("min_crop_area") else f"RandomCrop {config['crop_size']}")
        + f", hflip={config['hflip']}, "
        f"vflip={config['vflip']}, colour jitter {config['color_jitter']}, copy-paste p={config['copy_paste_prob']}; "
        f"Adam lr {config['lr']}, batch {config['batch_size']}, BCE on fused + 6 sides (weights {config['loss_weights']})"
        + (f"; validated and shipped: the moving average of the weights (decay {config['ema_decay']})"
           if config.get("ema_decay") else "") + ".",
        "",
    ]
    metrics = card.get("metrics") or {}
    if metrics.get("models"):
        lines += ["## Measured comparison", "", markdown_table(metrics["models"], Path(metrics["dataset"]).name,
                                                               metrics["images"])]
        models = metrics["models"]
        ours = next(iter(models.values()))
        reference = models.get("u2netp.onnx")
        if reference:
            lines += ["Distance to the reference to beat (u2netp.onnx), ours minus reference: "
                      + ", ".join(f"{key} {ours[key] - reference[key]:+.4f}" for key in
                                  ("max_fbeta", "s_measure", "mae", "weighted_fbeta")) + ".", ""]
    history = card.get("validation_history") or []
    if history:
        keys = [k for k in history[-1] if k.endswith("/max_fbeta") or k.endswith("/mae") or k.endswith("/s_measure")]
        lines += ["## Learning curve (validation during training)", "",
                  "| images seen | hours | weights | train loss | " + " | ".join(keys) + " |",
                  "|---|---|---|---|" + "---|" * len(keys)]
        for entry in history:
            cells = [f"{entry.get(k, float('nan')):.4f}" for k in keys]
            lines.append(f"| {entry['images_seen']} | {entry['train_hours']:.2f} | {entry.get('weights', 'raw')} | "
                         f"{entry.get('train_loss', float('nan')):.3f} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
