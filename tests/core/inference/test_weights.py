"""Weights are found through manifests, hash-checked, and loaded without pickled code."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch

from clearbg_desktop.core.inference.model import build_model
from clearbg_desktop.core.inference.weights import WeightsError, available_models, find_weights, load_model
from clearbg_desktop.core.inference.weights_install import write_weights_folder


@pytest.mark.slow
def test_round_trip(tmp_path: Path) -> None:
    model = build_model("small")
    entry = write_weights_folder(model, tmp_path, "small", card={"k": 1}, input_size=256)
    assert entry.input_size == 256 and entry.card == {"k": 1}
    loaded = load_model(find_weights("small", [tmp_path]))
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)


def test_user_folder_wins_over_bundled(tmp_path: Path) -> None:
    user, bundled = tmp_path / "user", tmp_path / "bundled"
    write_weights_folder(build_model("small"), bundled, "small")
    write_weights_folder(build_model("small"), user, "small", card={"who": "user"})
    assert available_models([user, bundled])["small"].card == {"who": "user"}


def test_missing_model_names_what_was_searched(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no weights for the 'full' model.*searched"):
        find_weights("full", [tmp_path])


def test_missing_file_is_named(tmp_path: Path) -> None:
    entry = write_weights_folder(build_model("small"), tmp_path, "small")
    entry.path.unlink()
    with pytest.raises(WeightsError, match="weights file missing: .*u2net_small.pt"):
        load_model(entry)


def test_corrupted_file_is_detected_by_hash(tmp_path: Path) -> None:
    entry = write_weights_folder(build_model("small"), tmp_path, "small")
    data = bytearray(entry.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="corrupted: .*SHA-256"):
        load_model(entry)


def test_pickled_code_is_never_executed(tmp_path: Path) -> None:
    """A file with a matching hash but a malicious pickle is refused by weights_only loading."""
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (shutil.copy, (__file__, str(marker)))

    entry = write_weights_folder(build_model("small"), tmp_path, "small")
    with open(entry.path, "wb") as handle:
        pickle.dump({"model": Exploit()}, handle)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    from clearbg_desktop.core.inference.weights import sha256_file

    manifest["models"]["small"]["sha256"] = sha256_file(entry.path)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="unreadable"):
        load_model(find_weights("small", [tmp_path]))
    assert not marker.exists()


def test_wrong_architecture_is_a_clear_error(tmp_path: Path) -> None:
    entry = write_weights_folder(build_model("small"), tmp_path, "small")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["models"]["small"]["variant"] = "full"
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="does not match the 'full'"):
        load_model(find_weights("small", [tmp_path]))
    assert entry.path.exists()


def test_broken_manifest_is_named(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(WeightsError, match="manifest.json: unreadable weights manifest"):
        available_models([tmp_path])


def test_model_file_messages_are_one_short_true_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Random bytes are not "Python objects"; a state-dict mismatch is one line, not PyTorch's key list; a bad
    manifest entry is named once."""
    import torch

    from clearbg_desktop.cli import main as cli_main
    from clearbg_desktop.core.inference.model import build_model

    (tmp_path / "random.pth").write_bytes(bytes(range(256)) * 20)
    state = build_model("small").state_dict()
    state.pop("stage1.rebnconv1.conv_s1.bias")
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "mismatch.pth")
    assert cli_main(["--add-model", str(tmp_path / "random.pth")]) == 2
    err = capsys.readouterr().err
    assert "not a PyTorch file" in err and "Python objects" not in err
    assert cli_main(["--add-model", str(tmp_path / "mismatch.pth")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "1 missing tensor(s) (e.g. stage1.rebnconv1.conv_s1.bias)" in err
    (tmp_path / "res" / "weights").mkdir(parents=True)
    (tmp_path / "res" / "weights" / "manifest.json").write_text('{"models": {"small": {"variant": "gigantic"}}}')
    monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "res"))
    photo = tmp_path / "p.jpg"
    from tests.conftest import make_photo

    make_photo().save(photo)
    with pytest.warns(UserWarning, match="skipped model 'small': unknown variant 'gigantic'") as caught:
        assert cli_main([str(photo), "-o", str(tmp_path / "out"), "-q"]) == 2
    assert len([w for w in caught if "skipped model" in str(w.message)]) == 1  # the bad entry, named once
    assert capsys.readouterr().err.count("no weights for the 'small' model") == 1
