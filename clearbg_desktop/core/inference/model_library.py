"""The user's installed models: add an official or our own weights file, list, remove.

Adding converts the file once (``core.inference.official_weights``) and writes our tensors-only ``.pt`` plus a
manifest entry into the user models folder, which the app, the batch and the CLI already search before
the bundled folder. The source file is only read, never changed or moved. Where ClearBG runs without torch
(the standalone app), an ONNX file is installed as it is, for ONNX Runtime, once it is known to be a U²-Net.
A model file is hostile input: it is checked (a regular file, of a bounded size, a graph or state dict that reads,
shapes that fit) and given one test prediction whatever its family before anything is written; every failure is one
``WeightsError`` line, and the models folder is left as it was (``core.inference.weights_install.install_weights``).

Why ~430 lines: adding a model is one checked path per format (torch state dict, official file, ONNX graph, rembg's
folder), each ending in the same install; conversion is in ``official_weights.py``, writing in ``weights_install.py``.
"""

from __future__ import annotations

import math
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.inference.devices import has_torch
from clearbg_desktop.core.inference.model_choice import DEFAULT_MODEL, FALLBACK_MODEL, model_label
from clearbg_desktop.core.inference.model_families import BRIA, U2NET, ModelFamily, UnknownFamilyError, recognise_family
from clearbg_desktop.core.inference.model_io import ModelOutputError, checked_maps, resize_for_model
from clearbg_desktop.core.inference.official_weights import (
    AUTHORS_LICENCE,
    OFFICIAL_MODELS,
    ConversionError,
    compact_storage,
    convert_checkpoint,
    identify_official,
    is_onnx_file,
    md5_file,
    onnx_variant,
)
from clearbg_desktop.core.inference.onnx_reader import OnnxFormatError, OnnxGraph, read_onnx_graph
from clearbg_desktop.core.inference.weights import (
    MAX_INPUT_SIZE,
    MIN_INPUT_SIZE,
    WeightsEntry,
    WeightsError,
    available_models,
    read_manifest,
    sha256_file,
)
from clearbg_desktop.core.inference.weights_install import (
    install_weights_copy,
    manifest_taking,
    remove_weights_entry,
    write_weights_folder,
)
from clearbg_desktop.core.paths import bundled_weights_dir, user_models_dir

MAX_MODEL_BYTES = 1 << 30  # a full U²-Net is 176 MB; a file far above is refused before it is read

# Measured here through clearbg-cli's own pipeline (training/evaluate.py, people-val, 90 photos).
OFFICIAL_QUALITY = {
    "u2netp": "people-val: max Fβ 0.956, MAE 0.033",
    "u2net": "people-val: max Fβ 0.962, MAE 0.026 (ONNX as published)",
}
BUNDLED_NAMES = (DEFAULT_MODEL, FALLBACK_MODEL)  # "full" must mean the published weights; no import takes either


@dataclass(frozen=True)
class InstalledModel:
    """One row of Preferences ▸ Models and of ``clearbg-cli --list-models``."""

    entry: WeightsEntry
    bundled: bool
    size_bytes: int
    source: str
    quality: str
    label: str = ""  # "U²-Net (best quality)" / "U²-Net small (fastest)" for the two bundled models
    speed: str = ""  # measured here on first use, e.g. "0.45 s per photo here (ONNX Runtime fp32 on CPU)"

    @property
    def name(self) -> str:
        return self.entry.name


def rembg_models_folder() -> Path:
    """Where rembg keeps its downloads: ``$U2NET_HOME`` or ``~/.u2net``."""
    return Path(os.environ.get("U2NET_HOME") or Path.home() / ".u2net")


def find_rembg_models(folder: Path | None = None) -> list[Path]:
    """The model files in rembg's folder that we know how to import, every family (by name; the content and its
    family are checked on import)."""
    folder = folder or rembg_models_folder()
    if not folder.is_dir():
        return []
    known = {model.file_name for model in OFFICIAL_MODELS.values()}
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name in known)


