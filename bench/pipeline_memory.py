"""Where the single-photo pipeline's memory goes at 24 MP: each step's own peak, in a fresh process.

bench_pipeline.py reported one peak RSS (3,976 MiB) for the whole run: 3, 12 and 24 MP photos, every step
repeated, the reference pipeline and rembg in the same process. Here each step runs alone in a new process
after what it needs, so the table says how much each one adds above the state it starts from.
Usage: python bench/pipeline_memory.py [--megapixels 24]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import make_test_photo, table  # noqa: E402

STEPS = ("python + torch + model loaded", "decode", "model mask", "refine: decontaminate colours",
         "refine: hair/edges (matting)", "compose RGBA cut-out", "encode PNG", "encode WebP (lossless)",
         "whole export (refine none → PNG bytes)")

CHILD = r'''
import json, resource, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def now():
    import os
    with open(f"/proc/{os.getpid()}/statm") as h:
        return int(h.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
from clearbg_desktop.core.inference.engines import load_segmenter
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.output_file import encode_output
from clearbg_desktop.core.imaging.encoding import encode_image
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.imaging.compose import Background, compose
from clearbg_desktop.core.imaging.refine import RefineSettings, decontaminate_colors, refine_alpha
step, photo = sys.argv[1], Path(sys.argv[2])
segmenter = load_segmenter("small", device="cpu")
if step == "python + torch + model loaded":
    print(json.dumps({"before": 0.0, "peak": peak()})); sys.exit()
loaded = load_image(photo) if step != "decode" else None
alpha = segmenter.predict_alpha(loaded.rgb) if loaded is not None and step not in ("model mask",) else None
before = now()
base = peak()
if step == "decode":
    loaded = load_image(photo)
elif step == "model mask":
    alpha = segmenter.predict_alpha(loaded.rgb)
elif step == "refine: decontaminate colours":
    out = decontaminate_colors(loaded.rgb, alpha)
elif step == "refine: hair/edges (matting)":
    out = refine_alpha(loaded.rgb, alpha, RefineSettings(refine_edges=True))
elif step == "compose RGBA cut-out":
    out = compose(loaded.rgb, alpha, Background())
elif step == "encode PNG":
    out = encode_image(compose(loaded.rgb, alpha, Background()), "png")
elif step == "encode WebP (lossless)":
    out = encode_image(compose(loaded.rgb, alpha, Background()), "webp")
else:
    out = encode_output(loaded, alpha, ExportOptions())
print(json.dumps({"before": before, "base_peak": base, "peak": peak()}))
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=float, default=24.0)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    folder = Path(tempfile.mkdtemp(prefix="clearbg-mem-"))
    photo = make_test_photo(args.megapixels, folder)
    rows = []
    for step in STEPS:
        done = subprocess.run([sys.executable, "-c", CHILD, step, str(photo), str(root)], capture_output=True,
                              text=True, check=True, env={**__import__("os").environ, "CLEARBG_ENGINE": "torch"})
        result = json.loads(done.stdout.strip().splitlines()[-1])
        start = max(result["before"], result.get("base_peak", 0.0))
        rows.append([step, f"{result['before']:.0f}", f"{result['peak']:.0f}",
                     f"{max(0.0, result['peak'] - start):.0f}" if step != STEPS[0] else "–"])
    table(["step (fresh process each)", "RSS before the step, MiB", "peak RSS, MiB", "the step adds, MiB"], rows,
          f"{args.megapixels:g} MP JPEG ({photo.name}), bundled model, PyTorch engine")


if __name__ == "__main__":
    main()
