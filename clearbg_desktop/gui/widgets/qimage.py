"""numpy <-> QImage, copying so Qt never points into memory numpy may free."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QGuiApplication, QImage

from clearbg_desktop.core.imaging.loading import LoadedImage


def array_to_qimage(array: np.ndarray) -> QImage:
    """HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA, straight alpha) uint8 -> an owning QImage."""
    array = np.ascontiguousarray(array)
    height, width = array.shape[:2]
    if array.ndim == 2:
        fmt, channels = QImage.Format.Format_Grayscale8, 1
    elif array.shape[2] == 3:
        fmt, channels = QImage.Format.Format_RGB888, 3
    else:
        fmt, channels = QImage.Format.Format_RGBA8888, 4
    image = QImage(array.data, width, height, width * channels, fmt)
    return image.copy()


def qimage_to_rgba_array(image: QImage) -> np.ndarray:
    """Any QImage -> HxWx4 uint8 RGBA (e.g. a pasted clipboard image)."""
    converted = image.convertToFormat(QImage.Format.Format_RGBA8888)
    width, height = converted.width(), converted.height()
    buffer = np.frombuffer(converted.constBits(), np.uint8, count=converted.sizeInBytes())
    return buffer.reshape(height, converted.bytesPerLine())[:, : width * 4].reshape(height, width, 4).copy()


def loaded_from_clipboard() -> LoadedImage | None:
    """The clipboard's image as a photo (its alpha kept when it has one), or None."""
    image = QGuiApplication.clipboard().image()
    if image.isNull():
        return None
    rgba = qimage_to_rgba_array(image)
    alpha = rgba[..., 3]
    return LoadedImage(rgb=Image.fromarray(rgba[..., :3].copy(), "RGB"),
                       source_alpha=None if alpha.min() == 255 else Image.fromarray(alpha.copy(), "L"))
