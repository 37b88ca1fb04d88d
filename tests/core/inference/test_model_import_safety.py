"""Model files as an attacker (or a broken exporter) writes them, built here (issue #36, report round 4: D3, D8,
D14, D15, D20, D21): every bad import is one clear line, leaves the models folder exactly as it was, and never
costs the user a model already installed; a model's output is checked on every photo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.model_library import (
    MAX_MODEL_BYTES,
    add_model_file,
    install_full_model,
    installed_models,
    remove_model,
)
from clearbg_desktop.core.inference.onnx_export import half_stored
from clearbg_desktop.core.inference.onnx_reader import OnnxFormatError, read_onnx_graph
from clearbg_desktop.core.inference.weights import MANIFEST_NAME, WeightsError, available_models, find_weights
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from clearbg_desktop.core.paths import user_models_dir
from tests.conftest import make_photo
from tests.core.inference.test_model_families import stand_in
from tests.core.inference.test_official_weights import onnx_file

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes: "exactly as before" is this, equal."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def edited(source: Path, target: Path, change: Callable[[onnx.ModelProto], None]) -> Path:
    model = onnx.load(str(source))
    change(model)
    target.write_bytes(model.SerializeToString())  # onnx.save would check nothing either; written as a hostile tool does
    return target


def with_initializer(tensor: TensorProto) -> Callable[[onnx.ModelProto], None]:
    return lambda model: model.graph.initializer.append(tensor)


def first_conv(model: onnx.ModelProto) -> onnx.NodeProto:
    return next(node for node in model.graph.node if node.op_type == "Conv")


def wrong_bias(model: onnx.ModelProto) -> None:
    bias = first_conv(model).input[2]
    for initializer in model.graph.initializer:
        if initializer.name == bias:
            initializer.CopyFrom(helper.make_tensor(bias, TensorProto.FLOAT, [3], [0.0, 0.0, 0.0]))


def no_output(model: onnx.ModelProto) -> None:
    del first_conv(model).output[:]


def input_size(size: int) -> Callable[[onnx.ModelProto], None]:
    def change(model: onnx.ModelProto) -> None:
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_value = dims[3].dim_value = size

    return change


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="module")
def fp16_small(onnx_folder: str) -> Path:
    """U²-Net small stored at half precision (``Cast``-widened kernels): installed as it is, for ONNX Runtime."""
    path = Path(onnx_folder) / "fp16_ok.onnx"
    path.write_bytes(half_stored(onnx_file("small", onnx_folder).read_bytes()))
    return path


def hostile_models(folder: Path, onnx_folder: str) -> dict[str, Path]:
    """The report's D8 files: each one broke ``--add-model`` with a traceback."""
    small = onnx_file("small", onnx_folder)
    signature = stand_in(folder / "signature.onnx", 320, 7)  # U²-Net's signature: its tensors are read
    return {
        "odd_raw": edited(signature, folder / "odd_raw.onnx", with_initializer(
            TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2], raw_data=b"\0" * 5))),
        "huge_dims": edited(signature, folder / "huge_dims.onnx", with_initializer(
            TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2**32, 2**32]))),
        "negative_dims": edited(signature, folder / "negative_dims.onnx", with_initializer(
            TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[-1, 2], raw_data=b"\0" * 8))),
        "bias_shape": edited(small, folder / "bias_shape.onnx", wrong_bias),
        "conv_no_output": edited(small, folder / "conv_no_output.onnx", no_output),
    }


