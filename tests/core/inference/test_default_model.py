"""The full U²-Net as the default model: resolution, fallback, fp16 storage, compact ONNX imports, and the
bundled file reproduced byte for byte from its pinned source."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.model_choice import MISSING_FULL_NOTE, resolve_model
from clearbg_desktop.core.inference.weights import find_weights, load_model
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from clearbg_desktop.core.settings import AppSettings
from tests.conftest import make_photo

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def both_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A resources folder with random small and full weights (64 px input, so the full model is quick)."""
    root = tmp_path_factory.mktemp("both-models")
    torch.manual_seed(1)
    write_weights_folder(build_model("small"), root / "weights", "small", input_size=64)
    write_weights_folder(build_model("full"), root / "weights", "full", input_size=64, storage="fp16")
    return root


def test_auto_means_the_full_model_and_falls_back_with_one_line(both_models_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARBG_RESOURCES", str(both_models_dir))
    assert resolve_model() == resolve_model("auto") and resolve_model().name == "full" and not resolve_model().note
    assert resolve_model("small").name == "small"  # a model the user chose is kept
    trimmed = tmp_path / "trimmed"
    (trimmed / "weights").mkdir(parents=True)
    for item in (both_models_dir / "weights").iterdir():
        if item.name != "u2net_full.pt":  # the manifest lists the full model, its file is not there
            (trimmed / "weights" / item.name).write_bytes(item.read_bytes())
    monkeypatch.setenv("CLEARBG_RESOURCES", str(trimmed))
    fallback = resolve_model()
    assert fallback.name == "small" and fallback.note == MISSING_FULL_NOTE and "\n" not in fallback.note


def test_settings_keep_a_chosen_model_and_move_the_old_default_to_auto() -> None:
    path = AppSettings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": "small", "device": "cpu"}))  # version 1 saved its default, "small"
    assert AppSettings.load().model == "auto"
    path.write_text(json.dumps({"model": "my-model"}))
    assert AppSettings.load().model == "my-model"
    settings = AppSettings.load()
    settings.model = "small"  # chosen now, under version 2: kept
    settings.save()
    assert AppSettings.load().model == "small"
    assert AppSettings().model == "auto"


@pytest.mark.slow
def test_cli_without_model_uses_the_full_model_and_says_which(both_models_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLEARBG_RESOURCES", str(both_models_dir))
    photo = tmp_path / "p.jpg"
    make_photo((120, 90)).save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "--mask-only", "--name", "{name}-{model}"]) == 0
    assert (tmp_path / "out" / "p-full.png").is_file()
    assert "U²-Net full" in capsys.readouterr().err
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "--mask-only", "--name", "{name}-{model}",
                     "--model", "small"]) == 0
    assert (tmp_path / "out" / "p-small.png").is_file()
    assert cli_main(["--list-models"]) == 0
    listed = capsys.readouterr().out
    assert "* full" in listed and "U²-Net (best quality)" in listed and "U²-Net small (fastest)" in listed


@pytest.mark.slow
def test_fp16_storage_halves_the_file_and_keeps_the_masks(tmp_path: Path) -> None:
    torch.manual_seed(2)
    model = build_model("small")
    plain = write_weights_folder(model, tmp_path / "a", "m", input_size=64)
    half = write_weights_folder(model, tmp_path / "b", "m", input_size=64, storage="fp16")
    assert half.storage == "fp16" and plain.storage == "fp32"
    assert half.path.stat().st_size < 0.6 * plain.path.stat().st_size
    again = write_weights_folder(model, tmp_path / "c", "m", input_size=64, storage="fp16")
    assert again.sha256 == half.sha256  # deterministic bytes: what lets training reproduce the bundled file
    loaded = load_model(half)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())  # fp32 compute
    from clearbg_desktop.core.inference.segmenter import Segmenter

    photo = make_photo((160, 120))
    a = np.asarray(Segmenter(load_model(plain), device="cpu", input_size=64).predict_alpha(photo), np.int16)
    b = np.asarray(Segmenter(loaded, device="cpu", input_size=64).predict_alpha(photo), np.int16)
    assert np.abs(a - b).mean() <= 1.0


