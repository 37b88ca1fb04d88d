"""A whole shoot opened at once in the real window (offscreen), issue #32: N photos of M MP, time to the first
thumbnail, time to every mask, peak RSS and RSS once every mask is made, and switching to evicted photos
(preview on screen, then full resolution). The reference, in the same run, is the same window with eviction
off (every photo keeps its full pixels, as before #32); it stops at ``--reference-cap`` MiB so it cannot take
the machine down, and says where it stopped.

RSS is sampled every 0.5 s by a thread of the measured process (the peak is also checked against
``ru_maxrss``), and read at 25/50/75/100 % of the masks; "flat" is the least-squares growth of RSS per mask
made after the first 10 (0 when memory does not grow with the shoot). ``--trace`` prints what the window was
doing around the highest sample (photo decoded for the model, mask made, decode for the screen, eviction).

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
import threading
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


def flat_slope(points: list[tuple[int, float]], skip: int = 10) -> float | None:
    """Least-squares growth of RSS (MiB) per mask made, ignoring the first ``skip`` masks."""
    kept = [(x, y) for x, y in points if x > skip]
    if len(kept) < 3:
        return None
    mean_x = sum(x for x, _ in kept) / len(kept)
    mean_y = sum(y for _, y in kept) / len(kept)
    spread = sum((x - mean_x) ** 2 for x, _ in kept)
    return sum((x - mean_x) * (y - mean_y) for x, y in kept) / spread if spread else None


class RssSampler(threading.Thread):
    """Samples this process's RSS every ``interval`` s, with what the window was doing last (``note``)."""

    def __init__(self, interval: float = 0.5) -> None:
        super().__init__(daemon=True, name="bench-rss")
        self.interval = interval
        self.samples: list[tuple[float, float, int, str]] = []  # (s since start, MiB, masks made, last event)
        self.masks = 0
        self.note = ""
        self.started = time.perf_counter()
        self._halt = threading.Event()

    def run(self) -> None:
        from clearbg_desktop.core.editing.memory_budget import rss_bytes

        while not self._halt.is_set():
            self.samples.append((time.perf_counter() - self.started, (rss_bytes() or 0) / (1 << 20), self.masks,
                                 self.note))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_window(folder: Path, model: str, evict: bool, cap_mib: float, switches: int, trace: bool) -> dict:
    """One process, one window: open the whole folder and measure (printed as one JSON line)."""
    tmp = Path(tempfile.mkdtemp(prefix="clearbg-shoot-"))
    os.environ.setdefault("CLEARBG_CONFIG_DIR", str(tmp / "config"))
    os.environ.setdefault("CLEARBG_LOG_DIR", str(tmp / "logs"))
    os.environ.setdefault("CLEARBG_CACHE_DIR", str(tmp / "cache"))
    os.environ.setdefault("CLEARBG_DATA_DIR", str(tmp / "data"))
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.core.editing.memory_budget import peak_rss_bytes, rss_bytes
    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.main_window import MainWindow

    QCoreApplication.setOrganizationName("ClearBG-bench")
    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings(device="cpu", model=model))
    window.resize(1280, 820)
    window.show()
    if not evict:  # as before #32: every photo decoded whole for its mask, and keeps its full pixels
        window.photo_memory.residency.evictions = lambda *args, **kwargs: []  # type: ignore[method-assign]
        window.photo_memory.residency.small_bytes = 1 << 62  # every photo "small": no reduced decode
    paths = sorted(folder.glob("*.jpg"))
    mib = 1 << 20
    quarters = {max(1, -(-len(paths) * q // 4)): f"{25 * q}%" for q in (1, 2, 3, 4)}
    state: dict = {"first_thumb": None, "ready": 0, "peak": 0.0, "capped_at": None, "at": {}, "per_mask": []}
    sampler = RssSampler()
    events: list[tuple[float, float, str]] = []  # (s, MiB now, what happened), with --trace
    loop = QEventLoop()

    def event(name: str) -> None:
        sampler.note = name
        if trace:
            events.append((time.perf_counter() - sampler.started, (rss_bytes() or 0) / mib, name))

    def thumbnail(*_: object) -> None:
        if state["first_thumb"] is None:
            state["first_thumb"] = time.perf_counter() - sampler.started

    def ready(*_: object) -> None:
        state["ready"] += 1
        sampler.masks = state["ready"]
        rss = (rss_bytes() or 0) / mib
        state["per_mask"].append((state["ready"], rss))
        if state["ready"] in quarters:
            state["at"][quarters[state["ready"]]] = rss
        event(f"mask {state['ready']} made")
        if state["ready"] == len(paths):
            state["all_masks"] = time.perf_counter() - sampler.started
            loop.quit()

    def check_cap() -> None:
        if sampler.samples and sampler.samples[-1][1] > cap_mib and state["capped_at"] is None:
            state["capped_at"] = state["ready"]
            loop.quit()

    window.photo_memory.signals.thumbnailed.connect(thumbnail)
    window.inference.worker.photo_loaded.connect(thumbnail)
    window.inference.worker.previewed.connect(thumbnail)
    window.document_ready.connect(ready)
    if trace:
        window.inference.worker.photo_loaded.connect(lambda _r, d, *_: event(f"model decoded doc {d}"))
        window.inference.worker.previewed.connect(lambda _r, d, *_: event(f"model decoded doc {d} reduced"))
        window.photo_memory.signals.decoded.connect(lambda d, *_: event(f"screen decoded doc {d}"))
    timer = QTimer()
    timer.timeout.connect(check_cap)
    timer.start(100)
    sampler.start()
    QTimer.singleShot(0, lambda: window.open_paths(paths))
    QTimer.singleShot(3600 * 1000, loop.quit)
    loop.exec()
    if state["capped_at"] is not None:
        window.masks.cancel()
    settle = QEventLoop()
    QTimer.singleShot(1500, settle.quit)
    settle.exec()
    state["after"] = (rss_bytes() or 0) / mib
    documents = window.workspace.documents
    state["kept_per_photo_kib"] = sum(d.kept_bytes() for d in documents) / max(1, len(documents)) / 1024
    shown, full = [], []
    evicted = [d for d in window.workspace.documents if d.evicted]
    for document in random.Random(0).sample(evicted, min(switches, len(evicted))):
        event(f"switch to doc {document.doc_id}")
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
    sampler.stop()
    samples = sampler.samples
    highest = max(samples, key=lambda x: x[1]) if samples else (0.0, 0.0, 0, "")
    state["peak"] = max(highest[1], (peak_rss_bytes() or 0) / mib)
    state["peak_sample"] = {"s": round(highest[0], 1), "mib": round(highest[1]), "masks": highest[2],
                            "last_event": highest[3]}
    state["flat"] = flat_slope(state["per_mask"])
    state["timeline"] = [(round(t, 1), round(r), m) for t, r, m, _ in samples]
    if trace:
        near = [e for e in events if abs(e[0] - highest[0]) < 4]
        state["trace"] = [(round(t, 2), round(r), name) for t, r, name in near]
    state.update(count=len(paths), shown=max(shown, default=None), full=max(full, default=None),
                 evicted=len(evicted), engine=window.model_description)
    del state["per_mask"]
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
    parser.add_argument("--no-reference", action="store_true", help="only the #32 window (a second run's table)")
    parser.add_argument("--trace", action="store_true", help="print what happened around the highest RSS sample")
    parser.add_argument("--child", choices=["evict", "reference"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = run_window(Path(args.folder), args.model, args.child == "evict", args.reference_cap, args.switches,
                            args.trace)
        print("RESULT " + json.dumps(result), flush=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="clearbg-shoot-photos-"))
    try:
        begin = time.perf_counter()
        make_shoot(folder, args.count, args.mp)
        print(f"{args.count} photos of {args.mp:g} MP made in {time.perf_counter() - begin:.0f} s", flush=True)
        # The engine choice measures its candidates once per machine and caches the result in the user data
        # folder; a fresh folder made each window measure at its start (a first run ever). Measured once here.
        os.environ["CLEARBG_DATA_DIR"] = str(folder / "data")
        subprocess.run([sys.executable, "-c", "from clearbg_desktop.core.inference.engines import load_segmenter; "
                        f"load_segmenter({args.model!r}, device='cpu')"], cwd=Path(__file__).resolve().parents[1],
                       capture_output=True, check=False)
        rows, memory = [], []
        modes = [("evict", "#32: full pixels within the budget"), ("reference", "reference: all kept")]
        for mode, label in modes[:1] if args.no_reference else modes:
            cap = args.reference_cap if mode == "reference" else 1e12
            command = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--model", args.model,
                       "--reference-cap", str(cap), "--switches", str(args.switches)]
            out = subprocess.run(command + (["--trace"] if args.trace else []), capture_output=True, text=True,
                                 check=False)
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
            at = r["at"]
            memory.append([label, *(f"{at[q]:.0f} MiB" if q in at else "-" for q in ("25%", "50%", "75%", "100%")),
                           f"{r['peak']:.0f} MiB at mask {r['peak_sample']['masks']}",
                           "-" if r["flat"] is None else f"{r['flat']:+.2f} MiB/photo"])
            timeline = r.pop("timeline")
            trace = r.pop("trace", None)
            print(f"{label}: {r}", flush=True)
            step = max(1, len(timeline) // 40)
            print("  RSS over time (s, MiB, masks): " + " ".join(f"{t:g}/{m:.0f}/{n}" for t, m, n in timeline[::step]))
            for t, mib, what in trace or []:
                print(f"  {t:8.2f} s {mib:6.0f} MiB  {what}")
        title = f"{args.count} x {args.mp:g} MP JPEGs opened at once, model {args.model}, {os.cpu_count()} CPUs"
        table(["window", "first thumbnail", "every mask", "peak RSS", "RSS after masks", "switch: preview",
               "switch: full res"], rows, title)
        table(["window", "RSS at 25 % of masks", "50 %", "75 %", "100 %", "peak (highest sample at)",
               "flat: growth after 10"], memory, "RSS while the masks are made (sampled every 0.5 s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
