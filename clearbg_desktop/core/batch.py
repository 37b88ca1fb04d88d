"""Batch export as a cancellable generator: the GUI relays its yields as signals, the CLI feeds tqdm.

Decoding, inference and encoding overlap in a small pipeline (a decode thread and an encode
thread around the model, with bounded queues), because at 12 MP decoding and PNG encoding take
as long as the model. On CPU, for large photos the model leaves one core to them (with all cores each,
the model's threads and the encoder's fought: bench/RESULTS.md section 8); small photos, whose decoding
and encoding cost almost nothing, give the model every core (``model_threads``).
Outputs are written atomically, so a cancelled or crashed job never leaves a partial file, and
with the default ``skip`` policy re-running a job resumes it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from clearbg_desktop.core.imaging.export import (
    SOFT_ENLARGEMENT,
    ExportOptions,
    enlargement,
    export_photo,
    keeps_sixteen_bits,
    looks_like_output,
    next_free_path,
)
from clearbg_desktop.core.imaging.image_io import (
    ImageLoadError,
    LoadedImage,
    OutputError,
    OutputExistsError,
    OutputSpaceError,
    is_supported_image,
    load_image,
    remove_stale_parts,
)
from clearbg_desktop.core.output_plan import (
    OutputRequest,
    collision_key,
    folder_labels,
    plan_outputs,
    replaces_original,
)
from clearbg_desktop.core.output_record import OutputRecords
from clearbg_desktop.core.paths import path_kind

if TYPE_CHECKING:
    import numpy as np

    from clearbg_desktop.core.inference.doubt import Doubt
    from clearbg_desktop.core.inference.engines import Engine

EXISTING_POLICIES = ("skip", "rename", "overwrite")
#: Doubt from which an exported photo is listed for review: about the most doubtful tenth of people-val
#: (bench/doubt_calibration.py).
DEFAULT_REVIEW_THRESHOLD = 0.5


@dataclass(frozen=True)
class BatchItem:
    source: Path
    target: Path


@dataclass(frozen=True, eq=False)
class EditedPhoto:
    """A photo the user edited in the window: exported with this mask (no decoding, no model) and these options."""

    loaded: LoadedImage | None  # None: decoded when its turn comes, by ``source``
    alpha: Image.Image | None
    options: ExportOptions | None = None  # None: the job's
    # A photo whose full pixels were evicted (#32): decoded again only when it is exported, so exporting a
    # whole shoot holds one photo at a time. Raises ImageLoadError when its file is gone.
    source: Callable[[], tuple[LoadedImage, Image.Image]] | None = None
    probability: np.ndarray | None = None  # the model's, while the mask is still exactly the model's (16-bit)

    def photo(self) -> tuple[LoadedImage, Image.Image]:
        if self.loaded is not None and self.alpha is not None:
            return self.loaded, self.alpha
        assert self.source is not None
        return self.source()


@dataclass
class BatchPlan:
    """What a job will do: one item per photo, plus the files it will ignore (not images).

    ``edited`` holds the items whose mask comes from the window (the user's edits), not from the model.
    ``problems`` holds the items that cannot be written, with why (an output that would replace an original, a
    name too long, a photo whose path cannot be read): they fail, alone, without being decoded.
    """

    items: list[BatchItem]
    ignored: list[Path] = field(default_factory=list)
    output_dir: Path | None = None
    edited: dict[BatchItem, EditedPhoto] = field(default_factory=dict)
    problems: dict[BatchItem, str] = field(default_factory=dict)
    model: str = "small"  # the model name the template's {model} gives (outputs are recognised by their names)

    @property
    def needs_model(self) -> bool:
        return any(item not in self.edited and item not in self.problems for item in self.items)

    @property
    def replaces_originals(self) -> list[BatchItem]:
        """Items refused because their output would be one of the photos (the whole job should be refused)."""
        return [item for item, problem in self.problems.items() if "original photo" in problem]


def _walk(folder: Path, recursive: bool, unreadable: dict[Path, str]) -> Iterator[tuple[Path, str]]:
    """Every visible non-folder entry under ``folder`` with its kind, sorted. A folder that cannot be listed (no
    permission, a path over the system's limit) goes into ``unreadable`` with why, never silently left out.
    Symlinked folders are not followed (a link loop cannot trap the walk), as ``Path.rglob`` did."""

    def cannot_list(error: OSError) -> None:
        where = Path(error.filename) if error.filename else folder
        unreadable[where] = f"the folder {str(where)[:200]} cannot be read ({error.strerror or error}): its photos " \
                            "were not looked at"

    entries = []
    for root, folders, names in os.walk(folder, onerror=cannot_list):
        entries += [Path(root, name) for name in names if not name.startswith(".")]
        if not recursive:
            break
        folders.sort()
    for path in sorted(entries):
        kind = path_kind(path)
        if kind != "dir":
            yield path, kind


def plan_batch(
    inputs: Sequence[Path | str],
    output_dir: Path | str,
    options: ExportOptions,
    recursive: bool = True,
    model: str = "small",
) -> BatchPlan:
    """Map every photo under ``inputs`` to an output path (named by :func:`core.output_plan.plan_outputs`).

    One folder's photos go to ``output_dir/<relative folder>/``; with several folders, each folder's tree goes
    under its own name (``output_dir/card1/…``, ``output_dir/card2/…``); single files go to ``output_dir/``.
    """
    output_dir = Path(output_dir)
    resolved_output = output_dir.resolve()
    sources: list[tuple[Path, Path]] = []  # (photo, relative output folder)
    ignored: list[Path] = []
    unreadable: dict[Path, str] = {}
    seen: set[Path] = set()

    records = OutputRecords()

    def ours(path: Path) -> bool:
        """Outputs of this or an earlier run: in the output folder and named like an output, or anywhere that the
        record of its folder says ClearBG wrote it (an earlier run into another output folder, in another format)."""
        resolved = path.resolve()
        inside = resolved.parent == resolved_output or resolved_output in resolved.parents
        return (inside and looks_like_output(resolved, options, model)) or \
            records.of(path.parent).owner(path) is not None

    def add(path: Path, relative: Path) -> None:
        key = path.resolve()
        if key in seen:
            return  # the same photo named twice (a file and its folder, or twice on the command line)
        seen.add(key)
        sources.append((path, relative))

    entries = [(Path(raw), path_kind(Path(raw))) for raw in inputs]
    folders = [entry for entry, kind in entries if kind == "dir"]
    labels = folder_labels(folders) if len({entry.resolve() for entry in folders}) > 1 else {}
    for entry, kind in entries:
        if kind == "dir":
            resolved_entry = entry.resolve()
            skip_subtree = resolved_output != resolved_entry and resolved_entry in resolved_output.parents
            for path, found in _walk(entry, recursive, unreadable):
                if found not in ("file", "other", "missing") and is_supported_image(path):
                    unreadable[path] = f"{path.name}: {found}"
                    continue
                if skip_subtree and resolved_output in path.resolve().parents:
                    continue  # an output folder inside the input folder holds only outputs
                if ours(path):
                    continue  # never re-process our own outputs
                if found == "file" and is_supported_image(path):
                    add(path, labels.get(entry, Path()) / path.parent.relative_to(entry))
                else:
                    ignored.append(path)
        elif kind == "file" and is_supported_image(entry):
            if not ours(entry):
                add(entry, Path())
        elif kind not in ("file", "other", "missing", "dir") and is_supported_image(entry):
            unreadable[entry] = f"{entry.name[:80]}: {kind}"
        else:
            ignored.append(entry)
    planned = plan_outputs([OutputRequest(path, relative) for path, relative in sources], output_dir, options,
                           model, originals=[path for path, _ in sources])
    plan = BatchPlan(items=[], ignored=ignored, output_dir=output_dir, model=model)
    for (path, _), output in zip(sources, planned, strict=True):
        item = BatchItem(path, output.target)
        plan.items.append(item)
        if output.problem:
            plan.problems[item] = output.problem
    for path, problem in unreadable.items():
        item = BatchItem(path, output_dir)
        plan.items.append(item)
        plan.problems[item] = problem
    return plan


@dataclass(frozen=True)
class FileResult:
    item: BatchItem
    status: str  # done | skipped | failed
    message: str = ""
    output: Path | None = None
    doubt: Doubt | None = None  # exported photos: how much the mask deserves a look (core.inference.doubt)
    enlarged: float = 1.0  # exported photos: how many times the output enlarges the photo's pixels

    def to_dict(self) -> dict:
        return {"source": str(self.item.source), "output": str(self.output) if self.output else None,
                "status": self.status, "message": self.message,
                "doubt": self.doubt.to_dict() if self.doubt else None,
                "reasons": self.doubt.reasons() if self.doubt else [],
                "enlarged": round(self.enlarged, 2)}


@dataclass(frozen=True)
class Progress:
    """One finished file and where the job stands; yielded once per file."""

    done: int
    total: int
    result: FileResult
    elapsed: float

    @property
    def images_per_second(self) -> float:
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        rate = self.images_per_second
        return (self.total - self.done) / rate if rate > 0 else None


@dataclass
class BatchReport:
    results: list[FileResult] = field(default_factory=list)
    cancelled: bool = False
    elapsed: float = 0.0
    log_path: Path | None = None
    engine: str = ""  # the model and engine that ran, e.g. "U²-Net small on CPU (bf16)"
    stopped: str = ""  # why the job stopped early by itself (a full disk), for the user; empty when it did not
    notes: list[str] = field(default_factory=list)  # lines the user should read about the whole job

    def _with(self, status: str) -> list[FileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def done(self) -> list[FileResult]:
        return self._with("done")

    @property
    def skipped(self) -> list[FileResult]:
        return self._with("skipped")

    @property
    def failed(self) -> list[FileResult]:
        return self._with("failed")

    def summary(self) -> str:
        state = "cancelled" if self.cancelled else "stopped" if self.stopped else "finished"
        counts = (f"{len(self.done)} exported, {len(self.skipped)} skipped, "
                  f"{len(self.failed)} failed in {self.elapsed:.1f} s")
        return f"Batch stopped, {self.stopped}: {counts}" if self.stopped else f"Batch {state}: {counts}"

    def doubtful(self, threshold: float = DEFAULT_REVIEW_THRESHOLD) -> list[FileResult]:
        """Exported photos whose doubt is at least ``threshold``, the most doubtful first."""
        scored = [r for r in self.done if r.doubt is not None and r.doubt.score >= threshold]
        return sorted(scored, key=lambda r: -r.doubt.score if r.doubt else 0.0)

    def soft(self) -> list[FileResult]:
        """Exported photos enlarged more than :data:`SOFT_ENLARGEMENT` times (smaller than the size asked)."""
        return sorted((r for r in self.done if r.enlarged > SOFT_ENLARGEMENT), key=lambda r: -r.enlarged)

    def soft_note(self, names: int = 5) -> str:
        """One line naming the enlarged photos (the first ``names``), or ""."""
        soft = self.soft()
        if not soft:
            return ""
        listed = ", ".join(f"{r.item.source.name} ({r.enlarged:.1f}×)" for r in soft[:names])
        more = f" and {len(soft) - names} more" if len(soft) > names else ""
        return (f"{len(soft)} photo{'s were' if len(soft) != 1 else ' was'} enlarged more than {SOFT_ENLARGEMENT:g}× "
                f"to reach the size asked and may look soft: {listed}{more}")

    def lines(self) -> list[str]:
        out = [self.summary()]
        soft = self.soft_note(names=len(self.results))
        if soft:
            out.append(soft)
        out += [f"note: {note}" for note in self.notes]
        out += [f"FAILED  {r.item.source}: {r.message}" for r in self.failed]
        out += [f"note    {r.item.source}: {r.message}" for r in self.done if r.message]
        out += [f"skipped {r.item.source}: {r.message}" for r in self.skipped]
        return out

    def write_log(self, folder: Path) -> Path:
        """Write ``folder/batch-<timestamp>.log`` and, beside it, the same as JSON with every photo's doubt."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"batch-{datetime.now():%Y%m%d-%H%M%S-%f}.log"
        body = self.lines() + [f"model   {self.engine}"] * bool(self.engine)
        body += [f"done    {r.item.source} -> {r.output}{_doubt_note(r)}" for r in self.done]
        path.write_text("\n".join(body) + "\n", encoding="utf-8")
        report = {"summary": self.summary(), "engine": self.engine, "cancelled": self.cancelled,
                  "elapsed_s": round(self.elapsed, 2),
                  "files": [r.to_dict() for r in self.results]}
        path.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        self.log_path = path
        return path


def _doubt_note(result: FileResult) -> str:
    if result.doubt is None:
        return ""
    reasons = result.doubt.reasons()
    return f"  doubt {result.doubt.score:.2f}" + (f" ({', '.join(reasons)})" if reasons else "")


def written_mask(output: Path, size: tuple[int, int]) -> np.ndarray | None:
    """The mask a batch wrote into ``output`` (HxW uint8), read back for review; None when the file cannot give
    it whole: another size (cropped, resized), no alpha (JPEG), or unreadable."""
    import numpy as np  # not loaded for ``clearbg-cli --help``

    try:
        with Image.open(output) as image:
            if image.size != tuple(size):
                return None
            if image.mode in ("RGBA", "LA", "PA"):
                return np.asarray(image.getchannel("A"), np.uint8).copy()
            if image.mode == "L":  # a mask-only output is the mask
                return np.asarray(image, np.uint8).copy()
            if image.mode.startswith("I;16") or image.mode == "I":  # a 16-bit mask-only output
                return (np.asarray(image, np.uint32) >> 8).astype(np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return None


def _placement(records: OutputRecords, target: Path, source: Path, existing: str, options: ExportOptions,
               model: str) -> tuple[str, Path, str]:
    """(what to do, where, why) for a photo planned at ``target``: "failed" with why when something that is not an
    output is in the way (a folder, a FIFO, a file ClearBG did not write: Existing outputs never reaches those),
    else :meth:`OutputRecords.decide`'s answer ("skipped", or the policy to write with)."""
    in_place = path_kind(target)
    if in_place in ("dir", "other"):
        what = "a folder" if in_place == "dir" else "a FIFO, device or socket"
        return "failed", target, f"its output {target.name} cannot be written: {what} is in its place, which is " \
                                 "never replaced"
    action, where = records.decide(target, source, existing, in_place == "file",
                                   looks_like_output(target, options, model))
    if action == "refused":
        return "failed", target, (f"its output name {target.name} is taken by a file ClearBG did not write (a "
                                  "photo?), which is never replaced; choose another output folder or name template, "
                                  "or Keep both")
    return action, where, ""


def _decode(item: BatchItem) -> LoadedImage:
    return load_image(item.source)


SMALL_PHOTO_PIXELS = 2_000_000  # below this, decoding and encoding cost little next to the model (≤ 4 %)


@contextmanager
def model_threads(segmenter: Engine) -> Iterator[Callable[[int], int | None]]:
    """Yields ``fit(pixels)``, which sets the model's CPU threads for the photos about to be cut out and returns
    how many cores that leaves the PNG encoder (None: all of them).

    Large photos leave one core to the decode and encode threads (at 12 MP PNG encoding takes as long as the
    model, bench/RESULTS.md section 8); small ones give the model every core, since there is almost nothing
    to overlap (a folder of 100 small photos took 1.24× rembg's time with one core idle). Set in the thread
    that runs the model (OpenMP keeps the count per calling thread) and restored afterwards. ONNX Runtime sets
    its threads once per session, so it is left as loaded. The encoder gets the cores the model leaves: with
    both on every core, three threads fought over two cores (bench/RESULTS.md section 9, batch floor).
    """
    if segmenter.engine != "torch" or segmenter.device.type != "cpu":
        yield lambda pixels: None
        return
    import torch

    cores = os.cpu_count() or 1
    before = torch.get_num_threads()
    spare = max(1, min(before, cores - 1))

    def fit(pixels: int) -> int | None:
        wanted = before if pixels < SMALL_PHOTO_PIXELS else spare
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
        return max(1, cores - wanted)

    try:
        yield fit
    finally:
        torch.set_num_threads(before)


GPU_PHOTOS_PER_CALL = 8  # a GPU is idle between small single-photo calls; the CPU gains nothing from groups


def photos_per_model_call(segmenter: Engine) -> int:
    return GPU_PHOTOS_PER_CALL if segmenter.device.type == "cuda" else 1


Segmented = tuple[BatchItem, LoadedImage, "Image.Image | None", "np.ndarray | None", "Exception | None"]


def _segment(segmenter: Engine, group: list[tuple[BatchItem, LoadedImage]], deep: bool = False
             ) -> Iterator[Segmented]:
    """Alphas for a group of photos in one model call; when the call fails, photo by photo, so only the photo
    that fails is reported. ``deep``: a 16-bit output, which takes its alpha from the model's probability, is
    among them; then each alpha comes with the probability it was made from (every engine's ``predict_alphas``
    is ``upsample_alpha`` of its ``predict_probabilities``)."""
    from clearbg_desktop.core.inference.model_io import upsample_alpha

    def run(photos: list[Image.Image]) -> list[tuple[Image.Image, np.ndarray | None]]:
        if not deep:
            alphas = [segmenter.predict_alpha(photos[0])] if len(photos) == 1 else segmenter.predict_alphas(photos)
            return [(alpha, None) for alpha in alphas]
        probabilities = segmenter.predict_probabilities(photos)
        return [(upsample_alpha(probability, photo.size), probability)
                for probability, photo in zip(probabilities, photos, strict=True)]

    if len(group) > 1:
        try:
            results = run([loaded.rgb for _, loaded in group])
        except Exception:  # noqa: BLE001 - fall through to one at a time, which names the photo
            pass
        else:
            for (item, loaded), (alpha, probability) in zip(group, results, strict=True):
                yield item, loaded, alpha, probability, None
            return
    for item, loaded in group:
        try:
            [(alpha, probability)] = run([loaded.rgb])
        except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
            yield item, loaded, None, None, exc
            continue
        yield item, loaded, alpha, probability, None


RENAME_TRIES = 20


def _export(loaded: LoadedImage, alpha: Image.Image, target: Path, options: ExportOptions, existing: str,
            workers: int | None = None, probability: np.ndarray | None = None) -> Path:
    """Export without replacing, unless ``existing`` is overwrite; with rename, a name another run took
    meanwhile is passed over for the next free one."""
    for _ in range(RENAME_TRIES - 1):
        try:
            return export_photo(loaded, alpha, target, options, overwrite=existing == "overwrite", workers=workers,
                                probability=probability)
        except OutputExistsError:
            if existing != "rename":
                raise
            target = next_free_path(target)
    return export_photo(loaded, alpha, target, options, overwrite=existing == "overwrite", workers=workers,
                        probability=probability)


def export_projects(paths: Sequence[Path], output_dir: Path, existing: str = "skip",
                    beside: BatchPlan | None = None) -> Iterator[FileResult]:
    """``clearbg-cli a.clearbg b.clearbg -o out``: each project exported with its own mask and settings, one
    result each. Isolated like photos: a damaged or hostile project is a ``failed`` result, the rest go on.

    ``beside``: the plan of the photos exported in the same run; a project's output never takes one of their
    names (a project and its own photo in one run get two outputs) and never replaces one of them.
    """
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"unknown policy {existing!r} for existing outputs; choose one of {EXISTING_POLICIES}")
    output_dir = Path(output_dir)
    folder = output_dir.resolve()
    items = beside.items if beside is not None else []
    taken = {collision_key(folder / item.target.relative_to(output_dir)) for item in items}
    originals = [Path(path) for path in paths] + [item.source for item in items]
    records = OutputRecords()
    for path in paths:
        result = _export_project(Path(path), output_dir, existing, taken, originals, records)
        if result.item.target != output_dir:
            taken.add(collision_key(folder / result.item.target.name))
        yield result


def _export_project(path: Path, output_dir: Path, existing: str, taken: set[str], originals: list[Path],
                    records: OutputRecords) -> FileResult:
    from clearbg_desktop.core.editing.project import ProjectError, background_beside, open_photo, read_project

    item = BatchItem(path, output_dir)  # the output's name is known once the project is read
    try:
        project = read_project(path)
        options = background_beside(project.export_options, path)
        # Keys of the whole path, so the taken names are compared as planned here: from the file system's root.
        [planned] = plan_outputs([OutputRequest(project.photo_path, output_dir.resolve())], Path("/"), options,
                                 project.model, originals=[*originals, project.photo_path], taken=taken)
        item = BatchItem(path, output_dir / planned.target.name)
        if planned.problem:
            return FileResult(item, "failed", f"{path.name}: {planned.problem}")
        policy, where, why = _placement(records, item.target, path, existing, options, project.model)
        if policy == "failed":
            return FileResult(item, "failed", f"{path.name}: {why}")
        if policy == "skipped":
            return FileResult(item, "skipped", "output already exists", where)
        loaded = open_photo(project, path)
        target = next_free_path(where) if policy == "rename" else where
        written = _export(loaded, Image.fromarray(project.alpha, "L"), target, options, policy)
        records.add(written, item.target, path)
    except OutputExistsError:
        return FileResult(item, "skipped", "output already exists (written meanwhile by another run)", item.target)
    except (ProjectError, ImageLoadError, OutputError) as exc:
        return FileResult(item, "failed", str(exc))
    except MemoryError:
        return FileResult(item, "failed", f"{path.name}: not enough memory to export it")
    except Exception as exc:  # noqa: BLE001 - one bad project must not stop the others
        return FileResult(item, "failed", f"{path.name}: could not export it ({exc})")
    return FileResult(item, "done", "", written)


class _ModelTime:
    """The model's share of a batch (decoding and encoding run beside it), kept per model and device so the
    next long batch can say how long it will take (:mod:`core.inference.time_per_photo`)."""

    def __init__(self, segmenter: Engine) -> None:
        self.segmenter = segmenter
        self.seconds = 0.0
        self.photos = 0

    def add(self, seconds: float, succeeded: bool) -> None:
        if succeeded:
            self.seconds += seconds
            self.photos += 1

    def record(self) -> None:
        from clearbg_desktop.core.inference.time_per_photo import record_seconds_per_photo

        weights = self.segmenter.weights
        if weights is not None and self.photos:
            record_seconds_per_photo(weights.name, self.segmenter.device.type, self.seconds, self.photos)


def count_photos(inputs: Sequence[Path | str], recursive: bool = True, limit: int = 100_000) -> int:
    """How many photos a batch over ``inputs`` would see (by extension; up to ``limit``), for its time warning."""
    count = 0
    for raw in inputs:
        entry = Path(raw)
        if entry.is_dir():
            pattern = entry.rglob("*") if recursive else entry.glob("*")
            for path in pattern:
                if count >= limit:
                    return count
                count += path.is_file() and not path.name.startswith(".") and is_supported_image(path)
        elif entry.is_file() and is_supported_image(entry):
            count += 1
    return count


class _Halt:
    """The user's cancel, or the job's own stop: a full disk fails every photo after it the same way, so the
    batch stops at the first one instead of running the model on the rest for identical errors."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self.reason = ""

    def is_set(self) -> bool:
        return bool(self.reason) or self.cancel.is_set()


def iter_export(
    plan: BatchPlan,
    segmenter: Engine | None,
    options: ExportOptions,
    existing: str = "skip",
    cancel: threading.Event | None = None,
    report: BatchReport | None = None,
    prefetch: int = 2,
    group_size: int | None = None,
) -> Iterator[Progress]:
    """Export every item, yielding a :class:`Progress` per file in plan order.

    ``cancel`` takes effect within one model call: the file being encoded is finished (a complete output),
    photos waiting for the encoder and the mask the model was computing are dropped, nothing new starts.
    A broken photo is a ``failed`` result, never an exception. A full disk stops the job after its one
    ``failed`` result, with ``report.stopped`` saying why. Pass a :class:`BatchReport` to collect the results.
    Items in ``plan.edited`` are exported with the user's mask first; ``segmenter`` may be None when every
    item is edited.
    """
    if prefetch < 1:
        raise ValueError("prefetch must be at least 1 (photos decoded ahead of the model)")
    if segmenter is None and plan.needs_model:
        raise ValueError("photos without an edited mask need a model")
    group_size = group_size or (photos_per_model_call(segmenter) if segmenter is not None else 1)
    prefetch = max(prefetch, group_size)
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"unknown policy {existing!r} for existing outputs; choose one of {EXISTING_POLICIES}")
    cancel = cancel or threading.Event()
    halt = _Halt(cancel)
    report = report if report is not None else BatchReport()
    report.engine = segmenter.description if segmenter is not None else "masks edited in the window"
    started = time.perf_counter()
    total = len(plan.items)
    done = 0
    todo: list[BatchItem] = []

    def progress(result: FileResult) -> Progress:
        nonlocal done
        done += 1
        report.results.append(result)
        report.elapsed = time.perf_counter() - started
        return Progress(done, total, result, report.elapsed)

    for item, problem in plan.problems.items():
        yield progress(FileResult(item, "failed", problem))
    for folder in sorted({item.target.parent for item in plan.items if item not in plan.problems}):
        try:
            remove_stale_parts(folder)  # a killed run's temporary files
        except OSError:
            pass  # an output folder that cannot be listed fails its photos when they are written
    records = OutputRecords()
    decisions: dict[BatchItem, tuple[str, Path]] = {}  # the policy each photo is written with, and where
    for item in plan.items:
        if item in plan.problems:
            continue
        own_options = plan.edited[item].options if item in plan.edited else None
        action, where, why = _placement(records, item.target, item.source, existing, own_options or options,
                                        plan.model)
        if action == "failed":
            yield progress(FileResult(item, "failed", why))
            continue
        if action == "skipped":
            own = where != item.target or records.of(item.target.parent).owner(where) is not None
            yield progress(FileResult(item, "skipped", "its output from an earlier run is there" if own
                                      else "output already exists", where))
        else:
            decisions[item] = (action, where)
            todo.append(item)

    def encode(item: BatchItem, loaded: LoadedImage, alpha: Image.Image, workers: int | None,
               own: ExportOptions | None = None, probability: np.ndarray | None = None) -> FileResult | None:
        """The photo's result; None when the disk filled up or the user cancelled before its turn (not written,
        not reported: a re-run does it)."""
        if halt.is_set():
            return None
        policy, planned = decisions.get(item, (existing, item.target))
        target = next_free_path(planned) if policy == "rename" else planned
        if replaces_original(target, [item.source]):
            return FileResult(item, "failed", f"its output {target.name} would replace the original photo, "
                                              "which is never done")
        try:
            scale = enlargement(loaded, alpha, own or options)  # before writing: an error here fails this photo only
            written = _export(loaded, alpha, target, own or options, policy, workers, probability)
        except OutputSpaceError as exc:
            halt.reason = str(exc)
            return FileResult(item, "failed", f"{target.name} not written: {exc}")
        except OutputExistsError:
            # Another run into the same folder wrote it since this one started: it is there, and complete.
            return FileResult(item, "skipped", "output already exists (written meanwhile by another run)",
                              item.target)
        except OutputError as exc:
            return FileResult(item, "failed", str(exc))
        except MemoryError:
            return FileResult(item, "failed", f"not enough memory to encode {target.name}")
        except Exception as exc:  # noqa: BLE001 - compose or encoder errors fail this photo, not the batch
            return FileResult(item, "failed", f"could not encode {target.name}: {exc}")
        from clearbg_desktop.core.inference.doubt import doubt_of  # numpy: not loaded for ``clearbg-cli --help``

        records.add(written, item.target, item.source)
        notes = list(loaded.notes)
        if policy == "rename" and existing != "rename":
            notes.append(f"{item.target.name} is another photo's output from an earlier run; written as {written.name}")
        return FileResult(item, "done", "; ".join(notes), written, doubt_of(alpha), scale)

    def finished(result: FileResult | None) -> Iterator[Progress]:
        if result is not None:
            yield progress(result)

    def close() -> None:
        report.cancelled = cancel.is_set() and not halt.reason and done < total
        report.stopped = halt.reason
        if records.note() and records.note() not in report.notes:
            report.notes.append(records.note())
        report.elapsed = time.perf_counter() - started

    for item in [item for item in todo if item in plan.edited]:
        if halt.is_set():
            break
        edited = plan.edited[item]
        try:
            photo, mask = edited.photo()
        except ImageLoadError as exc:
            yield progress(FileResult(item, "failed", str(exc)))
            continue
        yield from finished(encode(item, photo, mask, None, edited.options, edited.probability))
    todo = [item for item in todo if item not in plan.edited and not halt.is_set()]
    if segmenter is None or not todo:
        close()
        return
    model_time = _ModelTime(segmenter)
    decoder = ThreadPoolExecutor(1, thread_name_prefix="clearbg-decode")
    encoder = ThreadPoolExecutor(1, thread_name_prefix="clearbg-encode")
    decoding: deque[tuple[BatchItem, Future[LoadedImage]]] = deque()
    encoding: deque[Future[FileResult | None]] = deque()
    pending = iter(todo)
    with model_threads(segmenter) as fit_threads:
        try:
            def refill() -> None:
                while len(decoding) < prefetch and not halt.is_set():
                    item = next(pending, None)
                    if item is None:
                        return
                    decoding.append((item, decoder.submit(_decode, item)))

            refill()
            while decoding:
                group: list[tuple[BatchItem, LoadedImage]] = []
                while decoding and len(group) < group_size:
                    item, future = decoding.popleft()
                    refill()
                    try:
                        group.append((item, future.result()))
                    except ImageLoadError as exc:
                        yield progress(FileResult(item, "failed", str(exc)))
                    except Exception as exc:  # noqa: BLE001 - one bad photo must not stop the batch
                        yield progress(FileResult(item, "failed", f"{item.source.name}: {exc}"))
                if halt.is_set():
                    break  # decoded, never cut out: the disk is full or the user cancelled
                encode_workers = None
                if group:
                    encode_workers = fit_threads(max(loaded.rgb.width * loaded.rgb.height for _, loaded in group))
                deep = any(keeps_sixteen_bits(loaded, options) for _, loaded in group)
                model_started = time.perf_counter()
                for item, loaded, alpha, probability, error in _segment(segmenter, group, deep):
                    model_time.add(time.perf_counter() - model_started, error is None and alpha is not None)
                    model_started = time.perf_counter()  # a group's later photos came out of the same call
                    if halt.is_set():
                        break  # cancelled while the model ran: its mask is dropped, nothing more is written
                    if error is not None or alpha is None:
                        yield progress(FileResult(item, "failed", f"{item.source.name}: {error}"))
                        continue
                    encoding.append(encoder.submit(encode, item, loaded, alpha, encode_workers, None, probability))
                while encoding and (encoding[0].done() or len(encoding) > max(prefetch, group_size)):
                    yield from finished(encoding.popleft().result())
                if halt.is_set():
                    for _, dropped in decoding:
                        dropped.cancel()
                    decoding.clear()
            while encoding:
                yield from finished(encoding.popleft().result())
        finally:
            decoder.shutdown(wait=True, cancel_futures=True)
            encoder.shutdown(wait=True)
            model_time.record()
            close()
