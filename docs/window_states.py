"""Screenshots of every window state, to check that a refactoring changed no pixel.

Builds the real main window offscreen with private settings and random small weights, opens two made-up photos,
gives them a fixed mask (so a change of the model or its preprocessing does not move the pictures), then walks
the states: empty window, each view mode, split view, each canvas tool, the docks, and every dialog. Each state
is saved as a PNG; ``--compare`` checks a second run against the first, pixel by pixel.

    .venv/bin/python docs/window_states.py shots/states-before
    .venv/bin/python docs/window_states.py shots/states-after --compare shots/states-before
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402


def _private_environment(root: Path) -> None:
    """Settings, logs, models and records in a throwaway folder; the one engine and precision tests use."""
    for name, folder in (("CLEARBG_CONFIG_DIR", "config"), ("CLEARBG_LOG_DIR", "logs"),
                         ("CLEARBG_USER_MODELS", "models"), ("CLEARBG_DATA_DIR", "data")):
        os.environ[name] = str(root / folder)
    os.environ["CLEARBG_ENGINE"], os.environ["CLEARBG_PRECISION"] = "torch", "fp32"
    import torch

    from clearbg_desktop.core.inference.model import build_model
    from clearbg_desktop.core.inference.weights_install import write_weights_folder

    torch.manual_seed(0)
    write_weights_folder(build_model("small"), root / "resources" / "weights", "small", card={"note": "random"},
                         input_size=64)
    os.environ["CLEARBG_RESOURCES"] = str(root / "resources")


def _photo(path: Path, seed: int, size: tuple[int, int] = (640, 480)) -> Path:
    rng = np.random.default_rng(seed)
    width, height = size
    image = Image.fromarray(rng.integers(40, 90, (height, width, 3), dtype=np.uint8), "RGB")
    ImageDraw.Draw(image).ellipse((width * 0.25, height * 0.2, width * 0.75, height * 0.85), fill=(230, 180, 60))
    image.save(path)
    return path


def _fixed_mask(size: tuple[int, int]) -> np.ndarray:
    width, height = size
    yy, xx = np.mgrid[:height, :width]
    inside = ((xx - width / 2) / (width * 0.25)) ** 2 + ((yy - height * 0.525) / (height * 0.325)) ** 2
    return np.clip((1.2 - inside) * 255 * 2, 0, 255).astype(np.uint8)


def _main_window_class() -> type:
    for module in ("clearbg_desktop.gui.window.main_window", "clearbg_desktop.gui.window.main_window"):
        try:
            return importlib.import_module(module).MainWindow  # type: ignore[no-any-return]
        except ModuleNotFoundError:
            continue
    raise SystemExit("no MainWindow found")


def take(out: Path) -> list[str]:
    """Walk the states; returns the names of the PNGs written."""
    from PySide6.QtCore import QCoreApplication, QPoint, QSettings, Qt, QThread, QThreadPool
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from clearbg_desktop.core.settings import AppSettings

    app = QApplication.instance() or QApplication([])
    QCoreApplication.setOrganizationName("ClearBG-states")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, os.environ["CLEARBG_CONFIG_DIR"])
    window = _main_window_class()(AppSettings(device="cpu"))
    window.resize(1100, 760)
    window.show()
    names: list[str] = []

    def settle(rounds: int = 30) -> None:
        for _ in range(rounds):  # background jobs (size estimates, thumbnails) finish before the grab
            QThreadPool.globalInstance().waitForDone()
            app.processEvents()
            QThread.msleep(2)

    def shot(name: str, widget: QWidget | None = None) -> None:
        settle()
        (widget or window).grab().save(str(out / f"{name}.png"))
        names.append(name)

    def dialog_shot(name: str, opener: Callable[[], object]) -> None:
        before = {id(w) for w in app.topLevelWidgets() if w.isVisible()}
        opener()
        settle(60)
        shown = [w for w in app.topLevelWidgets() if w.isVisible() and id(w) not in before]
        for index, widget in enumerate(shown):
            shot(name if index == 0 else f"{name}-{index}", widget)
            widget.close()
        settle()

    shot("01-empty")
    folder = Path(os.environ["CLEARBG_DATA_DIR"]).parent / "photos"
    folder.mkdir(exist_ok=True)
    photos = [_photo(folder / "IMG_0001.JPG", 1), _photo(folder / "IMG_0002.JPG", 2, (480, 640))]
    ready: list[object] = []
    window.document_ready.connect(ready.append)
    window.open_paths(photos)
    for _ in range(2000):
        if len(ready) >= 2:
            break
        app.processEvents()
        QApplication.instance().thread().msleep(5)  # type: ignore[union-attr]
    for document in window.workspace.documents:
        document.alpha = _fixed_mask(document.loaded.size) if document.loaded is not None else document.alpha
    window.show_document(window.workspace.documents[0])
    window.canvas.refresh()
    window.undo.group.activeStack().setClean()
    shot("02-photo-cutout")
    for mode in ("overlay", "mask", "original", "color"):
        window.set_view_mode(mode)
        shot(f"03-view-{mode}")
    window.set_view_mode("cutout")
    window.canvas.set_split(True)
    window.canvas.set_divider_fraction(0.4)
    shot("04-split")
    window.canvas.set_split(False)
    bar = window.brush_bar
    viewport = window.canvas.viewport()
    centre = viewport.rect().center()
    for name in ("erase", "refine", "restore"):
        bar.tool_actions[name].trigger()
        QTest.mouseMove(viewport, centre)  # the tool's outline under the pointer
        shot(f"05-tool-{name}")
    bar.tool_actions["erase"].trigger()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
    for step in range(1, 9):
        QTest.mouseMove(viewport, QPoint(centre.x() + 12 * step, centre.y() + 5 * step))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       QPoint(centre.x() + 96, centre.y() + 40))
    shot("05-stroke-erased")
    window.undo.group.undo()
    for name in ("object", "lasso"):  # the selection tools, mid-gesture: the box's frame, the lasso's line
        if name not in bar.tool_actions:
            continue  # an older version, for --compare against its states
        bar.tool_actions[name].trigger()
        QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
        for step in range(1, 9):
            QTest.mouseMove(viewport, QPoint(centre.x() + 15 * step, centre.y() + (9 if name == "object" else 3) * step
                                             * (1 if step < 5 or name == "object" else -1)))
        shot(f"05-tool-{name}-dragging")
        window.canvas.tool.deactivate()  # the gesture is dropped: no model run, no edit
        window.canvas.tool = type(window.canvas.tool)(window.canvas)
    bar.tool_actions["restore"].trigger()
    window.show_document(window.workspace.documents[1])
    shot("06-second-photo")
    window.panels.refine_dock.show()
    window.panels.refine_dock.raise_()
    shot("07-refine-dock")
    dialog_shot("10-export-dialog", window.exporter.open_dialog)
    dialog_shot("11-export-all", window.batch.open_export_all)
    dialog_shot("12-batch-dialog", lambda: window.batch.open_dialog([]))
    dialog_shot("13-preferences", window.open_preferences)
    dialog_shot("14-shortcuts", window.show_shortcuts)
    dialog_shot("15-about", window.show_about)
    window.quit_guard.confirmed = True
    window.close()
    settle()
    return names


def compare(out: Path, reference: Path) -> int:
    different = 0
    for path in sorted(reference.glob("*.png")):
        other = out / path.name
        if not other.exists():
            print(f"MISSING  {path.name}")
            different += 1
            continue
        a, b = np.asarray(Image.open(path).convert("RGBA")), np.asarray(Image.open(other).convert("RGBA"))
        if a.shape != b.shape:
            print(f"SIZE     {path.name}: {a.shape[1]}x{a.shape[0]} -> {b.shape[1]}x{b.shape[0]}")
            different += 1
        elif (changed := int(np.any(a != b, axis=-1).sum())):
            print(f"PIXELS   {path.name}: {changed} pixels differ")
            different += 1
        else:
            print(f"same     {path.name}")
    return different


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--compare", type=Path, help="a folder from an earlier run: fail on any pixel changed")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.gettempdir()) / "clearbg-window-states"  # one path: dialogs show it
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    _private_environment(root)
    print(f"{len(take(args.out))} states in {args.out}")
    shutil.rmtree(root, ignore_errors=True)
    if args.compare is not None:
        different = compare(args.out, args.compare)
        print("pixel-identical" if not different else f"{different} state(s) differ")
        return 1 if different else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
