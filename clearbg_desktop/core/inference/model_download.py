"""Opt-in download of the official U²-Net ONNX files, resumable and hash-checked before use.

Never called at start-up: only when the user asks (Preferences ▸ Models, or ``clearbg-cli --download``).
The partial file lives next to its target as ``.<name>.download``; a later call continues it with an
HTTP Range request. A file whose MD5 is not the one pinned in ``OFFICIAL_MODELS`` is deleted, never used.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.inference.official_weights import OFFICIAL_MODELS, OfficialModel, md5_file

CHUNK = 1 << 16


class DownloadError(Exception):
    """The download failed, was cancelled, or gave a file with the wrong hash; the message says which."""


class DownloadCancelled(DownloadError):
    pass


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.download")


def download_official(
    name: str,
    folder: Path,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    url: str | None = None,
    timeout: float = 30.0,
) -> Path:
    """Download official model ``name`` into ``folder`` and return the verified file.

    ``progress(received, total)`` is called after each chunk (``total`` 0 when the server does not say).
    ``url`` overrides the release address (tests use a local server).
    """
    model: OfficialModel | None = OFFICIAL_MODELS.get(name)
    if model is None:
        raise DownloadError(f"unknown model {name!r}; choose one of {', '.join(OFFICIAL_MODELS)}")
    try:
        return _download(model, folder, progress, cancel, url, timeout)
    except OSError as exc:  # a read-only or full models folder, a folder where the file should be
        raise DownloadError(f"{model.file_name}: cannot write it into {folder} ({exc.strerror or exc})") from None


def _download(model: OfficialModel, folder: Path, progress: Callable[[int, int], None] | None,
              cancel: threading.Event | None, url: str | None, timeout: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / model.file_name
    if target.is_file() and (md5_file(target) == model.md5 if model.md5 else sha256_file(target) == model.sha256):
        return target
    part = partial_path(target)
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url or model.url, headers={"User-Agent": "ClearBG"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - https release URL or a test's
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # the partial file is already complete
            return _verify(part, target, model)
        raise DownloadError(f"{model.file_name}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{model.file_name}: cannot reach {request.full_url} ({getattr(exc, 'reason', exc)})") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0  # the server ignored the Range: start again
        length = int(response.headers.get("Content-Length") or 0)
        total = have + length if length else 0
        with open(part, "ab" if resumed else "wb") as handle:
            received = have
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(f"{model.file_name}: download cancelled ({received} bytes kept to resume)")
                try:
                    chunk = response.read(CHUNK)
                except OSError as exc:
                    raise DownloadError(f"{model.file_name}: the connection broke ({exc}); try again to resume") from None
                if not chunk:
                    break
                handle.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(received, total)
    if total and received < total:
        raise DownloadError(f"{model.file_name}: the connection ended at {received} of {total} bytes; try again")
    return _verify(part, target, model)


def _verify(part: Path, target: Path, model: OfficialModel) -> Path:
    """By rembg's MD5 pin, or the SHA-256 where that is what is pinned; a mismatch is deleted."""
    if model.md5:
        actual, expected, kind = md5_file(part), model.md5, "MD5"
    else:
        actual, expected, kind = sha256_file(part), model.sha256, "SHA-256"
    if actual != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{model.file_name}: downloaded file has {kind} {actual}, expected {expected}; deleted it")
    os.replace(part, target)
    return target
