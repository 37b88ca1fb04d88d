"""#38 in the window: a camera RAW and an iPhone HEIC dropped on the window open, get their masks and thumbnails,
and the Open dialog offers them in either case of their suffix."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from clearbg_desktop.gui.window.main_window import open_file_filters
from tests.conftest import make_photo
from tests.core.imaging.dng_maker import make_dng
from tests.gui.test_main_window import WAIT_MS, drop_files

if TYPE_CHECKING:
    from pytestqt.qtbot import QtBot

    from clearbg_desktop.gui.window.main_window import MainWindow


def test_the_open_dialog_offers_raw_heic_and_projects_in_either_case() -> None:
    filters = open_file_filters()
    everything = filters.split(";;")[0]
    for pattern in ("*.nef", "*.NEF", "*.cr3", "*.CR3", "*.dng", "*.heic", "*.HEIC", "*.avif", "*.JPG", "*.clearbg"):
        assert pattern in everything.split("(")[1].rstrip(")").split(), pattern
    assert any(part.startswith("Camera RAW (") for part in filters.split(";;"))


def test_a_dropped_raw_and_heic_open_with_masks_and_thumbnails(qtbot: QtBot, window: MainWindow,
                                                               tmp_path: Path) -> None:
    photo = make_photo((320, 240), seed=3)
    raw = make_dng(photo, tmp_path / "DSC_0001.DNG", orientation=6)
    heic = tmp_path / "IMG_0002.HEIC"
    photo.save(heic, format="HEIF")
    ready: list[object] = []
    window.document_ready.connect(ready.append)
    drop_files(window, [raw, heic])
    qtbot.waitUntil(lambda: len(ready) == 2, timeout=WAIT_MS)
    by_name = {document.title: document for document in window.workspace.documents}
    shot = by_name["DSC_0001.DNG"]
    assert shot.loaded is not None and shot.loaded.size == (240, 320)  # orientation 6 applied: upright
    assert shot.alpha is not None and shot.alpha.shape == (320, 240)
    assert by_name["IMG_0002.HEIC"].alpha is not None
    rows = window.filmstrip.strip.rows
    qtbot.waitUntil(lambda: all(row.thumbnail is not None for row in rows), timeout=WAIT_MS)
    thumbnail = rows[window.filmstrip.order().index(shot.doc_id)].thumbnail
    assert thumbnail is not None and thumbnail.height() > thumbnail.width()  # the embedded preview, upright too
    assert np.asarray(Image.open(heic)).shape == (240, 320, 3)
