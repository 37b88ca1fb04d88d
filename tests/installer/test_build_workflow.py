"""The CI workflow that builds the standalone app on Linux, Windows and macOS (issue #41): each job builds, runs the
bundle's --self-test and a smoke test, packages what users download and uploads it; each bundle carries its OS's
GPU provider. Read from the YAML, so a job that stops calling its smoke test fails here, not months later."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "build.yml"
SMOKE = {"linux": "installer/smoke.sh", "windows": ".github/scripts/smoke-bundle.sh",
         "macos": ".github/scripts/smoke-bundle.sh"}


def jobs() -> dict[str, dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request", "workflow_dispatch"} <= set(triggers)
    return workflow["jobs"]


def runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def uploaded(job: dict) -> list[str]:
    [upload] = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload["with"]["if-no-files-found"] == "error"  # a package that was not made fails the job
    return upload["with"]["path"].split()


def test_each_os_builds_smoke_tests_and_uploads_what_users_download() -> None:
    found = jobs()
    assert set(found) == {"linux", "windows", "macos"}
    assert found["linux"]["runs-on"].startswith("ubuntu-")
    assert found["windows"]["runs-on"].startswith("windows-")
    assert found["macos"]["runs-on"].startswith("macos-") and 'test "$(uname -m)" = arm64' in runs(found["macos"])
    for name, job in found.items():
        script = runs(job)
        assert SMOKE[name] in script, f"{name} does not run its smoke test"
        assert "--self-test" in (REPO / SMOKE[name]).read_text(encoding="utf-8")
        assert job["timeout-minutes"] <= 90
    assert any(p.endswith("linux-*.tar.gz") for p in uploaded(found["linux"]))
    windows = runs(found["windows"])
    assert "installer/build.py" in windows and r"iscc installer\windows\clearbg.iss" in windows
    assert "Compress-Archive" in windows and '"--self-test"' in windows  # the installed app, after a silent install
    assert {p.rsplit("-", 1)[-1] for p in uploaded(found["windows"]) if p.startswith("dist/ClearBG-")} == {
        "x64.zip", "setup.exe"}
    macos = runs(found["macos"])
    assert "installer/macos/make_icns.sh" in macos and "installer/macos/make_dmg.sh" in macos
    assert "hdiutil attach" in macos and "--self-test" in macos  # the app from the mounted image
    assert any(p.endswith("macos-arm64.dmg") for p in uploaded(found["macos"]))


def test_each_bundle_carries_its_oss_gpu_provider_and_no_torch() -> None:
    found = jobs()
    windows = runs(found["windows"])
    assert "pip uninstall --yes onnxruntime" in windows and "install --quiet onnxruntime-directml" in windows
    assert re.search(r"smoke-bundle\.sh dist/ClearBG DirectML\.dll", windows)
    assert re.search(r'smoke-bundle\.sh dist/ClearBG\.app/Contents/MacOS "libonnxruntime\.\*\.dylib"',
                     runs(found["macos"]))
    smoke = (REPO / ".github" / "scripts" / "smoke-bundle.sh").read_text(encoding="utf-8")
    assert "torch leaked into the bundle" in smoke and "engine-speeds.json" in smoke
    pinned = re.search(r'"torch==([0-9.]+)"', (REPO / "installer" / "smoke.sh").read_text(encoding="utf-8"))
    assert pinned and yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["env"]["TORCH_VERSION"] == pinned[1]


def test_every_file_the_workflow_names_exists() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    for path in sorted(set(re.findall(r"(?<![\w/])(?:installer|\.github)[/\\][\w./\\-]+\.(?:sh|py|iss)", text))):
        assert (REPO / path.replace("\\", "/")).is_file(), path


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed (CI has none; "
                    "its check of this file is in the commit that changed it)")
def test_actionlint_finds_nothing() -> None:
    result = subprocess.run(["actionlint", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
