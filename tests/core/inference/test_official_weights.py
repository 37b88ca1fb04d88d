"""Official checkpoints convert exactly into our model; bad files get a clear error; the user folder takes them."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from clearbg_desktop.core.inference import official_weights
from clearbg_desktop.core.inference.model import U2Net
from clearbg_desktop.core.inference.model_download import (
    DownloadCancelled,
    DownloadError,
    download_official,
    partial_path,
)
from clearbg_desktop.core.inference.model_library import (
    add_model_file,
    find_rembg_models,
    installed_models,
    remove_model,
)
from clearbg_desktop.core.inference.official_weights import ConversionError, OfficialModel, convert_checkpoint
from clearbg_desktop.core.inference.weights import WeightsError, find_weights, load_model

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter, as rembg used
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def randomised(variant: str, seed: int = 0) -> U2Net:
    """A U2Net with random weights *and* non-trivial BatchNorm statistics, so folding is really tested."""
    torch.manual_seed(seed)
    model = U2Net(variant)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.8, 1.2)
                module.bias.uniform_(-0.1, 0.1)
    return model.eval()


def export_onnx(model: U2Net, path: Path, size: int = 64) -> None:
    """The way rembg's files were made: the TorchScript exporter in eval mode (BatchNorm folded into Conv)."""
    torch.onnx.export(model, (torch.zeros(1, 3, size, size),), str(path), opset_version=11, dynamo=False,
                      input_names=["input.1"], do_constant_folding=True)


@functools.cache
def onnx_file(variant: str, folder: str) -> Path:
    path = Path(folder) / f"random-{variant}.onnx"
    export_onnx(randomised(variant), path)
    return path


@pytest.fixture(scope="module")
def onnx_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("onnx"))


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["small", "full"])
def test_onnx_converts_exactly(variant: str, onnx_folder: str) -> None:
    path = onnx_file(variant, onnx_folder)
    model = convert_checkpoint(path)
    assert model.variant == variant
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})
    with torch.no_grad():
        ours = [o.numpy() for o in model(torch.from_numpy(x))]
    assert len(expected) == len(ours) == 7
    for theirs, mine in zip(expected, ours, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_pth_state_dicts_load_and_the_variant_comes_from_shapes(tmp_path: Path) -> None:
    model = randomised("small", seed=3)
    path = tmp_path / "whatever-name.pth"  # the name says nothing about the variant
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, path)  # DataParallel-style keys
    loaded = convert_checkpoint(path)
    assert loaded.variant == "small"
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)


@pytest.mark.slow
def test_bad_files_get_a_clear_error_naming_them(tmp_path: Path, onnx_folder: str) -> None:
    random_bytes = tmp_path / "random.onnx"
    random_bytes.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(onnx_file("small", onnx_folder).read_bytes()[:300_000])
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    unrelated = tmp_path / "unrelated.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, unrelated)
    unrelated_onnx = tmp_path / "linear.onnx"
    torch.onnx.export(torch.nn.Conv2d(3, 4, 3).eval(), (torch.zeros(1, 3, 8, 8),), str(unrelated_onnx),
                      dynamo=False)
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    for path in (random_bytes, truncated, empty, unrelated, unrelated_onnx, text, tmp_path):
        with pytest.raises(ConversionError) as caught:
            convert_checkpoint(path)
        assert path.name in str(caught.value)
        assert "weights_only" not in str(caught.value)


@pytest.mark.slow
def test_adding_a_model_installs_our_copy_and_never_touches_the_source(tmp_path: Path, onnx_folder: str) -> None:
    source = tmp_path / "u2netp.onnx"
    source.write_bytes(onnx_file("small", onnx_folder).read_bytes())
    before = source.read_bytes()
    entry = add_model_file(source)
    assert source.read_bytes() == before
    assert entry.name == "u2netp" and entry.variant == "small"
    assert entry.card["source_file"] == "u2netp.onnx" and entry.card["licence"]
    assert find_weights("u2netp").sha256 == entry.sha256
    load_model(find_weights("u2netp"))  # hash-checked, tensors only
    assert "u2netp" in {row.name for row in installed_models()}
    with pytest.raises(WeightsError, match="already installed"):
        add_model_file(source)
    remove_model("u2netp")
    assert "u2netp" not in {row.name for row in installed_models()}
    with pytest.raises(WeightsError, match="random.bin"):
        (tmp_path / "random.bin").write_bytes(b"\x01\x02" * 100)
        add_model_file(tmp_path / "random.bin", name="x")


def test_rembg_folder_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "u2netp.onnx").write_bytes(b"x")
    (tmp_path / "other.onnx").write_bytes(b"x")
    monkeypatch.setenv("U2NET_HOME", str(tmp_path))
    assert [p.name for p in find_rembg_models()] == ["u2netp.onnx"]


