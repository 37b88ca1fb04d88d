"""The layering rules that need a running interpreter: a Qt-free core and CLI, no torch for --help.

The static checks (ruff, mypy, the import-linter contracts) run from ``.ci/run`` before the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_core_and_cli_run_without_loading_qt() -> None:
    code = (
        "import sys, clearbg_desktop.core.batch, clearbg_desktop.core.editing.document, clearbg_desktop.core.editing.preview, "
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


def _import_cycles(package: str) -> list[list[str]]:
    """Groups of modules in ``package`` that import each other round in a circle (Tarjan's strongly connected
    components over grimp's graph; imports inside functions and under TYPE_CHECKING count too)."""
    import grimp

    # No cache: grimp's .grimp_cache went stale here after files changed and kept reporting a removed cycle.
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & set(modules)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_in_the_app_or_training(monkeypatch) -> None:
    """A newcomer can read each package bottom-up: no circle of imports, type-only imports included."""
    monkeypatch.syspath_prepend(str(REPO))
    for package in ("clearbg_desktop", "training"):
        assert _import_cycles(package) == [], package


def test_the_cycle_finder_sees_a_type_only_cycle(tmp_path, monkeypatch) -> None:
    """The check above can fail: two modules that import each other only for typing form a cycle."""
    package = tmp_path / "circle_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circle_pkg import second\n")
    (package / "second.py").write_text("from circle_pkg import first\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _import_cycles("circle_pkg") == [["circle_pkg.first", "circle_pkg.second"]]
