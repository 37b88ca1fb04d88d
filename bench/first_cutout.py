"""The first cut-out after install (#37 point 1): seconds from starting the window to the first photo's mask.

Each run is a new process with a fresh HOME (no settings, no engine timings), the real main window offscreen
and the default model, opening one photo; "warm" runs again in the HOME the cold run left (the timings cached).
The reference row does what the app did before #37: time the engines first, then cut the photo out.
Goal: cold within 1.5× of warm. Usage: python bench/first_cutout.py [--repeats 3] [--model auto]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import REPO, SHARED, table  # noqa: E402

PROBE = r"""
import json, sys, time
started = time.perf_counter()
from clearbg_desktop.core.settings import AppSettings
from clearbg_desktop.gui.window.app import create_application
app = create_application(sys.argv[:1])
if sys.argv[3] == "time-first":  # the behaviour before #37: the engines were timed before the first mask
    from clearbg_desktop.core.inference.engine_choice import choose_engine
    from clearbg_desktop.core.inference.engines import candidate_runner
    from clearbg_desktop.core.inference.model_choice import resolve_model
    from clearbg_desktop.core.inference.weights import find_weights
    entry = find_weights(resolve_model(sys.argv[2]).name)
    choose_engine(entry, run=candidate_runner(entry))
from clearbg_desktop.gui.window.main_window import MainWindow
window = MainWindow(AppSettings(model=sys.argv[2]))
window.show()
done = []
window.document_ready.connect(lambda document: done.append(time.perf_counter()))
from pathlib import Path
window.open_paths([Path(sys.argv[1])])
while not done and time.perf_counter() - started < 600:
    app.processEvents()
    time.sleep(0.01)
print(json.dumps({"seconds": done[0] - started if done else None, "model": window.results.model_description}))
window.quit_guard.confirmed = True
window.close()
"""


def run_once(home: Path, photo: Path, model: str, mode: str) -> tuple[float, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CLEARBG_", "XDG_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", PROBE, str(photo), model, mode], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=900)
    line = [row for row in result.stdout.splitlines() if row.startswith("{")]
    if result.returncode != 0 or not line:
        raise SystemExit(f"probe failed ({result.returncode}): {result.stderr[-2000:]}")
    data = json.loads(line[-1])
    return float(data["seconds"]), str(data["model"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    photo = SHARED / "people-val" / "images" / "100.jpg"
    times: dict[str, list[float]] = {"reference": [], "cold": [], "warm": []}
    described: dict[str, str] = {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="clearbg-first-") as home:
            times["reference"].append(run_once(Path(home), photo, args.model, "time-first")[0])
        with tempfile.TemporaryDirectory(prefix="clearbg-first-") as home:
            seconds, described["cold"] = run_once(Path(home), photo, args.model, "window")
            times["cold"].append(seconds)
            (Path(home) / ".local").mkdir(exist_ok=True)
            # The cold run timed the engines only if it stayed idle long enough; time them here as the app would.
            subprocess.run([sys.executable, "-c", "from clearbg_desktop.core.inference.engines import candidate_runner;"
                            "from clearbg_desktop.core.inference.engine_choice import choose_engine;"
                            "from clearbg_desktop.core.inference.model_choice import resolve_model;"
                            "from clearbg_desktop.core.inference.weights import find_weights;"
                            f"e=find_weights(resolve_model({args.model!r}).name); choose_engine(e, run=candidate_runner(e))"],
                           cwd=REPO, env={**{k: v for k, v in os.environ.items()
                                             if not k.startswith(("CLEARBG_", "XDG_"))}, "HOME": home},
                           check=True, capture_output=True, timeout=900)
            seconds, described["warm"] = run_once(Path(home), photo, args.model, "window")
            times["warm"].append(seconds)
    warm = statistics.median(times["warm"])
    rows = [[name, f"{statistics.median(values):.1f} s", f"{statistics.median(values) / warm:.2f}×",
             ", ".join(f"{v:.1f}" for v in values)] for name, values in times.items()]
    table(["start", "median to first mask", "vs warm", "runs (s)"], rows,
          f"First cut-out from a fresh HOME, model {args.model}, median of {args.repeats} "
          f"(reference = the engines timed first, as before #37)")
    print(f"\ncold start ran: {described.get('cold')}\nwarm start ran: {described.get('warm')}")


if __name__ == "__main__":
    main()
