"""ClearBG against rembg on the same files in one run: per photo in-process, and whole folder runs as a user
starts them (``clearbg-cli`` vs ``rembg p``), with the same weights: ``--model full`` (default; rembg's u2net,
ClearBG's default) or ``--model small`` (u2netp). ClearBG runs its default engine choice, as a user gets it.

Run it with the environment that has both (README, Benchmarks):
    bench/.venv/bin/python bench/compare_rembg.py [--model full] [--repeats 2] [--small 100] [--large 12]
rembg finds the official ONNX files through U2NET_HOME (default: ./teacher).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, SHARED, table  # noqa: E402
from clearbg_desktop.core.imaging.export import ExportOptions  # noqa: E402
from clearbg_desktop.core.imaging.loading import load_image  # noqa: E402
from clearbg_desktop.core.imaging.output_file import encode_output  # noqa: E402
from clearbg_desktop.core.inference.engines import load_segmenter  # noqa: E402

LARGE_SIZE = (4000, 3000)  # 12 MP, a common camera size
REMBG_NAMES = {"full": "u2net", "small": "u2netp"}


def small_photos(count: int) -> list[Path]:
    photos = sorted((SHARED / "people-val" / "images").iterdir())
    extra = sorted((SHARED / "photos-worksite" / "images").iterdir())
    return (photos + extra)[:count]


def make_large_photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((SHARED / "people-val" / "images").iterdir())
    paths = []
    for index in range(count):
        path = folder / f"large{index:02d}.jpg"
        Image.open(sources[index]).convert("RGB").resize(LARGE_SIZE, Image.Resampling.BICUBIC).save(path, quality=90)
        paths.append(path)
    return paths


def median_per_photo(fn, paths: list[Path], repeats: int) -> float:  # type: ignore[no-untyped-def]
    fn(paths[0])  # warm-up
    return statistics.median(min(_timed(fn, p) for _ in range(repeats)) for p in paths)


def _timed(fn, path: Path) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn(path)
    return time.perf_counter() - started


def best_run(command: list[str], out: Path, repeats: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        started = time.perf_counter()
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=12)
    parser.add_argument("--model", choices=sorted(REMBG_NAMES), default="full")
    args = parser.parse_args()
    os.environ.setdefault("U2NET_HOME", str(REPO / "teacher"))
    from rembg import new_session, remove  # the peer: only in bench/.venv

    rembg_model = REMBG_NAMES[args.model]
    rembg_session = new_session(rembg_model)
    ours = load_segmenter(args.model)
    png = ExportOptions(format="png")
    work = Path(tempfile.mkdtemp(prefix="clearbg-vs-rembg-"))
    small = small_photos(args.small)
    large = make_large_photos(work / "large", args.large)
    rows = []

    ours_mask = median_per_photo(lambda p: ours.predict_alpha(load_image(p).rgb), small, args.repeats)
    rembg_mask = median_per_photo(lambda p: remove(Image.open(p).convert("RGB"), session=rembg_session,
                                                   only_mask=True), small, args.repeats)
    rows.append(["mask of a small photo (in-process)", f"{rembg_mask * 1e3:.0f} ms", f"{ours_mask * 1e3:.0f} ms",
                 f"{ours_mask / rembg_mask:.2f}×", "≤ 1.0×"])

    def ours_png(path: Path) -> bytes:
        loaded = load_image(path)
        return encode_output(loaded, ours.predict_alpha(loaded.rgb), png)

    def rembg_png(path: Path) -> bytes:
        return remove(path.read_bytes(), session=rembg_session)

    ours_large = median_per_photo(ours_png, large[:3], 1)
    rembg_large = median_per_photo(rembg_png, large[:3], 1)
    rows.append(["12 MP JPEG file → cut-out PNG bytes (in-process)", f"{rembg_large * 1e3:.0f} ms",
                 f"{ours_large * 1e3:.0f} ms", f"{ours_large / rembg_large:.2f}×", "≤ 0.6×"])

    env = {**os.environ}
    bin_dir = Path(sys.executable).parent
    small_dir = work / "small"
    small_dir.mkdir()
    for path in small:
        shutil.copy(path, small_dir / path.name)
    clearbg_cli, rembg_cli = str(bin_dir / "clearbg-cli"), str(bin_dir / "rembg")
    ours_small_run = best_run([clearbg_cli, str(small_dir), "-o", str(work / "o1"), "--mask-only", "-q",
                               "--model", args.model], work / "o1", args.repeats, env)
    rembg_small_run = best_run([rembg_cli, "p", "-m", rembg_model, "-om", str(small_dir), str(work / "o2")],
                               work / "o2", args.repeats, env)
    rows.append([f"folder of {len(small)} small photos → masks (whole process)", f"{rembg_small_run:.1f} s",
                 f"{ours_small_run:.1f} s", f"{ours_small_run / rembg_small_run:.2f}×", "≤ 1.0×"])
    ours_large_run = best_run([clearbg_cli, str(work / "large"), "-o", str(work / "o3"), "-q", "--model", args.model],
                              work / "o3", args.repeats, env)
    rembg_large_run = best_run([rembg_cli, "p", "-m", rembg_model, str(work / "large"), str(work / "o4")],
                               work / "o4", args.repeats, env)
    rows.append([f"{len(large)} × 12 MP JPEGs → PNG cut-outs (whole process)", f"{rembg_large_run:.1f} s",
                 f"{ours_large_run:.1f} s", f"{ours_large_run / rembg_large_run:.2f}×", "≤ 0.6×"])
    print(table(["work", f"rembg, {rembg_model}", f"ClearBG, {ours.description}", "ratio", "goal"], rows,
                f"ClearBG vs rembg, one run, {os.cpu_count()} cores; per photo: median of the best of "
                f"{args.repeats}; folders: best of {args.repeats}"))
    shutil.rmtree(work, ignore_errors=True)



if __name__ == "__main__":
    main()
