"""The single-photo pipeline at 3, 12 and 24 MP, step by step, against a plain reference and rembg.

Steps: decode (+EXIF/ICC), resize to the model input, inference, upsample, refine (colour
decontamination), compose, encode PNG / WebP. The reference run, in the same process, is the
unoptimised pipeline (PIL resize at 320 without reducing gap, eager torch at 320, upsample, default
PNG level 6); rembg (if importable, with U2NET_HOME holding the official ONNX files) runs the same photos.

    bench/.venv/bin/python bench/bench_pipeline.py       # with rembg (see bench/RESULTS.md)
    .venv/bin/python bench/bench_pipeline.py             # without rembg
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, bench_weights_dir, measure, peak_rss_mib, table  # noqa: E402
from clearbg_desktop.core.imaging.compose import Background, compose  # noqa: E402
from clearbg_desktop.core.imaging.encoding import encode_image  # noqa: E402
from clearbg_desktop.core.imaging.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.imaging.output_file import encode_output  # noqa: E402
from clearbg_desktop.core.imaging.refine import decontaminate_colors  # noqa: E402
from clearbg_desktop.core.inference.segmenter import Segmenter, normalise, resize_for_model, upsample_alpha  # noqa: E402


def ours_to_png(segmenter: Segmenter, path: Path) -> bytes:
    loaded = load_image(path)
    return encode_output(loaded, segmenter.predict_alpha(loaded.rgb), ExportOptions())


def ours_mask(segmenter: Segmenter, path: Path) -> Image.Image:
    return segmenter.predict_alpha(load_image(path).rgb)


def reference_to_png(model: torch.nn.Module, path: Path) -> bytes:
    """The plain pipeline: no reducing gap, 320 px, eager torch, PNG at Pillow's default level."""
    with Image.open(path) as opened:
        rgb = opened.convert("RGB")
    small = np.asarray(rgb.resize((320, 320), Image.Resampling.BILINEAR))
    with torch.inference_mode():
        probability = torch.sigmoid(model(normalise(small))[0])[0, 0].numpy()
    alpha = upsample_alpha(probability, rgb.size)
    rgb.putalpha(alpha)
    buffer = io.BytesIO()
    rgb.save(buffer, format="PNG")
    return buffer.getvalue()


