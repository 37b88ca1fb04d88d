"""The text of a crash report, and where it is kept: what a user can send us after an unexpected error.

Why its own Qt-free module: the window, the CLI and a test all make the same report, and what it may contain is
a privacy promise that one function keeps. A report says which build, OS, model and engine, the traceback and
the log's last lines; it never holds photo contents (no local variables, no pixels) and never a path outside
ClearBG's own folders: those are written ``<app>``, ``<logs>``, ``<config>``, ``<data>``, ``<models>``,
``<python>``, and any other path becomes ``<path>`` (its file suffix kept: ``<path>.jpg``).
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from clearbg_desktop.core.build_info import build_info, model_versions
from clearbg_desktop.core.paths import config_dir, data_dir, log_dir, read_user_file, user_models_dir

REPORT_PREFIX = "crash-"
KEEP_REPORTS = 20  # older reports are deleted: a crash in a paint loop must not fill the disk
LOG_LINES = 40
MAX_MESSAGE = 2000  # an exception's message can be long (a numpy repr): cut, the traceback is what matters

_QUOTED_PATH = re.compile(r"""(['"])((?:~[\\/]|[A-Za-z]:[\\/]|\\\\|/)[^'"\n]*)\1""")
_BARE_PATH = re.compile(r"""(?<![\w<>.:/\\])(?:~|[A-Za-z]:)?[\\/](?![\\/]*\s)[^\s'"<>(),;]+""")
_PATH_TAIL = re.compile(r"""<path>(?:\.\w+)?(?: [^\s'"<>\\/]+(?:[\\/][^\s'"<>\\/]*)+)+""")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,5}$")


_unexpected_handler: Callable[[BaseException, str], object] | None = None


def set_unexpected_handler(handler: Callable[[BaseException, str], object] | None) -> None:
    """The window's crash reporter registers here (None: none, e.g. the CLI or tests without a window)."""
    global _unexpected_handler
    _unexpected_handler = handler


#: Errors a job meets without a bug: out of memory, a full disk or a file it may not read. The job says them; they
#: are no crash report.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (MemoryError, OSError)


def note_unexpected(exc: BaseException, where: str) -> None:
    """For a worker's catch-all ``except Exception``: the job still tells the user as before, and an error of no
    kind it expects (a bug, not a bad photo) also makes a crash report. Never raises."""
    handler = _unexpected_handler
    if handler is None or isinstance(exc, EXPECTED_ERRORS):
        return
    try:
        handler(exc, where)
    except Exception:  # a report must never break the job that had the error
        pass


def app_folders() -> dict[str, Path]:
    """Placeholder -> folder: ClearBG's own folders, which a report may name (as the placeholder)."""
    frozen = getattr(sys, "_MEIPASS", None)
    install = Path(sys.executable).parent if getattr(sys, "frozen", False) else Path(__file__).resolve().parents[2]
    folders = {"<app>": install, "<logs>": log_dir(), "<config>": config_dir(), "<data>": data_dir(),
               "<models>": user_models_dir(), "<python>": Path(sys.prefix), "<python-base>": Path(sys.base_prefix)}
    if frozen:
        folders["<app-internal>"] = Path(frozen)
    return folders


def _hidden(match: re.Match[str], group: int) -> str:
    suffix = _SUFFIX.search(match.group(group))
    return "<path>" + (suffix.group(0) if suffix else "")


def scrub(text: str, folders: Mapping[str, Path] | None = None) -> str:
    """``text`` with ClearBG's folders named by placeholder and every other absolute path replaced by ``<path>``.

    Quoted paths go whole (they may hold spaces: ``'/home/ann/My Photos/x.jpg'``); a bare path ends at a space.
    The home folder goes as ``<home>`` first, with the rest of that line up to a quote, so a bare path with spaces
    inside it leaks no folder name either."""
    roots = folders if folders is not None else app_folders()
    pairs = sorted(((str(path), name) for name, path in roots.items() if str(path) not in ("", "/", ".")),
                   key=lambda pair: -len(pair[0]))
    for path, name in pairs:
        text = text.replace(path, name)
        if os.sep == "\\":  # Windows tracebacks can write either separator
            text = text.replace(path.replace("\\", "/"), name)
    text = _QUOTED_PATH.sub(lambda m: m.group(1) + _hidden(m, 2) + m.group(1), text)
    home = str(Path.home())
    if home not in ("", "/"):
        text = re.sub(re.escape(home) + r"""(?:[\\/][^'"\n]*)?""", "<path>", text)
    text = _BARE_PATH.sub(lambda m: _hidden(m, 0), text)
    # A bare path with spaces ends early: what follows it up to the next slash-free word goes too.
    return _PATH_TAIL.sub(lambda m: _hidden(m, 0), text)


