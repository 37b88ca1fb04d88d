#!/usr/bin/env bash
# Build the Linux bundle and prove it works: --self-test, the CLI on the sample, and the GUI offscreen
# with a screenshot; then check the download as a user would (#43): SHA256SUMS, the SBOM with the generator's
# validator, the notices, and the unpacked archive's --version, About ▸ Licences, a forced crash's report, and
# install.sh's file associations. Prints bundle size and start-up time. Usage: bash installer/smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean build environment: the runtime dependencies with the CPU torch wheel and PyInstaller only,
# so nothing from the dev/train extras (mlflow, dvc, scipy, ...) can leak into the bundle.
VENV=build/installer-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY=$VENV/bin/python
$PY -m pip install --quiet "torch==2.13.0"
$PY -m pip install --quiet ".[onnx,installer]"
$PY installer/build.py
BUNDLE=dist/ClearBG
export QT_QPA_PLATFORM=offscreen
TMP=$(mktemp -d)
export CLEARBG_CONFIG_DIR="$TMP/config" CLEARBG_LOG_DIR="$TMP/logs" CLEARBG_USER_MODELS="$TMP/models"
export CLEARBG_DATA_DIR="$TMP/data"
if [ -e "$BUNDLE/_internal/torch" ]; then echo "torch leaked into the bundle" >&2; exit 1; fi
start=$(date +%s.%N)
"$BUNDLE/clearbg" --self-test | tee "$TMP/self-test.txt"
end=$(date +%s.%N)
grep -q "ONNX Runtime" "$TMP/self-test.txt"
grep -q "U²-Net full" "$TMP/self-test.txt"  # the default model is the full one
echo "self-test wall time: $($PY -c "print(round($end - $start, 2))") s"
"$BUNDLE/clearbg-cli" resources/samples/sample.jpg -o "$TMP/out" -q
test -s "$TMP/out/sample-cutout.png"
# A photographer's formats (#38): a DNG made from the sample (Bayer mosaic, as a camera records it), HEIC and
# AVIF open in the standalone app with no extra step; the RAW helper runs as the frozen CLI with --raw-helper.
$PY - "$TMP/formats" <<'PYTHON'
import sys
from pathlib import Path

sys.path.insert(0, ".")
import pillow_heif
from PIL import Image

from tests.core.imaging.dng_maker import make_dng

