#!/usr/bin/env bash
# One training session on a lent GPU machine (the device tool's `run`), which gets the working tree only.
# Here first: `python -m training pack --pack-dir packs/train320 --budget-mib 54` (the pack and the tracked files
# must fit 64 MiB together) and carry packs/train320 (+ .whl with the platformdirs wheel, which the machine's
# Python lacks). There: `bash training/remote/gpu_session.sh MINUTES` (env: BATCH, WORKERS, EMA, VAL_EVERY, COPY_PASTE=0.5
# to paste subjects); it continues from resources/weights (or from its own last.pt when run again on the same
# machine) and leaves the run's parts and log in $OUT. Back here:
# `python -m training join-run --parts-dir <returned parts folder>` rebuilds runs/train/ (train.out_dir).
set -euo pipefail
MINUTES=${1:-7}
PACK=${PACK:-packs/train320}
PY=${PYTHON:-python3}
OUT=${OUT:?set OUT to the folder that comes back}
WORK=${WORK:-/tmp/clearbg-gpu}
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cpus', __import__('os').cpu_count())"
$PY -m training unpack --pack-dir "$PACK" --set data.work_dir="$WORK"
# Batch 32 (not the CPU runs' 8): U²-Net-small's many small layers leave a GPU idle at batch 8.
$PY -m training train --no-progress \
  --set data.work_dir="$WORK" --set "data.validation_folders=[$WORK/pack/validation/people-val]" \
  --set train.out_dir="$WORK/train" --set train.init_from=resources/weights \
  --set train.max_minutes="$MINUTES" --set train.max_images=0 \
  --set train.batch_size="${BATCH:-32}" --set train.num_workers="${WORKERS:-12}" \
  --set train.val_every_images="${VAL_EVERY:-60000}" --set train.checkpoint_every=2000 \
  --set train.epochs=1000 --set train.freeze_batchnorm=true --set train.lr="${LR:-1.0e-5}" \
  --set train.ema_decay="${EMA:-0.999}" ${COPY_PASTE:+--set train.copy_paste_prob=$COPY_PASTE} \
  ${TEACHER:+--set train.teacher=$TEACHER --set train.teacher_sha256=${TEACHER_SHA256:-} \
  --set train.distill_sides=${DISTILL_SIDES:-true}} 2>&1 | tee "$OUT/train.log"
$PY -m training split-run --set train.out_dir="$WORK/train" --parts-dir "$OUT/parts"
