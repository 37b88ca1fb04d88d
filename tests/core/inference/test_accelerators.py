"""GPU execution providers as engine candidates (issue #41): used only with fp32's masks and when faster, never
before they were tried, and one that cannot load is reported once while the CPU goes on.

The choice logic runs with stand-in engines (fixed maps after fixed delays) and ONNX Runtime's *list* of providers
extended; the fallback runs real ONNX Runtime sessions: with the CPU wheel (CI) a listed provider that is not
there, and with ``onnxruntime-gpu`` installed (``bash tests/core/inference/ortgpu_env.sh``) its real CUDA provider
on a machine without CUDA.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.inference import engine_choice
from clearbg_desktop.core.inference.accelerators import ACCELERATORS, AcceleratorUnavailable
from clearbg_desktop.core.inference.engine_choice import (
    Candidate,
    accelerator_notes,
    choose_engine,
    read_measurements,
)
from clearbg_desktop.core.inference.weights import find_weights

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter
ROOT = Path(__file__).resolve().parents[3]
CPU, TORCH = "onnxruntime:cpu:fp32", "torch:cpu:fp32"
CUDA, DML, COREML = "onnxruntime:cuda:fp32", "onnxruntime:dml:fp32", "onnxruntime:coreml:fp32"


def onnxruntime_gpu_installed() -> bool:
    try:
        importlib.metadata.version("onnxruntime-gpu")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.fixture(autouse=True)
def fresh_machine() -> Iterator[None]:
    """The fingerprint names the ONNX Runtime wheel; read it again for every test."""
    engine_choice._machine.cache_clear()
    yield
    engine_choice._machine.cache_clear()


@pytest.fixture(scope="module")
def onnx_resources(random_weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The random test weights as the standalone app ships them (ONNX), with the sample photo."""
    import shutil

    from clearbg_desktop.core.inference.onnx_export import export_weights_folder

    root = tmp_path_factory.mktemp("onnx-resources")
    export_weights_folder(random_weights_dir / "weights", root / "weights")
    shutil.copytree(ROOT / "resources" / "samples", root / "samples")
    return root


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """ONNX Runtime lists these providers (what the GPU wheels list), the engines' choice unforced."""
    import onnxruntime

    monkeypatch.delenv("CLEARBG_ENGINE")
    monkeypatch.delenv("CLEARBG_PRECISION")

    def provide(*providers: str) -> None:
        monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [*providers, "CPUExecutionProvider"])

    return provide


def stand_ins(maps: dict[str, np.ndarray], delays: dict[str, float], calls: list[str],
              unavailable: dict[str, str] | None = None) -> Callable[[Candidate], Callable[[], np.ndarray]]:
    """Engines for the choice rule: each returns a fixed map after a fixed delay; those in ``unavailable`` fail to
    load as a provider does, with that reason."""
    def run(candidate: Candidate) -> Callable[[], np.ndarray]:
        calls.append(candidate.key)
        if unavailable and candidate.key in unavailable:
            raise AcceleratorUnavailable(ACCELERATORS[candidate.device].label, unavailable[candidate.key])

        def predict() -> np.ndarray:
            time.sleep(delays[candidate.key])
            return maps[candidate.key]

        return predict

    return run


def test_a_gpu_provider_wins_only_with_fp32_masks_and_more_speed_and_each_refusal_is_said_once(
        random_weights: Path, listed: Callable[..., None]) -> None:
    listed("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")
    reference = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    maps = {CPU: reference, TORCH: reference, CUDA: reference + 0.001, DML: reference + 0.05, COREML: reference}
    delays = {CPU: 0.03, TORCH: 0.04, CUDA: 0.0, DML: 0.0, COREML: 0.0}
    missing = {COREML: "its library did not load (libstandin.so: cannot open shared object file)"}
    entry = find_weights("small")
    calls: list[str] = []
    # Never the untimed reference: the first photo runs on the CPU, not on a provider nobody tried yet.
    untimed = choose_engine(entry, run=stand_ins(maps, delays, calls, missing), measure=False)
    assert untimed.untimed and untimed.candidate.device == "cpu" and calls == []
    choice = choose_engine(entry, run=stand_ins(maps, delays, calls, missing))
    assert choice.candidate.key == CUDA and "fastest of 5" in choice.reason
    assert calls[0] in (CPU, TORCH) and set(calls) == {CPU, TORCH, CUDA, DML, COREML}  # the CPU's map first
    measured = read_measurements(entry)
    assert measured["agrees"] == {CPU: True, TORCH: True, CUDA: True, DML: False, COREML: False}
    assert set(measured["failed"]) == {DML, COREML}
    assert "mean |Δα| 12.75/255" in measured["failed"][DML] and "libstandin.so" in measured["failed"][COREML]
    # Cached: the next start chooses without running anything.
    calls.clear()
    assert choose_engine(entry, run=stand_ins(maps, delays, calls, missing)).candidate.key == CUDA and calls == []
    # A second model measured with the same refusals: still one line per provider, each with its reason.
    second = dataclasses.replace(entry, sha256="4" * 64)
    choose_engine(second, run=stand_ins(maps, delays, [], missing))
    notes = accelerator_notes()
    assert len(notes) == 2, notes
    assert any(n.startswith("ONNX Runtime fp32 on GPU (DirectML) is not used: its masks differ") for n in notes)
    assert any("Apple GPU (CoreML)" in n and "libstandin.so" in n and "goes on with the CPU" in n for n in notes)


