"""installer/dev-setup.sh names every system library Qt's window needs that is missing (issue #19, point 9)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_setup_names_the_missing_qt_libraries(tmp_path: Path) -> None:
    """Run only the check (a fake ldconfig that knows libxcb-cursor but not icccm/keysyms), not the install."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "ldconfig").write_text("#!/bin/sh\necho '\tlibxcb-cursor.so.0 (libc6,x86-64) => /usr/lib/libxcb-cursor.so.0'\n")
    (fake_bin / "ldconfig").chmod(0o755)
    script = (REPO / "installer" / "dev-setup.sh").read_text()
    check = script[script.index("# Qt's X11/Wayland plugin"):script.index('echo "ClearBG installed in .venv')]
    result = subprocess.run(["bash", "-c", check], env={**os.environ, "PATH": f"{fake_bin}:/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "sudo apt-get install" in result.stdout
    assert "libxcb-icccm4" in result.stdout and "libxcb-keysyms1" in result.stdout
    assert "libxcb-cursor0" not in result.stdout  # present: not asked for
