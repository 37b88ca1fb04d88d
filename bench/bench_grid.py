"""The shoot's grid (#40) in the real window (offscreen): N photos open, the grid shown and scrolled from top to
bottom a step at a time, each step painted at once. Prints the paint time per step (median, 95th percentile,
worst) at several cell sizes, with the filmstrip scrolled the same way in the same run as the reference, and
what the grid adds to the process's memory (RSS) over the filmstrip alone.

Masks come from a fixed synthetic mask per photo (a soft disc at the thumbnail's size) handed to the window the
way a finished mask is, so the bench measures the grid, not the model; thumbnails are the app's own (decoded off
the GUI thread from the files, as when a shoot is opened). There is nothing like it in rembg to put beside it.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_grid.py --count 300 --mp 12
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.bench_shoot import make_shoot  # noqa: E402
from bench.common import table  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith("VmRSS:")) / 1024


def soft_disc(width: int, height: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    distance = np.hypot((x - width / 2) / (width * 0.3), (y - height / 2) / (height * 0.35))
    return np.clip((1.2 - distance) * 5 * 255, 0, 255).astype(np.uint8)


def scroll_paint_times(view: object, app: object, steps: int) -> list[float]:
    """Scroll ``view`` from top to bottom in ``steps`` equal steps, painting each at once; ms per paint."""
    bar = view.verticalScrollBar()  # type: ignore[attr-defined]
    bar.setValue(0)
    app.processEvents()  # type: ignore[attr-defined]
    times = []
    for step in range(steps + 1):
        bar.setValue(round(bar.maximum() * step / steps))
        app.processEvents()  # type: ignore[attr-defined]
        started = time.perf_counter()
        view.viewport().repaint()  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--mp", type=float, default=12.0)
    parser.add_argument("--steps", type=int, default=60, help="scroll steps from top to bottom")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.gui.window.app import create_application
    from clearbg_desktop.gui.window.main_window import MainWindow

    folder = Path(tempfile.mkdtemp(prefix="clearbg-bench-grid-"))
    try:
        paths = make_shoot(folder, args.count, args.mp)
        app = create_application(["bench"])
        window = MainWindow()
        window.resize(1600, 1000)
        window.show()
        window.masks.queue.paused = True  # no model: the masks below stand for finished ones
        start_rss = rss_mib()
        started = time.perf_counter()
        documents = window.open_paths(paths)
        deadline = time.monotonic() + 600
        while any(row.thumbnail is None for row in window.filmstrip.strip.rows) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        thumbnails_s = time.perf_counter() - started
        for document in documents:
            thumbnail = document.thumbnail
            height, width = (thumbnail.shape[:2] if thumbnail is not None else (144, 192))
            window.shoot.show_mask(document, soft_disc(width, height))
        app.processEvents()
        filmstrip_rss = rss_mib()
        rows: list[list[str]] = []
        reference = [t for _ in range(args.repeats) for t in scroll_paint_times(window.filmstrip, app, args.steps)]
        ref_median = summary(reference)[0]
        rows.append(["filmstrip (reference)", "96×72", *(f"{v:.1f}" for v in summary(reference)), "1.00×",
                     f"{filmstrip_rss - start_rss:.0f}"])
        window.shoot.set_grid_shown(True)
        app.processEvents()
        for size in (96, 160, 320):
            window.shoot.panel.size_slider.setValue(size)
            app.processEvents()
            times = [t for _ in range(args.repeats) for t in scroll_paint_times(window.shoot.grid, app, args.steps)]
            median, p95, worst = summary(times)
            rows.append([f"grid, {window.shoot.grid.filter.rowCount()} cells", f"{size} px", f"{median:.1f}",
                         f"{p95:.1f}", f"{worst:.1f}", f"{median / ref_median:.2f}×",
                         f"{rss_mib() - start_rss:.0f}"])
        print(f"{args.count} photos of {args.mp:g} MP, thumbnails in {thumbnails_s:.1f} s; window 1600×1000 "
              f"offscreen; {args.steps} scroll steps top to bottom × {args.repeats}; paint of each step in ms")
        print(table(["view", "cell", "median ms", "p95 ms", "worst ms", "vs filmstrip", "RSS +MiB since open"], rows))
        print(f"RSS: {start_rss:.0f} MiB before opening, {filmstrip_rss:.0f} with the filmstrip's thumbnails and "
              f"masks, {rss_mib():.0f} after the grid at every size (grid's own: {rss_mib() - filmstrip_rss:+.0f} MiB)")
        window.close()
        QApplication.processEvents()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
