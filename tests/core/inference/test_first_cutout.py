"""#37 point 1: with no timings on this machine the model runs at once on the fp32 reference; the engines are
timed later, giving way to the user's work, and cached for every later start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clearbg_desktop.core.inference.engine_choice import (
    TimingStopped,
    choose_engine,
    read_measurements,
    time_engines,
)
from clearbg_desktop.core.inference.engines import faster_engine, load_segmenter
from clearbg_desktop.core.inference.weights import find_weights
from tests.core.inference.test_engines import _fake_runner

ORT, FP32 = "onnxruntime:cpu:fp32", "torch:cpu:fp32"


@pytest.fixture
def any_engine(random_weights: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARBG_ENGINE")  # both engines are candidates, as for a user


def test_untimed_means_the_reference_at_once_and_no_run(any_engine: None) -> None:
    entry = find_weights("small")  # a PyTorch file: PyTorch fp32 needs no ONNX export first
    calls: list[str] = []
    choice = choose_engine(entry, device="cpu", run=_fake_runner({}, {}, calls), measure=False)
    assert choice.untimed and choice.candidate.key == FP32 and calls == []
    assert "reference" in choice.reason and read_measurements(entry) == {}


def test_timing_gives_way_writes_nothing_then_finishes_and_is_cached(any_engine: None) -> None:
    entry = find_weights("small")
    reference = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    maps, delays = {ORT: reference, FP32: reference}, {ORT: 0.0, FP32: 0.02}
    runs = 0

    def busy_after_two_runs() -> bool:
        nonlocal runs
        runs += 1
        return runs > 2

    with pytest.raises(TimingStopped):
        time_engines(entry, _fake_runner(maps, delays, []), "cpu", should_stop=busy_after_two_runs)
    assert read_measurements(entry) == {}  # a run that gave way is never cached as "cannot run here"
    choice = time_engines(entry, _fake_runner(maps, delays, []), "cpu")
    assert choice.candidate.key == ORT and not choice.untimed
    again = choose_engine(entry, device="cpu", run=_fake_runner(maps, delays, []), measure=False)
    assert again.candidate.key == ORT and not again.untimed


@pytest.mark.slow
def test_the_winner_replaces_the_reference_with_the_same_masks(any_engine: None) -> None:
    from PIL import Image

    from tests.conftest import make_photo

    loaded = load_segmenter("small", device="cpu", measure=False)
    assert loaded.untimed and loaded.engine == "torch"
    entry = find_weights("small")
    reference = np.zeros((8, 8), np.float32)
    choice = time_engines(entry, _fake_runner({ORT: reference, FP32: reference}, {ORT: 0.0, FP32: 0.02}, []), "cpu")
    faster = faster_engine(loaded, choice)
    assert faster is not None and faster.engine == "onnxruntime"
    photo: Image.Image = make_photo((320, 240))
    difference = np.abs(np.asarray(faster.predict_alpha(photo), np.int16) - np.asarray(loaded.predict_alpha(photo), np.int16))
    assert difference.max() <= 2


@pytest.mark.slow
def test_the_set_ups_onnx_copy_makes_onnx_runtime_the_reference(
        any_engine: None, random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the set-up prepared the ONNX Runtime copy beside the bundled weights, the first photo runs on ONNX
    Runtime (the faster CPU engine) with no export first, whatever HOME the user has."""
    import shutil

    from clearbg_desktop.core.inference.engines import onnx_copy_ready, prepare_bundled_onnx_copies

    shutil.copytree(random_weights.parent, tmp_path / "resources")  # the shared test weights stay as they are
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "resources"))
    random_weights = tmp_path / "resources" / "weights"

    entry = find_weights("small")
    assert not onnx_copy_ready(entry) and load_segmenter("small", device="cpu", measure=False).engine == "torch"
    assert "small" in prepare_bundled_onnx_copies()
    assert (random_weights / "onnx-cache").is_dir() and onnx_copy_ready(entry)
    loaded = load_segmenter("small", device="cpu", measure=False)
    assert loaded.engine == "onnxruntime" and loaded.untimed
    assert loaded.weights is not None and str(loaded.weights.path).startswith(str(random_weights))
