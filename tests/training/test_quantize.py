"""``training quantize``: an int8 U²-Net that ClearBG imports and runs, judged against fp32 by the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.model_library import add_model_file
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from tests.conftest import make_photo
from training.engine import ValidationSet
from training.quantize import compare, quantize_full


@pytest.mark.slow
def test_quantized_full_model_is_made_judged_and_imported(tmp_path: Path) -> None:
    torch.manual_seed(0)
    entry = write_weights_folder(build_model("small"), tmp_path / "weights", "small", input_size=64)
    photos = tmp_path / "calibration"
    photos.mkdir()
    for seed in range(3):
        make_photo((120, 90), seed=seed).save(photos / f"{seed}.jpg")
    int8 = quantize_full(entry, photos, tmp_path / "out" / "int8.onnx", count=3)
    assert int8.stat().st_size < entry.path.stat().st_size
    images = [make_photo((120, 90), seed=s) for s in range(2)]
    truths = [(torch.rand(90, 120).numpy() > 0.5).astype("uint8") * 255 for _ in images]
    text = compare(entry, int8, ValidationSet("tiny", images, truths), tmp_path / "out")
    assert "ONNX Runtime int8" in text and ("passes the rule" in text or "does not pass the rule" in text)
    assert (tmp_path / "out" / "int8.json").is_file()
    installed = add_model_file(int8, "small-int8")
    assert installed.storage == "int8" and installed.format == "onnx"
