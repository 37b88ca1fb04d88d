"""The Qt binding itself: PySide6-Essentials 6.12.0 took a reference from None on every call of a method that
returns nothing (QPainter.save, fillRect, setOpacity…) on Python 3.11, and the app aborted with "deallocating
None" after a few thousand paints (found scrolling the shoot's grid, bench/bench_grid.py). pyproject keeps it
out; this fails on any binding that does it again."""

from __future__ import annotations

import sys

from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage, QPainter


def test_calls_returning_nothing_leave_none_alone() -> None:
    image = QImage(32, 32, QImage.Format.Format_ARGB32)
    colour = QColor(10, 20, 30)
    painter = QPainter(image)
    try:
        before = sys.getrefcount(None)
        for _ in range(500):
            painter.save()
            painter.fillRect(QRect(0, 0, 8, 8), colour)
            painter.restore()
        lost = before - sys.getrefcount(None)
    finally:
        painter.end()
    assert lost < 50, f"the Qt binding took {lost} references from None in 1,500 calls"
