"""How much memory the open photos may use, how much the process uses now, and which photos give theirs back.

A shoot of 300 photos of 24 MP is 20 GiB of pixels: only the photo being edited and one or two recently used
keep their full-resolution pixels; the others keep a screen-sized preview, a thumbnail and their masks
(compressed) and are decoded again when shown or exported (``Document.evict``). Which ones is decided here,
Qt-free, so the rule is tested without a window.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Iterable, Mapping

MIB = 1 << 20
MIN_BUDGET_MIB, MAX_BUDGET_MIB = 512, 65536  # what the Preferences field and the settings file accept
DEFAULT_CAP_MIB = 4096  # the default is a quarter of the RAM, at most this much
KEEP_RECENT = 2  # besides the photo on screen, this many recently shown keep full pixels (within the budget)
SMALL_PHOTO_BYTES = 16 * MIB  # a photo holding less (about 2 MP) keeps its pixels while within the budget
CLOSE_TO_BUDGET = 0.8  # from this share of the budget on, the status bar shows the memory in use


def decoded_bytes(size: tuple[int, int]) -> int:
    """What a photo of (width, height) holds decoded with its masks (``Document.resident_bytes``: Pillow's RGB
    4 B/px, its array 3, the edited and predicted alpha 1 each)."""
    return size[0] * size[1] * 9


def total_ram_bytes() -> int | None:
    """The machine's physical memory, or None where it cannot be read."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import psutil  # type: ignore[import-untyped]  # optional: Windows

        return int(psutil.virtual_memory().total)
    except Exception:  # noqa: BLE001 - no reading means the fixed default
        return None


def default_budget_mib(total_bytes: int | None = None) -> int:
    """A quarter of the machine's RAM, between the smallest budget and ``DEFAULT_CAP_MIB``."""
    total = total_ram_bytes() if total_bytes is None else total_bytes
    if total is None:
        return 2048
    return clamp_budget_mib(min(DEFAULT_CAP_MIB, total // 4 // MIB))


def clamp_budget_mib(value: object) -> int:
    """A budget read from the settings file or typed by the user, as a whole number in range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return default_budget_mib()
    return int(min(MAX_BUDGET_MIB, max(MIN_BUDGET_MIB, value)))


def rss_bytes() -> int | None:
    """This process's resident memory now (Linux: /proc; elsewhere psutil when installed)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError, AttributeError):
        pass
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001
        return None


def peak_rss_bytes() -> int | None:
    """The largest resident memory this process has had (benches report it)."""
    try:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak) if sys.platform == "darwin" else int(peak) * 1024
    except (ImportError, OSError):
        return None


def trim_heap() -> None:
    """Hand freed memory back to the system (glibc keeps freed blocks of up to 32 MB, a 12 MP mask, in its heap,
    so evicted photos would not lower the RSS); a no-op elsewhere."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass


class Residency:
    """Which open photos keep their full-resolution pixels: the most recently shown, within a budget.

    ``touch`` a photo when it is shown; ``evictions`` names the photos to give their pixels back.
    """

    def __init__(self, budget_bytes: int, keep_recent: int = KEEP_RECENT, small_bytes: int = SMALL_PHOTO_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.keep_recent = keep_recent
        self.small_bytes = small_bytes  # evicting a small photo saves little and costs a decode: kept within budget
        self._order: OrderedDict[int, None] = OrderedDict()  # doc id, most recently shown last

    def touch(self, doc_id: int) -> None:
        self._order[doc_id] = None
        self._order.move_to_end(doc_id)

    def forget(self, doc_id: int) -> None:
        self._order.pop(doc_id, None)

    def evictions(self, resident: Mapping[int, int], kept_bytes: int, pinned: Iterable[int]) -> list[int]:
        """Photos to evict, least recently shown first.

        ``resident``: doc id -> bytes of full-resolution data it holds (photos holding none left out);
        ``kept_bytes``: what every photo keeps anyway (previews, thumbnails, packed masks);
        ``pinned``: never evicted (the photo on screen, one the model is working on, one with no file).
        """
        pinned = set(pinned)
        rank = {doc_id: index for index, doc_id in enumerate(self._order)}
        candidates = sorted((d for d in resident if d not in pinned), key=lambda d: rank.get(d, -1))
        shown = [d for d in candidates if d in rank]  # a photo the model decoded but nobody looked at is not "used"
        recent = set(shown[-self.keep_recent:]) if self.keep_recent > 0 else set()
        evicted = [d for d in candidates if d not in recent and resident[d] >= self.small_bytes]
        total = kept_bytes + sum(bytes_ for d, bytes_ in resident.items() if d not in evicted)
        for doc_id in (d for d in candidates if d not in evicted):  # over budget: the oldest of the rest first
            if total <= self.budget_bytes:
                break
            evicted.append(doc_id)
            total -= resident[doc_id]
        return evicted
