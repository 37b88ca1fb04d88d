"""The SBOM is the generator's, cut to what the bundle carries (#43): no build-only component, no dangling
dependency, the models added with their hashes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("installer_sbom", REPO / "installer" / "sbom.py")
assert spec is not None and spec.loader is not None
sbom = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = sbom
spec.loader.exec_module(sbom)


def test_cut_keeps_the_bundled_components_and_their_graph() -> None:
    bom = {
        "metadata": {"component": {"bom-ref": "root", "name": "clearbg-desktop"}},
        "components": [{"bom-ref": "a", "name": "PySide6_Essentials"}, {"bom-ref": "b", "name": "torch"},
                       {"bom-ref": "c", "name": "shiboken6"}],
        "dependencies": [{"ref": "root", "dependsOn": ["a", "b"]}, {"ref": "a", "dependsOn": ["c", "b"]},
                         {"ref": "b", "dependsOn": []}, {"ref": "c", "dependsOn": []}],
    }
    models = sbom.model_components(REPO / "resources" / "weights")
    cut = sbom.cut_to_bundle(bom, {"pyside6-essentials", "shiboken6"}, "9.9", models)
    assert [c["name"] for c in cut["components"]][:2] == ["PySide6_Essentials", "shiboken6"]
    assert cut["metadata"]["component"]["version"] == "9.9"
    graph = {d["ref"]: d["dependsOn"] for d in cut["dependencies"]}
    assert "b" not in graph and graph["a"] == ["c"]
    assert graph["root"] == sorted({"a", "model:full", "model:small"})
    full = next(c for c in cut["components"] if c["bom-ref"] == "model:full")
    assert full["type"] == "machine-learning-model" and len(full["hashes"][0]["content"]) == 64


def test_debian_packages_become_components(tmp_path: Path) -> None:
    listing = tmp_path / "native-packages.txt"
    listing.write_text("libx11-6=2:1.8.4-2\nlibc6:amd64=2.36-9\n")
    components = sbom.debian_components(listing)
    assert [c["purl"] for c in components] == ["pkg:deb/debian/libx11-6@2:1.8.4-2?arch=amd64",
                                               "pkg:deb/debian/libc6@2.36-9?arch=amd64"]