# ----- opt-in download, against a local HTTP server ---------------------------------------------


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with Range support and can break the connection part-way (``?cut=N``)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path, _, query = self.path.partition("?")
        data = (Path(self.directory) / path.lstrip("/")).read_bytes()
        start = 0
        header = self.headers.get("Range")
        if header:
            start = int(header.split("=")[1].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        body = data[start:]
        if query.startswith("cut=") and not header:
            body = body[: int(query[4:])]
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, bytes]]:
    served = tmp_path / "served"
    served.mkdir()
    payload = np.random.default_rng(5).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    (served / "model.onnx").write_bytes(payload)
    import hashlib

    fake = OfficialModel("testmodel", "testmodel.onnx", "", hashlib.md5(payload).hexdigest(), "test")
    monkeypatch.setitem(official_weights.OFFICIAL_MODELS, "testmodel", fake)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(RangeHandler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/model.onnx", payload
    httpd.shutdown()
    httpd.server_close()


def test_download_reports_progress_and_checks_the_hash(server: tuple[str, bytes], tmp_path: Path) -> None:
    url, payload = server
    seen: list[tuple[int, int]] = []
    path = download_official("testmodel", tmp_path / "dl", lambda got, total: seen.append((got, total)), url=url)
    assert path.read_bytes() == payload
    assert seen[-1] == (len(payload), len(payload))


def test_download_resumes_after_a_broken_connection(server: tuple[str, bytes], tmp_path: Path) -> None:
    url, payload = server
    with pytest.raises(DownloadError, match="try again"):
        download_official("testmodel", tmp_path, url=url + "?cut=100000")
    part = partial_path(tmp_path / "testmodel.onnx")
    assert part.stat().st_size == 100_000
    received: list[int] = []
    path = download_official("testmodel", tmp_path, lambda got, total: received.append(got), url=url)
    assert path.read_bytes() == payload
    assert received[0] > 100_000  # continued, not restarted


def test_download_cancel_keeps_the_partial_file_and_a_bad_hash_is_never_used(
        server: tuple[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, payload = server
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        download_official("testmodel", tmp_path, lambda got, total: cancel.set(), cancel, url=url)
    assert not (tmp_path / "testmodel.onnx").exists()
    assert partial_path(tmp_path / "testmodel.onnx").is_file()
    monkeypatch.setitem(official_weights.OFFICIAL_MODELS, "testmodel",
                        OfficialModel("testmodel", "testmodel.onnx", "", "0" * 32, "test"))
    with pytest.raises(DownloadError, match="MD5"):
        download_official("testmodel", tmp_path, url=url)
    assert not (tmp_path / "testmodel.onnx").exists()
    assert not partial_path(tmp_path / "testmodel.onnx").exists()


@pytest.mark.slow
def test_cli_adds_lists_and_uses_a_model(tmp_path: Path, onnx_folder: str, random_weights: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from clearbg_desktop.cli import main as cli_main
    from tests.conftest import make_photo

    source = tmp_path / "u2netp.onnx"
    source.write_bytes(onnx_file("small", onnx_folder).read_bytes())
    assert cli_main(["--add-model", str(source), "--name", "mine"]) == 0
    assert "installed 'mine'" in capsys.readouterr().out
    assert cli_main(["--list-models"]) == 0
    listing = capsys.readouterr().out
    assert "mine" in listing and "small" in listing and "u2netp.onnx" in listing
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x01junk")
    assert cli_main(["--add-model", str(tmp_path / "junk.onnx")]) == 2
    assert "junk.onnx" in capsys.readouterr().err
    make_photo().save(tmp_path / "p.jpg")
    assert cli_main([str(tmp_path / "p.jpg"), "-o", str(tmp_path / "out"), "--model", "mine", "-q"]) == 0
    assert (tmp_path / "out" / "p-cutout.png").is_file()
    assert cli_main([str(tmp_path / "p.jpg"), "-o", str(tmp_path / "out2"), "--model", "nope", "-q"]) == 2


def test_a_broken_user_manifest_is_kept_and_no_model_is_added_over_it(tmp_path: Path, onnx_folder: str) -> None:
    """Its entries may be the user's only record of their models: it is never replaced (issue #36)."""
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "manifest.json").write_text("{broken")
    with pytest.raises(WeightsError, match="cannot add models: .*manifest.json: unreadable.*kept as it is"):
        add_model_file(onnx_file("small", onnx_folder), name="fresh", folder=folder)
    assert [p.name for p in folder.iterdir()] == ["manifest.json"]
    assert (folder / "manifest.json").read_text() == "{broken"
    with pytest.raises(WeightsError, match="unreadable"):
        remove_model("fresh", folder)
