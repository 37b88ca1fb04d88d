"""Where the window opens and how big: each screen scale keeps its own geometry and dock layout, and a window
restored too small or larger than the screen opens at the default size instead."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

# A restored window smaller than this (of the screen, up to a ceiling) or larger than the screen opens at the
# default size instead: a window made small at 200 % is a postage stamp at 100 %.
MIN_WINDOW_SHARE, MIN_WINDOW_CEILING = 0.5, (900, 600)
DEFAULT_WINDOW_SHARE, DEFAULT_WINDOW_CEILING = 0.85, (1600, 1000)


def scale_group(window: QMainWindow) -> str:
    """Where this screen scale's geometry and dock layout are kept: sizes in logical pixels mean another
    window at 150 % than at 100 %, so each scale keeps its own."""
    ratio = window.screen().devicePixelRatio() if window.screen() is not None else 1.0
    return f"scale{round(ratio * 100)}"


def restore_window_state(window: QMainWindow, qsettings: QSettings) -> None:
    """The saved geometry and dock layout; a value that is not one (the file is anyone's to edit) is ignored."""
    group = scale_group(window)
    geometry = qsettings.value(f"{group}/geometry")
    restored = isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)
    if not restored or not fits_the_screen(window):
        default_size(window)
    state = qsettings.value(f"{group}/windowState")
    if isinstance(state, QByteArray):
        window.restoreState(state)


def save_window_state(window: QMainWindow, qsettings: QSettings) -> None:
    group = scale_group(window)
    qsettings.setValue(f"{group}/geometry", window.saveGeometry())
    qsettings.setValue(f"{group}/windowState", window.saveState())


def fits_the_screen(window: QMainWindow) -> bool:
    if window.isMaximized() or window.isFullScreen() or window.screen() is None:
        return True
    screen = window.screen().availableGeometry()
    if screen.width() <= 0:
        return True
    low_w = min(MIN_WINDOW_CEILING[0], int(screen.width() * MIN_WINDOW_SHARE))
    low_h = min(MIN_WINDOW_CEILING[1], int(screen.height() * MIN_WINDOW_SHARE))
    frame = window.frameGeometry()
    return (low_w <= window.width() and frame.width() <= screen.width() and low_h <= window.height()
            and frame.height() <= screen.height() and screen.intersects(frame))


def default_size(window: QMainWindow) -> None:
    screen = window.screen().availableGeometry() if window.screen() is not None else None
    if screen is None or screen.width() <= 0:
        window.resize(1280, 820)
        return
    window.resize(min(DEFAULT_WINDOW_CEILING[0], int(screen.width() * DEFAULT_WINDOW_SHARE)),
                  min(DEFAULT_WINDOW_CEILING[1], int(screen.height() * DEFAULT_WINDOW_SHARE)))
    window.move(screen.center() - window.rect().center())
