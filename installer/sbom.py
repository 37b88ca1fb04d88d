"""The bundle's CycloneDX SBOM: made by the maintained generator (``cyclonedx-py environment``), cut to what the
bundle carries, with the models and system libraries added, and checked with the generator's own validator.

Why cut: the build environment also holds torch, PyInstaller and the generator itself, which the bundle does not
carry; the notices step (installer/notices.py, run inside the spec) knows exactly which distributions went in.

    python installer/sbom.py make OUT.cdx.json NOTICES_DIR VERSION     # (build.py runs this)
    python installer/sbom.py validate OUT.cdx.json                     # (smoke.sh runs this)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC_VERSION = "1.6"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def generate(python: str, out: Path) -> dict:
    """The whole build environment's SBOM, from cyclonedx-py (it validates its own output)."""
    subprocess.run([sys.executable, "-m", "cyclonedx_py", "environment", python, "--pyproject",
                    str(ROOT / "pyproject.toml"), "--mc-type", "application", "--sv", SPEC_VERSION,
                    "--of", "JSON", "-o", str(out)], check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def cut_to_bundle(bom: dict, keep: set[str], version: str, extra: list[dict]) -> dict:
    """Only the components whose (normalized) name is in ``keep``, the dependency graph cut to match, the root
    component's version set (the pyproject's version is dynamic), and ``extra`` components added."""
    components = [c for c in bom.get("components", []) if normalized(c.get("name", "")) in keep]
    refs = {c["bom-ref"] for c in components if "bom-ref" in c}
    root = bom.get("metadata", {}).get("component", {})
    root["version"] = version
    if root.get("bom-ref"):
        refs.add(root["bom-ref"])
    dependencies = [{**d, "dependsOn": [r for r in d.get("dependsOn", []) if r in refs]}
                    for d in bom.get("dependencies", []) if d.get("ref") in refs]
    components += extra
    for component in extra:
        dependencies.append({"ref": component["bom-ref"], "dependsOn": []})
    root_dependency = next((d for d in dependencies if d["ref"] == root.get("bom-ref")), None)
    if root_dependency is not None:
        root_dependency["dependsOn"] = sorted(set(root_dependency["dependsOn"]) | {c["bom-ref"] for c in extra})
    return {**bom, "components": components, "dependencies": dependencies}


def model_components(weights: Path) -> list[dict]:
    """The bundled weights as CycloneDX machine-learning-model components with their SHA-256."""
    manifest = json.loads((weights / "manifest.json").read_text(encoding="utf-8"))
    return [{"type": "machine-learning-model", "bom-ref": f"model:{name}", "name": f"u2net-{name}",
             "version": item["sha256"][:12], "hashes": [{"alg": "SHA-256", "content": item["sha256"]}],
             "licenses": [{"license": {"id": "Apache-2.0"}}],
             "description": f"U²-Net {name} weights ({item['file']}), Qin et al. 2020"}
            for name, item in sorted(manifest.get("models", {}).items())]


def debian_components(listing: Path) -> list[dict]:
    """System libraries the bundle carries, as Debian packages (``native-packages.txt``: name=version per line)."""
    components = []
    for line in listing.read_text(encoding="utf-8").splitlines() if listing.is_file() else []:
        name, _, version = line.partition("=")
        package = name.split(":")[0]
        components.append({"type": "library", "bom-ref": f"deb:{package}", "name": package, "version": version,
                           "purl": f"pkg:deb/debian/{package}@{version}?arch=amd64"})
    return components


def validate(path: Path) -> list[str]:
    """The errors the generator's library (cyclonedx-python-lib) finds against the CycloneDX JSON schema."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    schema = {"1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[json.loads(path.read_text())["specVersion"]]
    errors = JsonStrictValidator(schema).validate_str(path.read_text(encoding="utf-8"), all_errors=True)
    if errors is None:
        return []
    if not isinstance(errors, list | tuple) and not hasattr(errors, "__iter__"):
        errors = [errors]
    return [str(error)[:300] for error in errors]  # type: ignore[union-attr]


def make(out: Path, notices_dir: Path, version: str) -> Path:
    keep = {normalized(line.split("==")[0])
            for line in (notices_dir / "bundled-distributions.txt").read_text(encoding="utf-8").splitlines() if line}
    bom = generate(sys.executable, out.with_suffix(".env.json"))
    extra = model_components(ROOT / "build" / "frozen-weights") + debian_components(notices_dir / "native-packages.txt")
    cut = cut_to_bundle(bom, keep, version, extra)
    out.write_text(json.dumps(cut, indent=1), encoding="utf-8")
    out.with_suffix(".env.json").unlink()
    errors = validate(out)
    if errors:
        raise SystemExit(f"{out}: not valid CycloneDX {SPEC_VERSION}:\n  " + "\n  ".join(errors))
    missing = keep - {normalized(c["name"]) for c in cut["components"]}
    if missing:
        raise SystemExit(f"{out}: the generator did not list {sorted(missing)}")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["make"] and len(argv) == 4:
        path = make(Path(argv[1]), Path(argv[2]), argv[3])
        print(f"SBOM: {path} (CycloneDX {SPEC_VERSION}, {len(json.loads(path.read_text())['components'])} components)")
        return 0
    if argv[:1] == ["validate"] and len(argv) == 2:
        errors = validate(Path(argv[1]))
        for error in errors:
            print(error, file=sys.stderr)
        bom = json.loads(Path(argv[1]).read_text())
        print(f"{argv[1]}: {'valid' if not errors else 'INVALID'} CycloneDX {bom['specVersion']}, "
              f"{len(bom['components'])} components")
        return 1 if errors else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
