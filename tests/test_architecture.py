"""The layering rules that need a running interpreter: a Qt-free core and CLI, no torch for --help.

The static checks (ruff, mypy, the import-linter contracts) run from ``.ci/run`` before the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_core_and_cli_run_without_loading_qt() -> None:
    code = (
        "import sys, clearbg_desktop.core.batch, clearbg_desktop.core.document, clearbg_desktop.core.preview, "
        "clearbg_desktop.core.settings, clearbg_desktop.cli, clearbg_desktop.self_test; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'training'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300)


def test_the_cli_starts_without_importing_torch() -> None:
    """`clearbg-cli --help` stays fast: torch (a second of imports) loads only when photos are processed."""
    import subprocess
    import sys

    code = "import sys, clearbg_desktop.cli as cli; cli.build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
