"""``clearbg --self-test``: prove an installation works, without a window.

Loads the default model's weights (hash-checked), cuts out the bundled sample photo, writes the PNG to
a temporary folder and prints one line. Used by the installer smoke test.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from clearbg_desktop.core.crash_report import remember_self_test
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_image
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.inference.engines import load_segmenter
from clearbg_desktop.core.inference.weights import WeightsError
from clearbg_desktop.core.paths import resources_dir

SAMPLE = "samples/sample.jpg"


def run_self_test(model: str = "auto") -> int:
    started = time.perf_counter()
    try:
        segmenter = load_segmenter(model, measure=False)  # a health check never waits for the engine timing
        loaded = load_image(resources_dir() / SAMPLE)
        alpha = segmenter.predict_alpha(loaded.rgb)
        with tempfile.TemporaryDirectory(prefix="clearbg-selftest-") as folder:
            written = export_photo(loaded, alpha, Path(folder) / "sample-cutout.png", ExportOptions())
            size = written.stat().st_size
    except (WeightsError, ImageLoadError, OSError) as exc:
        print(f"ClearBG self-test FAILED: {exc}", file=sys.stderr)
        remember_self_test(f"FAILED: {exc}")
        return 1
    weights = segmenter.weights
    coverage = sum(alpha.histogram()[128:]) / (alpha.width * alpha.height)
    line = (f"ClearBG self-test OK: {segmenter.description}, weights {weights.short_hash if weights else '?'}, "
            f"{loaded.size[0]}x{loaded.size[1]} sample, foreground {coverage:.0%}, PNG {size} bytes, "
            f"{time.perf_counter() - started:.2f} s")
    print(line)
    remember_self_test(line)
    return 0
