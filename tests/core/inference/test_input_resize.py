"""The model's input resize and the flip average (#45): one function decides for every engine and precision."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.inference import model_io
from clearbg_desktop.core.inference.model_io import (
    DEFAULT_INPUT_RESIZE,
    INPUT_RESIZES,
    average_flips,
    model_input,
    resize_for_model,
)
from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter
from clearbg_desktop.core.inference.onnx_export import export_weights_folder
from clearbg_desktop.core.inference.segmenter import Segmenter
from clearbg_desktop.core.inference.weights import find_weights
from tests.conftest import make_photo

ROOT = Path(__file__).resolve().parents[3]


def detailed_photo(size: tuple[int, int] = (1000, 700)) -> Image.Image:
    """Fine stripes and noise: what the filters disagree on (aliasing)."""
    rng = np.random.default_rng(3)
    x = np.arange(size[0])[None, :, None]
    stripes = (np.sin(x * 1.3) * 80 + 128).astype(np.int16)
    noise = rng.integers(-30, 30, (size[1], size[0], 3))
    return Image.fromarray(np.clip(stripes + noise, 0, 255).astype(np.uint8), "RGB")


@pytest.mark.parametrize("method", list(INPUT_RESIZES))
def test_every_resize_gives_the_square_rgb_input(method: str) -> None:
    resized = resize_for_model(make_photo((400, 300)), 320, method)
    assert resized.size == (320, 320) and resized.mode == "RGB"


def test_the_methods_really_differ_and_the_default_is_used_when_none_is_named() -> None:
    photo = detailed_photo()
    inputs = {m: np.asarray(resize_for_model(photo, 320, m), np.int16) for m in INPUT_RESIZES}
    assert np.array_equal(np.asarray(resize_for_model(photo, 320), np.int16), inputs[DEFAULT_INPUT_RESIZE])
    for method in ("lanczos", "area", "bilinear-plain"):
        assert np.abs(inputs[method] - inputs["bilinear-gap3"]).mean() > 0.5, method
    # Point sampling keeps the stripes' aliasing that every antialiased filter averages away.
    assert inputs["bilinear-plain"].std() > inputs["area"].std() + 5


def test_plain_bilinear_is_opencvs_inter_linear() -> None:
    cv2 = pytest.importorskip("cv2")
    photo = detailed_photo((900, 640))
    ours = np.asarray(resize_for_model(photo, 320, "bilinear-plain"), np.int16)
    theirs = cv2.resize(np.asarray(photo), (320, 320), interpolation=cv2.INTER_LINEAR).astype(np.int16)
    assert np.abs(ours - theirs).max() <= 1


def test_an_unknown_resize_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="lanczos"):
        resize_for_model(make_photo(), 320, "nearest")


def test_flip_average_puts_each_mirrored_map_back_before_averaging() -> None:
    rng = np.random.default_rng(0)
    maps = rng.random((2, 8, 8)).astype(np.float32)
    doubled = np.concatenate([maps, maps[:, :, ::-1]])  # a model that is mirror-equivariant
    np.testing.assert_allclose(average_flips(doubled, True), maps, atol=1e-7)
    assert average_flips(maps, False) is maps
    batch = model_input([make_photo((90, 60))], 32, flip_average=True)
    assert batch.shape == (2, 32, 32, 3) and np.array_equal(batch[1], batch[0][:, ::-1])


@pytest.fixture(scope="module")
def onnx_weights(random_weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("onnx-resize")
    export_weights_folder(random_weights_dir / "weights", root / "weights")
    shutil.copytree(ROOT / "resources" / "samples", root / "samples")
    return root / "weights"


def engines(onnx_weights: Path) -> list[Segmenter | OnnxSegmenter]:
    """Every engine path a default mask takes: PyTorch fp32 and bf16, ONNX Runtime."""
    return [Segmenter.from_weights("small", device="cpu", precision="fp32"),
            Segmenter.from_weights("small", device="cpu", precision="bf16"),
            OnnxSegmenter(find_weights("small", [onnx_weights]), threads=1)]


@pytest.mark.slow
def test_every_engine_takes_its_input_from_the_one_resize(random_weights: Path, onnx_weights: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing the default in model_io changes every engine's masks, and each engine's named resize is used."""
    photo = detailed_photo((500, 400))
    for engine in engines(onnx_weights):
        before = np.asarray(engine.predict_alpha(photo), np.int16)
        monkeypatch.setattr(model_io, "DEFAULT_INPUT_RESIZE", "bilinear-plain")
        changed = np.asarray(engine.predict_alpha(photo), np.int16)
        monkeypatch.undo()
        engine.input_resize = "bilinear-plain"
        named = np.asarray(engine.predict_alpha(photo), np.int16)
        assert np.abs(before - changed).max() > 0, engine.description
        assert np.array_equal(changed, named), engine.description


