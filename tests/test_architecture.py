"""The layering rules of docs/STYLE: a Qt-free core, and an app that never imports training."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(lint_imports).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run([lint_imports], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_and_cli_run_without_loading_qt() -> None:
    code = (
        "import sys, clearbg_desktop.core.batch, clearbg_desktop.core.document, clearbg_desktop.core.preview, "
        "clearbg_desktop.core.settings, clearbg_desktop.cli, clearbg_desktop.self_test; "
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'training'))]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=300)


def test_types_check_in_core_and_training() -> None:
    mypy = Path(sys.executable).with_name("mypy")
    if not mypy.exists():
        pytest.skip("mypy is not installed (pip install -e '.[dev]')")
    result = subprocess.run([str(mypy)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:]


def test_lint_is_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    result = subprocess.run([str(ruff), "check", "."], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_cli_starts_without_importing_torch() -> None:
    """`clearbg-cli --help` stays fast: torch (a second of imports) loads only when photos are processed."""
    import subprocess
    import sys

    code = "import sys, clearbg_desktop.cli as cli; cli.build_parser(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