def test_a_gpu_provider_slower_than_the_cpu_or_with_other_masks_is_never_chosen(
        random_weights: Path, listed: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    listed("CUDAExecutionProvider")
    reference = np.full((64, 64), 0.5, np.float32)
    entry = find_weights("small")
    slower = {CPU: 0.0, TORCH: 0.02, CUDA: 0.03}
    maps = {CPU: reference, TORCH: reference, CUDA: reference}
    assert choose_engine(entry, run=stand_ins(maps, slower, [])).candidate.device == "cpu"
    # Naming fp32 (CLEARBG_PRECISION) skips the card's check of a precision, never a provider's check of its masks.
    monkeypatch.setenv("CLEARBG_PRECISION", "fp32")
    other = {CPU: reference, TORCH: reference, CUDA: reference + 0.2}
    fast = {CPU: 0.02, TORCH: 0.03, CUDA: 0.0}
    other_entry = dataclasses.replace(entry, sha256="5" * 64)
    assert choose_engine(other_entry, run=stand_ins(other, fast, [])).candidate.device == "cpu"
    # "cpu" as the device choice leaves the providers out; "cuda" takes ONNX Runtime's CUDA with the CPU as reference.
    assert {c.device for c in engine_choice.machine_candidates("cpu")} == {"cpu"}
    assert [c.key for c in engine_choice.machine_candidates("cuda", "onnxruntime")] == [CPU, CUDA]


@pytest.mark.slow
def test_a_listed_provider_onnx_runtime_cannot_start_is_reported_and_the_cpu_runs_the_model(
        onnx_resources: Path, listed: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    """Real ONNX Runtime sessions: asked for CUDA and DirectML, which it lists but cannot start here, it falls back to
    the CPU without a word; the engine notices, says why, and the measurement keeps the CPU."""
    from clearbg_desktop.core.inference.engines import load_segmenter
    from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter

    monkeypatch.setenv("CLEARBG_RESOURCES", str(onnx_resources))
    monkeypatch.setenv("CLEARBG_ENGINE", "onnxruntime")
    listed("CUDAExecutionProvider", "DmlExecutionProvider")
    entry = find_weights("small")
    for device in ("cuda", "dml"):
        with pytest.raises(AcceleratorUnavailable) as refused:
            OnnxSegmenter(entry, accelerator=device)
        assert str(refused.value).startswith(ACCELERATORS[device].label) and "\n" not in str(refused.value)
    engine = load_segmenter("small")
    assert engine.device.type == "cpu" and "fastest of 3" in engine.choice_reason
    assert engine.description == "U²-Net small on CPU (ONNX Runtime)"
    failed = read_measurements(entry)["failed"]
    assert set(failed) == {CUDA, DML}
    cuda_reason = "CUDA provider library" if not onnxruntime_gpu_installed() else "CUDA libraries did not load"
    assert cuda_reason in failed[CUDA], failed[CUDA]
    assert "could not start DmlExecutionProvider" in failed[DML]
    assert len(accelerator_notes()) == 2


@pytest.mark.slow
@pytest.mark.skipif(not onnxruntime_gpu_installed(), reason="onnxruntime-gpu is not the installed ONNX Runtime "
                    "(bash tests/core/inference/ortgpu_env.sh runs this)")
def test_onnxruntime_gpu_as_installed_runs_where_it_loads_and_falls_back_where_it_cannot(
        onnx_resources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing faked: the wheel's own provider list, its own CUDA library and this machine's drivers."""
    import onnxruntime

    from clearbg_desktop.core.inference.engines import load_segmenter

    assert "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    monkeypatch.setenv("CLEARBG_RESOURCES", str(onnx_resources))
    monkeypatch.setenv("CLEARBG_ENGINE", "onnxruntime")
    monkeypatch.delenv("CLEARBG_PRECISION")
    assert "onnxruntime-gpu" in engine_choice.machine_fingerprint(None)
    engine = load_segmenter("small")
    measured = read_measurements(find_weights("small"))
    if measured["agrees"].get(CUDA):  # a machine with an NVIDIA GPU: its masks passed, and it may be faster
        assert CUDA in measured["seconds"]
        return
    assert engine.device.type == "cpu"
    reason = measured["failed"][CUDA]
    assert "CUDA libraries did not load" in reason and ".so" in reason and "needs CUDA" in reason, reason
    [note] = accelerator_notes()
    assert note.startswith("ONNX Runtime fp32 on NVIDIA GPU (CUDA) is not used: its CUDA libraries did not load")


@pytest.mark.slow
def test_a_batch_groups_photos_on_any_gpu_and_not_on_the_cpu(onnx_resources: Path) -> None:
    from clearbg_desktop.core.batch.model_calls import GPU_PHOTOS_PER_CALL, photos_per_model_call
    from clearbg_desktop.core.inference.onnx_engine import EngineDevice, OnnxSegmenter

    engine = OnnxSegmenter(find_weights("small", [onnx_resources / "weights"]))
    assert photos_per_model_call(engine) == 1
    for device in ("cuda", "dml", "coreml"):
        engine.device = EngineDevice(device)  # what a session on that provider says it runs on
        assert photos_per_model_call(engine) == GPU_PHOTOS_PER_CALL


def test_photos_per_second_count_the_photos_cut_out_lately() -> None:
    from clearbg_desktop.core.inference.time_per_photo import PhotoRate, format_rate

    rate = PhotoRate(window=4)
    assert rate.per_second is None and format_rate(rate.per_second) == "… photos/s"
    for second, status in enumerate(["skipped", "skipped", "done", "done", "failed"]):
        rate.add(status, now=float(second))
    assert rate.per_second == pytest.approx(1.0)  # skipped photos took no model time: not counted
    for step in range(10):  # the engine got faster: the rate follows the last photos, not the whole job
        rate.add("done", now=5.0 + step * 0.05)
    assert rate.per_second == pytest.approx(20.0)
    assert format_rate(20.0) == "20.0 photos/s" and format_rate(0.8123) == "0.81 photos/s"


def test_a_hostile_cache_cannot_break_the_notes(random_weights: Path) -> None:
    """The cache is a file anyone can edit (STYLE 15): each reason is checked on its own, the rest are said."""
    import json

    from clearbg_desktop.core.paths import data_dir

    fingerprint = engine_choice.machine_fingerprint(None)
    failed = {CUDA: "x" * 10_000, DML: 7, "onnxruntime:mps:fp32": "no such engine", "torch:coreml:fp32": "nor this",
              COREML: "  a reason\nover lines  ", "onnxruntime:cpu": "short key", "": "", "torch:cuda:fp32": ["a list"]}
    record = {"seconds": {CPU: 0.2}, "agrees": {CPU: True}, "failed": failed}
    data_dir().mkdir(parents=True, exist_ok=True)
    (data_dir() / engine_choice.CACHE_NAME).write_text(json.dumps(
        {"version": engine_choice.CACHE_VERSION, "machines": {fingerprint: {"a" * 64: record, "b" * 64: [1, 2],
                                                                            "c" * 64: {"failed": "text"}}}}))
    notes = accelerator_notes()
    assert len(notes) == 2 and all("\n" not in note and len(note) < 500 for note in notes), notes
    assert any("a reason over lines." in note for note in notes)
    assert set(read_measurements(dataclasses.replace(find_weights("small"), sha256="a" * 64))["failed"]) == {
        CUDA, COREML}


@pytest.mark.slow
def test_a_provider_timed_fine_before_but_gone_now_leaves_the_cpu_running(
        onnx_resources: Path, listed: Callable[..., None], monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache says CUDA won (timed on an earlier start); today it does not load: the CPU runs, and says why."""
    from clearbg_desktop.core.inference.engines import load_segmenter

    monkeypatch.setenv("CLEARBG_RESOURCES", str(onnx_resources))
    monkeypatch.setenv("CLEARBG_ENGINE", "onnxruntime")
    listed("CUDAExecutionProvider")
    reference = np.full((64, 64), 0.5, np.float32)
    won = choose_engine(find_weights("small"), run=stand_ins({CPU: reference, CUDA: reference},
                                                               {CPU: 0.02, CUDA: 0.0}, []))
    assert won.candidate.key == CUDA
    engine = load_segmenter("small")  # the real engines now: ONNX Runtime's CUDA provider is not there
    assert engine.device.type == "cpu" and engine.choice_reason.startswith("on the CPU: NVIDIA GPU (CUDA): ")
    assert engine.predict_alpha(Image.new("RGB", (80, 60), "gray")).size == (80, 60)
