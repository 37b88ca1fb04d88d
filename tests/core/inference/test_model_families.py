"""Every model a rembg user has: tiny ONNX stand-ins with each family's signature, built here, check what the
graph is fed, the activation, the stretch, the recognition from the graph, and the import by every rembg name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.inference.engine_choice import choose_engine
from clearbg_desktop.core.inference.model_families import BIREFNET, BRIA, ISNET, U2NET, ModelFamily
from clearbg_desktop.core.inference.model_library import LicenceNotAccepted, add_model_file, find_rembg_models
from clearbg_desktop.core.inference.official_weights import OFFICIAL_MODELS
from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter
from clearbg_desktop.core.inference.weights import WeightsError


def stand_in(path: Path, size: int, outputs: int, gain: float = 1.0, sigmoid: bool = False) -> Path:
    """A graph with a family's signature: its first output is ``gain`` × the red channel it was fed (after an
    optional sigmoid); a last output gives the per-channel means of what it was fed, for the test to read."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    nodes = [
        helper.make_node("Constant", [], ["starts"], value=helper.make_tensor("s", TensorProto.INT64, [1], [0])),
        helper.make_node("Constant", [], ["ends"], value=helper.make_tensor("e", TensorProto.INT64, [1], [1])),
        helper.make_node("Constant", [], ["axes"], value=helper.make_tensor("a", TensorProto.INT64, [1], [1])),
        helper.make_node("Constant", [], ["gain"], value=helper.make_tensor("g", TensorProto.FLOAT, [], [gain])),
        helper.make_node("Slice", ["image", "starts", "ends", "axes"], ["red"]),
        helper.make_node("Mul", ["red", "gain"], ["logit"]),
        helper.make_node("Sigmoid" if sigmoid else "Identity", ["logit"], ["map0"]),
        helper.make_node("ReduceMean", ["image"], ["stats"], axes=[2, 3], keepdims=0),
    ]
    names = ["map0"] + [f"map{i}" for i in range(1, outputs - 1)] + (["stats"] if outputs > 1 else [])
    nodes += [helper.make_node("Identity", ["logit"], [f"map{i}"]) for i in range(1, outputs - 1)]
    values = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in names]
    if outputs == 1:
        values = [helper.make_tensor_value_info("map0", TensorProto.FLOAT, None)]
    graph = helper.make_graph(nodes, "stand-in", [image], values)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def ramp_photo(size: tuple[int, int] = (200, 120)) -> Image.Image:
    red = np.tile(np.linspace(0, 255, size[0]), (size[1], 1))
    rgb = np.stack([red, np.full_like(red, 90), np.full_like(red, 200)], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


@pytest.mark.parametrize(("family", "outputs", "sigmoid_in_graph"),
                         [(ISNET, 6, False), (BIREFNET, 1, False), (BRIA, 1, True)])
def test_each_family_is_fed_and_activated_as_rembg_defines_it(tmp_path: Path, family: ModelFamily, outputs: int,
                                                              sigmoid_in_graph: bool) -> None:
    path = stand_in(tmp_path / f"{family.name}.onnx", 1024, max(outputs, 2) if family is ISNET else outputs,
                    gain=4.0, sigmoid=sigmoid_in_graph)
    entry = add_model_file(path, f"m-{family.name}", accept_licence=True)
    assert entry.family == family.name and entry.input_size == 1024 and entry.format == "onnx"
    engine = OnnxSegmenter(entry)
    assert engine.description.startswith(family.label)
    flat = Image.new("RGB", (64, 48), (255, 128, 0))
    fed = engine.model_input([flat])
    expected = (np.array([255, 128, 0]) / 255.0 - np.array(family.mean)) / np.array(family.std)
    np.testing.assert_allclose(fed.astype(np.float64).mean(axis=(0, 2, 3)), expected, atol=1e-5)
    if family is ISNET:  # the graph itself reports what it saw
        stats = engine.session.run(["stats"], {engine.input_name: fed})[0][0]
        np.testing.assert_allclose(stats, expected, atol=1e-5)
    photo = ramp_photo()
    probability = engine.predict_probabilities([photo])[0]
    red = fed_red = engine.model_input([photo])[0, 0]
    logit = 4.0 * red
    activated = 1 / (1 + np.exp(-logit)) if family.sigmoid or sigmoid_in_graph else logit
    reference = (activated - activated.min()) / (activated.max() - activated.min())
    np.testing.assert_allclose(probability, reference, atol=1e-4)
    assert fed_red.shape == (1024, 1024)
    if family is BIREFNET:  # the sigmoid is there: a stretched logit would be a straight ramp
        row = probability[512]
        assert abs(row[256] - 0.25) > 0.05


def test_the_family_comes_from_the_graph_not_the_name(tmp_path: Path) -> None:
    misnamed = stand_in(tmp_path / "u2net.onnx", 1024, 6)  # an IS-Net graph under a U²-Net name
    assert add_model_file(misnamed, "misnamed").family == "isnet"
    odd = stand_in(tmp_path / "isnet-general-use.onnx", 512, 3)
    with pytest.raises(WeightsError, match="512×512 px with 3 output"):
        add_model_file(odd, "odd")
    bria = stand_in(tmp_path / "bria-rmbg-2.0.onnx", 1024, 1, sigmoid=True)
    with pytest.raises(LicenceNotAccepted, match="non-commercial"):
        add_model_file(bria, "bria")
    assert add_model_file(bria, "bria", accept_licence=True).card["licence"].startswith("CC BY-NC 4.0")


def test_other_families_run_on_onnx_runtime_whatever_the_engine_switch_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = add_model_file(stand_in(tmp_path / "isnet.onnx", 1024, 6), "isnet")
    monkeypatch.setenv("CLEARBG_ENGINE", "torch")
    assert choose_engine(entry, device="cpu").candidate.engine == "onnxruntime"
    with pytest.raises(ValueError, match="ONNX Runtime only"):
        choose_engine(entry, device="cpu", engine="torch")


@pytest.mark.slow
def test_every_rembg_file_name_is_found_and_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """rembg's ~/.u2net as a user has it: every file name of the release, each a stand-in of its family."""
    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.onnx_export import onnx_bytes

    home = tmp_path / "u2net-home"
    home.mkdir()
    small = onnx_bytes(build_model("small"), 320)
    pruned = _pruned_u2net(torch)
    for model in OFFICIAL_MODELS.values():
        target = home / model.file_name
        if model.family == "u2net":
            target.write_bytes(pruned if model.name == "silueta" else small)
        else:
            stand_in(target, 1024, 6 if model.family == "isnet" else 1, sigmoid=model.family == "bria")
    (home / "notes.txt").write_text("not a model")
    monkeypatch.setenv("U2NET_HOME", str(home))
    found = find_rembg_models()
    assert {p.name for p in found} == {m.file_name for m in OFFICIAL_MODELS.values()}
    for path in found:
        model = next(m for m in OFFICIAL_MODELS.values() if m.file_name == path.name)
        args = ["--add-model", str(path)] + (["--accept-licence"] if model.accept_licence else [])
        assert cli_main(args) == 0, capsys.readouterr().err
        installed = capsys.readouterr().out
        assert f"installed {path.stem[:64]!r}" in installed
    photo = tmp_path / "p.jpg"
    ramp_photo((90, 60)).save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "out"), "--model", "isnet-general-use", "-q", "--mask-only"]) == 0
    with Image.open(tmp_path / "out" / "p-cutout.png") as written:
        assert written.size == (90, 60)


