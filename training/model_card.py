"""The model card: what the shipped weights are, where they came from, how they measure.

``export`` writes it twice: as JSON beside the weights (read by the app's Preferences ▸ Models) and as
``MODEL_CARD.md`` for people. The lineage (init file and hash), the data sources with their licences, the
recipe, the measured comparison and the learning curve all come from the checkpoint and ``metrics.json``.
"""

from __future__ import annotations

from pathlib import Path

COLUMNS = ("max_fbeta", "mae", "weighted_fbeta", "s_measure", "e_measure", "images_per_second")
HEADERS = ("max Fβ", "MAE", "weighted Fβ", "S-measure", "max Eφ", "images/s")

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



def markdown_table(results: dict[str, dict[str, float]], dataset: str, images: int) -> str:
    lines = [f"Evaluated on `{dataset}` ({images} images), CPU.", "",
             "| model | " + " | ".join(HEADERS) + " |", "|---|" + "---|" * len(HEADERS)]
    for name, metrics in results.items():
        cells = [f"{metrics[c]:.1f}" if c == "images_per_second" else f"{metrics[c]:.4f}" for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def model_card_markdown(card: dict) -> str:
    """Human-readable card: provenance, training so far, measured comparison, learning curve."""

    training = card["training"]
    config = card["train_config"]
    init = card.get("init") or {}
    lines = [
        f"# ClearBG bundled model: {card['architecture']}",
        "",
        f"- Input: {card['input_size']}×{card['input_size']} RGB, ImageNet mean/std (see `clearbg_desktop/core/inference/segmenter.py`).",
    ]
    if init:
        lines += [
            f"- Lineage: initialised from `{init['file']}` (SHA-256 {init['sha256']}), the official U²-Net weights of "
            "Qin et al. (Apache-2.0) as rembg distributes them, converted exactly into our model by "
            "`clearbg_desktop/core/inference/official_weights.py` (all 7 outputs agree with onnxruntime to ~1e-6); "
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
    for domain, block in (metrics.get("teacher_agreement") or {}).items():
        lines += [f"### Agreement with the teacher, held-out {domain} ({', '.join(block['sources'])})", "",
                  markdown_table(block["models"], f"held-out {domain}", block["images"])]
    lines += validation_lines(card.get("validation") or {})
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


def validation_lines(block: dict) -> list[str]:
    """The card's ``validation`` block (``python -m training validate --write-cards``): the shipped pipeline on
    both validation sets, beside rembg's pipeline with the same weights and the flip average."""
    if not block.get("shipped"):
        return []
    sets = [*block["sets"], "pooled"]
    sizes = {**block["sets"], "pooled": sum(block["sets"].values())}
    rows = [(f"ClearBG, input resize `{block['input_resize']}` (shipped)", block["shipped"])]
    if block.get("rembg_same_weights"):
        rows.append(("rembg's pipeline, same weights", block["rembg_same_weights"]))
    if block.get("flip_average"):
        rows.append((f"ClearBG + flip average (`{block['flip_average']['input_resize']}`, opt-in)", block["flip_average"]))
    lines = ["## The pipeline around the model, on two validation sets (`python -m training validate`)", "",
             "| pipeline | " + " | ".join(f"{name} ({sizes[name]}): max Fβ | MAE | S-measure" for name in sets) + " |",
             "|---|" + "---|---|---|" * len(sets)]
    for label, figures in rows:
        lines.append(f"| {label} | " + " | ".join(f"{figures[n]['max_fbeta']:.4f} | {figures[n]['mae']:.4f} | "
                                                  f"{figures[n]['s_measure']:.4f}" for n in sets) + " |")
    return [*lines, "", "Chosen by the harness's rule (no set worse beyond the noise of a paired bootstrap over photos, "
            f"{block.get('resamples', 2000)} resamples; bench/RESULTS.md §17).", ""]