@pytest.mark.parametrize("kind", ["odd_raw", "huge_dims", "negative_dims", "bias_shape", "conv_no_output"])
def test_malformed_onnx_is_one_line_in_the_cli_and_changes_nothing(
        kind: str, tmp_path: Path, onnx_folder: str, capsys: pytest.CaptureFixture[str]) -> None:
    """D8: each of these raised ValueError, RuntimeError or IndexError out of ``--add-model``."""
    path = hostile_models(tmp_path, onnx_folder)[kind]
    folder = user_models_dir()
    add_model_file(stand_in(tmp_path / "keep.onnx", 1024, 6), "keep")
    before = snapshot(folder)
    assert cli_main(["--add-model", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and path.name in err, err
    assert snapshot(folder) == before


def test_the_onnx_reader_refuses_malformed_tensors_with_its_own_error(tmp_path: Path, onnx_folder: str) -> None:
    models = hostile_models(tmp_path, onnx_folder)
    for kind in ("odd_raw", "huge_dims", "negative_dims"):
        with pytest.raises(OnnxFormatError):
            read_onnx_graph(models[kind])


@pytest.mark.parametrize("size", [2048, 10**9])
def test_a_bad_import_never_costs_the_models_already_installed(size: int, tmp_path: Path, fp16_small: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """D3: an fp16 U²-Net declaring 2048 px was written into the manifest, which then could not be read at all:
    every user model was gone and nothing could be added any more."""
    folder = user_models_dir()
    keep = add_model_file(fp16_small, "keepme")
    before = snapshot(folder)
    big = edited(fp16_small, tmp_path / f"fp16_input{size}.onnx", input_size(size))
    with pytest.raises(WeightsError, match=f"{size}"):
        add_model_file(big)
    assert snapshot(folder) == before  # no stray file, card or manifest entry
    assert find_weights("keepme").sha256 == keep.sha256
    assert cli_main(["--add-model", str(big)]) == 2
    assert cli_main(["--add-model", str(fp16_small), "--add-name", "good2"]) == 0, capsys.readouterr().err
    assert {"keepme", "good2"} <= set(available_models())


def test_one_bad_manifest_entry_is_named_once_and_the_rest_load(tmp_path: Path, fp16_small: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    folder = user_models_dir()
    add_model_file(fp16_small, "keepme")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["models"]["poisoned"] = dict(manifest["models"]["keepme"], input_size=2048)
    text = json.dumps(manifest)
    (folder / MANIFEST_NAME).write_text(text)
    with pytest.warns(UserWarning, match="poisoned.*2048") as caught:
        assert set(available_models([folder])) == {"keepme"}
    assert len(caught) == 1
    listed = subprocess.run([sys.executable, "-c", "from clearbg_desktop.cli import main; raise SystemExit(main())",
                             "--list-models"], capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert listed.returncode == 0 and "keepme" in listed.stdout, listed.stderr
    assert listed.stderr.count("poisoned") == 1 and "Traceback" not in listed.stderr, listed.stderr
    added = add_model_file(fp16_small, "another")
    after = json.loads((folder / MANIFEST_NAME).read_text())
    assert after["models"]["poisoned"] == manifest["models"]["poisoned"]  # kept as it was, never dropped
    with pytest.warns(UserWarning, match="poisoned"):
        assert set(available_models([folder])) == {"keepme", "another"} and added.name == "another"


def test_an_unreadable_manifest_is_kept_and_nothing_is_added(tmp_path: Path, fp16_small: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    folder = user_models_dir()
    folder.mkdir(parents=True)
    for damaged in ("{broken", '{"models": [1, 2]}', "[]", '{"models": {"a": 1}, ' * 3000):
        (folder / MANIFEST_NAME).write_text(damaged)
        before = snapshot(folder)
        with pytest.raises(WeightsError, match="kept as it is"):
            add_model_file(fp16_small, "fresh")
        assert cli_main(["--add-model", str(fp16_small), "--add-name", "fresh"]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        with pytest.raises(WeightsError):
            remove_model("fresh")
        assert snapshot(folder) == before


@pytest.mark.parametrize("name", ["full", "small", "Full", "SMALL"])
def test_the_bundled_names_cannot_be_taken(name: str, tmp_path: Path, fp16_small: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """D14: any file added as "full" replaced the best-quality model (and became the default)."""
    folder = user_models_dir()
    with pytest.raises(WeightsError, match="bundled"):
        add_model_file(fp16_small, name)
    assert cli_main(["--add-model", str(fp16_small), "--add-name", name]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "bundled" in err
    assert snapshot(folder) == {}
    renamed = tmp_path / f"{name}.onnx"  # a file whose default name would be the bundled one's
    renamed.write_bytes(fp16_small.read_bytes())
    entry = add_model_file(renamed)
    assert entry.name.lower() not in ("full", "small") and entry.name.lower().startswith(name.lower())


def nan_graph(path: Path, size: int = 1024, sigmoid: bool = True) -> Path:
    """A "BRIA" graph (1024 px, one output ending in a sigmoid) whose output is NaN everywhere: 0 / 0."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    nodes = [
        helper.make_node("Sub", ["image", "image"], ["zero"]),
        helper.make_node("Div", ["zero", "zero"], ["nan"]),
        helper.make_node("ReduceMean", ["nan"], ["one_channel"], axes=[1], keepdims=1),
        helper.make_node("Sigmoid" if sigmoid else "Identity", ["one_channel"], ["mask"]),
    ]
    graph = helper.make_graph(nodes, "nan", [image], [helper.make_tensor_value_info("mask", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def flat_graph(path: Path, size: int = 1024, outputs: int = 1) -> Path:
    """A "BiRefNet" (or, with 6 outputs, an "IS-Net") whose first output is one number per image, not a map."""
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    nodes = [helper.make_node("ReduceMean", ["image"], ["flat"], axes=[1, 2, 3], keepdims=0)]
    nodes += [helper.make_node("Identity", ["image"], [f"side{i}"]) for i in range(1, outputs)]
    values = [helper.make_tensor_value_info("flat", TensorProto.FLOAT, None)]
    values += [helper.make_tensor_value_info(f"side{i}", TensorProto.FLOAT, None) for i in range(1, outputs)]
    model = helper.make_model(helper.make_graph(nodes, "flat", [image], values),
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def nan_state_dict(path: Path) -> Path:
    model = build_model("small")
    with torch.no_grad():
        model.stage1.rebnconv1.conv_s1.weight.fill_(float("nan"))
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.parametrize("kind", ["bria_nan", "birefnet_flat", "isnet_flat", "u2net_nan_pth"])
def test_every_family_gets_a_test_prediction_at_import(kind: str, tmp_path: Path) -> None:
    """D15: only U²-Net was run once at import; a NaN "BRIA" gave empty cut-outs reported as exported."""
    path = {
        "bria_nan": lambda: nan_graph(tmp_path / "fake_bria_nan.onnx"),
        "birefnet_flat": lambda: flat_graph(tmp_path / "fake_birefnet_flat.onnx"),
        "isnet_flat": lambda: flat_graph(tmp_path / "fake_isnet_flat.onnx", outputs=6),
        "u2net_nan_pth": lambda: nan_state_dict(tmp_path / "nan.pth"),
    }[kind]()
    folder = user_models_dir()
    with pytest.raises(WeightsError, match="NaN|shape") as caught:
        add_model_file(path, accept_licence=True)
    assert path.name in str(caught.value) and "\n" not in str(caught.value)
    assert snapshot(folder) == {}


def smuggled(name: str, good: Path, bad: Path) -> None:
    """A model that passed its import and was swapped afterwards (or written by hand): the manifest vouches for the
    bad file's hash, so only the output check stands between it and the photos."""
    from clearbg_desktop.core.file_hash import sha256_file

    entry = add_model_file(good, name, accept_licence=True)
    entry.path.write_bytes(bad.read_bytes())
    manifest_path = entry.path.parent / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text())
    manifest["models"][name]["sha256"] = sha256_file(entry.path)
    manifest_path.write_text(json.dumps(manifest))


@pytest.mark.parametrize("kind", ["nan", "flat"])
def test_a_bad_output_fails_the_photo_never_an_empty_cutout(kind: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    if kind == "nan":
        smuggled("fake", stand_in(tmp_path / "bria.onnx", 1024, 1, sigmoid=True), nan_graph(tmp_path / "nan.onnx"))
    else:
        smuggled("fake", stand_in(tmp_path / "birefnet.onnx", 1024, 1), flat_graph(tmp_path / "flat.onnx"))
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    out = tmp_path / "out"
    code = cli_main([str(photo), "-o", str(out), "--model", "fake", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and ("NaN" in err if kind == "nan" else "shape" in err), err
    assert "Traceback" not in err and not list(out.glob("*.png"))


@pytest.mark.parametrize("engine", ["torch", "auto"])
def test_a_torch_model_with_nan_weights_fails_the_photo(engine: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Forced, the photo fails; on "auto" the engines' timing fails first, and says the model is at fault (it
    said "no engine on this machine gives masks equal to fp32's")."""
    if engine == "auto":
        monkeypatch.delenv("CLEARBG_ENGINE")
        monkeypatch.delenv("CLEARBG_PRECISION")  # as a user runs it: every engine and precision timed
    model = build_model("small")
    with torch.no_grad():
        model.stage1.rebnconv1.conv_s1.weight.fill_(float("nan"))
    write_weights_folder(model, user_models_dir(), "nanny", input_size=64)
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    code = cli_main([str(photo), "-o", str(tmp_path / "out"), "--model", "nanny", "-q"])
    err = capsys.readouterr().err
    assert code in (1, 2) and "NaN" in err and "no engine" not in err, err
    assert "Traceback" not in err and not list((tmp_path / "out").glob("*.png")), err


def test_get_full_model_refuses_a_huge_file_before_hashing_it(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """D20: a 2 GB sparse file was hashed whole (15 s) before being refused."""
    sparse = tmp_path / "sparse2g.onnx"
    with open(sparse, "wb") as handle:
        handle.truncate(2 * MAX_MODEL_BYTES)
    with pytest.raises(WeightsError, match="GiB"):
        install_full_model(sparse)
    assert cli_main(["--get-full-model", str(sparse)]) == 2
    err = capsys.readouterr().err
    assert "GiB" in err and len(err.strip().splitlines()) == 1


def test_a_folder_fifo_or_device_says_what_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """D21: all of these were "no such file", though the path exists."""
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    cases = {tmp_path: "is a folder", fifo: "not a regular file", Path("/dev/zero"): "not a regular file",
             tmp_path / "missing.onnx": "no such file"}
    for path, said in cases.items():
        for install in (add_model_file, install_full_model):
            with pytest.raises(WeightsError, match=said):
                install(path)
        for flag in ("--add-model", "--get-full-model"):
            assert cli_main([flag, str(path)]) == 2
            err = capsys.readouterr().err
            assert said in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(user_models_dir()) == {}


def test_a_good_import_is_listed_and_runs(tmp_path: Path, fp16_small: Path) -> None:
    """The safety above costs nothing to a good file: installed, listed, hash-checked and run."""
    entry = add_model_file(fp16_small, "ok")
    assert entry.path.parent == user_models_dir() and entry.path.name == "ok.onnx"
    assert "ok" in {row.name for row in installed_models()}
    leftovers = [p.name for p in user_models_dir().iterdir() if p.name.startswith(".")]
    assert not leftovers
    from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter

    alpha = OnnxSegmenter(entry, threads=1).predict_probabilities([make_photo()])
    assert alpha.shape == (1, 64, 64) and np.isfinite(alpha).all()


def test_a_download_into_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    """--get-full-model's download: a models folder that is a file (or read-only) said in a line, not a trace."""
    from clearbg_desktop.core.inference.model_download import DownloadError, download_official

    blocked = tmp_path / "downloads"
    blocked.write_text("a file where the folder should be")
    with pytest.raises(DownloadError, match="cannot write it into"):
        download_official("u2netp", blocked, url="http://127.0.0.1:9/u2netp.onnx", timeout=1)


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        out.append((number & 0x7F) | (0x80 if number > 0x7F else 0))
        number >>= 7
        if not out[-1] & 0x80:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


@pytest.mark.slow
@pytest.mark.parametrize("bomb", ["400,000 nodes", "9 million varints"])
def test_an_onnx_memory_bomb_is_refused_before_it_is_built(bomb: str, tmp_path: Path) -> None:
    """A few MB of protobuf can ask for hundreds of millions of Python objects (5 bytes a node, 1 byte an int)."""
    if bomb == "400,000 nodes":
        graph = _field(1, _field(4, b"X")) * 400_000
    else:
        count = 9_000_000
        tensor = b"\x0a" + _varint(len(_varint(count))) + _varint(count) + b"\x10\x07" + _field(7, b"\x01" * count)
        graph = _field(5, tensor)
    path = tmp_path / "bomb.onnx"
    path.write_bytes(b"\x08\x08" + _field(7, graph))
    with pytest.raises(OnnxFormatError, match="more than"):
        read_onnx_graph(path)
    with pytest.raises(WeightsError, match="bomb.onnx"):
        add_model_file(path)


def test_an_import_killed_halfway_leaves_nothing_the_next_import_does_not_clear(tmp_path: Path) -> None:
    """Round 5 X6: kill -9 during --add-model left a .import-XXXX folder with a copy of the model (4.6 MB here,
    up to 1 GiB), which no later import removed. A staging folder whose writer is gone is removed now."""
    import subprocess
    import sys

    from clearbg_desktop.core.inference.weights_install import remove_abandoned_imports

    folder = tmp_path / "models"
    folder.mkdir()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    abandoned = folder / f".import-{gone}-abcd1234"
    abandoned.mkdir()
    (abandoned / "k.pt").write_bytes(b"x" * 1000)
    running = folder / f".import-{os.getpid()}-efgh5678"  # an import of this very process, still under way
    running.mkdir()
    assert remove_abandoned_imports(folder) == [abandoned]
    assert not abandoned.exists() and running.is_dir()


@pytest.mark.slow
def test_a_huge_number_in_one_entry_never_blocks_the_next_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Round 5 X8: one entry holding 10**400 made every later --add-model fail ("cannot be written back"); the
    entry is skipped when read, and written back exactly as it was."""
    import json

    from clearbg_desktop.core.inference.engines import onnx_copy
    from clearbg_desktop.core.inference.model_library import add_model_file, installed_models
    from clearbg_desktop.core.inference.weights import find_weights

    folder = tmp_path / "models"
    monkeypatch.setenv("CLEARBG_USER_MODELS", str(folder))
    source = onnx_copy(find_weights("small")).path
    add_model_file(source, "keep", folder)
    manifest = folder / "manifest.json"
    data = json.loads(manifest.read_text())
    data["models"]["bad"] = {**data["models"]["keep"], "input_size": "__HUGE__"}
    manifest.write_text(json.dumps(data).replace('"__HUGE__"', "1" + "0" * 400))
    add_model_file(source, "other", folder)
    names = {model.name for model in installed_models()}
    assert {"keep", "other"} <= names and "bad" not in names
    assert '"input_size": 1' + "0" * 400 in manifest.read_text()
