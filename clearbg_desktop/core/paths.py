"""Where ClearBG finds its bundled resources and keeps user files (platformdirs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "ClearBG"
APP_AUTHOR = "ClearBG"


def resources_dir() -> Path:
    """The ``resources/`` folder: frozen bundle, source checkout, or installed package data.

    ``CLEARBG_RESOURCES`` overrides it (tests, unusual installs).
    """
    override = os.environ.get("CLEARBG_RESOURCES")
    if override:
        return Path(override)
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    checkout = Path(__file__).resolve().parents[2] / "resources"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "resources"  # wheel: package data


def bundled_weights_dir() -> Path:
    return resources_dir() / "weights"


def user_models_dir() -> Path:
    """Extra or newer weights a user installs; same manifest format as the bundled folder."""
    override = os.environ.get("CLEARBG_USER_MODELS")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)) / "models"


def config_dir() -> Path:
    override = os.environ.get("CLEARBG_CONFIG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    override = os.environ.get("CLEARBG_LOG_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    """User data that is neither settings nor logs: autosaved projects (``CLEARBG_DATA_DIR`` overrides)."""
    override = os.environ.get("CLEARBG_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def autosave_dir() -> Path:
    return data_dir() / "autosave"
