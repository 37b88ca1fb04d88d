"""check-engines writes what it measured into a card and keeps what it did not measure (#45: int8 is measured by
``training quantize``, and was dropped by every check-engines run before)."""

from __future__ import annotations

import json
from pathlib import Path

from clearbg_desktop.core.inference.weights import WeightsEntry
from training.engine_checks import record_in_card


def row(precision: str, mae: float, passes: bool) -> dict:
    return {"max_fbeta": 0.96, "mae": mae, "weighted_fbeta": 0.94, "s_measure": 0.94, "precision": precision,
            "passes": passes, "worst_mean_abs_alpha": 0.001, "ms_per_photo": 1.0}


def test_a_precision_measured_elsewhere_keeps_its_check(tmp_path: Path) -> None:
    card_path = tmp_path / "u2net_full.card.json"
    int8 = {"passed": False, "mae_increase": 0.0011, "dataset": "people-val"}
    card_path.write_text(json.dumps({"name": "full", "precision_checks": {"int8": int8, "bf16": {"passed": True}}}))
    entry = WeightsEntry(name="full", path=tmp_path / "u2net_full.pt", sha256="0" * 64, variant="full", card={})
    results = {"PyTorch fp32": row("fp32", 0.0264, True), "PyTorch bf16": row("bf16", 0.0290, False)}
    record_in_card(entry, results, "people-val")
    card = json.loads(card_path.read_text())
    assert card["precision_checks"]["int8"] == int8  # not measured here: kept as it was
    assert card["precision_checks"]["bf16"]["passed"] is False  # measured here: replaced
    assert card["metrics"]["models"]["full (PyTorch fp32)"]["mae"] == 0.0264  # the card had none: written
