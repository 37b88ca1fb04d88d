"""Camera RAW files (NEF, CR2/CR3, ARW, RAF, DNG and every other format LibRaw reads): decoded in a helper process.

Why a child process: LibRaw is a large C parser of hundreds of undocumented formats, and every file a user opens
is hostile input. A crash or an endless loop in it must cost one line about one file, never the window or a
batch of 500 photos. So everything that parses a RAW file (the size check, the decode, the embedded preview:
``core.imaging.raw_libraw``) runs in a long-lived helper process (a fresh interpreter, not a fork of a process
holding Qt's threads); if it dies or hangs it is killed and the next file gets a fresh one. Measured cost
(``bench/raw_decode.py``, a 12 MP DNG on 2 cores, bench/RESULTS.md §16): 20-95 ms more for a half-size decode
(200-260 ms), 0.1-0.4 s more for a full 16-bit development (1.4-1.7 s: 72 MB of pixels through the pipe), and
0.5-0.9 s to start the helper once. ADR 0009 says why.

The protocol: one JSON request per line on the helper's stdin; each answer a length-prefixed JSON header, then
its binary parts (the 16-bit pixels, the EXIF, a preview's bytes) back to back on its stdout.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.raw_libraw import (
    RawDecodeError,
    RawLimits,
    RawPhoto,
    decode_in_helper,
    libraw_reason,
    preview_in_helper,
)

#: How long one file may take in the helper before it counts as hung (a 100 MP RAW on a slow laptop: ~20 s).
DECODE_TIMEOUT_S = 180.0


@dataclass
class RawPreview:
    """The camera's embedded JPEG preview, upright (no demosaic), and the full decode's upright size."""

    image: Image.Image
    full_size: tuple[int, int]


# ----- in the helper process ---------------------------------------------------------------------------------------


def _reply(out: Any, header: dict, parts: list[bytes]) -> None:
    """One answer on the helper's stdout: a length-prefixed JSON header, then its binary parts back to back."""
    header["parts"] = [len(part) for part in parts]
    encoded = json.dumps(header).encode()
    out.write(struct.pack("<I", len(encoded)) + encoded)
    for part in parts:
        out.write(part)
    out.flush()


def _answer(request: dict) -> tuple[dict, list[bytes]]:
    limits = RawLimits(int(request["max_pixels"]), int(request["max_bytes"]))
    if request["kind"] == "decode":
        photo = decode_in_helper(str(request["path"]), limits, request.get("reduce_to"))
        return ({"status": "ok", "shape": list(photo.pixels.shape), "full": list(photo.full_size),
                 "half_size": photo.half_size},
                [photo.pixels.tobytes(), photo.exif or b""])
    found = preview_in_helper(str(request["path"]), limits)
    if found is None:
        return {"status": "ok", "found": False}, []
    data, kind, full, orientation = found
    return {"status": "ok", "found": True, "kind": kind, "full": list(full), "orientation": orientation}, [data]


def serve() -> None:
    """The helper's loop: a JSON request per line on stdin, one answer each on stdout, until stdin closes."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the answers
    for line in sys.stdin.buffer:
        try:
            header, parts = _answer(json.loads(line))
        except RawDecodeError as exc:
            header, parts = {"status": "error", "message": str(exc)}, []
        except MemoryError:
            header, parts = {"status": "error", "message": "not enough memory to decode it"}, []
        except Exception as exc:  # noqa: BLE001 - one line for the user, whatever LibRaw raised
            header, parts = {"status": "error", "message": f"corrupt RAW file ({libraw_reason(exc)})"}, []
        _reply(out, header, parts)


# ----- in this process -------------------------------------------------------------------------------------------

#: The argument the frozen app's launchers take to run as the helper (``installer/launcher*.py``).
HELPER_FLAG = "--raw-helper"
#: Largest answer the helper may give: a 90 MP 16-bit decode and its metadata (a bound on a bad header).
MAX_ANSWER_BYTES = 2**32


def helper_command() -> list[str]:
    """How to start the helper: this Python with ``serve``, or the frozen app's own executable with the flag."""
    if getattr(sys, "frozen", False):
        return [sys.executable, HELPER_FLAG]
    return [sys.executable, "-c", "from clearbg_desktop.core.imaging.raw_decode import serve; serve()"]


