"""Peak memory of a photographer's session on a 24 MP photo in the real window (offscreen): open, 20 brush
strokes, undo, a refine preview and Apply, export as PNG, with the default model (the full U²-Net when it is
installed). Issues #20 and #27's goal: peak RSS under 1.5 GiB.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui_memory.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import current_rss_mib, make_test_photo, open_bench_window, peak_rss_mib, table, wait_for  # noqa: E402


def main() -> None:
    app, window, tmp = open_bench_window("clearbg-memory-")
    from PySide6.QtCore import QEventLoop, QPointF, Qt, QTimer
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.core.imaging.export import ExportOptions
    from clearbg_desktop.core.imaging.refine import RefineSettings

    photo = make_test_photo(24, tmp, "p24.jpg")
    rows = [["process with the window", f"{current_rss_mib():.0f} MiB", f"{peak_rss_mib():.0f} MiB"]]

    def settle(ms: int = 200) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    QTimer.singleShot(0, lambda: window.open_paths([photo]))
    document = wait_for(window.document_ready)[0]
    settle(500)
    rows.append(["24 MP photo open, mask shown", f"{current_rss_mib():.0f} MiB", f"{peak_rss_mib():.0f} MiB"])
    viewport = window.canvas.viewport()
    for index in range(20):
        y = 80 + index * 25
        for kind, x in ((QMouseEvent.Type.MouseButtonPress, 100), (QMouseEvent.Type.MouseMove, 500),
                        (QMouseEvent.Type.MouseMove, 900), (QMouseEvent.Type.MouseButtonRelease, 900)):
            buttons = Qt.MouseButton.NoButton if kind == QMouseEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
            event = QMouseEvent(kind, QPointF(x, y), QPointF(x, y), Qt.MouseButton.LeftButton, buttons,
                                Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(viewport, event)
        app.processEvents()
    settle()
    rows.append(["after 20 strokes", f"{current_rss_mib():.0f} MiB", f"{peak_rss_mib():.0f} MiB"])
    for _ in range(5):
        window.undo_group.undo()
    settle()
    window.refine.request(RefineSettings(feather=2.0, refine_edges=True))
    settle(8000)
    window.refine.apply(RefineSettings(feather=2.0, refine_edges=True))
    settle()
    rows.append(["after 5 undos, refine preview and Apply", f"{current_rss_mib():.0f} MiB", f"{peak_rss_mib():.0f} MiB"])
    window.exporter.export_to(tmp / "out.png", ExportOptions())
    wait_for(window.exporter.exported)
    rows.append(["after exporting a 24 MP PNG", f"{current_rss_mib():.0f} MiB", f"{peak_rss_mib():.0f} MiB"])
    rows.append(["**peak RSS of the session**", "", f"**{peak_rss_mib():.0f} MiB** (goal < 1536)"])
    print(table(["step", "RSS after it", "peak RSS so far"], rows, f"24 MP session in the GUI ({document.loaded.rgb.size[0]}×"
                                       f"{document.loaded.rgb.size[1]}), offscreen, {window.model_description}"))
    window.quit_guard.confirmed = True
    window.close()


if __name__ == "__main__":
    main()
