"""Photos shown in the screen's colours, not their own.

Why: a wide-gamut photo (Adobe RGB, Display P3) holds its colours in its own space; drawn as if they were
sRGB, they look washed out. What is shown (canvas, thumbnails, previews) is converted from the photo's ICC
profile with ``QColorSpace``; the photo's own values, which the model and every export use, are never
changed. Qt gives no screen profile to convert to, so the target is sRGB, what Qt and the platforms assume
for a window's pixels.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QByteArray
from PySide6.QtGui import QColorSpace, QImage

from clearbg_desktop.gui.widgets.qimage import array_to_qimage

DISPLAY_SPACE = QColorSpace(QColorSpace.NamedColorSpace.SRgb)


def photo_space(icc_profile: bytes | None) -> QColorSpace | None:
    """The photo's colour space when it differs from the display's; None for untagged, sRGB or unreadable."""
    if not icc_profile:
        return None
    space = QColorSpace.fromIccProfile(QByteArray(icc_profile))
    if not space.isValid() or space == DISPLAY_SPACE:
        return None
    return space


def to_display(pixels: np.ndarray, icc_profile: bytes | None) -> np.ndarray:
    """HxWx3 uint8 in the photo's colours -> the same in display colours (the same array when nothing to do)."""
    space = photo_space(icc_profile)
    if space is None:
        return pixels
    image = array_to_qimage(pixels)
    image.setColorSpace(space)
    image.convertToColorSpace(DISPLAY_SPACE)
    converted = image.convertToFormat(QImage.Format.Format_RGB888)
    height, width = converted.height(), converted.width()
    buffer = np.frombuffer(converted.constBits(), np.uint8, count=converted.sizeInBytes())
    return buffer.reshape(height, converted.bytesPerLine())[:, :width * 3].reshape(height, width, 3).copy()
