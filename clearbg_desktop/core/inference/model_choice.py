"""Which model a photo gets when nobody named one: the full U²-Net, the small one only as a fallback.

Why the full model: on photos nobody here trained on it cuts out people and objects clearly better than the
small one (people max Fβ 0.951 vs 0.924, objects 0.767 vs 0.708, issue #27), and it is rembg's default, so a
user comparing the two gets the better cut-out here too. Its weights (88 MB, fp16-stored) are not in git:
``installer/dev-setup.sh`` and the standalone build fetch the official file and convert it. Where it is
missing, the small bundled model runs meanwhile and :data:`MISSING_FULL_NOTE` says so in one line.

``"auto"`` is what settings, the CLI and the batch hold until the user picks a model; a picked model is kept.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from clearbg_desktop.core.inference.weights import WeightsEntry, WeightsError, available_models

AUTO = "auto"
DEFAULT_MODEL = "full"
FALLBACK_MODEL = "small"
MODEL_LABELS = {
    "full": "U²-Net (best quality)",
    "small": "U²-Net small (fastest)",
}
MISSING_FULL_NOTE = ("The full U²-Net (best quality) is not installed; using U²-Net small meanwhile. "
                     "Get it: Preferences ▸ Models ▸ Get the full model, or clearbg-cli --get-full-model.")


@dataclass(frozen=True)
class ModelChoice:
    """The model to load, and a one-line note when it is not what the user would expect."""

    name: str
    note: str = ""


def is_installed(entry: WeightsEntry | None) -> bool:
    """Listed and its file present (the hash is checked when it loads)."""
    return entry is not None and entry.path.is_file()


def resolve_model(choice: str | None = AUTO) -> ModelChoice:
    """A named model as it is; ``auto`` the full model when installed, else the small one with a note."""
    if choice and choice != AUTO:
        return ModelChoice(choice)
    try:
        with warnings.catch_warnings():  # a damaged manifest is reported once, by the load that follows
            warnings.simplefilter("ignore")
            models = available_models()
    except WeightsError:
        return ModelChoice(FALLBACK_MODEL)  # loading it gives the clear message
    if is_installed(models.get(DEFAULT_MODEL)):
        return ModelChoice(DEFAULT_MODEL)
    if FALLBACK_MODEL in models:  # a folder that never listed the full model (tests, a trimmed install): no note
        return ModelChoice(FALLBACK_MODEL, MISSING_FULL_NOTE if DEFAULT_MODEL in models else "")
    if models:  # neither official model: whatever is installed, first listed (the user's folder first)
        return ModelChoice(next(iter(models)))
    return ModelChoice(FALLBACK_MODEL)


def model_label(name: str) -> str:
    """What Preferences and the batch dialog show: the trade in words for the two bundled models."""
    return MODEL_LABELS.get(name, name)


def model_description(entry: WeightsEntry) -> str:
    """How a model is named in a list (the batch dialog, Preferences): a bundled one by its label; the user's by
    name with its family and, where it is not U²-Net's 320, its input size ("isnet-general-use (IS-Net, 1024 px)")."""
    from clearbg_desktop.core.inference.model_families import FAMILIES

    label = model_label(entry.name)
    if label != entry.name:
        return label
    if entry.family == "u2net" and entry.variant != "other":
        return f"{entry.name} (U²-Net {entry.variant})"
    family = FAMILIES.get(entry.family)
    return f"{entry.name} ({family.label if family else entry.family}, {entry.input_size} px)"
