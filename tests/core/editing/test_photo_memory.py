"""A shoot in bounded memory (#32): which photos give their pixels back, the exact round trip of their masks,
exports of evicted photos decoded again from their files, a vanished file, and the order masks are made in."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.core.editing.document import Document, PackedMasks, PhotoGoneError, export_document, reload_photo
from clearbg_desktop.core.editing.mask_queue import MaskQueue
from clearbg_desktop.core.editing.memory_budget import (
    MAX_BUDGET_MIB,
    MIB,
    MIN_BUDGET_MIB,
    Residency,
    clamp_budget_mib,
    default_budget_mib,
    rss_bytes,
)
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import LoadedImage, load_image
from clearbg_desktop.core.settings import AppSettings
from tests.conftest import make_photo


def _opened(path: Path, seed: int = 0) -> Document:
    make_photo((200, 150), seed).save(path, quality=92)
    document = Document(title=path.name, path=path)
    loaded = load_image(path)
    document.set_photo(loaded, np.asarray(loaded.rgb))
    rng = np.random.default_rng(seed)
    document.set_prediction(rng.integers(0, 256, (150, 200), dtype=np.uint8))
    return document


def test_the_default_budget_is_a_quarter_of_the_ram_capped_and_settings_are_clamped(tmp_path: Path) -> None:
    assert default_budget_mib(8 << 30) == 2048
    assert default_budget_mib(64 << 30) == 4096  # capped
    assert default_budget_mib(1 << 30) == MIN_BUDGET_MIB
    assert clamp_budget_mib(10) == MIN_BUDGET_MIB and clamp_budget_mib(10**9) == MAX_BUDGET_MIB
    assert clamp_budget_mib("lots") == default_budget_mib() and clamp_budget_mib(True) == default_budget_mib()
    assert (rss_bytes() or 1) > 0
    settings = AppSettings()
    settings.memory_budget_mib = 3000
    settings.save()
    assert AppSettings.load().memory_budget_mib == 3000
    AppSettings.path().write_text('{"memory_budget_mib": -5}', encoding="utf-8")
    assert AppSettings.load().memory_budget_mib == MIN_BUDGET_MIB


def test_residency_keeps_the_recent_photos_within_the_budget() -> None:
    residency = Residency(budget_bytes=300 * MIB, keep_recent=2, small_bytes=0)
    for doc_id in (1, 2, 3, 4, 5):
        residency.touch(doc_id)
    resident = {doc_id: 100 * MIB for doc_id in (1, 2, 3, 4, 5)}
    # 5 on screen (pinned); 3 and 4 are the recent ones; 1 and 2 go, least recently shown first
    assert residency.evictions(resident, 0, pinned={5}) == [1, 2]
    # a tighter budget takes the older of the recent ones too
    assert residency.evictions(resident, 50 * MIB, pinned={5}) == [1, 2, 3]
    residency.touch(1)  # shown again: now the most recent
    assert residency.evictions(resident, 0, pinned={5}) == [2, 3]
    assert residency.evictions(resident, 0, pinned={1, 2, 3, 4, 5}) == []
    resident[9] = 100 * MIB  # decoded for its mask, never shown: not kept as a recent photo
    assert residency.evictions(resident, 0, pinned={5}) == [9, 2, 3]
    residency.small_bytes, residency.budget_bytes = 200 * MIB, 400 * MIB  # small ones stay within the budget
    assert residency.evictions(resident, 0, pinned={5}) == [9, 2]


def test_masks_and_edits_survive_an_eviction_exactly(tmp_path: Path) -> None:
    document = _opened(tmp_path / "a.jpg")
    document.alpha[10:40, 20:60] = 7  # an edit
    alpha, predicted = document.alpha.copy(), document.predicted.copy()
    full = document.resident_bytes()
    document.evict()
    assert document.evicted and document.loaded is None and not document.ready and document.has_mask
    assert document.resident_bytes() == 0 and 0 < document.kept_bytes() < full
    assert np.array_equal(document.mask_for_export(), alpha) and document.resident_bytes() == 0  # still packed
    document.set_photo(reload_photo(document))
    assert document.ready and np.array_equal(document.alpha, alpha) and np.array_equal(document.predicted, predicted)
    document.alpha[0, 0] = 1  # inflated arrays are writable: the brush paints into them


def test_export_of_an_evicted_photo_decodes_it_again_and_matches_the_resident_export(tmp_path: Path) -> None:
    documents = [_opened(tmp_path / f"p{i}.jpg", seed=i) for i in range(3)]
    options = ExportOptions()
    expected = [np.asarray(Image.open(export_document(d, tmp_path / f"kept{i}.png", options)))
                for i, d in enumerate(documents)]
    for document in documents[:2]:
        document.evict()
    for i, document in enumerate(documents):  # "export all"
        written = export_document(document, tmp_path / f"out{i}.png", options)
        assert np.array_equal(np.asarray(Image.open(written)), expected[i])
    assert documents[0].evicted and documents[1].evicted  # exporting did not bring the pixels back


def test_a_vanished_or_replaced_file_gives_one_clear_line_and_keeps_the_mask(tmp_path: Path) -> None:
    document = _opened(tmp_path / "gone.jpg")
    alpha = document.alpha.copy()
    document.evict()
    (tmp_path / "gone.jpg").unlink()
    with pytest.raises(PhotoGoneError, match="missing.*mask and edits are kept"):
        reload_photo(document)
    with pytest.raises(PhotoGoneError):
        export_document(document, tmp_path / "out.png", ExportOptions())
    assert np.array_equal(document.mask_for_export(), alpha) and document.evicted
    make_photo((300, 100)).save(tmp_path / "gone.jpg")  # another photo under the same name
    with pytest.raises(PhotoGoneError, match="changed|no longer"):
        reload_photo(document)


def test_a_same_size_file_rewritten_with_its_time_kept_is_noticed(tmp_path: Path) -> None:
    """D16 (hostile-inputs round 4): ``cp -p``/``rsync -t`` of an edited copy keeps size and mtime; the content
    hash taken at open still tells it apart, and the export refuses it instead of writing the other photo."""
    path = tmp_path / "p02.jpg"
    document = _opened(path)
    document.evict()
    before = os.stat(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same length, other pixels
    path.write_bytes(bytes(data))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size and os.stat(path).st_mtime_ns == before.st_mtime_ns
    with pytest.raises(PhotoGoneError, match="changed since it was opened"):
        reload_photo(document)
    with pytest.raises(PhotoGoneError):
        export_document(document, tmp_path / "out.png", ExportOptions())
    assert not (tmp_path / "out.png").exists()
    os.utime(path, None)  # the original bytes back under a new time: the same photo, accepted
    path.write_bytes(bytes(data[: len(data) // 2]) + bytes([data[len(data) // 2] ^ 0xFF]) + bytes(data[len(data) // 2 + 1:]))
    assert reload_photo(document).size == (200, 150)


def test_pasted_photos_keep_their_pixels() -> None:
    document = Document(title="Pasted image 1")
    document.set_photo(LoadedImage(rgb=Image.new("RGB", (30, 20))))
    document.set_prediction(np.zeros((20, 30), np.uint8))
    document.evict()
    assert document.loaded is not None and not document.evicted and document.has_mask


def test_the_photo_on_screen_then_its_neighbours_go_first() -> None:
    queue = MaskQueue()
    order = list(range(1, 11))
    for doc_id in order:
        queue.add(doc_id)
    assert queue.total == 10 and queue.progress_text() == "masks 0 of 10"
    taken = []
    while (doc_id := queue.take_next(order, current=6)) is not None:
        taken.append(doc_id)
        queue.finished_one()
        if len(taken) == 3:
            queue.paused = True
            assert queue.take_next(order, 6) is None and queue.progress_text() == "masks 3 of 10 (paused)"
            queue.paused = False
    assert taken == [6, 7, 5, 8, 4, 9, 3, 10, 2, 1]
    assert queue.progress_text() == ""


def test_closing_drops_pending_work_and_cancel_drops_the_rest() -> None:
    queue = MaskQueue()
    for doc_id in (1, 2, 3, 4):
        queue.add(doc_id)
    queue.discard(2)
    assert 2 not in queue and queue.total == 3
    assert queue.take_next([1, 2, 3, 4], current=None) == 1
    queue.finished_one()
    assert queue.cancel() == 2 and queue.take_next([1, 2, 3, 4], None) is None
    assert queue.progress_text() == ""
    queue.add(4)  # a new round counts from zero
    assert (queue.done, queue.total) == (0, 1)


def test_packed_masks_are_exact_for_any_values_and_shapes() -> None:
    """Row differences wrap mod 256: noise, hard edges, one row, one column all come back bit for bit."""
    rng = np.random.default_rng(3)
    for shape in ((1, 7), (9, 1), (61, 47)):
        alpha = rng.integers(0, 256, shape, dtype=np.uint8)
        predicted = np.where(alpha > 128, 255, 0).astype(np.uint8)
        packed = PackedMasks.pack(alpha, predicted)
        back, back_predicted = packed.unpack()
        assert np.array_equal(back, alpha) and np.array_equal(back_predicted, predicted)
        assert back.flags.writeable and back_predicted is not None and back_predicted.flags.writeable
    smooth = np.asarray(Image.fromarray(rng.integers(0, 256, (20, 20), dtype=np.uint8)).resize((600, 400)))
    assert len(PackedMasks.pack(smooth, smooth).alpha) < len(zlib.compress(smooth.data, 1))
