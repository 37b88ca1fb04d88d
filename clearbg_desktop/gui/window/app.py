"""``clearbg`` / ``python -m clearbg_desktop``: start the editor, or take a screenshot, or self-test."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from clearbg_desktop import __version__
from clearbg_desktop.core.editing.preview import VIEW_MODES

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox

    from clearbg_desktop.gui.dialogs.crash_dialog import CrashReporter
    from clearbg_desktop.gui.window.main_window import MainWindow


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clearbg", description="ClearBG: remove photo backgrounds on your computer.")
    parser.add_argument("files", nargs="*", type=Path, help="photos to open")
    parser.add_argument("--screenshot", type=Path, metavar="OUT.png",
                        help="open the photo, wait for its mask, save a screenshot of the window and exit")
    parser.add_argument("--view", choices=VIEW_MODES, default="cutout", help="view mode for --screenshot")
    parser.add_argument("--size", default="1280x820", help="window size for --screenshot (WxH)")
    parser.add_argument("--self-test", action="store_true",
                        help="check the bundled weights and run one cut-out without a window; exit 0/1")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for --screenshot")
    # The bundle's own end-to-end check (installer/smoke.sh): About ▸ Licences and a forced crash's report.
    parser.add_argument("--check-dialogs", type=Path, metavar="OUT_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--version", action=VersionAction, help="show the version, the build's git commit and the "
                        "models with their SHA-256 prefixes, and exit")
    return parser


class VersionAction(argparse.Action):
    """``--version``: worked out only when asked (it reads the model manifests), then exit 0."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=kwargs.get("help"))  # type: ignore[arg-type]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        from clearbg_desktop.core.build_info import version_text

        parser.exit(0, version_text() + "\n")


def create_application(argv: list[str]):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    QCoreApplication.setOrganizationName("ClearBG")
    QCoreApplication.setApplicationName("ClearBG")
    QCoreApplication.setApplicationVersion(__version__)
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(argv)
    from clearbg_desktop.gui.widgets.resources import app_icon

    if isinstance(app, QApplication):
        app.setWindowIcon(app_icon())
    return app


def take_screenshot(out: Path, photo: Path, view: str, size: str, timeout: float) -> int:
    """Open ``photo`` in the real window, wait for the mask, grab the window to ``out``."""
    from PySide6.QtCore import QTimer

    from clearbg_desktop.gui.window.main_window import MainWindow

    app = create_application(sys.argv[:1])
    window = MainWindow()
    width, height = (int(v) for v in size.lower().split("x"))
    window.resize(width, height)
    window.show()
    outcome: dict[str, object] = {}

    def ready(document: object) -> None:
        window.set_view_mode(view)
        window.canvas.zoom_fit()
        QTimer.singleShot(200, finish)

    def finish() -> None:
        if window.canvas.is_rendering:  # a large photo's view is still being rendered
            QTimer.singleShot(100, finish)
            return
        image = window.grab()
        outcome["ok"] = image.save(str(out))
        if not outcome["ok"]:
            outcome["error"] = f"could not write {out}"
        app.quit()

    def failed(document: object, message: str) -> None:
        outcome.update(ok=False, error=message)
        app.quit()

    def timed_out() -> None:
        outcome.update(ok=False, error=f"no mask after {timeout:.0f} s")
        app.quit()

    window.document_ready.connect(ready)
    window.document_failed.connect(failed)
    QTimer.singleShot(int(timeout * 1000), timed_out)
    QTimer.singleShot(0, lambda: window.open_paths([photo]))
    app.exec()
    window.close()
    if outcome.get("ok"):
        print(f"screenshot: {out}")
        return 0
    print(f"clearbg: screenshot failed: {outcome.get('error')}", file=sys.stderr)
    return 1


def say_settings_problems(window: MainWindow) -> QMessageBox | None:
    """Tell the user once, at start, what of settings.json could not be used: the whole file (kept as it is, and
    not saved over on quit) or single entries (left out, kept in the file). The window starts all the same."""
    from PySide6.QtWidgets import QMessageBox

    settings = window.settings
    lines = ([settings.unreadable] if settings.unreadable else []) + settings.load_notes[:10]
    if not lines:
        return None
    if len(settings.load_notes) > 10:
        lines.append(f"… and {len(settings.load_notes) - 10} more")
    box = QMessageBox(QMessageBox.Icon.Warning, "ClearBG settings", "Some of your settings could not be used.",
                      QMessageBox.StandardButton.Ok, window)
    box.setInformativeText("\n".join(lines))
    box.setObjectName("SettingsProblems")
    box.open()  # window-modal, not blocking start-up
    window.status.showMessage(lines[0], 15000)
    return box