def log_tail(path: Path | None = None, lines: int = LOG_LINES) -> list[str]:
    """The log's last ``lines`` lines (read from its end, so a large log costs nothing)."""
    path = path or log_dir() / "clearbg.log"
    try:
        data = read_user_file(path, 2_000_000)
    except OSError:
        return []
    return data[-64_000:].decode("utf-8", errors="replace").splitlines()[-lines:]


def report_text(kind: type[BaseException], value: BaseException, tb: TracebackType | None, *, where: str,
                context: Mapping[str, str] | None = None, log_lines: list[str] | None = None,
                folders: Mapping[str, Path] | None = None) -> str:
    """The whole report, scrubbed: header lines, the traceback, the log's last lines."""
    info = build_info()
    qt = ""
    try:
        from importlib.metadata import version

        qt = f", PySide6 {version('PySide6-Essentials')}"
    except Exception:  # not installed under that name: the report goes without it
        pass
    header = [
        "ClearBG crash report",
        f"When: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC",
        f"Where: {where}",
        f"Version: ClearBG {info['version']}, commit {info['commit']}"
        + (f", built {info['built']}" if info["built"] else "") + (" (bundle)" if getattr(sys, "frozen", False)
                                                                   else " (from source)"),
        f"OS: {platform.platform()} ({platform.machine()}), Python {platform.python_version()}{qt}",
    ]
    header += [f"{key}: {val}" for key, val in (context or {}).items()]
    header += [f"Installed model {line}" for line in model_versions()]
    header.append(f"Last self-test: {last_self_test() or '(none run here; clearbg --self-test runs one)'}")
    formatted = traceback.format_exception(kind, value, tb)
    body = "".join(formatted)
    message = "".join(traceback.format_exception_only(kind, value))
    if len(message) > MAX_MESSAGE:
        body = body.replace(message, message[:MAX_MESSAGE] + " … (cut)\n")
    lines = header + ["", "Traceback:", body.rstrip(), "", f"Last {LOG_LINES} log lines:"]
    lines += (log_lines if log_lines is not None else log_tail()) or ["(none)"]
    return scrub("\n".join(lines) + "\n", folders)


SELF_TEST_FILE = "last-self-test.txt"


def remember_self_test(line: str, folder: Path | None = None) -> None:
    """``clearbg --self-test``'s line, kept in the log folder so a later crash report can say whether this install
    worked (running the model again while reporting a crash could fail the same way). Never raises."""
    try:
        folder = folder or log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (folder / SELF_TEST_FILE).write_text(f"{stamp}: {line[:500]}\n", encoding="utf-8")
    except OSError:
        pass


def last_self_test(folder: Path | None = None) -> str:
    """The last self-test's line, or "" (none run, or unreadable)."""
    try:
        path = (folder or log_dir()) / SELF_TEST_FILE
        if not path.is_file() or path.stat().st_size > 4096:
            return ""
        return path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[0]
    except (OSError, IndexError):
        return ""


def write_report(text: str, folder: Path | None = None) -> Path:
    """Keep the report in the log folder as ``crash-<UTC time>.txt``; only the newest KEEP_REPORTS stay."""
    folder = folder or log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    path = folder / f"{REPORT_PREFIX}{stamp}-{time.time_ns() % 1_000_000_000:09d}.txt"
    path.write_text(text, encoding="utf-8")
    for old in sorted(folder.glob(f"{REPORT_PREFIX}*.txt"))[:-KEEP_REPORTS]:
        try:
            old.unlink()
        except OSError:
            pass
    return path
