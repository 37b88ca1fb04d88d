"""Camera RAW files (NEF, CR2/CR3, ARW, RAF, DNG and every other format LibRaw reads) through ``rawpy``.

Why a child process: LibRaw is a large C parser of hundreds of undocumented formats, and every file a user opens
is hostile input. A crash or an endless loop in it must cost one line about one file, never the window or a
batch of 500 photos. So everything that parses a RAW file (the size check, the decode, the embedded preview) runs
in a long-lived helper process (a fresh interpreter, not a fork of a process holding Qt's threads); if it dies or
hangs it is killed and the next file gets a fresh one. Measured cost: ``bench/raw_decode.py`` (a few hundredths of
a second per photo once the helper runs, against about a second to demosaic a 24 MP RAW).

What a decode gives: the camera's as-shot white balance, LibRaw's AHD demosaic, no automatic brightening (the
same exposure whatever the histogram, so the half-size decode that makes the mask and the full decode that is
exported agree), sRGB primaries and the sRGB tone curve, 16 bits per channel, turned upright as the camera's
orientation says. The sRGB ICC profile travels with it, so outputs are tagged with the space they are in.

Bounds: the sizes LibRaw reads from the header are checked against the pixel limit, against the file's size
(a RAW holds at least a byte for every 16 pixels) and against the memory the decode will take, before anything
is unpacked or demosaicked.
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
from PIL import Image, ImageCms

#: Every RAW format LibRaw reads, by the suffixes cameras give them (LibRaw's own list of supported cameras).
RAW_SUFFIXES = frozenset({
    ".3fr", ".ari", ".arw", ".bay", ".cap", ".cr2", ".cr3", ".crw", ".dcr", ".dcs", ".dng", ".drf", ".eip",
    ".erf", ".fff", ".gpr", ".iiq", ".k25", ".kdc", ".mdc", ".mef", ".mos", ".mrw", ".nef", ".nrw", ".orf",
    ".ori", ".pef", ".ptx", ".pxn", ".raf", ".raw", ".rw2", ".rwl", ".rwz", ".sr2", ".srf", ".srw", ".x3f",
})
#: A RAW file holds at least one byte per this many pixels (losslessly compressed 14-bit: ~1 byte per pixel;
#: the lossiest formats, ~0.4). A file claiming more is damaged or crafted.
MAX_RAW_PIXELS_PER_BYTE = 16
#: Bytes per output pixel a full decode needs at its peak, in the helper and here together: LibRaw's 4x16-bit
#: working image (8), its 16-bit RGB result (6) and its copy on the way here (6), the 16-bit photo kept (6) and
#: its 8-bit copy (3); the raw mosaic (2 per raw pixel) comes on top.
DECODE_BYTES_PER_PIXEL = 29
#: sRGB's tone curve as LibRaw takes it: (power, slope of the linear toe).
SRGB_GAMMA = (2.4, 12.92)
#: How long one file may take in the helper before it counts as hung (a 100 MP RAW on a slow laptop: ~20 s).
DECODE_TIMEOUT_S = 180.0
#: LibRaw's flip code -> the EXIF orientation meaning the same turn.
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


class RawDecodeError(Exception):
    """A RAW file could not be read; the message is one line for the user (without the file's name)."""


@dataclass(frozen=True)
class RawLimits:
    """What a decode may take: output pixels, and bytes of memory."""

    max_pixels: int
    max_bytes: int


@dataclass
class RawPhoto:
    """A decoded RAW: HxWx3 uint16 sRGB, upright, with the camera's metadata as EXIF (orientation left out)."""

    pixels: np.ndarray
    full_size: tuple[int, int]  # (width, height) of the full decode, upright
    exif: bytes | None
    half_size: bool


@dataclass
class RawPreview:
    """The camera's embedded JPEG preview, upright (no demosaic), and the full decode's upright size."""

    image: Image.Image
    full_size: tuple[int, int]


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def srgb_profile() -> bytes:
    """The sRGB ICC profile a decoded RAW is tagged with (LittleCMS's, built here: nothing to bundle)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def default_max_bytes() -> int:
    """Half the machine's memory: a single decode may take that much, no more."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return max(2**30, total // 2)


def decode_bytes_needed(width: int, height: int, raw_width: int, raw_height: int, half_size: bool) -> int:
    """Peak bytes a decode of this size takes (see :data:`DECODE_BYTES_PER_PIXEL`)."""
    pixels = width * height // (4 if half_size else 1)
    return pixels * DECODE_BYTES_PER_PIXEL + raw_width * raw_height * 2


# ----- in the helper process -------------------------------------------------------------------------------------


def _open(path: str, limits: RawLimits, reduce_to: int | None) -> tuple[Any, bool]:
    """(LibRaw opened on ``path``, header parsed and nothing unpacked, whether to decode at half size) after the
    size checks. Half size when ``reduce_to`` is given and half the photo is still at least that long."""
    import rawpy

    raw = rawpy.RawPy()
    try:
        raw.open_file(path)
    except rawpy.LibRawFileUnsupportedError:
        raise RawDecodeError("not a RAW format LibRaw reads (unknown camera or not a RAW file)") from None
    except rawpy.LibRawIOError:
        raise RawDecodeError("truncated, or not a RAW file LibRaw reads") from None
    except rawpy.LibRawError as exc:
        raise RawDecodeError(f"corrupt RAW file ({_libraw_reason(exc)})") from None
    sizes = raw.sizes
    width, height = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
    if width < 8 or height < 8 or sizes.raw_width <= 0 or sizes.raw_height <= 0:
        raise RawDecodeError(f"{width}×{height} px is too small to cut out, or the file is damaged")
    if width * height > limits.max_pixels:
        raise RawDecodeError(f"{width}×{height} ({width * height / 1e6:.0f} MP) is larger than the "
                             f"{limits.max_pixels / 1e6:.0f} MP limit; refusing to decode it")
    file_bytes = os.path.getsize(path)
    if sizes.raw_width * sizes.raw_height > max(file_bytes, 1) * MAX_RAW_PIXELS_PER_BYTE:
        raise RawDecodeError(f"declares {sizes.raw_width}×{sizes.raw_height} sensor pixels in a file of only "
                             f"{file_bytes / 1e3:.0f} KB; the file is damaged or crafted, refusing to decode it")
    half_size = reduce_to is not None and max(width, height) // 2 >= reduce_to
    needed = decode_bytes_needed(width, height, sizes.raw_width, sizes.raw_height, half_size)
    if needed > limits.max_bytes:
        raise RawDecodeError(f"decoding {width}×{height} needs about {needed / 2**30:.1f} GiB, more than the "
                             f"{limits.max_bytes / 2**30:.1f} GiB allowed; refusing to decode it")
    return raw, half_size


def _libraw_reason(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else str(exc)
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    return str(text) or type(exc).__name__


def _exif_from_tiff_header(path: str) -> bytes | None:
    """IFD0 and the Exif IFD of a TIFF-based RAW (DNG, NEF, CR2, ARW, PEF…), as Pillow reads a TIFF's EXIF."""
    with open(path, "rb") as handle:
        head = handle.read(4 * 2**20)
    if head[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    exif = Image.Exif()
    exif.load(b"Exif\x00\x00" + head)
    return _carried(exif)


def _carried(exif: Image.Exif) -> bytes | None:
    """The tags a photographer expects carried (camera, lens, date, exposure, copyright) as EXIF bytes."""
    keep = {0x010F, 0x0110, 0x0131, 0x0132, 0x013B, 0x8298, 0x010E}
    kept = Image.Exif()
    for tag in keep:
        value = exif.get(tag)
        if isinstance(value, str | bytes | int | float):
            kept[tag] = value
    try:
        sub = exif.get_ifd(0x8769)
    except Exception:  # noqa: BLE001 - a damaged Exif IFD: the IFD0 tags still go
        sub = {}
    exif_keep = {0x829A, 0x829D, 0x8827, 0x8822, 0x9003, 0x9004, 0x920A, 0x9209, 0xA433, 0xA434, 0xA435,
                 0x9010, 0x9011, 0xA431}
    carried_sub = {tag: value for tag, value in sub.items() if tag in exif_keep and not isinstance(value, dict)}
    if carried_sub:
        kept[0x8769] = carried_sub
    if not len(kept):
        return None
    try:
        return kept.tobytes()
    except Exception:  # noqa: BLE001 - an odd value type: leave the metadata out
        return None


def _exif_from_libraw(raw: Any, make_model: tuple[str, str] | None) -> bytes | None:
    """The camera metadata LibRaw itself read, for RAWs that are not TIFFs (CR3, RAF, CRW, MRW, X3F…)."""
    exif = Image.Exif()
    if make_model:
        exif[0x010F], exif[0x0110] = make_model
    sub: dict[int, object] = {}
    try:
        other, lens = raw.other, raw.lens
        if other.timestamp is not None:
            stamp = other.timestamp.strftime("%Y:%m:%d %H:%M:%S")
            exif[0x0132] = stamp
            sub[0x9003] = stamp
        if other.iso_speed:
            sub[0x8827] = int(other.iso_speed)
        if other.artist:
            exif[0x013B] = str(other.artist)
        if lens.model:
            sub[0xA434] = str(lens.model)
        if lens.make:
            sub[0xA433] = str(lens.make)
    except Exception:  # noqa: BLE001 - metadata LibRaw could not give: left out
        pass
    if sub:
        exif[0x8769] = sub
    try:
        return exif.tobytes() if len(exif) else None
    except Exception:  # noqa: BLE001
        return None


#: The largest embedded preview read only for its EXIF (a camera's is 0.3-3 MB).
MAX_PREVIEW_EXIF_BYTES = 16 * 2**20


def _exif_from_preview(raw: Any) -> bytes | None:
    """The EXIF of the embedded JPEG preview: CR3 and RAF keep the camera's full EXIF there, not in a TIFF IFD."""
    import rawpy

    thumb = raw.extract_thumb()
    if thumb.format != rawpy.ThumbFormat.JPEG or len(thumb.data) > MAX_PREVIEW_EXIF_BYTES:
        return None
    with Image.open(io.BytesIO(bytes(thumb.data))) as preview:
        return _carried(preview.getexif())


def _exif_of(path: str, raw: Any) -> bytes | None:
    """The camera's metadata: from a TIFF-based RAW's own IFDs, else its preview's EXIF, else what LibRaw read."""
    for source in (lambda: _exif_from_tiff_header(path), lambda: _exif_from_preview(raw)):
        try:
            found = source()
        except Exception:  # noqa: BLE001 - damaged metadata: the next source
            continue
        if found:
            return found
    return _exif_from_libraw(raw, None)


def decode_in_helper(path: str, limits: RawLimits, reduce_to: int | None) -> RawPhoto:
    """Demosaic ``path`` (in the helper process; call :func:`decode_raw`, not this)."""
    import rawpy

    raw, half_size = _open(path, limits, reduce_to)
    with raw:
        sizes = raw.sizes  # before the decode: a half-size one changes them
        full = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
        try:
            pixels = raw.postprocess(use_camera_wb=True, output_bps=16, no_auto_bright=True, gamma=SRGB_GAMMA,
                                     output_color=rawpy.ColorSpace.sRGB, half_size=half_size)
        except rawpy.LibRawError as exc:
            raise RawDecodeError(f"corrupt RAW file ({_libraw_reason(exc)})") from None
        except MemoryError:
            raise RawDecodeError("not enough memory to decode it") from None
        exif = _exif_of(path, raw)
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        raise RawDecodeError(f"an unsupported sensor layout ({pixels.shape[-1] if pixels.ndim == 3 else 1} "
                             "channels)")
    return RawPhoto(np.ascontiguousarray(pixels, np.uint16), full, exif, half_size)


def preview_in_helper(path: str, limits: RawLimits) -> tuple[bytes, str, tuple[int, int], int] | None:
    """(the embedded preview's JPEG bytes, or raw RGB bytes, its kind, the full upright size, orientation) or None."""
    import rawpy

    raw, _half = _open(path, limits, 0)
    with raw:
        sizes = raw.sizes
        full = (sizes.height, sizes.width) if sizes.flip in (4, 5, 6, 7) else (sizes.width, sizes.height)
        orientation = _FLIP_TO_ORIENTATION.get(sizes.flip, 1)
        try:
            thumb = raw.extract_thumb()
        except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
            return None
        except rawpy.LibRawError:
            return None
        if thumb.format == rawpy.ThumbFormat.JPEG:
            return bytes(thumb.data), "jpeg", full, orientation
        data = np.ascontiguousarray(thumb.data, np.uint8)
        if data.ndim != 3 or data.shape[2] != 3:
            return None
        return data.tobytes(), f"rgb:{data.shape[1]}x{data.shape[0]}", full, orientation


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
            header, parts = {"status": "error", "message": f"corrupt RAW file ({_libraw_reason(exc)})"}, []
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
            raise RawDecodeError(f"corrupt RAW file ({_libraw_reason(exc)})") from None
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