def setup_logging() -> None:
    """Log to the platformdirs log folder (a frozen Windows app has no console), and log crashes."""
    import logging
    from logging.handlers import RotatingFileHandler

    from clearbg_desktop.core.paths import log_dir

    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = RotatingFileHandler(folder / "clearbg.log", maxBytes=2_000_000, backupCount=3,
                                                       encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    logging.basicConfig(level=logging.INFO, handlers=[handler],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    previous = sys.excepthook

    def log_uncaught(kind: type[BaseException], value: BaseException, traceback: TracebackType | None) -> None:
        logging.getLogger("clearbg").critical("uncaught exception", exc_info=(kind, value, traceback))
        previous(kind, value, traceback)

    sys.excepthook = log_uncaught


def install_crash_reports(window: MainWindow) -> CrashReporter:
    """Unexpected exceptions in the window's slots and workers write a report and show it (``dialogs.crash_dialog``);
    the report names the model and engine in use, read from the window when the crash happens."""
    from clearbg_desktop.core.inference.model_choice import model_label, resolve_model
    from clearbg_desktop.gui.dialogs.crash_dialog import CrashReporter

    def context() -> dict[str, str]:
        chosen = window.settings.model
        return {"Model": f"{model_label(resolve_model(chosen).name)} (setting: {chosen})",
                "Engine": window.results.model_description or "not loaded yet",
                "Device preference": str(window.settings.device),
                "Open photos": str(len(window.workspace.documents))}

    reporter = CrashReporter(context, lambda: window)
    reporter.install()
    return reporter


def check_dialogs(out: Path, timeout: float) -> int:
    """What a user checks in a fresh install, done by the app itself (``--check-dialogs OUT_DIR``, for smoke.sh):
    Help ▸ About ▸ Licences shows the bundle's notices, and an exception raised in a slot writes a crash report
    and shows it, and "Copy report" copies it. Screenshots of the three go to ``out``; exit 0 when all worked."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QMessageBox, QPushButton

    from clearbg_desktop.gui.dialogs.licences_dialog import LicencesDialog
    from clearbg_desktop.gui.window.main_window import MainWindow

    app = create_application(sys.argv[:1])
    window = MainWindow()
    reporter = install_crash_reports(window)
    window.show()
    out.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {}

    def about() -> None:
        window.show_about()
        box = window.messages.shown
        assert isinstance(box, QMessageBox)
        box.grab().save(str(out / "about.png"))
        result["about"] = box.text()
        button = box.findChild(QPushButton, "LicencesButton")
        if button is not None:
            button.click()
        QTimer.singleShot(300, licences)

    def licences() -> None:
        dialog = window.findChild(LicencesDialog)
        if dialog is not None:
            dialog.grab().save(str(out / "licences.png"))
            result["licences"] = (dialog.from_bundle, dialog.view.toPlainText().splitlines()[0],
                                  len(dialog.view.toPlainText()))
            dialog.close()
        QTimer.singleShot(0, crash)

    def crash() -> None:
        raise RuntimeError("forced by --check-dialogs: the crash report's end-to-end check")

    def crashed() -> None:
        dialog = reporter.dialog
        if dialog is not None:
            dialog.grab().save(str(out / "crash.png"))
            dialog.copy_button.click()
            result["report"] = str(dialog.path)
            result["copied"] = QGuiApplication.clipboard().text() == dialog.text
            dialog.close()
        app.quit()

    reporter.reported.connect(lambda text, path: QTimer.singleShot(300, crashed))
    QTimer.singleShot(int(timeout * 1000), app.quit)
    QTimer.singleShot(300, about)
    app.exec()
    reporter.uninstall()
    window.quit_guard.confirmed = True
    window.close()
    about_text = str(result.get("about", ""))
    print(f"about: {'commit ' in about_text and 'SHA-256' in about_text} ({out / 'about.png'})")
    print(f"licences: {result.get('licences')} ({out / 'licences.png'})")
    print(f"crash report: {result.get('report')}, copied: {result.get('copied')} ({out / 'crash.png'})")
    licences_ok = isinstance(result.get("licences"), tuple) and result["licences"][0]  # type: ignore[index]
    return 0 if licences_ok and result.get("copied") and "commit " in about_text else 1


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    args = build_parser().parse_args(argv)
    setup_logging()
    if args.self_test:
        from clearbg_desktop.self_test import run_self_test

        return run_self_test()
    if args.check_dialogs:
        return check_dialogs(args.check_dialogs, args.timeout)
    if args.screenshot:
        if len(args.files) != 1:
            print("clearbg: --screenshot takes exactly one photo", file=sys.stderr)
            return 2
        return take_screenshot(args.screenshot, args.files[0], args.view, args.size, args.timeout)
    from clearbg_desktop.gui.window.main_window import MainWindow

    app = create_application(sys.argv[:1])
    window = MainWindow()
    reporter = install_crash_reports(window)
    window.show()
    say_settings_problems(window)
    if args.files:
        window.open_paths(args.files)
    window.sessions.offer_recovery()  # a shoot a crash left open (#40)
    window.projects.offer_recovery()  # work a crash left unsaved
    try:
        return app.exec()
    finally:
        reporter.uninstall()


if __name__ == "__main__":
    raise SystemExit(main())
