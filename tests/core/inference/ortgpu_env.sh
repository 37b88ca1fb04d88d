#!/usr/bin/env bash
# The GPU fallback for real (issue #41): an environment whose ONNX Runtime is onnxruntime-gpu (it installs without a
# GPU; on a machine without CUDA its CUDA provider then fails to load), running the engine tests that use it. CI runs
# the normal environment (the CPU wheel), where the same tests run with a listed provider that is not there.
#   bash tests/core/inference/ortgpu_env.sh [pytest arguments]      (ORTGPU_VENV=folder, default /tmp/ortgpu-venv)
set -euo pipefail
cd "$(dirname "$0")/../../.."
VENV="${ORTGPU_VENV:-/tmp/ortgpu-venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install --quiet "torch==2.13.0"  # the tests' random weights are made with torch (CPU wheel)
$PIP install --quiet "PySide6-Essentials>=6.6" "pillow>=11.3" numpy platformdirs tqdm rawpy pillow-heif onnx \
    pytest pytest-qt pytest-xdist hypothesis
$PIP install --quiet -e . --no-deps  # ClearBG without its onnxruntime dependency: both wheels are the same module
$PIP uninstall --quiet --yes onnxruntime 2>/dev/null || true
$PIP install --quiet onnxruntime-gpu
"$VENV/bin/python" -c "import onnxruntime as o; print('ONNX Runtime', o.__version__, 'lists', o.get_available_providers())"
"$VENV/bin/python" -m pytest -p no:cacheprovider -n 0 -m "slow or not slow" -rs tests/core/inference/test_accelerators.py "$@"
