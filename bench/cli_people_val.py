"""people-val through ``clearbg-cli --mask-only`` exactly as a user runs it (default engine choice, default or
named model); prints the metrics of the written masks. Usage: python bench/cli_people_val.py default small"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from training.data import find_pairs  # noqa: E402
from training.metrics import evaluate_masks  # noqa: E402

data = Path("data/sources/people-val")
pairs = find_pairs(data)
for model in sys.argv[1:] or ["default"]:
    out = Path(tempfile.mkdtemp())
    args = [str(Path(sys.executable).parent / "clearbg-cli"), str(data / "images"), "-o", str(out), "--mask-only", "-q"] + (["--model", model] if model != "default" else [])
    subprocess.run(args, check=True)
    preds, gts = [], []
    for pair in pairs:
        pred = np.asarray(Image.open(out / f"{pair.image.stem}-cutout.png").convert("L"))
        gt = np.asarray(Image.open(pair.mask).convert("L").resize(pred.shape[::-1]))
        preds.append(pred)
        gts.append(gt)
    m = evaluate_masks(preds, gts)
    print(model, {k: round(v, 4) for k, v in m.items()})