out = Path(sys.argv[1])
out.mkdir()
photo = Image.open("resources/samples/sample.jpg").convert("RGB")
make_dng(photo.crop((0, 0, photo.width // 2 * 2, photo.height // 2 * 2)), out / "camera.dng", preview_long_side=256)
pillow_heif.from_pillow(photo).save(out / "phone.heic")
photo.save(out / "android.avif")
PYTHON
"$BUNDLE/clearbg-cli" "$TMP/formats" -o "$TMP/formats-out" -q
for name in camera phone android; do test -s "$TMP/formats-out/$name-cutout.png"; done
test "$(od -An -tu1 -j24 -N1 "$TMP/formats-out/camera-cutout.png" | tr -d ' ')" = 16  # the RAW's cut-out: 16-bit
"$BUNDLE/clearbg-cli" "$TMP/formats/camera.dng" -o "$TMP/formats-out" --format psd -q
test -s "$TMP/formats-out/camera-cutout.psd"
for photo in camera.dng phone.heic; do  # the window too: it opens them, and the model cuts them out
    "$BUNDLE/clearbg" --screenshot "$TMP/frozen-${photo%.*}.png" "$TMP/formats/$photo"
done
echo "RAW and HEIC libraries in the bundle: $(du -shc "$BUNDLE"/_internal/rawpy* "$BUNDLE"/_internal/pillow_heif* \
    "$BUNDLE"/_internal/_pillow_heif* 2>/dev/null | tail -1 | cut -f1)"
"$BUNDLE/clearbg" --screenshot "$TMP/frozen-gui.png" resources/samples/sample.jpg
cp "$TMP/frozen-gui.png" dist/frozen-gui.png
ARCHIVE=$(ls dist/ClearBG-*-linux-*.tar.gz 2>/dev/null | head -1)
echo "bundle size: $(du -sh "$BUNDLE" | cut -f1) on disk, ${ARCHIVE:+$(du -h "$ARCHIVE" | cut -f1) to download ($ARCHIVE)}; screenshot: dist/frozen-gui.png"
# ----- what the download is (#43) --------------------------------------------------------------------------------
(cd dist && sha256sum -c SHA256SUMS)
SBOM=$(ls dist/ClearBG-*-linux-*.cdx.json | head -1)
$PY installer/sbom.py validate "$SBOM"
test -s "$BUNDLE/THIRD_PARTY_NOTICES.txt"
cmp "$BUNDLE/THIRD_PARTY_NOTICES.txt" "$BUNDLE/_internal/resources/THIRD_PARTY_NOTICES.txt"
grep -q "GNU Lesser General Public License v3" "$BUNDLE/THIRD_PARTY_NOTICES.txt"
$PY - "$BUNDLE" "$SBOM" <<'PYTHON'
"""Every distribution whose metadata the bundle carries has a notices entry and an SBOM component; torch has neither."""
import json
import re
import sys
from pathlib import Path

bundle, sbom = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
notices = (bundle / "THIRD_PARTY_NOTICES.txt").read_text()
listed = {norm(m.group(1)) for m in re.finditer(r"^  python +(\S+) ", notices, re.M)}
components = {norm(c["name"]) for c in sbom["components"]}
carried = {norm(d.name.split("-")[0]) for d in (bundle / "_internal").glob("*.dist-info")}
for name in ("pyside6-essentials", "onnxruntime", "numpy", "pillow", "rawpy", "pillow-heif"):
    carried.add(name)
missing = sorted(carried - listed) + sorted(f"SBOM:{n}" for n in carried - components)
assert not missing, f"no licence entry / SBOM component for: {missing}"
assert "torch" not in listed | components, "torch is listed but not bundled"
models = [c for c in sbom["components"] if c["type"] == "machine-learning-model"]
print(f"notices: {len(listed)} Python distributions; SBOM: {len(components)} components, {len(models)} models; "
      f"all {len(carried)} carried distributions named in both")
PYTHON
UNPACKED="$TMP/unpacked"
mkdir -p "$UNPACKED" && tar -xzf "$ARCHIVE" -C "$UNPACKED"
"$UNPACKED/ClearBG/clearbg" --version | tee "$TMP/version.txt"
grep -q "^commit [0-9a-f]\{12\}" "$TMP/version.txt" && grep -q "^model full: .* SHA-256 [0-9a-f]\{12\}" "$TMP/version.txt"
"$UNPACKED/ClearBG/clearbg" --check-dialogs dist/dialogs 2>"$TMP/check-dialogs.err" | tee "$TMP/check-dialogs.txt"
REPORT=$(ls "$CLEARBG_LOG_DIR"/crash-*.txt | tail -1)
grep -q "^Traceback:" "$REPORT" && grep -q "forced by --check-dialogs" "$REPORT"
if grep -qF -e "$TMP" -e "$HOME" "$REPORT"; then echo "a path outside ClearBG's folders is in $REPORT" >&2; exit 1; fi
echo "crash report: $REPORT ($(wc -l <"$REPORT") lines); dialogs: dist/dialogs/{about,licences,crash}.png"
PREFIX="$TMP/prefix" bash "$UNPACKED/ClearBG/install.sh"
test -s "$TMP/prefix/share/mime/packages/clearbg.xml"
grep -q "application/x-clearbg-project" "$TMP/prefix/share/applications/clearbg.desktop"
test -s "$TMP/prefix/share/icons/hicolor/512x512/mimetypes/application-x-clearbg-project.png"
# `clearbg PATH.clearbg` (what the file manager runs) opens the project: its saved mask, not a new prediction.
$PY - "$TMP/project" <<'PYTHON'
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, ".")
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file

folder = Path(sys.argv[1])
folder.mkdir()
Image.open("resources/samples/sample.jpg").convert("RGB").resize((160, 120)).save(folder / "photo.png")
alpha = np.zeros((120, 160), np.uint8)
alpha[20:100, 30:130] = 255
save_project(Project(photo_path=folder / "photo.png", photo_sha256=sha256_file(folder / "photo.png"), alpha=alpha),
             folder / "valid.clearbg")
PYTHON
"$UNPACKED/ClearBG/clearbg" --screenshot "$TMP/project.png" "$TMP/project/valid.clearbg"
echo "desktop integration: .clearbg MIME type, icon and menu entry installed under $TMP/prefix; the project opens"
