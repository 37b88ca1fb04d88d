"""Our weights as ONNX, for the standalone app's ONNX Runtime engine (run at build time, where torch is).

``export_weights_folder`` turns every PyTorch entry of a weights folder into an ``.onnx`` file with the fused
probability as its first output, a dynamic batch size, and a manifest entry of format ``onnx`` that keeps the
model card, so the app finds, hash-checks and describes it exactly as before. An fp16-stored entry (the full
U²-Net) becomes an ONNX file with fp16 kernels, each widened by a ``Cast`` that ONNX Runtime folds when it
loads the session: half the download, the same fp32 arithmetic on the same values, so the same masks.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import torch

from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.inference.model import FusedProbability, U2Net
from clearbg_desktop.core.inference.onnx_engine import FREE_SIDE_AXES
from clearbg_desktop.core.inference.weights import MANIFEST_NAME, WeightsEntry, load_model, read_weights_manifest

ONNX_OPSET = 17


#: The graph's free dimensions: the batch, and the square's side, so that one file also runs the object box's smaller
#: view (``core.inference.box_prompt``); a GPU provider's session fixes the side again to the model's own size.
FREE_AXES = {0: "batch", 2: FREE_SIDE_AXES[0], 3: FREE_SIDE_AXES[1]}


def onnx_bytes(model: U2Net, input_size: int = 320, storage: str = "fp32") -> bytes:
    """``model`` as an ONNX graph (traced at ``input_size``, any batch and side; see :data:`FREE_AXES`)."""
    wrapped = FusedProbability(model.eval()).eval()  # export restores the wrapper's mode, and with it the model's
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.onnx"
        torch.onnx.export(wrapped, (torch.zeros(1, 3, input_size, input_size),), str(path),
                          input_names=["image"], output_names=["probability"], opset_version=ONNX_OPSET,
                          dynamic_axes={"image": FREE_AXES, "probability": FREE_AXES}, dynamo=False)
        data = path.read_bytes()
    return half_stored(data) if storage == "fp16" else data


def half_stored(data: bytes) -> bytes:
    """An fp32 ONNX graph with its 4-D kernels stored as fp16 and widened by ``Cast`` nodes (needs ``onnx``,
    which the build environment has; where it is missing the fp32 graph is returned, same masks, twice the size)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return data
    graph_model = onnx.load_from_string(data)
    graph = graph_model.graph
    casts = []
    for initializer in graph.initializer:
        if initializer.data_type != TensorProto.FLOAT or len(initializer.dims) != 4:
            continue
        name = initializer.name
        half = numpy_helper.from_array(numpy_helper.to_array(initializer).astype("float16"), f"{name}__fp16")
        initializer.CopyFrom(half)
        casts.append(helper.make_node("Cast", [f"{name}__fp16"], [name], to=TensorProto.FLOAT, name=f"{name}__widen"))
    nodes = casts + list(graph.node)
    del graph.node[:]
    graph.node.extend(nodes)
    return graph_model.SerializeToString()


def export_weights_folder(source: Path, target: Path) -> dict[str, WeightsEntry]:
    """Every model of ``source``'s manifest as ONNX in ``target`` (with its card and a new manifest)."""
    target.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"models": {}}
    raw = json.loads((source / MANIFEST_NAME).read_text(encoding="utf-8"))
    for name, entry in read_weights_manifest(source).items():
        item = dict(raw["models"][name])
        if entry.format == "onnx":
            shutil.copy2(entry.path, target / entry.path.name)
        else:
            file_name = f"{entry.path.stem}.onnx"
            write_atomic(onnx_bytes(load_model(entry), entry.input_size, entry.storage), target / file_name,
                         overwrite=True)
            item |= {"file": file_name, "format": "onnx", "sha256": sha256_file(target / file_name),
                     "exported_from": {"file": entry.path.name, "sha256": entry.sha256}}
        if item.get("card"):
            shutil.copy2(source / item["card"], target / item["card"])
        manifest["models"][name] = item
    for extra in ("MODEL_CARD.md",):
        if (source / extra).is_file():
            shutil.copy2(source / extra, target / extra)
    write_atomic((json.dumps(manifest, indent=2) + "\n").encode(), target / MANIFEST_NAME, overwrite=True)
    return read_weights_manifest(target)