def _quantized_onnx(model_onnx: Path, target: Path) -> Path:
    """Static QDQ int8, per channel, as ONNX Runtime's tools make it (calibrated on two random images)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Images(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.batches = iter([{"image": rng.normal(size=(1, 3, 320, 320)).astype(np.float32)} for _ in range(2)])

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    quantize_static(str(model_onnx), str(target), Images(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return target


@pytest.mark.slow
def test_fp16_and_quantized_onnx_files_are_added_as_they_are(tmp_path: Path) -> None:
    from clearbg_desktop.core.inference.engine_choice import Candidate
    from clearbg_desktop.core.inference.engines import build_engine
    from clearbg_desktop.core.inference.model_library import add_model_file
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes

    torch.manual_seed(3)
    model = build_model("small")
    fp32_file = tmp_path / "u2netp-fp32.onnx"
    fp32_file.write_bytes(onnx_bytes(model, 320))  # rembg's files take 320 px
    fp16_file = tmp_path / "u2netp-fp16.onnx"
    fp16_file.write_bytes(onnx_bytes(model, 320, storage="fp16"))
    assert fp16_file.stat().st_size < 0.6 * fp32_file.stat().st_size
    int8_file = _quantized_onnx(fp32_file, tmp_path / "u2netp-int8.onnx")
    photo = make_photo((160, 120))
    reference = np.asarray(build_engine(add_model_file(fp32_file, "plain"), Candidate("torch", "cpu", "fp32"))
                           .predict_alpha(photo), np.int16)
    for source, name in ((fp16_file, "half"), (int8_file, "int8")):
        entry = add_model_file(source, name)
        assert entry.format == "onnx" and entry.variant == "small" and entry.storage == {"half": "fp16"}.get(name, "int8")
        assert entry.path.read_bytes() == source.read_bytes()  # installed unchanged: its size and speed kept
        candidates = [Candidate("onnxruntime", "cpu", "fp32")]
        if name == "half":  # PyTorch widens the fp16 kernels exactly; int8 runs where it is fast, ONNX Runtime
            candidates.append(Candidate("torch", "cpu", "fp32"))
        for candidate in candidates:
            alpha = np.asarray(build_engine(entry, candidate).predict_alpha(photo), np.int16)
            assert alpha.shape == reference.shape
            if name == "half":
                assert np.abs(alpha - reference).mean() <= 1.0


def test_model_files_far_above_a_u2net_are_refused_without_reading_them(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    huge = tmp_path / "huge.onnx"
    with open(huge, "wb") as handle:  # sparse: 2 GiB on paper, nothing on disk
        handle.truncate(2 << 30)
    assert cli_main(["--add-model", str(huge)]) == 2
    assert "far larger than any U²-Net" in capsys.readouterr().err
    pth = tmp_path / "huge.pth"
    os.replace(huge, pth)
    assert cli_main(["--add-model", str(pth)]) == 2
    assert "far larger than any U²-Net" in capsys.readouterr().err


@pytest.mark.slow
def test_an_onnx_file_with_enough_plain_convolutions_is_not_a_u2net_without_torch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """46 convolutions and a sigmoid used to pass the standalone app's import as "U²-Net small"."""
    from clearbg_desktop.core.inference import model_library
    from clearbg_desktop.core.inference.weights import WeightsError

    layers: list[torch.nn.Module] = [torch.nn.Conv2d(3, 16, 3, padding=1)]
    layers += [torch.nn.Conv2d(16, 16, 3, padding=1) for _ in range(45)]
    impostor = torch.nn.Sequential(*layers, torch.nn.Sigmoid()).eval()
    path = tmp_path / "impostor.onnx"
    torch.onnx.export(impostor, (torch.zeros(1, 3, 320, 320),), str(path), opset_version=17, dynamo=False)
    monkeypatch.setattr(model_library, "has_torch", lambda: False)
    with pytest.raises(WeightsError, match="not a U²-Net"):
        model_library.add_model_file(path, "impostor")
    real = tmp_path / "real.onnx"
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes

    real.write_bytes(onnx_bytes(build_model("small"), 320))
    assert model_library.add_model_file(real, "real").variant == "small"


