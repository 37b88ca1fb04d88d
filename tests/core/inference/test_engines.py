"""The ONNX Runtime engine (the standalone app's, without torch) against the PyTorch one, and the choice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.inference.engine_choice import choose_engine
from clearbg_desktop.core.inference.engines import load_segmenter
from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter
from clearbg_desktop.core.inference.onnx_export import export_weights_folder
from clearbg_desktop.core.inference.segmenter import Segmenter
from clearbg_desktop.core.inference.weights import WeightsError, find_weights
from tests.conftest import make_photo

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def onnx_resources(random_weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The random test weights as the standalone app ships them: ONNX, with the same manifest and card."""
    import shutil

    root = tmp_path_factory.mktemp("onnx-resources")
    export_weights_folder(random_weights_dir / "weights", root / "weights")
    shutil.copytree(ROOT / "resources" / "samples", root / "samples")
    return root


@pytest.mark.slow
def test_onnx_engine_gives_the_torch_engines_masks(random_weights: Path, onnx_resources: Path) -> None:
    photos = [make_photo((320, 240), seed=s) for s in range(3)]
    torch_masks = Segmenter.from_weights("small", device="cpu", precision="fp32").predict_alphas(photos)
    entry = find_weights("small", [onnx_resources / "weights"])
    assert entry.format == "onnx" and entry.card == find_weights("small").card
    engine = OnnxSegmenter(entry)
    onnx_masks = engine.predict_alphas(photos)
    for ours, reference in zip(onnx_masks, torch_masks, strict=True):
        difference = np.abs(np.asarray(ours, np.int16) - np.asarray(reference, np.int16))
        assert difference.max() <= 2 and difference.mean() < 0.05
    assert engine.description == "U²-Net small on CPU (ONNX Runtime)" and engine.device.type == "cpu"


def test_the_apps_onnx_file_runs_the_object_boxs_smaller_side_as_pytorch_does(random_weights: Path,
                                                                               onnx_resources: Path) -> None:
    """The exported graph leaves the square's side free (#39's box view); PyTorch gives the same maps at it."""
    from clearbg_desktop.core.inference.box_prompt import box_view

    photo = make_photo((90, 70), seed=4)
    reference = Segmenter.from_weights("small", device="cpu", precision="fp32")
    engine = OnnxSegmenter(find_weights("small", [onnx_resources / "weights"]), threads=1)
    side, mirrored = box_view(engine)
    assert side < engine.input_size and mirrored and box_view(reference) == (side, mirrored)
    ours = engine.predict_probabilities([photo], side=side, flip_average=True)
    theirs = reference.predict_probabilities([photo], side=side, flip_average=True)
    assert ours.shape == theirs.shape == (1, side, side) and np.abs(ours - theirs).max() < 1e-3
    assert engine.predict_probabilities([photo]).shape == (1, engine.input_size, engine.input_size)


