"""The weight average moves by (1 − decay) per step, survives a checkpoint, and is what gets evaluated."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from clearbg_desktop.core.inference.model import build_model
from training.checkpoint import model_from_checkpoint
from training.weight_average import WeightAverage


def test_each_update_moves_the_average_by_one_minus_decay() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = WeightAverage(model, decay=0.75)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model[0].weight.add_(4.0)
        model[1].running_mean.fill_(8.0)
        model[1].num_batches_tracked.fill_(5)
    average.update(model)
    averaged = average.model.state_dict()
    torch.testing.assert_close(averaged["0.weight"], start["0.weight"] + 1.0)  # a quarter of the 4.0 step
    torch.testing.assert_close(averaged["1.running_mean"], torch.full((2,), 2.0))
    assert int(averaged["1.num_batches_tracked"]) == 5  # counters are copied, not averaged
    assert all(not p.requires_grad for p in average.model.parameters())

    restored = WeightAverage(model, decay=0.75)
    restored.load_state_dict(average.state_dict())
    torch.testing.assert_close(restored.model.state_dict()["0.weight"], averaged["0.weight"])


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_decay_outside_zero_one_is_refused(decay: float) -> None:
    with pytest.raises(ValueError, match="ema_decay"):
        WeightAverage(nn.Linear(1, 1), decay)


def test_checkpoints_with_an_average_rebuild_the_averaged_model() -> None:
    raw, averaged = build_model("small"), build_model("small")
    checkpoint = {"model_config": {"variant": "small"}, "model": raw.state_dict(), "ema": averaged.state_dict()}
    rebuilt = model_from_checkpoint(checkpoint)
    torch.testing.assert_close(rebuilt.state_dict(), averaged.state_dict())
    del checkpoint["ema"]
    torch.testing.assert_close(model_from_checkpoint(checkpoint).state_dict(), raw.state_dict())
