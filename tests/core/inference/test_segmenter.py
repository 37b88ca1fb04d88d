"""Photo -> alpha through the shipped preprocessing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.segmenter import Segmenter, choose_device, normalise, resize_for_model
from clearbg_desktop.core.inference.weights import WeightsError
from tests.conftest import make_photo


def test_normalise_uses_imagenet_statistics() -> None:
    pixel = np.array([[[124, 116, 104]]], np.uint8)  # ≈ ImageNet mean
    tensor = normalise(pixel)
    assert tensor.shape == (1, 3, 1, 1)
    assert torch.all(tensor.abs() < 0.02)


def test_resize_for_model_is_square() -> None:
    assert resize_for_model(make_photo((400, 300)), 320).size == (320, 320)


def test_alpha_has_the_photo_size_and_is_8_bit(random_weights: Path) -> None:
    segmenter = Segmenter.from_weights("small", device="cpu")
    assert segmenter.input_size == 64  # taken from the manifest
    photo = make_photo((203, 151))
    alpha = segmenter.predict_alpha(photo)
    assert alpha.mode == "L" and alpha.size == (203, 151)


def test_batch_matches_single_predictions(random_weights: Path) -> None:
    segmenter = Segmenter.from_weights("small", device="cpu")
    photos = [make_photo((120, 90), seed=1), make_photo((64, 200), seed=2)]
    batch = segmenter.predict_alphas(photos)
    for photo, alpha in zip(photos, batch, strict=True):
        single = np.asarray(segmenter.predict_alpha(photo), np.int16)
        assert np.abs(single - np.asarray(alpha, np.int16)).max() <= 1


@pytest.mark.slow
def test_prediction_uses_the_model(random_weights: Path) -> None:
    """Two different models give different alphas: the output is not a constant."""
    torch.manual_seed(1)
    other = Segmenter(build_model("small"), device="cpu", input_size=64)
    ours = Segmenter.from_weights("small", device="cpu")
    photo = make_photo()
    assert not np.array_equal(np.asarray(ours.predict_alpha(photo)), np.asarray(other.predict_alpha(photo)))


def test_missing_weights_is_a_weights_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path))
    with pytest.raises(WeightsError, match="no weights for the 'small' model"):
        Segmenter.from_weights("small")


def test_device_choice_falls_back_to_cpu_without_accelerators() -> None:
    if torch.cuda.is_available():
        pytest.skip("has CUDA")
    assert choose_device("auto").type in ("cpu", "mps")
    assert choose_device("cuda").type in ("cpu", "mps")
    assert choose_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="unknown device"):
        choose_device("tpu")


@pytest.mark.slow
@pytest.mark.parametrize(("precision", "tolerance"), [("fp32", 1e-4), ("bf16", 2e-2)])
def test_channels_last_gives_the_same_masks_as_the_default_layout(random_weights: Path, precision: str,
                                                                  tolerance: float) -> None:
    """Both paths on every CPU: bf16 is forced where the CPU has no native bf16 (emulated), and pinned where
    it has (so "auto" never silently compares bf16 against an fp32 tolerance)."""
    from clearbg_desktop.core.inference.weights import find_weights, load_model

    entry = find_weights("small")
    photos = [make_photo((150, 100), seed=3)]
    fast = Segmenter(load_model(entry), device="cpu", input_size=64, channels_last=True, precision=precision)
    plain = Segmenter(load_model(entry), device="cpu", input_size=64, channels_last=False, precision=precision)
    assert fast.precision == plain.precision == precision
    difference = np.abs(fast.predict_probabilities(photos) - plain.predict_probabilities(photos)).max()
    assert difference < tolerance


def test_the_fused_map_is_stretched_per_image_but_a_flat_map_is_left_alone() -> None:
    from clearbg_desktop.core.inference.segmenter import stretch_to_full_range

    under_confident = np.array([[0.1, 0.3], [0.5, 0.6]], np.float32)
    stretched = stretch_to_full_range(under_confident)
    np.testing.assert_allclose(stretched, [[0.0, 0.4], [0.8, 1.0]], atol=1e-6)
    nothing_found = np.full((2, 2), 0.02, np.float32)
    nothing_found[0, 0] = 0.04
    np.testing.assert_array_equal(stretch_to_full_range(nothing_found), nothing_found)


@pytest.mark.slow
def test_precision_is_never_chosen_by_cpu_flags(random_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """"auto" is fp32 on a CPU with native bf16 and on one without; only the switch (CLEARBG_PRECISION, which the
    app's engine choice and the tests use) or an explicit argument gives bf16."""
    from clearbg_desktop.core.inference import devices
    from clearbg_desktop.core.inference.devices import choose_precision

    cpu = torch.device("cpu")
    assert choose_precision(cpu, "fp32") == "fp32"
    monkeypatch.delenv("CLEARBG_PRECISION", raising=False)
    for native in (True, False):
        monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda native=native: native)
        assert choose_precision(cpu, "auto") == "fp32"
        assert Segmenter.from_weights("small", device="cpu").precision == "fp32"
    monkeypatch.setenv("CLEARBG_PRECISION", "bf16")
    assert choose_precision(cpu, "auto") == "bf16"
    assert choose_precision(cpu, "fp32") == "fp32"  # an explicit argument wins over the switch
    for bad in ("int4", "auto"):
        monkeypatch.setenv("CLEARBG_PRECISION", bad)
        with pytest.raises(ValueError, match="unknown precision"):
            choose_precision(cpu, "auto")
    monkeypatch.setenv("CLEARBG_PRECISION", "fp32")
    forced = Segmenter.from_weights("small", device="cpu", precision="bf16")
    assert forced.description.endswith("(bf16)")
    photo = make_photo((160, 120))
    fp32 = np.asarray(Segmenter.from_weights("small", device="cpu", precision="fp32").predict_alpha(photo), float)
    bf16 = np.asarray(forced.predict_alpha(photo), float)
    assert fp32.shape == bf16.shape and np.abs(fp32 - bf16).mean() < 8  # same mask, up to bf16 rounding
