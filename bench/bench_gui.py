"""GUI responsiveness, brush speed and memory, offscreen, with the real main window.

1. The longest event-loop gap (a 10 ms QTimer) while a 12 MP photo is opened and segmented, and
   while a batch runs. 2. Brush at 24 MP: one dab applied + repainted at fit zoom, undo of a large
   stroke, memory growth per 100 strokes. 3. Peak RSS: one 24 MP photo through the pipeline in the GUI.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import current_rss_mib, make_test_photo, open_bench_window, peak_rss_mib, table, wait_for  # noqa: E402


def main() -> None:
    app, window, tmp = open_bench_window("clearbg-gui-bench-")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.core.imaging.export import ExportOptions

    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)


    rows = []
    photo12 = make_test_photo(12, tmp)
    gaps.clear()
    last[0] = time.perf_counter()
    timer.start(10)
    started = time.perf_counter()
    window.open_paths([photo12])
    wait_for(window.document_ready)
    to_screen = time.perf_counter() - started
    timer.stop()
    rows.append(["open + segment 12 MP photo (worker thread)", f"{max(gaps) * 1000:.0f} ms",
                 f"{statistics.median(gaps) * 1000:.0f} ms", f"file → mask on screen {to_screen:.2f} s"])

    batch_in = tmp / "batch"
    batch_in.mkdir()
    for index in range(4):
        make_test_photo(12, batch_in, seed=index)
    gaps.clear()
    last[0] = time.perf_counter()
    timer.start(10)
    window.batch.start([batch_in], tmp / "batch-out", ExportOptions(), "small", "overwrite")
    wait_for(window.batch.finished)
    timer.stop()
    window.batch.summary.close()
    rows.append(["batch export of 4 × 12 MP (worker thread)", f"{max(gaps) * 1000:.0f} ms",
                 f"{statistics.median(gaps) * 1000:.0f} ms", ""])
    table(["while…", "longest event-loop gap", "median tick", "note"], rows, "GUI responsiveness (10 ms timer)")

    # --- brush at 24 MP -------------------------------------------------------------------
    rss_before_24 = current_rss_mib()
    photo24 = make_test_photo(24, tmp, seed=1)
    window.open_paths([photo24])
    document = wait_for(window.document_ready)[0]
    app.processEvents()
    canvas = window.canvas
    canvas.zoom_fit()
    viewport = canvas.viewport()
    window.brush_bar.size_box.setValue(200)

    def send(kind, x: int, y: int) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QPointF

        position = QPointF(x, y)
        event = QMouseEvent(kind, position, viewport.mapToGlobal(position), Qt.MouseButton.LeftButton,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(viewport, event)

    dab_times = []
    rss_start = current_rss_mib()
    stroke_count = 100
    for stroke in range(stroke_count):
        y = 100 + (stroke * 5) % 500
        send(QMouseEvent.Type.MouseButtonPress, 100, y)
        for step in range(1, 11):
            started = time.perf_counter()
            send(QMouseEvent.Type.MouseMove, 100 + step * 40, y)
            viewport.repaint()  # apply + repaint, synchronously
            dab_times.append(time.perf_counter() - started)
        send(QMouseEvent.Type.MouseButtonRelease, 500, y)
    app.processEvents()
    rss_after = current_rss_mib()
    stack = window.undo_stacks[document.doc_id]
    big_stroke_box_area = max(c.edit.box[2] - c.edit.box[0] for c in [stack.command(i) for i in range(stack.count())])
    started = time.perf_counter()
    window.window_actions.undo.trigger()
    viewport.repaint()
    undo_time = time.perf_counter() - started
    undo_memory = sum(stack.command(i).edit.nbytes for i in range(stack.count())) / 2**20
    h, w = document.alpha.shape
    table(["measure (24 MP, brush 200 px, fit zoom)", "value", "target"], [
        ["brush segment (move = dabs applied + repaint), median", f"{statistics.median(dab_times) * 1000:.1f} ms", "≤ 16 ms"],
        ["brush segment, 95th percentile", f"{sorted(dab_times)[int(len(dab_times) * 0.95)] * 1000:.1f} ms", ""],
        ["undo of a large stroke (+ repaint)", f"{undo_time * 1000:.1f} ms", "≤ 50 ms"],
        [f"RSS growth over {stroke_count} strokes", f"{rss_after - rss_start:.0f} MiB", "< 100 MB"],
        [f"undo data held for {stack.count()} strokes", f"{undo_memory:.1f} MiB", ""],
        [f"photo {w}×{h}: RSS added by opening it", f"{rss_start - rss_before_24:.0f} MiB", ""],
        ["peak RSS of the whole GUI run (24 MP + 100 strokes)", f"{peak_rss_mib():.0f} MiB", "< 1.5 GiB"],
    ], f"Brush and memory at 24 MP (widest stroke box {big_stroke_box_area} px)")
    window.quit_guard.confirmed = True  # the strokes were never exported: quit without asking
    window.close()


if __name__ == "__main__":
    main()
