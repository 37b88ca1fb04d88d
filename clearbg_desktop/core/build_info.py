"""What exactly is running: version, the git commit it was built from, and the models with their hashes.

Why: a crash report or a question from a user is only useful when it says which build and which weights; the
version number alone does not change between builds. The bundle carries ``resources/build-info.json``
(written by ``installer/build.py``); a source checkout asks git.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from clearbg_desktop import __version__
from clearbg_desktop.core.paths import read_user_file, resources_dir

BUILD_INFO = "build-info.json"


def build_info() -> dict[str, str]:
    """``{"version", "commit", "built"}``: from the bundle's file, else from git, else ``unknown``."""
    info = {"version": __version__, "commit": "unknown", "built": ""}
    try:
        data = json.loads(read_user_file(resources_dir() / BUILD_INFO, 64_000))
        if isinstance(data, dict):
            info.update({k: str(v) for k, v in data.items() if k in ("commit", "built") and isinstance(v, str)})
            return info
    except (OSError, ValueError):
        pass
    if getattr(sys, "frozen", False):
        return info
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / ".git").exists():
        info["commit"] = git_commit(checkout) or "unknown"
    return info


def git_commit(folder: Path) -> str | None:
    """The checkout's commit, short, with ``+changes`` when the tree differs from it (None: no git)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return commit.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def model_versions() -> list[str]:
    """One line per model the app can use: name, file, SHA-256 prefix, licence where its card names one."""
    from clearbg_desktop.core.inference.weights import WeightsError, available_models

    try:
        models = available_models()
    except WeightsError as exc:
        return [f"no models: {exc}"]
    lines = []
    for name, entry in sorted(models.items()):
        licence = entry.card.get("licence") if isinstance(entry.card.get("licence"), str) else None
        lines.append(f"{name}: {entry.path.name} SHA-256 {entry.short_hash}" + (f" ({licence})" if licence else ""))
    return lines


def version_text() -> str:
    """``clearbg --version``: several lines, the first one what a script greps for (``ClearBG 0.1.0``)."""
    info = build_info()
    lines = [f"ClearBG {info['version']}", f"commit {info['commit']}" + (f", built {info['built']}" if info["built"]
                                                                         else "")]
    lines += [f"model {line}" for line in model_versions()]
    return "\n".join(lines)


NOTICES = "THIRD_PARTY_NOTICES.txt"
MAX_NOTICES_BYTES = 20_000_000


def notices_text() -> str | None:
    """The bundle's third-party notices (written by the build); None where there are none (a source checkout)."""
    try:
        return read_user_file(resources_dir() / NOTICES, MAX_NOTICES_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
