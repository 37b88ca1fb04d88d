"""A whole shoot opened at once in the real window (offscreen), issue #32: N photos of M MP, time to the first
thumbnail, time to every mask, peak RSS and RSS once every mask is made, and switching to evicted photos
(preview on screen, then full resolution). The reference, in the same run, is the same window with eviction
off (every photo keeps its full pixels, as before #32); it stops at ``--reference-cap`` MiB so it cannot take
the machine down, and says where it stopped.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_shoot.py --count 60 --mp 24 --model small
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import make_test_photo, table  # noqa: E402

DISTINCT = 6  # distinct photos generated; the others are copies under their own names (decoding is the same work)


def make_shoot(folder: Path, count: int, megapixels: float) -> list[Path]:
    sources = [make_test_photo(megapixels, folder, f"source-{i}.jpg", seed=i) for i in range(min(DISTINCT, count))]
    paths = []
    for index in range(count):
        path = folder / f"shoot-{index:04d}.jpg"
        shutil.copyfile(sources[index % len(sources)], path)
        paths.append(path)
    for source in sources:
        source.unlink()
    return paths


def run_window(folder: Path, model: str, evict: bool, cap_mib: float, switches: int) -> dict:
    """One process, one window: open the whole folder and measure (printed as one JSON line)."""
    tmp = Path(tempfile.mkdtemp(prefix="clearbg-shoot-"))
    os.environ.setdefault("CLEARBG_CONFIG_DIR", str(tmp / "config"))
    os.environ.setdefault("CLEARBG_LOG_DIR", str(tmp / "logs"))
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.core.memory_budget import peak_rss_bytes, rss_bytes
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.main_window import MainWindow

    QCoreApplication.setOrganizationName("ClearBG-bench")
    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings(device="cpu", model=model))
    window.resize(1280, 820)
    window.show()
    if not evict:  # as before #32: every photo keeps its full pixels
        window.photo_memory.residency.evictions = lambda *args, **kwargs: []  # type: ignore[method-assign]
    paths = sorted(folder.glob("*.jpg"))
    mib = 1 << 20
    state: dict = {"first_thumb": None, "ready": 0, "peak": 0.0, "capped_at": None}
    started = time.perf_counter()
    loop = QEventLoop()

    def thumbnail(*_: object) -> None:
        if state["first_thumb"] is None:
            state["first_thumb"] = time.perf_counter() - started

    def ready(*_: object) -> None:
        state["ready"] += 1
        if state["ready"] == len(paths):
            state["all_masks"] = time.perf_counter() - started
            loop.quit()

    def sample() -> None:
        rss = (rss_bytes() or 0) / mib
        state["peak"] = max(state["peak"], rss)
        if rss > cap_mib and state["capped_at"] is None:
            state["capped_at"] = state["ready"]
            loop.quit()

    window.photo_memory.signals.thumbnailed.connect(thumbnail)
    window.inference.worker.photo_loaded.connect(thumbnail)
    window.document_ready.connect(ready)
    timer = QTimer()
    timer.timeout.connect(sample)
    timer.start(50)
    QTimer.singleShot(0, lambda: window.open_paths(paths))
    QTimer.singleShot(3600 * 1000, loop.quit)
    loop.exec()
    if state["capped_at"] is not None:
        window.masks.cancel()
    settle = QEventLoop()
    QTimer.singleShot(1500, settle.quit)
    settle.exec()
    state["after"] = (rss_bytes() or 0) / mib
    shown, full = [], []
    evicted = [d for d in window.workspace.documents if d.evicted]
    for document in random.Random(0).sample(evicted, min(switches, len(evicted))):
        begin = time.perf_counter()
        window.filmstrip.setCurrentRow(window.filmstrip.order().index(document.doc_id))
        app.processEvents()
        shown.append(time.perf_counter() - begin)
        while not (window.canvas.document is document and not window.canvas.is_rendering):
            tick = QEventLoop()
            QTimer.singleShot(5, tick.quit)
            tick.exec()
            if time.perf_counter() - begin > 30:
                break
        full.append(time.perf_counter() - begin)
    state["peak"] = max(state["peak"], (peak_rss_bytes() or 0) / mib)
    state.update(count=len(paths), shown=max(shown, default=None), full=max(full, default=None),
                 evicted=len(evicted), engine=window.model_description)
    window.quit_guard.confirmed = True
    window.close()
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60)
    parser.add_argument("--mp", type=float, default=24)
    parser.add_argument("--model", default="small", help="small keeps runs short; auto is the app's default")
    parser.add_argument("--reference-cap", type=float, default=6144, help="MiB at which the reference stops")
    parser.add_argument("--switches", type=int, default=5)
    parser.add_argument("--child", choices=["evict", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_window(Path(args.folder), args.model, args.child == "evict", args.reference_cap, args.switches)
        print("RESULT " + json.dumps(result), flush=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="clearbg-shoot-photos-"))
    try:
        begin = time.perf_counter()
        make_shoot(folder, args.count, args.mp)
        print(f"{args.count} photos of {args.mp:g} MP made in {time.perf_counter() - begin:.0f} s", flush=True)
        rows = []
        for mode, label in (("evict", "#32: full pixels within the budget"), ("reference", "reference: all kept")):
            cap = args.reference_cap if mode == "reference" else 1e12
            out = subprocess.run([sys.executable, __file__, "--child", mode, "--folder", str(folder), "--model",
                                  args.model, "--reference-cap", str(cap), "--switches", str(args.switches)],
                                 capture_output=True, text=True, check=False)
            line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                print(out.stdout[-2000:], out.stderr[-4000:])
                continue
            r = json.loads(line[7:])
            masks = (f"{r['all_masks']:.1f} s" if r.get("all_masks") else
                     f"stopped at {r['capped_at']} photos ({args.reference_cap:.0f} MiB cap)")
            rows.append([label, f"{r['first_thumb']:.2f} s" if r["first_thumb"] else "-", masks,
                         f"{r['peak']:.0f} MiB", f"{r['after']:.0f} MiB",
                         f"{r['shown']:.2f} s" if r["shown"] is not None else "-",
                         f"{r['full']:.2f} s" if r["full"] is not None else "-"])
            print(f"{label}: {r}", flush=True)
        table(["window", "first thumbnail", "every mask", "peak RSS", "RSS after masks", "switch: preview",
               "switch: full res"], rows,
              f"{args.count} x {args.mp:g} MP JPEGs opened at once, model {args.model}, {os.cpu_count()} CPUs")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