def _pruned_u2net(torch) -> bytes:  # type: ignore[no-untyped-def]
    """U²-Net's layout at other widths, as silueta has it: 119 convolutions and 7 outputs at 320 px."""
    import io

    class Pruned(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = torch.nn.ModuleList(torch.nn.Conv2d(3, 3, 1) for _ in range(119))

        def forward(self, x):  # type: ignore[no-untyped-def]
            for conv in self.convs:
                x = conv(x)
            maps = torch.sigmoid(x[:, :1])
            return tuple(maps * (i + 1) / 7 for i in range(7))

    buffer = io.BytesIO()
    torch.onnx.export(Pruned().eval(), (torch.zeros(1, 3, 320, 320),), buffer, opset_version=17, dynamo=False,
                      output_names=[f"d{i}" for i in range(7)])
    return buffer.getvalue()


def test_u2net_family_keeps_the_measured_pipeline() -> None:
    """U²-Net's normalisation is ClearBG's own (measured ahead of rembg's, bench/RESULTS.md §12)."""
    batch = np.full((1, 320, 320, 3), 128, np.uint8)
    values = U2NET.normalise(batch)
    from clearbg_desktop.core.inference.segmenter import normalise

    np.testing.assert_allclose(values, normalise(batch).numpy(), atol=1e-6)
