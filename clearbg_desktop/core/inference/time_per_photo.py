"""How long a model takes per photo on this machine, and the warning a batch gives before it starts.

A 1024 px model (IS-Net, BiRefNet) does about ten times the work of a 320 px U²-Net on every photo: on a CPU
that is seconds per photo and hours for a shoot. Every batch records the seconds its model spent per photo
(the model's part only, not decoding or encoding), per model and device, in the user data folder; the batch
dialog and ``clearbg-cli`` then say before a long batch how long it will take, or, before a slow model's first
run, that it will be slow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clearbg_desktop.core.paths import data_dir

SLOW_INPUT_SIZE = 1024  # IS-Net and BiRefNet; U²-Net works at 320
LONG_BATCH_SECONDS = 30 * 60  # any model: a batch this long gets its estimate said
REMEMBERED_PHOTOS = 200  # the running mean forgets older runs after about this many photos
MAX_STORE_BYTES = 256 * 1024  # a damaged or foreign file is ignored, never read whole
MAX_RECORDS = 200
MAX_PHOTOS = 10**9  # more photos than one machine will ever cut out: not a count


def _store() -> Path:
    return data_dir() / "seconds-per-photo.json"


def _key(model: str, device_type: str) -> str:
    return f"{model}@{device_type}"


@dataclass(frozen=True)
class Timing:
    """The running mean of a model's seconds per photo on one device, and how many photos it covers."""

    seconds: float
    photos: int


def _read_all() -> dict[str, Timing]:
    """Every valid record; a missing, oversized or malformed file reads as empty (it is only a cache)."""
    from clearbg_desktop.core.paths import read_user_file

    try:
        raw = json.loads(read_user_file(_store(), MAX_STORE_BYTES).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # a folder, a FIFO, 300 MB of junk: start again
        return {}
    records: dict[str, Timing] = {}
    if not isinstance(raw, dict):
        return records
    for key, value in list(raw.items())[:MAX_RECORDS]:
        if not (isinstance(key, str) and isinstance(value, dict)):
            continue
        seconds, photos = value.get("seconds"), value.get("photos")
        if (isinstance(seconds, int | float) and not isinstance(seconds, bool) and 0 < seconds < 3600
                and isinstance(photos, int) and not isinstance(photos, bool) and 0 < photos <= MAX_PHOTOS):
            records[key] = Timing(float(seconds), photos)
    return records


def seconds_per_photo(model: str, device_type: str) -> float | None:
    """What ``model`` took per photo on ``device_type`` here in earlier batches; None before its first."""
    timing = _read_all().get(_key(model, device_type))
    return timing.seconds if timing else None


def record_seconds_per_photo(model: str, device_type: str, seconds: float, photos: int) -> None:
    """Fold a batch's model time (``seconds`` over ``photos``) into the running mean; never fails a batch."""
    from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic

    if photos <= 0 or seconds <= 0:
        return
    records = _read_all()
    key = _key(model, device_type)
    earlier = records.get(key)
    kept = min(earlier.photos, REMEMBERED_PHOTOS - min(photos, REMEMBERED_PHOTOS)) if earlier else 0
    mean = ((earlier.seconds * kept if earlier else 0.0) + seconds) / (kept + photos)
    records[key] = Timing(mean, kept + photos)
    data = {k: {"seconds": round(t.seconds, 4), "photos": t.photos} for k, t in list(records.items())[-MAX_RECORDS:]}
    try:
        write_atomic(json.dumps(data, indent=1).encode(), _store(), overwrite=True, mode=0o600)
    except (OutputError, OSError):
        pass  # a read-only data folder, a folder in its place: the batch is done all the same


def format_duration(seconds: float) -> str:
    """Rounded for a warning: "about 40 s", "about 12 min", "about 3 h 20 min"."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h {rest:02d} min"


def batch_time_warning(model: str, label: str, input_size: int, device_type: str, photo_count: int) -> str:
    """One line for the batch dialog and the CLI, or "" when the batch will not be long.

    Said when the model works at 1024 px or more, or when the measured estimate exceeds 30 minutes. With a
    measurement from earlier batches it gives the estimate; before the model's first run on a CPU, why it is slow.
    """
    if photo_count <= 0:
        return ""
    seconds = seconds_per_photo(model, device_type)
    slow_model = input_size >= SLOW_INPUT_SIZE
    if seconds is not None:
        total = seconds * photo_count
        if not slow_model and total < LONG_BATCH_SECONDS:
            return ""
        return (f"{label} takes {seconds:.1f} s per photo on this machine's {device_type.upper()} (measured in "
                f"earlier batches): {format_duration(total)} for {photo_count} photo"
                f"{'s' if photo_count != 1 else ''}. Photos are cut out one at a time; memory stays bounded.")
    if not slow_model:
        return ""
    ratio = round((input_size / 320) ** 2)
    where = "on a CPU each photo takes seconds" if device_type == "cpu" else "each photo takes longer"
    return (f"{label} works at {input_size}×{input_size} px, about {ratio}× the pixels of U²-Net's 320 px: {where}. "
            f"The progress window shows the time left after the first photo; photos are cut out one at a time.")


def expected_device_type(preference: str = "auto") -> str:
    """The device a batch will run on, told before loading a model, and without importing torch where no GPU
    can exist (the dialog asks this on every change)."""
    from clearbg_desktop.core.inference.devices import gpu_may_exist, preferred_device_type

    if preference in ("cuda", "mps", "cpu"):
        return preference
    return preferred_device_type() if gpu_may_exist() else "cpu"


def warning_for(model: str, photo_count: int, device_preference: str = "auto") -> str:
    """:func:`batch_time_warning` for an installed model by name ("" for an unknown one: loading says why)."""
    from clearbg_desktop.core.inference.model_choice import model_label
    from clearbg_desktop.core.inference.weights import WeightsError, find_weights

    try:
        entry = find_weights(model)
    except WeightsError:
        return ""
    return batch_time_warning(model, model_label(model), entry.input_size, expected_device_type(device_preference),
                              photo_count)


class PhotoRate:
    """Photos per second over the last ``window`` photos the model cut out, for a batch's progress (issue #41).

    Why not done / elapsed: that counts photos skipped in a re-run (no model time) and the model's loading, so
    on a GPU it says a fraction of what the batch does now. The clock starts at the first photo cut out (its
    time holds the model's loading); a photo that failed counts (it took its time), one skipped does not.
    """

    def __init__(self, window: int = 30) -> None:
        from collections import deque

        self._times: deque[float] = deque(maxlen=window + 1)

    def add(self, status: str, now: float | None = None) -> None:
        """One photo finished with ``status`` (done, failed or skipped)."""
        import time

        if status != "skipped":
            self._times.append(time.monotonic() if now is None else now)

    @property
    def per_second(self) -> float | None:
        """None until two photos were cut out."""
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return None
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


def format_rate(per_second: float | None) -> str:
    """"12.4 photos/s", "0.81 photos/s", or "… photos/s" before the first photo."""
    if per_second is None:
        return "… photos/s"
    return f"{per_second:.1f} photos/s" if per_second >= 10 else f"{per_second:.2f} photos/s"