@pytest.mark.slow
def test_the_shape_fingerprints_are_the_models() -> None:
    from clearbg_desktop.core.inference.official_weights import CONV_SHAPES_SHA256, _conv_shapes

    for variant, known in CONV_SHAPES_SHA256.items():
        assert hashlib.sha256(repr(tuple(sorted(_conv_shapes(variant)))).encode()).hexdigest() == known


@pytest.mark.slow
def test_the_bundled_full_model_is_reproduced_byte_for_byte(tmp_path: Path) -> None:
    """``training export-official`` from the pinned official file gives the file the manifest pins."""
    source = ROOT / "teacher" / "u2net.onnx"
    if not source.is_file():
        pytest.skip("teacher/u2net.onnx not fetched (installer/dev-setup.sh fetches it)")
    from training.official import export_official

    pinned = json.loads((ROOT / "resources" / "weights" / "manifest.json").read_text())["models"]["full"]
    entry = export_official(source, tmp_path, "full", "fp16", pinned["sha256"])
    assert entry.sha256 == pinned["sha256"] and entry.storage == "fp16"
    assert entry.path.stat().st_size < 90e6
    with Image.open(ROOT / "resources" / "samples" / "sample.jpg") as sample:
        assert sample.size[0] > 0
    assert find_weights("full", [tmp_path]).sha256 == pinned["sha256"]


@pytest.mark.slow
def test_get_full_model_from_a_file_installs_it_as_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``clearbg-cli --get-full-model FILE``: only the official full weights (by MD5) become "full", fp16-stored."""
    from clearbg_desktop.core.inference import official_weights
    from clearbg_desktop.core.inference.official_weights import OfficialModel

    small_only = tmp_path / "resources"
    torch.manual_seed(4)
    write_weights_folder(build_model("small"), small_only / "weights", "small", input_size=64)
    monkeypatch.setenv("CLEARBG_RESOURCES", str(small_only))
    other = tmp_path / "other.pth"
    torch.save(build_model("small").state_dict(), other)
    assert cli_main(["--get-full-model", str(other)]) == 2
    assert "not the official full U²-Net" in capsys.readouterr().err
    official = tmp_path / "u2net.pth"
    torch.save(build_model("full").state_dict(), official)
    monkeypatch.setitem(official_weights.OFFICIAL_MODELS, "u2net",
                        OfficialModel("u2net", "u2net.pth", "", hashlib.md5(official.read_bytes()).hexdigest(), "x"))
    assert cli_main(["--get-full-model", str(official), "-q"]) == 0
    assert "it is now the default model" in capsys.readouterr().out
    entry = find_weights("full")
    assert entry.storage == "fp16" and entry.path.stat().st_size < 0.6 * official.stat().st_size
    assert resolve_model().name == "full" and not resolve_model().note


def test_one_bad_setting_falls_back_alone_and_the_chosen_model_is_kept() -> None:
    """A value an older version allowed (an export at 2000 %), or a hostile one, resets only itself."""
    path = AppSettings.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"settings_version": 2, "model": "small", "device": "cpu", "brush_size": 1e12,
                                "brush_hardness": 0.4, "batch_recursive": "yes",
                                "export": {"resize_percent": 2000, "format": "webp"}}))
    loaded = AppSettings.load()
    assert (loaded.model, loaded.device, loaded.brush_hardness) == ("small", "cpu", 0.4)
    defaults = AppSettings()
    assert loaded.brush_size == defaults.brush_size and loaded.batch_recursive == defaults.batch_recursive
    assert loaded.export == defaults.export