def pillow_png(image: Image.Image, level: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


def rembg_sessions():  # type: ignore[no-untyped-def]
    teacher = REPO / "teacher"
    if not (teacher / "u2netp.onnx").exists():
        return None
    os.environ.setdefault("U2NET_HOME", str(teacher))
    try:
        from rembg import new_session, remove
    except ImportError:
        return None
    return remove, {name: new_session(name) for name in ("u2netp", "u2net")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="3,12,24")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    bench_weights_dir()
    segmenter = Segmenter.from_weights("small", device="cpu", threads=args.threads)
    reference_model = segmenter.model
    folder = Path(tempfile.mkdtemp(prefix="clearbg-bench-"))
    rembg = rembg_sessions()
    step_rows, total_rows, peer_rows = [], [], []
    for megapixels in (float(s) for s in args.sizes.split(",")):
        path = __import__("bench.common", fromlist=["make_test_photo"]).make_test_photo(megapixels, folder)
        loaded = load_image(path)
        rgb = loaded.rgb
        small = np.asarray(resize_for_model(rgb, segmenter.input_size))
        tensor = normalise(small)
        with torch.inference_mode():
            probability = segmenter.model.predict(tensor)[0, 0].numpy()
        alpha = upsample_alpha(probability, rgb.size)
        cutout = compose(rgb, alpha, Background())

        def infer() -> None:
            with torch.inference_mode():
                segmenter.model.predict(tensor)

        steps = {
            "decode + EXIF/ICC": lambda: load_image(path),
            f"resize to {segmenter.input_size}": lambda: resize_for_model(rgb, segmenter.input_size),
            "inference": infer,
            "upsample alpha": lambda: upsample_alpha(probability, rgb.size),
            "refine (decontaminate)": lambda: decontaminate_colors(rgb, alpha),
            "compose (cut-out)": lambda: compose(rgb, alpha, Background()),
            "encode PNG level 1": lambda: encode_image(cutout, "png", png_compress_level=1),
            "encode PNG level 1, Pillow's writer (before)": lambda: pillow_png(cutout, 1),
            "encode PNG level 6 (default)": lambda: encode_image(cutout, "png", png_compress_level=6),
            "encode WebP lossless": lambda: encode_image(cutout, "webp", lossless=True),
            "encode WebP q90": lambda: encode_image(cutout, "webp", lossless=False, quality=90),
        }
        repeats = args.repeats if megapixels < 20 else max(3, args.repeats - 2)
        timings = {name: measure(fn, repeats=repeats, warmup=1) for name, fn in steps.items()}
        slowest = max(("decode + EXIF/ICC", "resize", "inference", "upsample alpha", "compose (cut-out)",
                       "encode PNG level 1"), key=lambda n: next((t[0] for k, t in timings.items() if k.startswith(n)), 0))
        dominant = next(name for name in timings if name.startswith(slowest))
        for name, (median, spread) in timings.items():
            step_rows.append([f"{megapixels:g} MP", name, f"{median * 1000:.0f} ± {spread * 1000:.0f}",
                              "◀ dominant" if name == dominant else ""])
        ours = measure(lambda: ours_to_png(segmenter, path), repeats=repeats, warmup=1)
        reference = measure(lambda: reference_to_png(reference_model, path), repeats=repeats, warmup=1)
        mask = measure(lambda: ours_mask(segmenter, path), repeats=repeats, warmup=1)
        total_rows.append([f"{megapixels:g} MP", f"{mask[0] * 1000:.0f} ± {mask[1] * 1000:.0f}",
                           f"{ours[0] * 1000:.0f} ± {ours[1] * 1000:.0f}",
                           f"{reference[0] * 1000:.0f} ± {reference[1] * 1000:.0f}", f"{ours[0] / reference[0]:.2f}×",
                           f"{len(ours_to_png(segmenter, path)) / 2**20:.1f} MiB"])
        if rembg is not None and megapixels <= 12:
            remove, sessions = rembg
            data = path.read_bytes()
            for name, session in sessions.items():
                peer_mask = measure(lambda: remove(Image.open(io.BytesIO(data)), session=session, only_mask=True),
                                    repeats=3, warmup=1)
                peer_png = measure(lambda: remove(data, session=session), repeats=3, warmup=1)
                peer_rows.append([f"{megapixels:g} MP", f"rembg {name}", f"{peer_mask[0] * 1000:.0f}",
                                  f"{mask[0] * 1000:.0f}", f"{mask[0] / peer_mask[0]:.2f}×",
                                  f"{peer_png[0] * 1000:.0f}", f"{ours[0] * 1000:.0f}",
                                  f"{ours[0] / peer_png[0]:.2f}×"])
    print(f"\nthreads={args.threads}, model input {segmenter.input_size}px, peak RSS {peak_rss_mib():.0f} MiB")
    table(["photo", "step", "ms", ""], step_rows, "Pipeline steps (ours)")
    table(["photo", "file → mask ms", "file → PNG bytes ms (ours)", "reference ms", "ours / reference",
           "PNG size"], total_rows, "Whole pipeline vs the plain reference (same process)")
    if peer_rows:
        table(["photo", "peer", "peer mask ms", "our mask ms", "ours/peer (mask)", "peer → PNG ms", "our → PNG ms",
               "ours/peer (PNG)"], peer_rows, "Against rembg (sessions reused)")
    else:
        print("\n(rembg not importable here or teacher/u2netp.onnx missing: peer comparison skipped)")


if __name__ == "__main__":
    main()
