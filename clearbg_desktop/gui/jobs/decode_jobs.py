"""Thumbnails and re-decodes of evicted photos on the thread pool, reported through signals."""


from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from clearbg_desktop.core.crash_report import note_unexpected
from clearbg_desktop.core.editing.document import Document, reload_photo
from clearbg_desktop.core.imaging.loading import ImageLoadError
from clearbg_desktop.core.imaging.thumbnails import quick_thumbnail
from clearbg_desktop.gui.jobs.decoded_views import FULL_DECODES, THUMBNAIL_SIZE, decoded_views
from clearbg_desktop.gui.widgets.colour_space import to_display


class DecodeSignals(QObject):
    """Signals (delivered in the receiver's thread):
        thumbnailed(int, object): doc id, a thumbnail (HxWx3 uint8, display colours).
        decoded(int, object, object): doc id, LoadedImage, DecodedViews.
        failed(int, str): doc id, a message for the user.
    """

    thumbnailed = Signal(int, object)
    decoded = Signal(int, object, object)
    failed = Signal(int, str)


# Plain functions for a ThreadPoolExecutor (as the canvas's renders): a self-deleting QRunnable holding Python
# objects crashed the interpreter ("deallocating None") once a few dozen had run.
def thumbnail_job(signals: DecodeSignals, doc_id: int, path: Path) -> None:
    """A filmstrip thumbnail from the EXIF thumbnail or a draft decode (``core.imaging.thumbnails``)."""
    try:
        quick = quick_thumbnail(path, THUMBNAIL_SIZE)
    except ImageLoadError:
        return  # the full decode reports what is wrong with the photo
    signals.thumbnailed.emit(doc_id, to_display(np.asarray(quick.image), quick.icc_profile))


def decode_job(signals: DecodeSignals, document: Document) -> None:
    """Decode a photo at full resolution again (it was evicted, or is shown before the model reached it)."""
    try:
        with FULL_DECODES:
            loaded = reload_photo(document)
        views = decoded_views(loaded, previews=document.preview is None)
    except ImageLoadError as exc:
        signals.failed.emit(document.doc_id, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - the user must hear of it, not find a blank canvas
        note_unexpected(exc, "decoding a photo")  # a bug, not a bad photo: a crash report too
        signals.failed.emit(document.doc_id, f"{document.title}: {type(exc).__name__}: {exc}")
        return
    signals.decoded.emit(document.doc_id, loaded, views)
