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

# What each photo folder is and under which licence (../shared/data/README.md), for the model card.
DATA_SOURCES = {
    "photos-coco-mini": "COCO 2017 everyday photos, Flickr, CC licences per photo",
    "photos-worksite": "people at work sites and meetings, a research-use web set",
    "photos-clothing": "garments and shoes photographed at home, CC0",
    "photos-grocery": "grocery-store photos, MIT",
}


def describe_hardware(breakdown: dict[str, dict[str, float]], images_seen: int) -> str:
    """'139408 images, 9.34 h on x86_64 CPU, 2 threads + …'; images trained before it was recorded say so."""
    parts = [f"{int(share['images'])} images, {float(share['hours']):.2f} h on {name}" for name, share in breakdown.items()]
    unrecorded = images_seen - sum(int(share["images"]) for share in breakdown.values())
    if unrecorded > 0:
        parts.append(f"{unrecorded} images on unrecorded hardware")
    return " + ".join(parts) or "unrecorded hardware"


def is_official_file(path: Path) -> bool:
    """The authors' ``.pth`` or rembg's ``.onnx``: converted by the app's core, not read as a checkpoint."""
    return Path(path).suffix.lower() in (".onnx", ".pth")


def load_any_weights(path: Path, expected_sha256: str = "") -> U2Net:
    """A model from a training checkpoint, an app weights folder, or an official U²-Net file.

    ``expected_sha256`` pins a file: a different file under the same name is refused, so a run
    that says it starts from the official u2netp cannot silently start from something else.
    """
    from clearbg_desktop.core.official_weights import ConversionError, convert_checkpoint
    from clearbg_desktop.core.weights import sha256_file

    path = Path(path)
    if path.is_dir():
        return load_model(find_weights("small", [path]))
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (see README, Reproduce the bundled weights, for where it comes from)")
    if expected_sha256 and sha256_file(path) != expected_sha256.lower():
        raise ValueError(f"{path}: SHA-256 {sha256_file(path)[:12]}… is not the pinned {expected_sha256[:12]}…")
    if is_official_file(path):
        try:
            return convert_checkpoint(path)
        except ConversionError as exc:
            raise ValueError(str(exc)) from None
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
        "init": checkpoint.get("init"),
        "data_sources": DATA_SOURCES,
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

    training = card["training"]
    config = card["train_config"]
    init = card.get("init") or {}
    lines = [
        f"# ClearBG bundled model: {card['architecture']}",
        "",
        f"- Input: {card['input_size']}×{card['input_size']} RGB, ImageNet mean/std (see `clearbg_desktop/core/segmenter.py`).",
    ]
    if init:
        lines += [
            f"- Lineage: initialised from `{init['file']}` (SHA-256 {init['sha256']}), the official U²-Net weights of "
            "Qin et al. (Apache-2.0) as rembg distributes them, converted exactly into our model by "
            "`clearbg_desktop/core/official_weights.py` (all 7 outputs agree with onnxruntime to ~1e-6); "
            + (f"then trained for {training['images_seen']} images (below)." if training["images_seen"]
               else "**no training steps on top**: these are the official weights, unchanged, because nothing trained "
                    "here has measured better yet on people-val."),
            "- Licence: Apache-2.0 (the U²-Net authors' weights and anything derived from them).",
            "- Training data a fine-tune may use (`params.yaml`, `data.photo_folders`), with their licences: "
            + "; ".join(f"`{k}`: {v}" for k, v in (card.get("data_sources") or {}).items()) + ".",
            "",
        ]
        return "\n".join(lines + _metrics_lines(card))
    lines += [
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
    return "\n".join(lines + _metrics_lines(card))


def _metrics_lines(card: dict) -> list[str]:
    from training.evaluate import markdown_table

    lines: list[str] = []
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
    return lines
