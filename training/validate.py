"""``python -m training validate``: the harness every default of the mask pipeline is chosen by (issue #45).

Each pipeline (a model, an input resize, optionally the flip average) runs through the app's own engine
(``core.inference``: the resize, normalisation, model, stretch and upsample that the CLI, the window and the batch
use) on every validation set (``training.validation_sets``: people-val and coco-objects), scored with
``training.metrics`` per photo, per set and pooled. rembg's pipeline with the same weights (the official ONNX file
through rembg's own steps, reproduced in :func:`rembg_alpha`) runs beside it.

Noise: a **paired bootstrap over photos**. Both pipelines' per-photo scores are resampled with the same photo
indices (``resamples`` times, 2000 by default, seeded); each resample's max Fβ is the maximum of its mean Fβ
curve, the other metrics are means; the 95 % interval is the 2.5-97.5 percentiles of the candidate-minus-baseline
differences. The pooled figures resample within each set (stratified) and weigh every photo equally.

The rule (:func:`decide`): a candidate **loses beyond noise** on a set when the 95 % interval of any of max Fβ,
MAE, weighted Fβ or S-measure lies entirely on the worse side; it **wins** when one lies entirely on the better
side. A default changes only to a candidate that loses on no set and wins somewhere; among several, the one with
the best pooled max Fβ (then MAE; of resizes with equal masks, the faster). Otherwise the default stays.

Masks are cached on disk (``runs/validation-cache``, git-ignored) per weights hash, pipeline and photo hash, so
a rerun only computes what is new. Inference runs on one CPU thread in fp32: the reference every engine and
precision is held to (``bench/engine_quality.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.inference.model_io import (
    DEFAULT_INPUT_RESIZE,
    IMAGENET_MEAN,
    IMAGENET_STD,
    INPUT_RESIZES,
    input_resize_for,
    model_input,
)
from training.metrics import photo_scores
from training.validation_sets import NamedSet

METRICS = ("max_fbeta", "mae", "weighted_fbeta", "s_measure")
HIGHER_IS_BETTER = {"max_fbeta": True, "mae": False, "weighted_fbeta": True, "s_measure": True}
REMBG_FILES = {"full": "u2net.onnx", "small": "u2netp.onnx"}
REMBG_SIZE = 320


@dataclass(frozen=True)
class Pipeline:
    """One way from photo to mask: ``model`` (a bundled model's name), its ``input_resize`` (one of
    ``INPUT_RESIZES``), ``flip_average``; ``rembg``: rembg's steps with the same weights instead of ours."""

    model: str
    input_resize: str = DEFAULT_INPUT_RESIZE
    flip_average: bool = False
    rembg: bool = False

    @property
    def key(self) -> str:
        if self.rembg:
            return f"{self.model}-rembg"
        return f"{self.model}-{self.input_resize}" + ("-flip" if self.flip_average else "")

    @property
    def label(self) -> str:
        if self.rembg:
            return f"{self.model}: rembg's pipeline, same weights"
        return f"{self.model}: {self.input_resize}" + (" + flip average" if self.flip_average else "")


@dataclass
class Scores:
    """Per-photo scores of one pipeline on one set, in the set's photo order."""

    f_curves: np.ndarray  # (photos, 256)
    values: dict[str, np.ndarray] = field(default_factory=dict)  # mae, weighted_fbeta, s_measure: (photos,)
    seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))  # inference time per photo, when computed

    def summary(self, index: np.ndarray | None = None) -> dict[str, float]:
        """The set's figures (max Fβ of the mean curve, means of the rest), over ``index`` (a resample) or all."""
        take = slice(None) if index is None else index
        result = {"max_fbeta": float(self.f_curves[take].mean(axis=0).max())}
        result.update({name: float(values[take].mean()) for name, values in self.values.items()})
        return result

    @staticmethod
    def pooled(parts: Sequence[Scores]) -> Scores:
        return Scores(np.concatenate([p.f_curves for p in parts]),
                      {name: np.concatenate([p.values[name] for p in parts]) for name in parts[0].values},
                      np.concatenate([p.seconds for p in parts]))