class _Helper:
    """One helper process and our ends of its pipes. Why not ``multiprocessing``: its ``spawn`` imports the
    caller's main module again in the child, which fails in any script without a ``__main__`` guard."""

    def __init__(self) -> None:
        env = dict(os.environ)
        if not getattr(sys, "frozen", False):  # a source checkout run from another folder finds the package too
            package_root = str(Path(__file__).resolve().parents[3])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0), close_fds=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, count: int) -> bytes:
        assert self.process.stdout is not None
        data = self.process.stdout.read(count)
        if len(data) != count:
            raise EOFError
        return data

    def ask(self, request: dict, timeout: float) -> tuple[dict, list[bytes]]:
        assert self.process.stdin is not None
        watchdog = threading.Timer(timeout, self.process.kill)  # a hung LibRaw: killed, our read ends at EOF
        watchdog.start()
        try:
            self.process.stdin.write(json.dumps(request).encode() + b"\n")
            self.process.stdin.flush()
            (length,) = struct.unpack("<I", self._read(4))
            if length > 2**20:
                raise EOFError
            header = json.loads(self._read(length))
            sizes = [int(n) for n in header.get("parts", [])]
            if any(n < 0 for n in sizes) or sum(sizes) > MAX_ANSWER_BYTES:
                raise EOFError
            parts = [self._read(n) for n in sizes]
        except (EOFError, OSError, ValueError, struct.error):
            timed_out = not watchdog.is_alive()
            self.kill()
            if timed_out:
                raise RawDecodeError(f"LibRaw took more than {timeout:.0f} s on it (damaged file?); "
                                     "stopped") from None
            raise RawDecodeError("LibRaw crashed reading it (damaged or crafted file)") from None
        finally:
            watchdog.cancel()
        if header.get("status") != "ok":
            raise RawDecodeError(str(header.get("message", "the RAW decoder failed")))
        return header, parts

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class _Helpers:
    """A few helper processes shared by every thread (a batch decodes while the window shows a thumbnail)."""

    def __init__(self, most: int = 2) -> None:
        self._idle: list[_Helper] = []
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(most)

    def ask(self, request: dict, timeout: float) -> tuple[dict, list[bytes]]:
        with self._slots:
            with self._lock:
                helper = self._idle.pop() if self._idle else None
            if helper is not None and not helper.alive():
                helper.kill()  # it died idle: close our ends of its pipes
                helper = None
            if helper is None:
                try:
                    helper = _Helper()
                except OSError as exc:
                    raise RawDecodeError(f"the RAW decoder could not start ({exc.strerror or exc})") from None
            try:
                result = helper.ask(request, timeout)
            except RawDecodeError:
                if helper.alive():
                    with self._lock:
                        self._idle.append(helper)
                raise
            except BaseException:
                helper.kill()
                raise
            with self._lock:
                self._idle.append(helper)
            return result

    def close(self) -> None:
        """Stop the idle helpers (they stop by themselves when this process ends: their stdin closes)."""
        with self._lock:
            helpers, self._idle = self._idle, []
        for helper in helpers:
            helper.kill()


HELPERS = _Helpers()
atexit.register(HELPERS.close)  # not needed for correctness (a helper ends when its stdin closes): tidiness
#: False runs LibRaw in this process (the bench measures both).
ISOLATED = True


def _ask(request: dict, isolated: bool | None, timeout: float) -> tuple[dict, list[bytes]]:
    if not (ISOLATED if isolated is None else isolated):
        try:
            return _answer(request)
        except RawDecodeError:
            raise
        except MemoryError:
            raise RawDecodeError("not enough memory to decode it") from None
        except Exception as exc:  # noqa: BLE001 - as in the helper
            raise RawDecodeError(f"corrupt RAW file ({libraw_reason(exc)})") from None
    return HELPERS.ask(request, timeout)


def decode_raw(path: Path, limits: RawLimits, *, reduce_to: int | None = None, isolated: bool | None = None,
               timeout: float = DECODE_TIMEOUT_S) -> RawPhoto:
    """Decode ``path`` to 16-bit sRGB (see the module's docstring); :class:`RawDecodeError` with one line.

    ``reduce_to``: a long side the caller needs at least (a mask, a preview): LibRaw's half-size decode when it is
    that long (each 2x2 sensor block becomes one pixel: no demosaic, a quarter of the memory)."""
    request = {"kind": "decode", "path": str(path), "max_pixels": limits.max_pixels, "max_bytes": limits.max_bytes,
               "reduce_to": reduce_to}
    header, (data, exif) = _ask(request, isolated, timeout)
    shape = tuple(int(n) for n in header["shape"])
    if len(shape) != 3 or shape[2] != 3 or len(data) != shape[0] * shape[1] * 6:
        raise RawDecodeError("the RAW decoder gave a damaged answer")
    pixels = np.frombuffer(data, np.uint16).reshape(shape)
    full = (int(header["full"][0]), int(header["full"][1]))
    return RawPhoto(pixels, full, exif or None, bool(header["half_size"]))


def raw_preview(path: Path, limits: RawLimits, *, isolated: bool | None = None,
                timeout: float = DECODE_TIMEOUT_S) -> RawPreview | None:
    """The embedded preview, upright, or None when the file has none that Pillow can read (no demosaic)."""
    request = {"kind": "preview", "path": str(path), "max_pixels": limits.max_pixels, "max_bytes": limits.max_bytes}
    header, parts = _ask(request, isolated, timeout)
    if not header.get("found") or len(parts) != 1:
        return None
    data, kind, orientation = parts[0], str(header["kind"]), int(header["orientation"])
    full = (int(header["full"][0]), int(header["full"][1]))
    try:
        if kind == "jpeg":
            with Image.open(io.BytesIO(data)) as opened:
                if opened.format != "JPEG" or opened.width * opened.height > limits.max_pixels:
                    return None
                opened.load()
                image = opened.convert("RGB")
        else:
            width, height = (int(v) for v in kind.split(":")[1].split("x"))
            image = Image.frombytes("RGB", (width, height), data)
    except Exception:  # noqa: BLE001 - a damaged preview: the caller decodes the RAW instead
        return None
    from clearbg_desktop.core.imaging.deep_colour import orient

    if orientation != 1:
        image = Image.fromarray(orient(np.asarray(image), orientation))
    return RawPreview(image, full)
