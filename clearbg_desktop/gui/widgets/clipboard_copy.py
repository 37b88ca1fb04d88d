"""Edit ▸ Copy cut-out (Ctrl+C): the cut-out on the clipboard with its transparency.

Why two forms: Photoshop, GIMP, Figma, Keynote, mail clients and Qt apps read ``image/png`` and keep the
transparency; apps that take only a plain clipboard image (BMP, a Windows DIB, JPEG) get the cut-out composed on
white. Offered with its alpha, the plain forms showed the whole photo wherever the alpha was dropped, and the
half-transparent background (a bench behind the subject) fully (found reading the clipboard back under Xvfb).
The pixels are what Export writes as a full-size transparent PNG: the photo's own refine settings apply.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication, QImage

from clearbg_desktop.core.editing.document import Document
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.output_file import render_output


def cutout_mime_data(document: Document, options: ExportOptions | None = None) -> QMimeData:
    """The photo's cut-out as PNG bytes and as a plain image, ready for the clipboard."""
    assert document.loaded is not None and document.alpha is not None
    refine = (options or document.export_options or ExportOptions()).refine
    picture = render_output(document.loaded, document.alpha_image(),
                            ExportOptions(format="png", background=Background(), refine=refine)).convert("RGBA")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", compress_level=1)
    on_white = Image.alpha_composite(Image.new("RGBA", picture.size, (255, 255, 255, 255)), picture).convert("RGB")
    rgb = np.ascontiguousarray(np.asarray(on_white))
    image = QImage(rgb.data, picture.width, picture.height, picture.width * 3, QImage.Format.Format_RGB888).copy()
    mime = QMimeData()
    mime.setData("image/png", buffer.getvalue())
    mime.setImageData(image)
    return mime


def copy_cutout(document: Document | None, options: ExportOptions | None = None) -> str:
    """Put ``document``'s cut-out on the clipboard; returns the status line to show."""
    if document is None or document.loaded is None or document.alpha is None:
        return "Nothing to copy: open a photo and wait for its mask"
    QGuiApplication.clipboard().setMimeData(cutout_mime_data(document, options))
    width, height = document.loaded.rgb.size
    return f"Copied the cut-out of {document.title} ({width}×{height}, with transparency)"
