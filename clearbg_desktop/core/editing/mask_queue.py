"""The photos waiting for their masks, and which goes next: the one on screen, then its neighbours.

Opening a shoot of 500 photos queues them all; the model works through one at a time, so the queue (not the
order of opening) decides what the user sees first. Pausing stops handing out work, cancelling drops what is
waiting, closing a photo drops its own. Qt-free, so the order is tested without a window.
"""

from __future__ import annotations

from collections.abc import Sequence


class MaskQueue:
    def __init__(self) -> None:
        self._waiting: set[int] = set()
        self.done = 0  # masks finished (or failed) since the queue was last empty
        self.total = 0  # photos queued since the queue was last empty
        self.paused = False

    def add(self, doc_id: int) -> None:
        if doc_id not in self._waiting:
            if not self._waiting and self.done >= self.total:
                self.done = self.total = 0  # a new round of work
            self._waiting.add(doc_id)
            self.total += 1

    def discard(self, doc_id: int) -> None:
        """A photo closed: its pending work goes (it no longer counts)."""
        if doc_id in self._waiting:
            self._waiting.discard(doc_id)
            self.total -= 1

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._waiting

    def __len__(self) -> int:
        return len(self._waiting)

    def finished_one(self) -> None:
        self.done = min(self.total, self.done + 1)

    def cancel(self) -> int:
        """Drop every waiting photo (the one in the model's hands finishes); returns how many were dropped."""
        dropped = len(self._waiting)
        self._waiting.clear()
        self.total -= dropped
        self.paused = False
        return dropped

    def take_next(self, order: Sequence[int], current: int | None) -> int | None:
        """The next photo to segment: ``current`` first, then its nearest neighbours in ``order`` (the
        filmstrip's), alternating after and before; None when paused or empty."""
        if self.paused or not self._waiting:
            return None
        chosen = self._nearest(order, current)
        if chosen is None:
            chosen = min(self._waiting)  # not in the order: the oldest
        self._waiting.discard(chosen)
        return chosen

    def _nearest(self, order: Sequence[int], current: int | None) -> int | None:
        if current in self._waiting:
            return current
        try:
            centre = list(order).index(current) if current is not None else 0
        except ValueError:
            centre = 0
        for distance in range(len(order) + 1):
            for index in (centre + distance, centre - distance):
                if 0 <= index < len(order) and order[index] in self._waiting:
                    return order[index]
        return None

    def progress_text(self) -> str:
        """e.g. "masks 120 of 500" (empty when there is nothing to report)."""
        if self.total <= 1 or self.done >= self.total:
            return ""
        return f"masks {self.done} of {self.total}" + (" (paused)" if self.paused else "")