def _quality(card: dict) -> str:
    """The card's own measured row (``training evaluate`` puts this model first), or the known official figure."""
    metrics = card.get("metrics") or {}
    rows = metrics.get("models") if isinstance(metrics, dict) else None
    if isinstance(rows, dict) and rows:
        first = next(iter(rows.values()))
        if isinstance(first, dict):
            fbeta, mae = _finite(first.get("max_fbeta")), _finite(first.get("mae"))
            if fbeta is not None and mae is not None:
                dataset = Path(str(metrics.get("dataset", ""))[:200]).name or "validation"
                return f"{dataset}: max Fβ {fbeta:.3f}, MAE {mae:.3f}"
    official = OFFICIAL_QUALITY.get(str(card.get("official") or ""))
    return official or ""


def _finite(value: object) -> float | None:
    """A card's number as a float, or None for text, a bool, NaN or a number beyond floats (10^400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def installed_models() -> list[InstalledModel]:
    """Every usable model, user folder first (its names win), each once."""
    rows = []
    bundled_folder = bundled_weights_dir().resolve()
    for entry in available_models().values():
        try:
            size = entry.path.stat().st_size
        except OSError:
            size = 0
        init = entry.card.get("init") if isinstance(entry.card.get("init"), dict) else {}
        source = str(entry.card.get("source_file") or (init or {}).get("file") or entry.card.get("architecture") or "")
        source = source if len(source) <= 120 else source[:119] + "…"
        rows.append(InstalledModel(entry, entry.path.parent.resolve() == bundled_folder, size, source,
                                   _quality(entry.card), model_label(entry.name), measured_speed(entry)))
    order = [DEFAULT_MODEL, FALLBACK_MODEL]  # the two official ones first, best first; then the user's
    return sorted(rows, key=lambda row: order.index(row.name) if row.name in order else len(order))


def measured_speed(entry: WeightsEntry) -> str:
    """Seconds per photo (the model's part) of the engine chosen here, once measured; "" before."""
    from clearbg_desktop.core.inference.engine_choice import Candidate, read_measurements

    measured = read_measurements(entry)
    seconds, agrees = measured.get("seconds", {}), measured.get("agrees", {})
    usable = {key: value for key, value in seconds.items() if agrees.get(key)}
    if not usable:
        return ""
    key = min(usable, key=usable.__getitem__)
    return f"{usable[key]:.2f} s per photo here ({Candidate.from_key(key).label})"


def default_name_for(source: Path) -> str:
    """The file's name as a model name; never a bundled model's ("full.onnx" becomes "full-imported")."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", source.stem).strip("-.") or "model"
    stem = stem[:64]
    return f"{stem[:55]}-imported" if is_bundled_name(stem) else stem


def is_bundled_name(name: str) -> bool:
    """"full" and "small" (in any case): the names of the two official models, which no import may take."""
    return name.lower() in BUNDLED_NAMES


def checked_source(source: Path) -> int:
    """The size of a file that can be a model; otherwise a ``WeightsError`` saying what the path is (missing, a
    folder, a FIFO or device, empty, too large), before a byte of it is read."""
    try:
        info = source.stat()
    except FileNotFoundError:
        raise WeightsError(f"{source}: no such file") from None
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise WeightsError(f"{source}: is a folder, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise WeightsError(f"{source}: is not a regular file (a FIFO, a device or a socket), not a model file")
    if info.st_size > MAX_MODEL_BYTES:
        raise WeightsError(f"{source.name}: {info.st_size / 2**30:.1f} GiB, far larger than any U²-Net "
                           f"(the limit is {MAX_MODEL_BYTES / 2**30:.0f} GiB); not a model ClearBG can use")
    if info.st_size == 0:
        raise WeightsError(f"{source.name}: the file is empty")
    return info.st_size


def add_model_file(source: Path, name: str | None = None, folder: Path | None = None,
                   replace: bool = False, storage: str = "fp32", accept_licence: bool = False) -> WeightsEntry:
    """Convert ``source`` and install it under ``name``; raises ``WeightsError`` with a clear message.

    A U²-Net ONNX file with plain fp32 weights is converted into our model (PyTorch and ONNX Runtime both run
    it); an fp16-stored or quantized one, one of another family (IS-Net, BiRefNet, BRIA) or of widths we do
    not know is installed as it is, after its family was recognised from the graph, and runs on ONNX Runtime.
    A licence that restricts use (BRIA RMBG 2.0) must be accepted (``accept_licence``). The bundled names
    ("full", "small") are refused: the full model comes only from :func:`install_full_model`.
    """
    source = Path(source)
    checked_source(source)
    if name is not None and is_bundled_name(name):
        raise WeightsError(f"model name {name!r} is the bundled model's; choose another name (the official full "
                           "U²-Net is installed with Get the full model, or clearbg-cli --get-full-model)")
    return _install(source, name or default_name_for(source), folder or user_models_dir(), replace, storage,
                    accept_licence)


def _install(source: Path, name: str, folder: Path, replace: bool, storage: str,
             accept_licence: bool) -> WeightsEntry:
    """The import itself: every failure, whatever raised it, becomes one ``WeightsError`` line naming the file."""
    manifest_taking(folder, name, replace)  # refused before the file is even read
    try:
        return _convert_and_install(source, name, folder, replace, storage, accept_licence)
    except WeightsError:
        raise
    except MemoryError:
        raise WeightsError(f"{source.name}: not enough memory to read it; not a model ClearBG can use") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file can break any step; the user gets one line, not a trace
        raise WeightsError(f"{source.name}: not a model ClearBG can use ({type(exc).__name__}: "
                           f"{_one_line(str(exc))})") from None


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _convert_and_install(source: Path, name: str, folder: Path, replace: bool, storage: str,
                         accept_licence: bool) -> WeightsEntry:
    if source.suffix.lower() == ".onnx" or is_onnx_file(source):
        graph, family = _onnx_family(source)
        convertible = family is U2NET and has_torch() and compact_storage(graph) is None and onnx_variant(graph)
        del graph
        if not convertible:
            return _add_onnx_as_is(source, name, folder, family, accept_licence, replace)
    elif not has_torch():
        raise WeightsError(f"{source.name}: this ClearBG runs ONNX models (it ships without PyTorch); "
                           "add the .onnx version of the model (rembg's files are)")
    try:
        model = convert_checkpoint(source)
        source_sha256, source_md5 = sha256_file(source), md5_file(source)
    except ConversionError as exc:
        raise WeightsError(str(exc)) from None
    except OSError as exc:
        raise WeightsError(f"{source}: cannot read it ({exc.strerror or exc})") from None
    card, extra = _card(source, name, model.variant, source_sha256, source_md5, U2NET, 320)
    return write_weights_folder(model, folder, name, card=card, file_name=f"{name}.pt", manifest_extra=extra,
                                storage=storage, replace=replace, check=_test_prediction(source))


def _test_prediction(source: Path) -> Callable[[WeightsEntry], None]:
    """The import's last check, on the staged entry: one prediction on the engine that will run it, whatever the
    family, its output checked as every photo's is (shape, NaN). A small picture; the model sees it at its own
    size (320 px for U²-Net: ~0.1-0.5 s on a CPU; the 1024 px families cost what one photo costs)."""

    def check(entry: WeightsEntry) -> None:
        photo = _test_photo()
        try:
            if entry.format == "onnx":
                from clearbg_desktop.core.inference.onnx_engine import OnnxSegmenter

                OnnxSegmenter(entry, lean_memory=True).predict_probabilities([photo])  # all cores: a one-off wait
            else:
                _torch_prediction(entry, photo)
        except ModelOutputError as exc:
            raise WeightsError(f"{source.name}: refused, its test prediction failed: {exc}") from None
        except MemoryError:
            raise WeightsError(f"{source.name}: its test prediction ran out of memory; not a model ClearBG can "
                               "use here") from None
        except Exception as exc:  # noqa: BLE001 - whatever the engine says, the model is not usable
            raise WeightsError(f"{source.name}: cannot run it ({_one_line(str(exc))})") from None

    return check


def _test_photo() -> Image.Image:
    """A small gradient with a bright square: a map of real values, not a flat one."""
    ramp = np.linspace(0, 255, 64, dtype=np.float32)
    rgb = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (64, 1)), np.tile(ramp[:, None], (1, 64))], axis=-1)
    rgb[16:48, 16:48] = 240
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _torch_prediction(entry: WeightsEntry, photo: Image.Image) -> None:
    """What the PyTorch engine does with a photo, without its process-wide thread setting."""
    import torch

    from clearbg_desktop.core.inference.segmenter import normalise
    from clearbg_desktop.core.inference.weights import load_model

    model = load_model(entry)
    batch = np.array(resize_for_model(photo, entry.input_size))[None]
    with torch.inference_mode():
        maps = model.predict(normalise(batch)).float().numpy()
    checked_maps(maps, 1, entry.input_size, entry.name)


class LicenceNotAccepted(WeightsError):
    """The model's licence restricts its use (BRIA RMBG 2.0: non-commercial); the user must accept it first."""


ATTENTION_OPS = frozenset({"MatMul", "Gemm", "Einsum", "Attention", "MultiHeadAttention"})


def _onnx_family(source: Path) -> tuple[OnnxGraph, ModelFamily]:
    """The graph (with its weights only where a U²-Net's shapes are to be checked) and its family."""
    try:
        signature = read_onnx_graph(source, with_tensors=False)
        size = signature.inputs[0][1][-1] if signature.inputs and len(signature.inputs[0][1]) == 4 else None
        if size is None and not any(node.op_type in ATTENTION_OPS for node in signature.nodes):
            # ClearBG's own exports leave the side free and give one map, as a BiRefNet does (ADR 0012); a
            # convolutional graph is looked at by its convolutions first (a BiRefNet's backbone attends: MatMul).
            graph = read_onnx_graph(source)
            if onnx_variant(graph) is not None:
                return graph, U2NET
        last = signature.producer(signature.outputs[0]) if signature.outputs else None
        try:
            family = recognise_family(size, len(signature.outputs), last is not None and last.op_type == "Sigmoid")
        except UnknownFamilyError:
            graph = read_onnx_graph(source)
            if onnx_variant(graph) is None:  # U²-Net's exact convolutions at another input size still are one
                raise
            return graph, U2NET
        graph = read_onnx_graph(source) if family is U2NET else signature
    except OnnxFormatError as exc:
        raise WeightsError(f"{source.name}: not a readable ONNX file: {exc}") from None
    except UnknownFamilyError as exc:
        raise WeightsError(f"{source.name}: not a model ClearBG knows: {exc}") from None
    return graph, family


def _card(source: Path, name: str, variant: str, source_sha256: str, source_md5: str, family: ModelFamily,
          input_size: int) -> tuple[dict, dict]:
    official = identify_official(source_md5, source_sha256)
    if official is not None:
        licence, origin = official.licence, official.source
    elif family is U2NET:
        licence = AUTHORS_LICENCE if source.suffix.lower() in (".onnx", ".pth") else "as given by its source"
        origin = "the file you added"
    else:
        licence, origin = FAMILY_LICENCES[family.name], "the file you added"
    architecture = f"U²-Net ({variant})" if family is U2NET and variant != "other" else family.label
    card = {
        "name": name,
        "architecture": architecture,
        "family": family.name,
        "source_file": source.name,
        "source_sha256": source_sha256,  # recorded once the file was verified by its MD5 (rembg's pin)
        "source_md5": source_md5,
        "official": official.name if official else None,
        "description": official.description if official else f"imported from {source.name}",
        "licence": licence,
        "source": origin,
        "input_size": input_size,
    }
    extra = {"source_file": source.name, "source_sha256": source_sha256, "licence": licence}
    return card, extra


def _pruned_u2net(graph: OnnxGraph) -> bool:
    """U²-Net's layout at other channel widths (rembg's silueta): 119 convolutions and the 7 maps."""
    return sum(node.op_type == "Conv" for node in graph.nodes) == 119 and len(graph.outputs) == 7


FAMILY_LICENCES = {"u2net": AUTHORS_LICENCE, "isnet": "as given by its source (IS-Net: Apache-2.0 upstream)",
                   "birefnet": "as given by its source (BiRefNet: MIT upstream)",
                   "bria": "CC BY-NC 4.0: non-commercial use only (BRIA RMBG 2.0)"}


def _add_onnx_as_is(source: Path, name: str, folder: Path, family: ModelFamily,
                    accept_licence: bool = False, replace: bool = False) -> WeightsEntry:
    """An ONNX model installed unchanged (another family, an int8 or fp16 file, or no torch to convert it),
    after its shapes and input size were checked and ONNX Runtime gave one good test prediction."""
    if family is BRIA and not accept_licence:
        raise LicenceNotAccepted(f"{source.name}: BRIA RMBG 2.0 may be used for non-commercial purposes only "
                                 "(CC BY-NC 4.0); accept its licence to add it (clearbg-cli --accept-licence, "
                                 "or answer Accept in the app)")
    try:
        graph = read_onnx_graph(source) if family is U2NET else None
    except OnnxFormatError as exc:
        raise WeightsError(f"{source.name}: not a readable ONNX file: {exc}") from None
    variant, storage = (onnx_variant(graph), compact_storage(graph)) if graph is not None else ("other", None)
    if variant is None and graph is not None and _pruned_u2net(graph):
        variant = "other"  # U²-Net's layout at other widths (silueta): ONNX Runtime runs it as it is
    del graph
    if variant is None:
        raise WeightsError(f"{source.name}: not a U²-Net (its convolutions match neither U²-Net nor U²-Net-small, "
                           "nor U²-Net's layout of 119 convolutions and 7 outputs)")
    try:
        signature = read_onnx_graph(source, with_tensors=False)
        fixed = signature.inputs[0][1][-1] if signature.inputs and len(signature.inputs[0][1]) == 4 else None
        input_size = fixed or family.input_size
        if not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
            raise WeightsError(f"{source.name}: takes {input_size}×{input_size} px pictures, outside the "
                               f"{MIN_INPUT_SIZE}-{MAX_INPUT_SIZE} px ClearBG runs (beyond 1024 px one photo alone "
                               "needs tens of GiB)")
        card, extra = _card(source, name, variant, sha256_file(source), md5_file(source), family, input_size)
        if storage is not None:
            card["storage"] = extra["storage"] = storage
    except (OSError, OnnxFormatError) as exc:
        raise WeightsError(f"{source}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    return install_weights_copy(source, folder, name, f"{name}.onnx",
                                {"variant": variant, "input_size": input_size, "format": "onnx",
                                 "family": family.name, **extra}, card, replace=replace,
                                check=_test_prediction(source))


def install_full_model(source: Path) -> WeightsEntry:
    """The official full U²-Net (rembg's u2net.onnx or the authors' u2net.pth) as the "full" model, fp16-stored
    like the bundled one; any other file is refused, since "full" must mean the published weights. What the path
    is and its size are checked before it is hashed (a 2 GB file costs a stat, not a read)."""
    source = Path(source)
    checked_source(source)
    official = identify_official(md5_file(source))
    if official is None or official.name != "u2net":
        raise WeightsError(f"{source.name}: not the official full U²-Net (u2net.onnx, MD5 "
                           f"{OFFICIAL_MODELS['u2net'].md5}); add other files with Add model file…")
    return _install(source, DEFAULT_MODEL, user_models_dir(), replace=True, storage="fp16", accept_licence=False)


def download_and_install_full(progress: Callable[[int, int], None] | None = None,
                              cancel: threading.Event | None = None, url: str | None = None) -> WeightsEntry:
    """Download the official u2net.onnx (resumable, hash-checked), install it as "full", drop the download."""
    from clearbg_desktop.core.inference.model_download import download_official

    path = download_official("u2net", user_models_dir() / "downloads", progress, cancel, url)
    entry = install_full_model(path)
    if entry.path.resolve() != path.resolve():
        path.unlink(missing_ok=True)
    return entry


def remove_model(name: str, folder: Path | None = None) -> None:
    """Remove a model from the user folder (bundled models cannot be removed); an unreadable manifest is left
    alone, and said so."""
    folder = folder or user_models_dir()
    if name not in read_manifest(folder).data["models"]:
        raise WeightsError(f"no user-installed model named {name!r} in {folder}")
    remove_weights_entry(folder, name)
