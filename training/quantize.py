"""``python -m training quantize``: the full U²-Net as a static int8 ONNX model, judged against fp32.

Why offered, not the default: int8 (QDQ, per channel, calibrated on photos) is 2.7× faster on a CPU with VNNI
and half the fp16 file, but its masks must pass the engine-choice rule against the fp32 model before the app may
pick it (``core.inference.engine_choice.QUALITY_RULE``). This stage makes the file reproducibly (pinned calibration photos
from ``data.root``), measures both on people-val, and writes a table; a user adds the file with
``clearbg-cli --add-model runs/quantize/u2net_full_int8.onnx --name full-int8``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.inference.engine_choice import Candidate, passes_quality_rule
from clearbg_desktop.core.inference.engines import build_engine
from clearbg_desktop.core.inference.model_families import U2NET
from clearbg_desktop.core.inference.model_io import input_resize_for, resize_for_model
from clearbg_desktop.core.inference.onnx_export import onnx_bytes
from clearbg_desktop.core.inference.weights import WeightsEntry, load_model
from training.engine import ValidationSet
from training.engine_checks import Row, measure_rows, table


def calibration_batches(folder: Path, count: int, size: int, variant: str = "full") -> Iterator[dict[str, np.ndarray]]:
    """The first ``count`` photos of ``folder`` (sorted: the same set on every machine), fed as the app feeds them
    (the architecture's own input resize)."""
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:count]
    for path in photos:
        rgb = load_image(path).rgb
        yield {"image": U2NET.normalise(np.asarray(resize_for_model(rgb, size, input_resize_for(variant)))[None])}


def quantize_full(entry: WeightsEntry, calibration: Path, out: Path, count: int = 50) -> Path:
    """Static QDQ int8, per-channel weights, uint8 activations, calibrated on ``count`` photos."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Photos(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = calibration_batches(calibration, count, entry.input_size, entry.variant)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        fp32 = Path(folder) / "fp32.onnx"
        fp32.write_bytes(onnx_bytes(load_model(entry), entry.input_size))
        quantize_static(str(fp32), str(out), Photos(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return out


def compare(entry: WeightsEntry, int8_file: Path, dataset: ValidationSet, out_dir: Path) -> str:
    """fp32 (ONNX Runtime) against the int8 file (ONNX Runtime) on ``dataset``: metrics, the rule, ms per photo."""
    import dataclasses

    from clearbg_desktop.core.file_hash import sha256_file
    from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter

    int8_entry = dataclasses.replace(entry, name=f"{entry.name}-int8", path=int8_file, sha256=sha256_file(int8_file),
                                     format="onnx", storage="int8", variant="other")

    def fp32() -> Callable[[Image.Image], Image.Image]:
        return build_engine(entry, Candidate("onnxruntime", "cpu", "fp32")).predict_alpha

    def int8() -> Callable[[Image.Image], Image.Image]:
        engine = OnnxSegmenter(int8_entry)
        engine.input_resize = input_resize_for(entry.variant)  # the fp32 reference's input ("other" has none)
        return engine.predict_alpha

    rows = [Row("full, ONNX Runtime fp32 (reference)", fp32), Row("full, ONNX Runtime int8 (static QDQ)", int8, "int8")]
    results = measure_rows(rows, dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "int8.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    verdict = "passes" if passes_quality_rule(*results.values()) else "does not pass"
    size = int8_file.stat().st_size / 1e6
    return table(results, f"int8 full model ({size:.1f} MB) against fp32 on {dataset.name}: {verdict} the rule")