def test_an_onnx_file_of_one_side_runs_the_box_at_that_side(random_weights: Path, tmp_path: Path) -> None:
    """An imported file whose graph fixes the side (rembg's) keeps it: the box as at a photo, a clear refusal of
    another side, not ONNX Runtime's shape error."""
    import dataclasses
    import hashlib

    import torch

    from clearbg_desktop.core.inference.box_prompt import box_view
    from clearbg_desktop.core.inference.model import FusedProbability
    from clearbg_desktop.core.inference.weights import load_model

    entry = find_weights("small")
    model = load_model(entry)
    path = tmp_path / "fixed.onnx"
    torch.onnx.export(FusedProbability(model).eval(), (torch.zeros(1, 3, entry.input_size, entry.input_size),),
                      str(path), input_names=["image"], output_names=["probability"], opset_version=17,
                      dynamic_axes={"image": {0: "batch"}, "probability": {0: "batch"}}, dynamo=False)
    fixed = dataclasses.replace(entry, path=path, format="onnx",
                                sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    engine = OnnxSegmenter(fixed, threads=1)
    assert not engine.accepts_side(40) and box_view(engine) == (entry.input_size, False)
    with pytest.raises(ValueError, match="only"):
        engine.predict_probabilities([make_photo((50, 40))], side=40)


def test_exporting_leaves_the_model_as_it_was() -> None:
    """torch.onnx.export puts back the wrapper's training mode, which once left the model training (BatchNorm on
    batch statistics) for whoever used it next."""
    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes

    model = build_model("small").eval()
    onnx_bytes(model, 64)
    assert not model.training and not any(module.training for module in model.modules())


def _fake_runner(maps: dict[str, np.ndarray], delays: dict[str, float], calls: list[str]):  # type: ignore[no-untyped-def]
    """Stand-in engines for the choice rule: each returns a fixed map after a fixed delay."""
    import time

    def run(candidate):  # type: ignore[no-untyped-def]
        calls.append(candidate.key)

        def predict() -> np.ndarray:
            time.sleep(delays[candidate.key])
            return maps[candidate.key]

        return predict

    return run


def test_the_fastest_engine_with_fp32_masks_wins_never_a_fast_but_different_one(
        random_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from clearbg_desktop.core.inference import devices
    from clearbg_desktop.core.inference.engine_choice import choose_engine

    monkeypatch.delenv("CLEARBG_ENGINE")
    monkeypatch.delenv("CLEARBG_PRECISION")
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)  # flags must not matter
    reference = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    ort, fp32, bf16 = "onnxruntime:cpu:fp32", "torch:cpu:fp32", "torch:cpu:bf16"
    maps = {ort: reference, fp32: reference, bf16: reference + 0.05}  # bf16: fastest, but other masks
    delays = {ort: 0.06, fp32: 0.02, bf16: 0.0}  # PyTorch fp32 slow-ish but equal: it wins over ONNX Runtime
    entry = find_weights("small")
    calls: list[str] = []
    # The card has no bf16 check: bf16 is not even timed, fp32 on either engine is allowed, the faster wins.
    choice = choose_engine(entry, device="cpu", run=_fake_runner(maps, delays, calls))
    assert choice.candidate.key == fp32 and set(calls) == {ort, fp32}
    assert "fastest of 2" in choice.reason
    calls.clear()
    assert choose_engine(entry, device="cpu", run=_fake_runner(maps, delays, calls)).candidate.key == fp32
    assert calls == []  # measured once per machine and model, then cached
    # A card that passed bf16 on people-val: timed, fastest, but its map here differs from fp32's: refused.
    passed = {"precision_checks": {"bf16": {"passed": True}}}
    checked = dataclasses.replace(entry, card=passed, sha256="1" * 64)
    choice = choose_engine(checked, device="cpu", run=_fake_runner(maps, delays, calls))
    assert bf16 in calls and choice.candidate.key == fp32 and choice.measured["agrees"][bf16] is False
    # The same card with equal bf16 masks here: allowed, and the fastest, so it wins.
    maps[bf16] = reference + 0.001
    equal = dataclasses.replace(entry, card=passed, sha256="2" * 64)
    assert choose_engine(equal, device="cpu", run=_fake_runner(maps, delays, [])).candidate.key == bf16
    # A failed check keeps bf16 out whatever its speed; asking for bf16 explicitly still gets it.
    failed = dataclasses.replace(entry, card={"precision_checks": {"bf16": {"passed": False}}}, sha256="3" * 64)
    assert choose_engine(failed, device="cpu", run=_fake_runner(maps, delays, [])).candidate.key == fp32
    assert choose_engine(failed, device="cpu", precision="bf16", run=_fake_runner(maps, delays, [])
                         ).candidate.key == bf16


def test_the_onnx_copy_of_an_earlier_version_is_replaced_not_left_on_disk(random_weights: Path,
                                                                           tmp_path: Path) -> None:
    """Copies made before the side was free are not reused (ONNX_COPY_FORM), and not left behind: only plain files of
    exactly their names go."""
    from clearbg_desktop.core.inference.engines import onnx_copy

    entry = find_weights("small")
    copies = tmp_path / "onnx-cache"
    copies.mkdir()
    older = [copies / f"{entry.sha256[:16]}-{entry.input_size}{suffix}" for suffix in (".onnx", ".json")]
    for path in older:
        path.write_bytes(b"one side only")
    kept = copies / f"{entry.sha256[:16]}-{entry.input_size}.onnx.mine"
    kept.write_bytes(b"not a copy")
    copy = onnx_copy(entry, into=tmp_path)
    assert copy.path.parent == copies and copy.path.is_file() and not any(path.exists() for path in older)
    assert kept.read_bytes() == b"not a copy"
    assert OnnxSegmenter(copy, threads=1).accepts_side(40)


@pytest.mark.slow
def test_engine_choice_per_machine_and_clear_refusals(random_weights: Path, onnx_resources: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from clearbg_desktop.core.inference import devices
    from clearbg_desktop.core.paths import data_dir

    monkeypatch.delenv("CLEARBG_ENGINE")
    monkeypatch.delenv("CLEARBG_PRECISION")
    for native in (True, False):  # a native-bf16 CPU and one without: the small model runs fp32 on both
        monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda native=native: native)
        measured = load_segmenter("small", device="cpu")
        assert measured.precision == "fp32" and measured.engine in ("torch", "onnxruntime")
        assert "fp32's masks" in measured.choice_reason
    assert choose_engine(find_weights("small"), device="cpu", precision="fp32").candidate.engine in (
        "torch", "onnxruntime")
    monkeypatch.setenv("CLEARBG_ENGINE", "onnxruntime")
    first = load_segmenter("small", device="cpu")
    assert first.engine == "onnxruntime" and first.weights is not None
    cached = first.weights.path
    assert cached.parent == data_dir() / "onnx-cache" and cached.suffix == ".onnx"
    stamp = cached.stat().st_mtime_ns
    assert load_segmenter("small", device="cpu").weights.path == cached and cached.stat().st_mtime_ns == stamp
    cached.write_bytes(b"damaged")  # a damaged copy is exported again, never run
    assert load_segmenter("small", device="cpu").engine == "onnxruntime" and cached.read_bytes() != b"damaged"
    assert choose_engine(find_weights("small")).candidate.engine == "onnxruntime"
    monkeypatch.setenv("CLEARBG_RESOURCES", str(onnx_resources))
    assert load_segmenter("small").engine == "onnxruntime"
    monkeypatch.setenv("CLEARBG_ENGINE", "torch")
    assert load_segmenter("small").engine == "torch"  # PyTorch runs an ONNX entry too (converted exactly)
    monkeypatch.setenv("CLEARBG_ENGINE", "tensorflow")
    with pytest.raises(WeightsError, match="unknown engine"):
        load_segmenter("small")


def test_damaged_onnx_weights_are_refused(onnx_resources: Path, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "weights"
    shutil.copytree(onnx_resources / "weights", folder)
    entry = find_weights("small", [folder])
    data = entry.path.read_bytes()
    entry.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="corrupted"):
        OnnxSegmenter(entry)


@pytest.mark.slow
def test_cli_and_self_test_run_without_torch(onnx_resources: Path, tmp_path: Path) -> None:
    """As in the standalone app: torch cannot be imported at all, the ONNX weights do the work."""
    photo = tmp_path / "p.jpg"
    make_photo((200, 150)).save(photo)
    env = {**os.environ, "CLEARBG_RESOURCES": str(onnx_resources), "QT_QPA_PLATFORM": "offscreen"}
    env.pop("CLEARBG_ENGINE", None)
    no_torch = "import sys; sys.modules['torch'] = None; "
    cli = subprocess.run([sys.executable, "-c", no_torch + "from clearbg_desktop.cli import main; "
                          f"raise SystemExit(main([{str(photo)!r}, '-o', {str(tmp_path / 'out')!r}, '-q']))"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    with Image.open(tmp_path / "out" / "p-cutout.png") as written:
        assert written.mode == "RGBA"
    test = subprocess.run([sys.executable, "-c", no_torch + "from clearbg_desktop.self_test import run_self_test; "
                           "raise SystemExit(run_self_test())"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert test.returncode == 0, test.stderr + test.stdout
    assert "ONNX Runtime" in test.stdout
    shot = tmp_path / "window.png"
    gui = subprocess.run([sys.executable, "-c", no_torch + "from clearbg_desktop.gui.window.app import main; "
                          f"raise SystemExit(main(['--screenshot', {str(shot)!r}, {str(photo)!r}]))"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert gui.returncode == 0 and shot.is_file(), gui.stderr


@pytest.mark.slow
def test_onnx_model_is_added_and_used_without_torch(tmp_path: Path, onnx_resources: Path) -> None:
    """The standalone app adds a U²-Net .onnx (as rembg ships them) as it is, and refuses a .pth clearly."""
    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes

    model_file = tmp_path / "my-u2netp.onnx"
    model_file.write_bytes(onnx_bytes(build_model("small")))
    pth = tmp_path / "u2netp.pth"
    pth.write_bytes(b"PK\x03\x04 a torch zip")
    photo = tmp_path / "p.jpg"
    make_photo((200, 150)).save(photo)
    env = {**os.environ, "CLEARBG_RESOURCES": str(onnx_resources), "CLEARBG_USER_MODELS": str(tmp_path / "models")}
    env.pop("CLEARBG_ENGINE", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        code = ("import sys; sys.modules['torch'] = None; from clearbg_desktop.cli import main; "
                f"raise SystemExit(main({list(args)!r}))")
        return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)

    added = cli("--add-model", str(model_file), "--name", "mine")
    assert added.returncode == 0, added.stderr
    assert (tmp_path / "models" / "mine.onnx").read_bytes() == model_file.read_bytes()  # installed unchanged
    listed = cli("--list-models")
    assert "mine" in listed.stdout and "small" in listed.stdout
    ran = cli(str(photo), "-o", str(tmp_path / "out"), "-q", "--model", "mine")
    assert ran.returncode == 0, ran.stderr
    refused = cli("--add-model", str(pth))
    assert refused.returncode == 2 and "ships without PyTorch" in refused.stderr
    env["CLEARBG_RESOURCES"] = str(ROOT / "resources")  # PyTorch weights where there is no PyTorch
    env["CLEARBG_USER_MODELS"] = str(tmp_path / "none")
    torch_file = cli(str(photo), "-o", str(tmp_path / "out2"), "-q")
    assert torch_file.returncode == 2 and "runs ONNX models only" in torch_file.stderr


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_both_precisions_run_through_the_apps_switch_on_any_cpu(random_weights: Path, precision: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """CLEARBG_PRECISION is the switch the engine choice honours: bf16 runs (emulated where the CPU has no native
    bf16) and fp32 runs where the CPU has it, and both give the mask within bf16's rounding."""
    monkeypatch.setenv("CLEARBG_PRECISION", precision)
    forced = load_segmenter("small", device="cpu")
    assert forced.precision == precision and forced.description.endswith(f"({precision})")
    photo = make_photo((160, 120), seed=5)
    reference = np.asarray(Segmenter.from_weights("small", device="cpu", precision="fp32").predict_alpha(photo), float)
    difference = np.abs(np.asarray(forced.predict_alpha(photo), float) - reference)
    assert difference.mean() <= (0.0 if precision == "fp32" else 8.0)


def test_devices_are_told_without_torch_where_no_gpu_can_exist() -> None:
    """Preferences asks which devices exist: where no GPU can (Linux without the NVIDIA driver, Intel Macs) the
    answer needs no torch import (2.4 s the first time Preferences opened, #37 point 4)."""
    import subprocess
    import sys

    code = ("import sys; from clearbg_desktop.core.inference.devices import device_availability, gpu_may_exist; "
            "a = device_availability(); print(gpu_may_exist(), 'torch' in sys.modules, a['cpu'] == '' == a['auto'])")
    may, imported, cpu_ok = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                                           check=True).stdout.split()
    assert cpu_ok == "True"
    if may == "False":
        assert imported == "False"
