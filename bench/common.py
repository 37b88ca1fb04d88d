"""Shared helpers for the benchmark programs: repeated timing with warm-up, tables, test photos."""

from __future__ import annotations

import os
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def measure(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> tuple[float, float]:
    """(median seconds, spread = (max - min) / 2) over ``repeats`` timed runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), (max(times) - min(times)) / 2


def fmt_ms(value: tuple[float, float]) -> str:
    median, spread = value
    return f"{median * 1000:.1f} ± {spread * 1000:.1f} ms"


def table(headers: list[str], rows: list[list[object]], title: str = "") -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    lines = [f"\n### {title}\n"] if title else []
    lines.append("| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    lines += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def make_test_photo(megapixels: float, folder: Path, name: str | None = None, seed: int = 0) -> Path:
    """A JPEG of about ``megapixels`` MP: a real photo from ../shared/data upscaled when present
    (realistic JPEG entropy), else a synthetic textured scene. 3:2 like a camera."""
    width = int((megapixels * 1e6 * 1.5) ** 0.5)
    height = int(width / 1.5)
    sources = sorted((SHARED / "people-val" / "images").glob("*.jpg"))
    if sources:
        with Image.open(sources[seed % len(sources)]) as source:
            image = source.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
    else:
        rng = np.random.default_rng(seed)
        small = rng.integers(0, 255, (height // 16, width // 16, 3), dtype=np.uint8)
        image = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    path = folder / (name or f"photo-{megapixels:g}mp-{seed}.jpg")
    image.save(path, quality=90)
    return path


def bench_weights_dir() -> None:
    """Use the bundled weights when present; otherwise random weights of the same shape (timing only)."""
    from clearbg_desktop.core.inference.weights import available_models

    if "small" in available_models():
        return
    import tempfile

    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.weights_install import write_weights_folder

    folder = Path(tempfile.mkdtemp(prefix="clearbg-bench-"))
    torch.manual_seed(0)
    write_weights_folder(build_model("small"), folder, "small")
    os.environ["CLEARBG_USER_MODELS"] = str(folder)


def open_bench_window(prefix: str):  # type: ignore[no-untyped-def]
    """The real main window, offscreen, with private settings/log folders and the bench weights:
    ``(app, window, tmp folder)`` for the GUI benchmarks."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("CLEARBG_CONFIG_DIR", str(tmp / "config"))
    os.environ.setdefault("CLEARBG_LOG_DIR", str(tmp / "logs"))
    bench_weights_dir()
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from clearbg_desktop.core.settings import AppSettings
    from clearbg_desktop.gui.window.main_window import MainWindow

    QCoreApplication.setOrganizationName("ClearBG-bench")
    app = QApplication.instance() or QApplication([])
    window = MainWindow(AppSettings(device="cpu"))
    window.resize(1280, 820)
    window.show()
    return app, window, tmp


def wait_for(signal, timeout_s: float = 300) -> list:  # type: ignore[no-untyped-def]
    """Run the event loop until ``signal`` fires (its arguments) or the timeout passes (empty)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    received: list = []
    signal.connect(lambda *a: (received.extend(a), loop.quit()))
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    return received