@pytest.mark.slow
def test_the_flip_average_makes_every_engine_mirror_equivariant(random_weights: Path, onnx_weights: Path) -> None:
    """With the flip average the map of a mirrored photo is the mirrored map (random weights alone are not).
    Maps, not 8-bit alphas: the random model's output is too flat to show in 8 bits."""
    photo = make_photo((200, 150), seed=4)
    mirrored = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    for engine in engines(onnx_weights):
        plain = engine.predict_probabilities([mirrored])[0][:, ::-1]
        assert np.abs(plain - engine.predict_probabilities([photo])[0]).max() > 1e-3, engine.description
        engine.flip_average = True
        a = engine.predict_probabilities([photo])[0]
        b = engine.predict_probabilities([mirrored])[0][:, ::-1]
        assert np.abs(a - b).max() < 1e-4, engine.description


def test_best_quality_plus_is_opt_in_and_survives_the_switch_to_a_faster_engine(random_weights: Path) -> None:
    """The flip average is off unless asked for; once asked, the engine the timing picks later keeps it."""
    from clearbg_desktop.core.inference.engine_choice import Candidate, EngineChoice
    from clearbg_desktop.core.inference.engines import faster_engine, load_segmenter

    assert load_segmenter("small", device="cpu", measure=False).flip_average is False
    loaded = load_segmenter("small", device="cpu", measure=False, flip_average=True)
    loaded.input_resize = "area"
    assert loaded.flip_average is True and loaded.engine == "torch"
    faster = faster_engine(loaded, EngineChoice(Candidate("torch", "cpu", "bf16"), "timed", {}))
    assert faster is not None and faster.precision == "bf16"
    assert faster.flip_average is True and faster.input_resize == "area"


def test_a_family_nobody_measured_here_keeps_its_resize(tmp_path: Path) -> None:
    """IS-Net (no weights on the machine that chose the default) is fed as before #45, whatever the default is;
    asked for another resize, it gets it."""
    from clearbg_desktop.core.inference.model_families import ISNET
    from clearbg_desktop.core.inference.model_library import add_model_file
    from tests.core.inference.test_model_families import stand_in

    entry = add_model_file(stand_in(tmp_path / "isnet.onnx", 1024, 6), "isnet")
    engine = OnnxSegmenter(entry, threads=1)
    photo = detailed_photo((2400, 1600))
    before = ISNET.normalise(np.asarray(resize_for_model(photo, 1024, "bilinear-gap3"))[None])
    np.testing.assert_array_equal(engine.model_input([photo]), before)
    engine.input_resize = "lanczos"
    assert not np.array_equal(engine.model_input([photo]), before)


def test_each_architecture_runs_with_the_resize_the_harness_chose_for_it() -> None:
    """The full U²-Net runs with Lanczos (after a box reduction) unless told otherwise; the small one, and any
    architecture not measured, with the default (bench/RESULTS.md §17)."""
    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.model_io import input_resize_for

    assert input_resize_for("full") == "lanczos-gap3"
    assert input_resize_for("small") == input_resize_for("other") == DEFAULT_INPUT_RESIZE == "bilinear-gap3"
    torch.manual_seed(0)
    full = Segmenter(build_model("full"), device="cpu", input_size=64, threads=1, precision="fp32")
    photo = detailed_photo((2400, 1600))
    assert full.resolved_input_resize == "lanczos-gap3"
    shipped = full.predict_probabilities([photo])
    full.input_resize = "lanczos-gap3"
    np.testing.assert_array_equal(full.predict_probabilities([photo]), shipped)
    full.input_resize = "bilinear-gap3"
    assert not np.array_equal(full.predict_probabilities([photo]), shipped)
