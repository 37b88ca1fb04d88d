"""How long each dialog takes to open on a 24 MP photo, idle and while the mask queue is busy (#37 point 4).

The real main window offscreen, a 6000×4000 photo opened and its mask ready. For each dialog: the wall time
from triggering its action until the dialog is shown and the event loop is idle again (a zero timer posted
after it has run), and, separately, until what it fills in afterwards (size estimate, preview, model list)
is there. The first Preferences of a process is measured in fresh processes (``--first-preferences``).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/dialog_open.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import SHARED, open_bench_window, table, wait_for  # noqa: E402

REPEATS = 5
FIRST_PREFERENCES_RUNS = 3


def big_photo(folder: Path, name: str = "big-24mp.jpg", source_name: str = "100.jpg") -> Path:
    """A people-val photo (100.jpg) upscaled to 6000×4000 (24 MP), realistic JPEG entropy."""
    from PIL import Image

    source = SHARED / "people-val" / "images" / source_name
    with Image.open(source) as image:
        big = image.convert("RGB").resize((6000, 4000), Image.Resampling.BICUBIC)
    path = folder / name
    big.save(path, quality=90)
    return path


def idle(app) -> None:  # type: ignore[no-untyped-def]
    """Return once every event already posted has run (a zero timer fires after them)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    loop.exec()


def still_filling(dialog) -> bool:  # type: ignore[no-untyped-def]
    """True while the dialog says it is still working on something (today's dialogs never do)."""
    pending = getattr(dialog, "pending", None)
    return bool(pending()) if callable(pending) else False


def time_dialog(app, trigger: Callable[[], object], find: Callable[[], object]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(seconds until shown and idle, seconds until filled in); the dialog is closed afterwards."""
    started = time.perf_counter()
    trigger()
    dialog = find()
    while dialog is None or not dialog.isVisible():  # type: ignore[attr-defined]
        app.processEvents()
        dialog = find()
    idle(app)
    shown = time.perf_counter() - started
    while still_filling(dialog):
        app.processEvents()
        time.sleep(0.002)
    filled = time.perf_counter() - started
    dialog.reject()  # type: ignore[attr-defined]
    idle(app)
    return shown, filled


def medians(samples: list[tuple[float, float]]) -> tuple[str, str]:
    return (f"{statistics.median(s[0] for s in samples):.3f}", f"{statistics.median(s[1] for s in samples):.3f}")


def first_preferences() -> None:
    """One fresh process: the window with no photo, then the first Preferences; prints JSON seconds."""
    app, window, _tmp = open_bench_window("clearbg-dialog-bench-")
    idle(app)
    found: list = []
    shown, filled = time_dialog(app, lambda: found.append(window.open_preferences()),
                                lambda: found[0] if found else None)
    print(json.dumps({"shown": shown, "filled": filled}), flush=True)
    window.quit_guard.confirmed = True
    window.close()


def main() -> None:
    if "--first-preferences" in sys.argv:
        first_preferences()
        return
    firsts = []
    for _ in range(FIRST_PREFERENCES_RUNS):
        out = subprocess.run([sys.executable, __file__, "--first-preferences"], capture_output=True, text=True,
                             check=True).stdout
        values = json.loads(out.strip().splitlines()[-1])
        firsts.append((values["shown"], values["filled"]))

    app, window, tmp = open_bench_window("clearbg-dialog-bench-")
    photo = big_photo(tmp)
    window.open_paths([photo])
    document = wait_for(window.document_ready)[0]
    idle(app)
    actions = window.window_actions

    from clearbg_desktop.core.imaging.compose import Background
    from clearbg_desktop.core.imaging.export import ExportOptions

    white = Background(kind="color", color=(255, 255, 255))
    export_kinds = [  # the marketplace preset's options: what the walk's dialog kept from its last use
        ("Export (Ctrl+E), PNG", ExportOptions(format="png")),
        ("Export (Ctrl+E), marketplace JPEG", ExportOptions(format="jpg", quality=92, background=white,
                                                           subject_fill=0.85, resize_long_edge=2000)),
        ("Export (Ctrl+E), WebP", ExportOptions(format="webp")),
    ]

    def with_export_options(options: ExportOptions) -> Callable[[], None]:
        def trigger() -> None:
            window.settings.export = options
            actions.export.trigger()
        return trigger

    def dialogs() -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
        return [
            *((name, with_export_options(options), lambda: window.exporter.dialog) for name, options in export_kinds),
            ("Preferences (again)", actions.preferences.trigger, lambda: _preferences(window)),
            ("Export all", actions.export_all.trigger, lambda: window.batch.export_all_dialog),
            ("Batch export", actions.batch.trigger, lambda: window.batch.dialog),
        ]

    rows = [["Preferences (first in a process)", *medians(firsts), f"{FIRST_PREFERENCES_RUNS} processes"]]
    for name, trigger, find in dialogs():
        samples = []
        for _ in range(REPEATS):
            _reset(window)
            samples.append(time_dialog(app, trigger, find))
        rows.append([name, *medians(samples), f"median of {REPEATS}"])

    # --- while the mask queue is busy: four more 24 MP photos opening ---------------------------------------
    sources = sorted(p.name for p in (SHARED / "people-val" / "images").glob("*.jpg"))[1:5]
    busy_photos = [big_photo(tmp, f"busy-{i}.jpg", name) for i, name in enumerate(sources)]
    window.open_paths(busy_photos)
    window.show_document(document)
    idle(app)
    for name, trigger, find in dialogs():
        if name.startswith("Preferences"):
            continue
        samples = []
        for _ in range(3):
            _reset(window)
            samples.append(time_dialog(app, trigger, find))
        rows.append([f"{name}, masks running", *medians(samples), "median of 3, 4 × 24 MP queued"])
    load = os.getloadavg()
    table(["dialog (24 MP photo)", "shown + idle (s)", "filled in (s)", "runs"], rows,
          f"Dialog open times, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    window.masks.cancel()
    window.quit_guard.confirmed = True
    window.close()


def _preferences(window):  # type: ignore[no-untyped-def]
    from clearbg_desktop.gui.dialogs.preferences_dialog import PreferencesDialog

    shown = [d for d in window.findChildren(PreferencesDialog) if d.isVisible()]
    return shown[-1] if shown else None


def _reset(window) -> None:  # type: ignore[no-untyped-def]
    """Forget the last dialog so ``find`` waits for the new one."""
    window.exporter.dialog = None
    window.batch.export_all_dialog = None
    window.batch.dialog = None


if __name__ == "__main__":
    main()
