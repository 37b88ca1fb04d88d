"""The U²-Net definition: the paper's sizes and output shapes."""

from __future__ import annotations

import pytest
import torch

from clearbg_desktop.core.inference.model import FusedProbability, build_model, count_parameters


@pytest.mark.parametrize("variant,expected", [("full", 44_009_869), ("small", 1_131_181)])
def test_parameter_counts_match_the_paper(variant: str, expected: int) -> None:
    # Qin et al. 2020 report 176.3 MB (44.0 M) for U²-Net and 4.7 MB (1.13 M) for U²-Net†.
    assert count_parameters(build_model(variant)) == expected


def test_forward_returns_fused_and_six_side_logits() -> None:
    model = build_model("small").eval()
    outputs = model(torch.randn(2, 3, 96, 80))
    assert len(outputs) == 7
    assert all(o.shape == (2, 1, 96, 80) for o in outputs)


def test_predict_returns_the_fused_probability_only() -> None:
    model = build_model("small").eval()
    x = torch.randn(1, 3, 64, 64)
    probability = model.predict(x)
    assert probability.shape == (1, 1, 64, 64)
    assert 0 <= probability.min() and probability.max() <= 1
    torch.testing.assert_close(probability, torch.sigmoid(model(x)[0]))
    torch.testing.assert_close(FusedProbability(model)(x), probability)


def test_odd_sizes_are_handled_by_ceil_mode_pooling() -> None:
    outputs = build_model("small").eval()(torch.randn(1, 3, 37, 53))
    assert outputs[0].shape == (1, 1, 37, 53)


def test_unknown_variant_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown U²-Net variant"):
        build_model("huge")
