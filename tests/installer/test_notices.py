"""Third-party notices (#43): every distribution the bundle may carry has a licence entry with its text, Qt's
LGPLv3 terms are said plainly, and a distribution without a licence is caught (the build then stops)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"installer_{name}", REPO / "installer" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


notices = _load("notices")


def _fake_distribution(root: Path, name: str, licence_lines: str, licence_file: str | None) -> Path:
    """An installed distribution as pip leaves it: a module and a dist-info with METADATA and RECORD."""
    package = root / name.replace("-", "_")
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.4\nName: {name}\nVersion: 1.0\n{licence_lines}")
    record = [f"{package.name}/__init__.py,,", f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    if licence_file:
        (info / "licenses").mkdir()
        (info / "licenses" / "LICENSE").write_text(licence_file)
        record.append(f"{info.name}/licenses/LICENSE,,")
    (info / "RECORD").write_text("\n".join(record) + "\n")
    return package / "__init__.py"


def test_a_bundled_distribution_without_a_licence_is_caught(tmp_path: Path) -> None:
    good = _fake_distribution(tmp_path, "good-lib", "License-Expression: MIT\n", "MIT text")
    bare = _fake_distribution(tmp_path, "bare-lib", "", None)
    dists = list(metadata.distributions(path=[str(tmp_path)]))
    found, unknown = notices.collect([str(good), str(bare)], dists=dists)
    by_name = {n.name: n for n in found if n.kind == "python"}
    assert by_name["good-lib"].licence == "MIT" and by_name["good-lib"].texts == [("LICENSE", "MIT text")]
    assert notices.missing_licences(found) == ["python bare-lib 1.0: no licence in its metadata"]
    assert unknown == []


def test_every_distribution_clearbg_needs_has_a_licence_and_its_text() -> None:
    """What the bundle can carry is ClearBG's runtime closure: each one is named with its licence and text."""
    closure = notices.runtime_closure()
    names = {notices.normalized(d.metadata["Name"]) for d in closure}
    assert {"pyside6-essentials", "onnxruntime", "numpy", "pillow", "rawpy", "pillow-heif"} <= names
    files = [str(d.locate_file(next(f for f in d.files or [] if f.suffix == ".py"))) for d in closure
             if any(f.suffix == ".py" for f in d.files or [])]
    found, _ = notices.collect(files, weights=REPO / "resources" / "weights", dists=closure)
    assert notices.missing_licences(found) == []
    listed = {notices.normalized(n.name) for n in found if n.kind == "python"}
    assert listed == names - {notices.OUR_DISTRIBUTION}


def test_qt_carries_the_lgpl_text_and_what_it_lets_you_do() -> None:
    qt = notices.python_notice(metadata.distribution("PySide6-Essentials"))
    assert "LGPL-3.0" in qt.licence
    assert "replace them with your own build" in qt.note and "download.qt.io" in qt.note
    names = [name for name, _ in qt.texts]
    assert "LGPL-3.0.txt" in names and "GPL-3.0.txt" in names
    text = notices.render([qt], "9.9")
    assert text.startswith("ClearBG 9.9: third-party notices") and "GNU LESSER GENERAL PUBLIC LICENSE" in text


def test_the_models_licence_and_origin_come_from_their_cards(tmp_path: Path) -> None:
    models = notices.model_notices(REPO / "resources" / "weights")
    assert {n.name.split(" (")[0] for n in models} == {"U²-Net full", "U²-Net small"}
    for model in models:
        assert "Apache-2.0" in model.licence and "SHA-256 " in model.note
    (tmp_path / "manifest.json").write_text(json.dumps({"models": {"x": {"file": "x.onnx", "sha256": "ab" * 32}}}))
    assert notices.missing_licences(notices.model_notices(tmp_path)) == ["model U²-Net x (x.onnx) abababababab: "
                                                                         "no licence in its metadata"]


@pytest.mark.skipif(not os.path.exists("/usr/bin/dpkg-query"), reason="system libraries are traced with dpkg")
def test_a_system_library_is_named_by_its_debian_package() -> None:
    import ctypes.util

    library = ctypes.util.find_library("z")
    path = next((p for p in ("/usr/lib/x86_64-linux-gnu/libz.so.1", "/lib/x86_64-linux-gnu/libz.so.1")
                 if os.path.exists(p)), None)
    if library is None or path is None:
        pytest.skip("no libz here")
    assert notices.debian_package(path) == "zlib1g"
    notice = notices.debian_notice("zlib1g", ["libz.so.1"])
    assert notice.licence and notice.texts and notice.files == ["libz.so.1"]
