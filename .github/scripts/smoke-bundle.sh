#!/usr/bin/env bash
# Smoke test of a built bundle on Windows and macOS, as a user runs it (Linux runs installer/smoke.sh, which builds
# and checks more): --self-test (its line from the log folder too: a windowed .exe may have no stdout), --version,
# the CLI on the sample and on HEIC/AVIF, the window offscreen with a screenshot, the GPU provider the bundle's
# ONNX Runtime carries, and a 40-photo batch, which times the engines here (the GPU provider included) and prints
# what it chose and why.
#   bash .github/scripts/smoke-bundle.sh FOLDER_WITH_THE_EXECUTABLES PROVIDER_FILE OUT_DIR
# PROVIDER_FILE: a file the bundle must carry for its GPU provider (relative to FOLDER), or "-" for none.
# PY: a Python with Pillow and pillow-heif (the build environment's) to make the test photos.
set -euo pipefail
DIR=$1
PROVIDER_FILE=$2
OUT=$3
PY=${PY:-python}
EXE=""
case "$(uname -s)" in MINGW* | MSYS* | CYGWIN*) EXE=.exe ;; esac
mkdir -p "$OUT"
TMP=$(mktemp -d)
export QT_QPA_PLATFORM=offscreen
export CLEARBG_CONFIG_DIR="$TMP/config" CLEARBG_LOG_DIR="$TMP/logs" CLEARBG_USER_MODELS="$TMP/models"
export CLEARBG_DATA_DIR="$TMP/data"
if find "$DIR" -path "*torch*" -name "*torch_cpu*" | grep -q .; then echo "torch leaked into the bundle" >&2; exit 1; fi
if [ "$PROVIDER_FILE" != "-" ]; then
  found=$(find "$DIR" -name "$PROVIDER_FILE" | head -1)
  [ -n "$found" ] || { echo "the bundle lacks $PROVIDER_FILE (its GPU provider)" >&2; exit 1; }
  echo "GPU provider: $found ($(du -h "$found" | cut -f1))"
fi
start=$(date +%s)
"$DIR/clearbg$EXE" --self-test | tee "$TMP/self-test.txt" || { cat "$CLEARBG_LOG_DIR/last-self-test.txt" >&2; exit 1; }
echo "self-test wall time: $(($(date +%s) - start)) s"
grep -q "self-test OK" "$CLEARBG_LOG_DIR/last-self-test.txt"
grep -q "ONNX Runtime" "$CLEARBG_LOG_DIR/last-self-test.txt"
grep -q "U²-Net full" "$CLEARBG_LOG_DIR/last-self-test.txt"
"$DIR/clearbg-cli$EXE" --version
"$DIR/clearbg-cli$EXE" resources/samples/sample.jpg -o "$TMP/out" -q
test -s "$TMP/out/sample-cutout.png"
"$PY" - "$TMP/formats" "$TMP/batch" <<'PYTHON'
import sys
from pathlib import Path

import pillow_heif
from PIL import Image

formats, batch = Path(sys.argv[1]), Path(sys.argv[2])
formats.mkdir()
batch.mkdir()
photo = Image.open("resources/samples/sample.jpg").convert("RGB")
pillow_heif.from_pillow(photo).save(formats / "phone.heic")
photo.save(formats / "android.avif")
small = photo.resize((480, round(480 * photo.height / photo.width)))
for index in range(40):
    small.rotate(index % 4 * 90, expand=True).save(batch / f"photo-{index:02d}.jpg", quality=90)
PYTHON
"$DIR/clearbg-cli$EXE" "$TMP/formats" -o "$TMP/formats-out" -q
for name in phone android; do test -s "$TMP/formats-out/$name-cutout.png"; done
"$DIR/clearbg$EXE" --screenshot "$OUT/frozen-gui.png" resources/samples/sample.jpg
test -s "$OUT/frozen-gui.png"
# 40 photos: the CLI times the engines first (TIMING_PAYS_FROM_PHOTOS) when there are several, the GPU provider among
# them, and says which runs; the timings and any provider's reason for not being used are in engine-speeds.json.
"$DIR/clearbg-cli$EXE" "$TMP/batch" -o "$TMP/batch-out" 2>&1 | tr '\r' '\n' | grep -v "^ *$" | tail -8
test "$(find "$TMP/batch-out" -name "*-cutout.png" | wc -l)" -eq 40
if [ -f "$CLEARBG_DATA_DIR/engine-speeds.json" ]; then
  cp "$CLEARBG_DATA_DIR/engine-speeds.json" "$OUT/engine-speeds.json"
  cat "$OUT/engine-speeds.json"
elif [ "$PROVIDER_FILE" != "-" ]; then  # a GPU provider is a second engine: the batch must have timed them
  echo "the 40-photo batch timed no engines, though the bundle carries a GPU provider" >&2
  exit 1
else
  echo "one engine in this bundle (ONNX Runtime on the CPU): nothing to time"
fi
echo "bundle: $(du -sh "$DIR" | cut -f1) on disk"