def rembg_alpha(session, rgb: Image.Image) -> np.ndarray:  # type: ignore[no-untyped-def]
    """rembg's U²-Net session, step by step (rembg ``sessions/u2net.py`` + ``session_base.normalize``): Lanczos to
    320², divide by the image's max, ImageNet mean/std; the first output min-max normalised, truncated to 8 bits,
    Lanczos up to the photo's size. Reproduced because rembg itself is not installed here (its model download
    needs the internet)."""
    resized = np.asarray(rgb.resize((REMBG_SIZE, REMBG_SIZE), Image.Resampling.LANCZOS), np.float32)
    resized = resized / max(float(resized.max()), 1e-6)
    mean, std = np.asarray(IMAGENET_MEAN, np.float32), np.asarray(IMAGENET_STD, np.float32)
    tensor = ((resized - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
    fused = session.run(None, {session.get_inputs()[0].name: tensor})[0][0, 0]
    top, bottom = float(fused.max()), float(fused.min())
    normalised = (fused - bottom) / (top - bottom)
    small = Image.fromarray((normalised * 255).astype(np.uint8), "L")
    return np.asarray(small.resize(rgb.size, Image.Resampling.LANCZOS))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


class Runner:
    """Makes (or reads from the cache) each pipeline's masks and per-photo scores."""

    def __init__(self, cache_dir: Path, rembg_dir: Path, threads: int = 1,
                 log: Callable[[str], None] = print) -> None:
        self.cache_dir = cache_dir
        self.rembg_dir = rembg_dir
        self.threads = threads
        self.log = log
        self._engines: dict[str, tuple[str, object]] = {}

    def _engine(self, pipeline: Pipeline) -> tuple[str, object]:
        """(weights hash, a loaded engine) for the pipeline's model, loaded once."""
        name = f"{pipeline.model}-rembg" if pipeline.rembg else pipeline.model
        if name not in self._engines:
            if pipeline.rembg:
                import onnxruntime as ort

                path = self.rembg_dir / REMBG_FILES[pipeline.model]
                if not path.is_file():
                    raise FileNotFoundError(f"{path}: the official ONNX file rembg runs "
                                            "(python -m training get-official fetches it)")
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                self._engines[name] = (_digest(path.read_bytes()), session)
            else:
                from clearbg_desktop.core.inference.segmenter import Segmenter

                segmenter = Segmenter.from_weights(pipeline.model, device="cpu", threads=self.threads,
                                                   precision="fp32")
                sha = segmenter.weights.sha256[:12] if segmenter.weights else "unknown"
                self._engines[name] = (sha, segmenter)
        return self._engines[name]

    def weights_sha(self, pipeline: Pipeline) -> str:
        return self._engine(pipeline)[0]

    def shipped_resize(self, model: str) -> str:
        """The input resize the app feeds ``model`` with today (its architecture's, ``model_io.input_resize_for``)."""
        engine = self._engine(Pipeline(model))[1]
        return input_resize_for(engine.model.variant)  # type: ignore[attr-defined]

    def _alpha(self, pipeline: Pipeline, engine: object, rgb: Image.Image) -> np.ndarray:
        if pipeline.rembg:
            return rembg_alpha(engine, rgb)
        engine.input_resize = pipeline.input_resize  # type: ignore[attr-defined]
        engine.flip_average = pipeline.flip_average  # type: ignore[attr-defined]
        return np.asarray(engine.predict_alpha(rgb))  # type: ignore[attr-defined]

    def _shared_path(self, pipeline: Pipeline, rgb: Image.Image) -> Path | None:
        """Where any ClearBG pipeline feeding the model these very bytes keeps its mask (the steps after the model
        are fixed, so equal inputs give equal masks: e.g. ``lanczos`` and ``lanczos-gap3`` below 1920 px)."""
        if pipeline.rembg:
            return None
        sha, engine = self._engine(pipeline)
        batch = model_input([rgb], engine.input_size, pipeline.input_resize,  # type: ignore[attr-defined]
                            pipeline.flip_average)
        flip = "-flip" if pipeline.flip_average else ""
        return self.cache_dir / sha / "by-input" / f"{_digest(batch.tobytes())}-{rgb.width}x{rgb.height}{flip}.npz"

    def index(self, pipeline: Pipeline, dataset: NamedSet) -> None:
        """Offer the masks this pipeline has to every pipeline with the same model inputs (cheap: resizes only)."""
        sha, _ = self._engine(pipeline)
        folder = self.cache_dir / sha / pipeline.key / dataset.name
        for item_id, rgb, source in zip(dataset.ids, dataset.photos, dataset.sources, strict=True):
            mask_path = folder / f"{item_id}-{_digest(source.read_bytes())}.npz"
            shared = self._shared_path(pipeline, rgb) if mask_path.is_file() else None
            if shared is not None and not shared.is_file():
                shared.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(mask_path.read_bytes(), shared, overwrite=True)

    def cached_pipelines(self, model: str) -> list[Pipeline]:
        """The ClearBG pipelines of ``model`` (its weights as installed now) with masks in the cache."""
        folder = self.cache_dir / self._engine(Pipeline(model))[0]
        found = []
        for child in sorted(folder.iterdir()) if folder.is_dir() else []:
            rest = child.name.removeprefix(f"{model}-")
            resize, flip = rest.removesuffix("-flip"), rest.endswith("-flip")
            if child.is_dir() and rest != child.name and resize in INPUT_RESIZES:
                found.append(Pipeline(model, resize, flip))
        return found

    def scores(self, pipeline: Pipeline, dataset: NamedSet) -> Scores:
        sha, engine = self._engine(pipeline)
        folder = self.cache_dir / sha / pipeline.key / dataset.name
        folder.mkdir(parents=True, exist_ok=True)
        curves, seconds = [], []
        values: dict[str, list[float]] = {name: [] for name in METRICS[1:]}
        computed = reused = 0
        for item_id, rgb, truth, source in zip(dataset.ids, dataset.photos, dataset.truths, dataset.sources,
                                               strict=True):
            photo_key = f"{item_id}-{_digest(source.read_bytes())}"
            mask_path = folder / f"{photo_key}.npz"
            shared = None if mask_path.is_file() else self._shared_path(pipeline, rgb)
            if shared is not None and shared.is_file():
                write_atomic(shared.read_bytes(), mask_path, overwrite=True)
                reused += 1
            if mask_path.is_file():
                with np.load(mask_path) as stored:
                    alpha, spent = stored["alpha"], float(stored["seconds"])
            else:
                started = time.perf_counter()
                alpha = self._alpha(pipeline, engine, rgb)
                spent = time.perf_counter() - started
                _save_npz(mask_path, alpha=alpha, seconds=np.asarray(spent))
                if shared is not None:
                    shared.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(mask_path.read_bytes(), shared, overwrite=True)
                computed += 1
            score_path = folder / f"{photo_key}-{_digest(truth.tobytes())}.scores.npz"
            if score_path.is_file():
                with np.load(score_path) as stored:
                    scored = {name: stored[name] for name in stored.files}
            else:
                scored = {k: np.asarray(v) for k, v in photo_scores(alpha, truth).items() if k != "e_curve"}
                _save_npz(score_path, **scored)
            curves.append(scored["f_curve"])
            for name in values:
                values[name].append(float(scored[name]))
            seconds.append(spent)
        if computed or reused:
            self.log(f"  {pipeline.label} on {dataset.name}: {computed} new masks, {reused} of a pipeline with the "
                     "same model inputs")
        return Scores(np.stack(curves), {k: np.asarray(v) for k, v in values.items()}, np.asarray(seconds))


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    write_atomic(buffer.getvalue(), path, overwrite=True)


def paired_bootstrap(candidate: Sequence[Scores], baseline: Sequence[Scores], resamples: int = 2000,
                     seed: int = 0) -> dict[str, tuple[float, float, float]]:
    """``{metric: (difference, low, high)}``, candidate minus baseline, with the 95 % percentile interval of a
    paired bootstrap over photos (resampled within each of the parts, the same indices for both pipelines)."""
    rng = np.random.default_rng(seed)
    cand, base = Scores.pooled(candidate), Scores.pooled(baseline)
    offsets = np.cumsum([0] + [len(p.f_curves) for p in candidate])
    point = {k: cand.summary()[k] - base.summary()[k] for k in METRICS}
    draws: dict[str, list[float]] = {k: [] for k in METRICS}
    for _ in range(resamples):
        index = np.concatenate([rng.integers(offsets[i], offsets[i + 1], offsets[i + 1] - offsets[i])
                                for i in range(len(candidate))])
        c, b = cand.summary(index), base.summary(index)
        for k in METRICS:
            draws[k].append(c[k] - b[k])
    return {k: (point[k], float(np.percentile(draws[k], 2.5)), float(np.percentile(draws[k], 97.5)))
            for k in METRICS}


def verdict(intervals: dict[str, tuple[float, float, float]]) -> tuple[list[str], list[str]]:
    """(metrics it loses on beyond noise, metrics it wins on beyond noise)."""
    loses, wins = [], []
    for metric, (_, low, high) in intervals.items():
        better_low, better_high = (low, high) if HIGHER_IS_BETTER[metric] else (-high, -low)
        if better_high < 0:
            loses.append(metric)
        elif better_low > 0:
            wins.append(metric)
    return loses, wins


@dataclass
class Comparison:
    """A candidate against the baseline: per set (and pooled) intervals and verdicts."""

    pipeline: Pipeline
    intervals: dict[str, dict[str, tuple[float, float, float]]]  # set (or "pooled") -> metric -> (d, lo, hi)
    loses: dict[str, list[str]]
    wins: dict[str, list[str]]

    @property
    def admissible(self) -> bool:
        return not any(self.loses[name] for name in self.loses if name != "pooled")

    @property
    def wins_somewhere(self) -> bool:
        return any(self.wins[name] for name in self.wins if name != "pooled")


def decide(comparisons: Sequence[Comparison]) -> Comparison | None:
    """The candidate the default changes to under the rule in this module's docstring, or None (keep it)."""
    eligible = [c for c in comparisons if c.admissible and c.wins_somewhere]
    if not eligible:
        return None
    order = list(INPUT_RESIZES)  # fastest first: of two resizes with the same masks, the faster
    return max(eligible, key=lambda c: (c.intervals["pooled"]["max_fbeta"][0], -c.intervals["pooled"]["mae"][0],
                                        -order.index(c.pipeline.input_resize)))


@dataclass
class Report:
    sets: list[str]
    sizes: dict[str, int]
    scores: dict[Pipeline, dict[str, Scores]]
    comparisons: dict[str, list[Comparison]]  # model -> candidates against its baseline
    baselines: dict[str, Pipeline]
    chosen: dict[str, Pipeline | None]
    resamples: int
    weights: dict[str, str] = field(default_factory=dict)  # model -> the first 12 hex digits of its SHA-256

    def to_json(self) -> dict:
        return {
            "sets": self.sizes, "resamples": self.resamples,
            "pipelines": {p.key: {"label": p.label, **{s: sc.summary() for s, sc in per_set.items()},
                                  "pooled": Scores.pooled([per_set[s] for s in self.sets]).summary(),
                                  "ms_per_photo": 1e3 * float(np.median(np.concatenate(
                                      [per_set[s].seconds for s in self.sets])))}
                          for p, per_set in self.scores.items()},
            "comparisons": {model: [{"candidate": c.pipeline.key, "baseline": self.baselines[model].key,
                                     "intervals": c.intervals, "loses": c.loses, "wins": c.wins}
                                    for c in comps] for model, comps in self.comparisons.items()},
            "chosen": {model: (p.key if p else None) for model, p in self.chosen.items()},
        }


def run_validation(sets: Sequence[NamedSet], pipelines: Sequence[Pipeline], runner: Runner,
                   baselines: dict[str, Pipeline], resamples: int = 2000) -> Report:
    """Score every pipeline on every set; compare each ClearBG candidate with its model's baseline."""
    names = [s.name for s in sets]
    for model in baselines:
        for pipeline in runner.cached_pipelines(model):
            for dataset in sets:
                runner.index(pipeline, dataset)
    scores: dict[Pipeline, dict[str, Scores]] = {}
    for pipeline in [*baselines.values(), *pipelines]:
        if pipeline not in scores:
            scores[pipeline] = {s.name: runner.scores(pipeline, s) for s in sets}
    comparisons: dict[str, list[Comparison]] = {}
    chosen: dict[str, Pipeline | None] = {}
    for model, baseline in baselines.items():
        comps = []
        for pipeline in scores:
            if pipeline.model != model or pipeline == baseline:
                continue
            intervals = {name: paired_bootstrap([scores[pipeline][name]], [scores[baseline][name]], resamples)
                         for name in names}
            intervals["pooled"] = paired_bootstrap([scores[pipeline][n] for n in names],
                                                   [scores[baseline][n] for n in names], resamples)
            verdicts = {name: verdict(block) for name, block in intervals.items()}
            comps.append(Comparison(pipeline, intervals, {n: v[0] for n, v in verdicts.items()},
                                    {n: v[1] for n, v in verdicts.items()}))
        comparisons[model] = comps
        # rembg's pipeline and the flip average are reported, not candidates for the default (another
        # engine; twice the time: an opt-in)
        winner = decide([c for c in comps if not c.pipeline.rembg and not c.pipeline.flip_average])
        chosen[model] = winner.pipeline if winner else None
    weights = {m: runner.weights_sha(b) for m, b in baselines.items()}
    return Report(names, {s.name: len(s) for s in sets}, scores, comparisons, baselines, chosen, resamples, weights)


def markdown(report: Report) -> str:
    """The figures per set and pooled, then each candidate's difference from the baseline with its interval."""
    columns = [*report.sets, "pooled"]
    sizes = {**report.sizes, "pooled": sum(report.sizes.values())}
    head = "| pipeline | " + " | ".join(f"{c} ({sizes[c]}): max Fβ | MAE | wFβ | S" for c in columns) + " | ms/photo |"
    lines = [head, "|---|" + "---|---|---|---|" * len(columns) + "---|"]
    for pipeline, per_set in report.scores.items():
        figures = {**{s: per_set[s].summary() for s in report.sets},
                   "pooled": Scores.pooled([per_set[s] for s in report.sets]).summary()}
        cells = [f"{figures[c]['max_fbeta']:.4f} | {figures[c]['mae']:.4f} | {figures[c]['weighted_fbeta']:.4f} | "
                 f"{figures[c]['s_measure']:.4f}" for c in columns]
        ms = 1e3 * float(np.median(np.concatenate([per_set[s].seconds for s in report.sets])))
        lines.append(f"| {pipeline.label} | " + " | ".join(cells) + f" | {ms:.0f} |")
    lines += ["", f"Candidate minus baseline, 95 % paired-bootstrap interval over photos ({report.resamples} "
              "resamples; pooled: stratified by set). ▲ wins / ▼ loses beyond noise (the whole interval on one side).",
              ""]
    lines.append("| candidate (baseline) | " + " | ".join(f"{c}: Δ max Fβ | Δ MAE | Δ wFβ | Δ S" for c in columns)
                 + " | default? |")
    lines.append("|---|" + "---|---|---|---|" * len(columns) + "---|")
    for model, comps in report.comparisons.items():
        for comp in comps:
            cells = []
            for column in columns:
                for metric in METRICS:
                    d, lo, hi = comp.intervals[column][metric]
                    mark = "▼" if metric in comp.loses[column] else "▲" if metric in comp.wins[column] else ""
                    cells.append(f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]{mark}")
            if comp.pipeline.rembg or comp.pipeline.flip_average:
                status = "not a candidate (reported)"
            elif comp.pipeline == report.chosen.get(model):
                status = "**chosen**"
            elif not comp.admissible:
                status = "loses on a set"
            elif comp.wins_somewhere:
                status = "passes; another ranks higher"
            else:
                status = "no win beyond noise"
            lines.append(f"| {comp.pipeline.label} ({report.baselines[model].input_resize}) | " + " | ".join(cells)
                         + f" | {status} |")
    lines.append("")
    for model, choice in report.chosen.items():
        baseline = report.baselines[model]
        lines.append(f"- {model}: " + (f"change the input resize to **{choice.input_resize}**" if choice else
                                       f"keep **{baseline.input_resize}** (no candidate passes the rule)"))
    return "\n".join(lines) + "\n"


def card_block(report: Report, model: str) -> dict:
    """What the model card records of a run: the shipped pipeline's figures per set and pooled, rembg's pipeline
    with the same weights and the flip average beside it, and the rule's choice (``--write-cards``)."""
    def figures(pipeline: Pipeline) -> dict:
        per_set = report.scores[pipeline]
        block = {name: {k: round(v, 4) for k, v in per_set[name].summary().items()} for name in report.sets}
        block["pooled"] = {k: round(v, 4) for k, v in Scores.pooled([per_set[n] for n in report.sets]).summary().items()}
        return block

    baseline = report.baselines[model]
    block: dict = {"command": "python -m training validate", "weights_sha256": report.weights.get(model, ""),
                   "sets": report.sizes, "input_resize":
                   baseline.input_resize, "shipped": figures(baseline), "resamples": report.resamples,
                   "rule_keeps_it": report.chosen.get(model) is None}
    for pipeline in report.scores:
        if pipeline.model == model and pipeline.rembg:
            block["rembg_same_weights"] = figures(pipeline)
        elif pipeline.model == model and pipeline.flip_average:
            block["flip_average"] = {"input_resize": pipeline.input_resize, **figures(pipeline)}
    return block


def write_cards(report: Report, weights_dir: Path) -> list[Path]:
    """The ``validation`` block into each bundled model's card (the app shows cards; re-exports keep the block)."""
    from clearbg_desktop.core.inference.weights import read_weights_manifest

    written = []
    for name, entry in read_weights_manifest(weights_dir).items():
        if name not in report.baselines:
            continue
        card_path = entry.path.with_name(f"{entry.path.stem}.card.json")
        card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.is_file() else {}
        card["validation"] = card_block(report, name)
        write_atomic((json.dumps(card, indent=2) + "\n").encode("utf-8"), card_path, overwrite=True)
        written.append(card_path)
    return written


def default_pipelines(models: Sequence[str], resizes: Sequence[str], flip: bool, rembg: bool,
                      flip_resizes: dict[str, str]) -> list[Pipeline]:
    """Every resize per model, the flip average (with ``flip_resizes[model]``) and rembg's pipeline."""
    pipelines = [Pipeline(m, r) for m in models for r in resizes]
    if flip:
        pipelines += [Pipeline(m, flip_resizes[m], flip_average=True) for m in models]
    if rembg:
        pipelines += [Pipeline(m, rembg=True) for m in models]
    return pipelines


def validate_command(data_root: Path, models: Sequence[str], resizes: Sequence[str] | None, baseline: str | None,
                     flip: bool, rembg: bool, rembg_dir: Path, cache_dir: Path, out_dir: Path, limit: int = 0,
                     resamples: int = 2000, threads: int = 1, flip_resize: str | None = None,
                     cards_dir: Path | None = None) -> str:
    """The one command: load both sets from ``data_root``, run, write ``validation.json``/``.md``, return the table;
    with ``cards_dir`` also the ``validation`` block of each model's card there."""
    import torch

    from training.validation_sets import SET_NAMES, load_set

    torch.set_num_threads(threads)
    unknown = [r for r in [*(resizes or []), baseline, flip_resize] if r and r not in INPUT_RESIZES]
    if unknown:
        raise SystemExit(f"unknown input resize {unknown[0]!r}; one of {', '.join(INPUT_RESIZES)}")
    sets = [load_set(data_root, name, limit) for name in SET_NAMES]
    runner = Runner(cache_dir, rembg_dir, threads)
    shipped = {m: runner.shipped_resize(m) for m in models}
    baselines = {m: Pipeline(m, baseline or shipped[m]) for m in models}
    pipelines = default_pipelines(models, resizes or list(INPUT_RESIZES), flip, rembg,
                                  {m: flip_resize or shipped[m] for m in models})
    report = run_validation(sets, pipelines, runner, baselines, resamples)
    text = markdown(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "validation.json").write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    (out_dir / "validation.md").write_text(text, encoding="utf-8")
    if cards_dir is not None:
        for path in write_cards(report, cards_dir):
            text += f"\nwrote the validation block of {path}"
    return text
