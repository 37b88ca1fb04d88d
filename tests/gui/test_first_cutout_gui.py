"""#37 point 1 in the window: on a machine that never timed the engines, the first photo is cut out by the fp32
reference at once; the engines are timed when the window is idle, and the winner runs the next photo."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from clearbg_desktop.core.inference.engine_choice import read_measurements
from clearbg_desktop.core.inference.weights import find_weights
from clearbg_desktop.gui.window.main_window import MainWindow
from tests.conftest import make_photo

WAIT_MS = 60_000


@pytest.fixture
def any_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARBG_ENGINE")  # both engines are candidates, as for a user


@pytest.mark.slow
@pytest.mark.parametrize("set_up_copies", [False, True])
def test_the_first_photo_never_waits_for_the_engine_timing(
        any_engine: None, qtbot: QtBot, random_weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        set_up_copies: bool) -> None:
    """With the set-up's ONNX Runtime copy the reference runs on it, and the timing is still kept under the
    installed file's hash (it was kept under the copy's, so every start timed the engines again)."""
    from clearbg_desktop.core.settings import AppSettings

    if set_up_copies:
        import shutil

        from clearbg_desktop.core.inference.engines import prepare_bundled_onnx_copies

        shutil.copytree(random_weights.parent, tmp_path / "resources")
        monkeypatch.setenv("CLEARBG_RESOURCES", str(tmp_path / "resources"))
        prepare_bundled_onnx_copies()
    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    photo = tmp_path / "first.jpg"
    make_photo((320, 240)).save(photo)
    measuring: list[str] = []
    window.inference.worker.model_loading.connect(lambda text: measuring.append(text))
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    assert read_measurements(find_weights("small")) == {}, "the engines were timed before the first mask"
    assert not any("Measuring" in text for text in measuring)
    assert "reference" in window.results.model_description
    assert ("ONNX Runtime" in window.results.model_description) == set_up_copies
    qtbot.waitUntil(lambda: "fastest of 2" in window.results.model_description, timeout=WAIT_MS)  # said at once
    assert read_measurements(find_weights("small"))["seconds"]  # timed while idle, kept for the next start
    second = tmp_path / "second.jpg"
    make_photo((320, 240), seed=2).save(second)
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([second])
    assert not window.inference.worker.segmenter.untimed
    window.quit_guard.confirmed = True
    window.close()


@pytest.mark.slow
def test_quitting_while_the_engines_are_timed_leaves_no_thread(
        any_engine: None, qtbot: QtBot, random_weights: Path, tmp_path: Path) -> None:
    from clearbg_desktop.core.settings import AppSettings

    photo = tmp_path / "first.jpg"
    make_photo((320, 240)).save(photo)
    window = MainWindow(AppSettings(device="cpu"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.document_ready, timeout=WAIT_MS):
        window.open_paths([photo])
    qtbot.waitUntil(lambda: any(t.name.startswith("clearbg-engine-timer") for t in threading.enumerate()),
                    timeout=WAIT_MS)
    qtbot.wait(3500)  # idle long enough for the timing runs to start
    window.quit_guard.confirmed = True
    window.close()
    assert not [t.name for t in threading.enumerate() if t.name.startswith("clearbg-engine-timer") and t.is_alive()]
