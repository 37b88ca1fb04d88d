"""The ``export`` stage: best checkpoint -> the app's bundled weights folder.

Writes exactly what ``clearbg_desktop.core.inference.weights`` loads: the state dict (tensors only), a
SHA-256 manifest entry, and a model card JSON (data manifest hash, teacher hash, params,
metrics, cumulative training time and hardware).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from clearbg_desktop.core.inference.weights import WeightsEntry
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from training.checkpoint import load_checkpoint, model_from_checkpoint
from training.model_card import DATA_SOURCES, describe_hardware, model_card_markdown


def export(
    checkpoint_path: Path,
    out_dir: Path,
    name: str = "small",
    metrics_json: Path | str | None = None,
    extra_card: dict | None = None,
) -> WeightsEntry:
    from training.manifest import manifest_hash

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
