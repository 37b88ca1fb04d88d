"""Teacher labelling: soft masks for unlabelled photos from the official U²-Net ONNX file.

The teacher runs with its authors' own preprocessing (320×320 LANCZOS, divide by the image's
max, ImageNet mean/std) and post-processing (per-image min-max, LANCZOS back to the photo's
size), because that is how its published quality was measured. Our own model then learns from
these masks with *our* preprocessing (``clearbg_desktop.core.inference.segmenter``).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.imaging.formats import is_supported_image
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_image
from clearbg_desktop.core.inference.segmenter import IMAGENET_MEAN, IMAGENET_STD
from training.cleaning.straighten import straighten_framed_photo
from training.cleaning.turns import turn_clockwise
from training.data import PairingError

TEACHER_SIZE = 320
_MEAN = np.array(IMAGENET_MEAN, dtype=np.float32)
_STD = np.array(IMAGENET_STD, dtype=np.float32)


class OnnxSaliencyModel:
    """An official U²-Net ONNX file used with its authors' pre/post-processing."""

    def __init__(self, onnx_path: Path, threads: int | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "onnxruntime is needed to run an ONNX teacher: pip install 'clearbg-desktop[train]'"
            ) from exc
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.path = Path(onnx_path)
        self.sha256 = sha256_file(self.path)
        self.session = ort.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    @staticmethod
    def preprocess(rgb: Image.Image) -> np.ndarray:
        resized = np.asarray(rgb.resize((TEACHER_SIZE, TEACHER_SIZE), Image.Resampling.LANCZOS), np.float32)
        resized = resized / max(float(resized.max()), 1e-6)
        return ((resized - _MEAN) / _STD).transpose(2, 0, 1)[None]

    def predict_alpha(self, rgb: Image.Image) -> np.ndarray:
        """Soft alpha (uint8, photo size) exactly as the reference test script makes it."""
        fused = self.session.run(None, {self.input_name: self.preprocess(rgb)})[0][0, 0]
        low, high = float(fused.min()), float(fused.max())
        normalised = (fused - low) / max(high - low, 1e-8)
        small = Image.fromarray((normalised * 255.0 + 0.5).astype(np.uint8), "L")
        return np.asarray(small.resize(rgb.size, Image.Resampling.LANCZOS))


def list_photos(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and is_supported_image(p))


def source_name(folder: Path) -> str:
    """A readable, distinct name for a photo folder (``…/photos-coco-mini/images`` -> ``photos-coco-mini``)."""
    folder = Path(folder).resolve()
    return folder.parent.name if folder.name.lower() in {"images", "image", "photos", "jpegimages"} else folder.name


def _save_atomic(image: Image.Image, path: Path, **options: object) -> None:
    """An interrupted run must not leave a half-written file that the next run would reuse as done."""
    buffer = io.BytesIO()
    image.save(buffer, **options)  # type: ignore[arg-type]
    write_atomic(buffer.getvalue(), path, overwrite=True)


def label_folders(
    folders: Sequence[Path],
    teacher: OnnxSaliencyModel,
    out_dir: Path,
    progress: bool = True,
    turns: Mapping[tuple[str, str], int] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Write ``out_dir/<folder name>/<relative stem>.png`` for every photo; resumable.

    Returns (labelled records, skipped records). Existing masks are reused, so an
    interrupted run continues where it stopped. A photo its source turned is put upright first: tilted
    inside a black frame, found by ``training.cleaning.straighten`` (``<stem>.upright.jpg``), and/or listed in
    ``turns`` (``training.cleaning.turns``; ``<stem>.cw180.jpg``, ``<stem>.upright.cw90.jpg``). That copy is what the
    record names (with ``original``) and what the teacher labels (same name, ``.png``); the original stays
    untouched. The names carry the correction, so a changed turn list never reuses a stale copy.
    """
    from tqdm import tqdm

    jobs = [(source_name(folder), photo.relative_to(folder), photo)
            for folder in folders for photo in list_photos(Path(folder))]
    turns = turns or {}
    present = {(source, relative.as_posix()) for source, relative, _ in jobs}
    listed_sources = {source for source, _ in present}
    missing = sorted(f"{source}/{name}" for source, name in turns
                     if source in listed_sources and (source, name) not in present)
    if missing:  # a mistyped name would silently leave that photo the wrong way up: refuse it before any work
        raise PairingError(f"{len(missing)} photo(s) in data.turn_lists not found: {', '.join(missing[:5])}")
    records: list[dict] = []
    skipped: list[dict] = []
    for source, relative, photo in tqdm(jobs, desc="teacher", unit="photo", disable=not progress):
        mask_path = out_dir / source / relative.with_suffix(".png")
        try:
            loaded = load_image(photo)
        except ImageLoadError as exc:
            skipped.append({"image": str(photo), "reason": str(exc)})
            continue
        rgb = loaded.rgb
        corrections: dict[str, object] = {}
        suffix = ""
        upright = straighten_framed_photo(rgb)
        if upright is not None:
            rgb, suffix = upright, ".upright"
            corrections["straightened"] = True
        degrees = turns.get((source, relative.as_posix()))
        if degrees:
            rgb, suffix = turn_clockwise(rgb, degrees), f"{suffix}.cw{degrees}"
            corrections["turned_clockwise"] = degrees
        image_path = photo
        if suffix:
            image_path = mask_path.with_name(mask_path.stem + suffix + ".jpg")
            mask_path = mask_path.with_name(mask_path.stem + suffix + ".png")
            if not image_path.exists():
                _save_atomic(rgb, image_path, format="JPEG", quality=95)
        if not mask_path.exists():
            _save_atomic(Image.fromarray(teacher.predict_alpha(rgb), "L"), mask_path, format="PNG")
        record = {
            "image": str(image_path),
            "mask": str(mask_path),
            "width": rgb.width,
            "height": rgb.height,
            "source": source,
        }
        if suffix:
            record |= {"original": str(photo), **corrections}
        records.append(record)
    return records, skipped
