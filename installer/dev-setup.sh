#!/usr/bin/env bash
# Create .venv and install ClearBG with its dev and training extras.
# torch is installed first, pinned to 2.13.0: an unpinned torch pulls several GB of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,train]"
echo "ClearBG installed in .venv ($(.venv/bin/python -c 'import clearbg_desktop; print(clearbg_desktop.__version__)'))"
