"""``clearbg-cli``: batch background removal from the command line (the core's batch generator + tqdm)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings
from dataclasses import replace
from pathlib import Path

from clearbg_desktop import __version__
from clearbg_desktop.core.batch import (
    DEFAULT_REVIEW_THRESHOLD,
    EXISTING_POLICIES,
    BatchPlan,
    BatchReport,
    export_projects,
    iter_export,
    plan_batch,
)
from clearbg_desktop.core.editing.project import is_project_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import CROP_PADDING_MAX, LONG_EDGE_MAX, QUALITY_RANGE, ExportOptions
from clearbg_desktop.core.imaging.formats import FORMAT_LABELS, FORMAT_SUFFIXES
from clearbg_desktop.core.imaging.presets import PresetError
from clearbg_desktop.core.imaging.refine import FEATHER_MAX, SHIFT_MAX, RefineSettings
from clearbg_desktop.core.imaging.shadow import ANGLE_RANGE, BLUR_RANGE, DISTANCE_RANGE, OPACITY_RANGE, ShadowSettings
from clearbg_desktop.core.inference.devices import DEVICE_CHOICES
from clearbg_desktop.core.paths import log_dir, path_kind

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
NAME_TEMPLATE = "{name}-cutout"


def given_path(text: str) -> Path:
    """A path typed on the command line; an empty one (an unset variable in a script) would mean the current
    folder, so it is refused rather than read or written."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path is not a folder or a file (an unset variable?)")
    if "\0" in text:
        raise argparse.ArgumentTypeError("a path cannot hold a NUL character")
    return Path(text)


def given_box(text: str) -> tuple[float, float, float, float]:
    """``--box x0,y0,x1,y1``: checked before any photo is touched (the core's check, one line, exit 2)."""
    from clearbg_desktop.core.inference.box_prompt import parse_box  # numpy: not loaded for --help

    try:
        return parse_box(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def max_threads() -> int:
    """The most CPU threads a model may be given: every core of this machine (more only slows it down)."""
    return max(1, os.cpu_count() or 1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clearbg-cli",
        description="Remove the background of photos, files or whole folders, with the bundled U²-Net.",
    )
    parser.add_argument("inputs", nargs="*", type=given_path,
                        help="photos and/or folders, or .clearbg projects (exported with their saved mask and settings)")
    parser.add_argument("-o", "--output", type=given_path, help="output folder (required with inputs)")
    parser.add_argument("--format", choices=sorted(FORMAT_SUFFIXES), default="png",
                        help="; ".join(f"{key}: {FORMAT_LABELS[key]}" for key in FORMAT_SUFFIXES)
                        + ". A 16-bit photo (camera RAW, 16-bit PNG/TIFF) stays 16-bit in png, tiff, psd and "
                        "tiff-mask")
    parser.add_argument("--bg", default="transparent",
                        help="transparent (default), a colour (white, '#20a0ff'), blur[:RADIUS], or an image file")
    parser.add_argument("--mask-only", action="store_true", help="write the greyscale mask instead of a cut-out")
    parser.add_argument("--crop", action="store_true", help="crop to the subject")
    parser.add_argument("--padding", type=int, default=16, help="padding around the subject when cropping (px)")
    parser.add_argument("--long-edge", type=int, help="resize the output to this long edge (px)")
    parser.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality (WebP: implies lossy)")
    parser.add_argument("--name", default=NAME_TEMPLATE,
                        help="output name template: {name} {ext} {format} {model}; with --add-model: the model's name")
    parser.add_argument("--preset", metavar="NAME|FILE.json",
                        help="start from an export preset: a built-in one, one saved in the app, or a shared "
                             ".json file; options given as well override it (--list-presets lists them)")
    parser.add_argument("--list-presets", action="store_true", help="list the export presets and exit")
    parser.add_argument("--feather", type=float, default=0.0, help="feather the edge (blur radius, px)")
    parser.add_argument("--shift", type=int, default=0, help="grow (>0) or shrink (<0) the subject (px)")
    parser.add_argument("--decontaminate", action="store_true", help="remove background colour from edge pixels")
    parser.add_argument("--shadow", choices=("contact", "drop", "none"),
                        help="a shadow under the cut-out, made from the mask: contact (soft, under the subject's base) "
                             "or drop (offset by --shadow-distance at --shadow-angle); drawn only where the subject is "
                             "not opaque. none: no shadow, even with a preset that has one")
    parser.add_argument("--shadow-opacity", type=float, metavar="PERCENT",
                        help=f"how dark the shadow is at its darkest, {OPACITY_RANGE[0]:g}-{OPACITY_RANGE[1]:g} %% "
                             f"(default {ShadowSettings().opacity:g})")
    parser.add_argument("--shadow-blur", type=float, metavar="PERCENT",
                        help=f"how soft the shadow is, as a share of the subject's size (its longer side), "
                             f"{BLUR_RANGE[0]:g}-{BLUR_RANGE[1]:g} %% (default {ShadowSettings().blur:g})")
    parser.add_argument("--shadow-distance", type=float, metavar="PERCENT",
                        help=f"drop shadow: how far it falls from the subject, as a share of the subject's size, "
                             f"{DISTANCE_RANGE[0]:g}-{DISTANCE_RANGE[1]:g} %% (default {ShadowSettings().distance:g})")
    parser.add_argument("--shadow-angle", type=float, metavar="DEGREES",
                        help=f"drop shadow: where the light comes from, {ANGLE_RANGE[0]:g}-{ANGLE_RANGE[1]:g} "
                             f"(0 right, 90 above; default {ShadowSettings().angle:g}, upper left: the shadow falls "
                             "to the lower right)")
    parser.add_argument("--model", default="auto",
                        help="an installed model's name (see --list-models); default: full, the full U²-Net (best "
                             "quality), or small (fastest) until the full one is installed")
    parser.add_argument("--get-full-model", nargs="?", const="download", metavar="FILE",
                        help="install the full U²-Net: downloads the official u2net.onnx (hash-checked), or takes "
                             "FILE (u2net.onnx or the authors' u2net.pth), and exit")
    parser.add_argument("--list-models", action="store_true", help="list the installed models and exit")
    parser.add_argument("--add-model", type=Path, metavar="FILE",
                        help="install a U²-Net weights file (rembg's .onnx, the authors' .pth, or ours) and exit")
    parser.add_argument("--accept-licence", action="store_true",
                        help="with --add-model: accept a model's restrictive licence (BRIA RMBG 2.0 is non-commercial)")
    parser.add_argument("--add-name", "--model-name", dest="add_name", metavar="NAME",
                        help="the name for --add-model (default: the file's name)")
    parser.add_argument("--box", action="append", type=given_box, metavar="X0,Y0,X1,Y1",
                        help="the subject is in this box: the model runs on the box (with some context around it) "
                             "and the mask is empty outside it; pixels, or all four within 0..1 for fractions of the "
                             "photo's width and height (the same box for every photo of a turntable series); give it "
                             "again for more boxes. Projects (.clearbg) keep their own mask")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--cluster", metavar="auto|ray://HOST:PORT",
                        help="run the photos on a Ray cluster (pip install 'clearbg-desktop[cluster]'): auto starts "
                             "one on this machine; ray://HOST:10001 or HOST:6379 joins one whose nodes all see the "
                             "photos and the output folder at the same paths (docs/cluster.md)")
    parser.add_argument("--cluster-workers", type=int, metavar="N",
                        help="with --cluster: how many workers (each loads the model once and takes --threads CPUs, "
                             "default 1); default: as many as the cluster has CPUs for, or one per GPU with --device cuda "
                             "(more than the GPUs share them)")
    parser.add_argument("--threads", type=int, help="CPU threads for the model")
    parser.add_argument("--no-recursive", action="store_true", help="do not descend into sub-folders")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    existing.add_argument("--existing", choices=EXISTING_POLICIES, default="skip",
                          help="what to do when an output exists (default: skip, so a re-run resumes)")
    parser.add_argument("--review-threshold", type=float, metavar="DOUBT",
                        help=f"list the photos whose mask doubt (0..1) is at least DOUBT, most doubtful first "
                             f"(every photo's doubt is in the JSON report beside the log; "
                             f"{DEFAULT_REVIEW_THRESHOLD} flags about the worst tenth)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def check_numbers(args: argparse.Namespace) -> None:
    """Every numeric option checked before any photo is touched (usage errors exit 2, not per photo).

    The limits are the core's, which the dialogs and project files are checked with too.
    """
    if not QUALITY_RANGE[0] <= args.quality <= QUALITY_RANGE[1]:
        raise ValueError(f"--quality must be between {QUALITY_RANGE[0]} and {QUALITY_RANGE[1]}, not {args.quality}")
    if args.long_edge is not None and not 1 <= args.long_edge <= LONG_EDGE_MAX:
        raise ValueError(f"--long-edge must be between 1 and {LONG_EDGE_MAX} px, not {args.long_edge}")
    if not 0 <= args.padding <= CROP_PADDING_MAX:
        raise ValueError(f"--padding must be between 0 and {CROP_PADDING_MAX} px, not {args.padding}")
    if not 0 <= args.feather <= FEATHER_MAX:
        raise ValueError(f"--feather must be between 0 and {FEATHER_MAX:g} px, not {args.feather}")
    if abs(args.shift) > SHIFT_MAX:
        raise ValueError(f"--shift must be between -{SHIFT_MAX} and {SHIFT_MAX} px, not {args.shift}")
    for flag, (low, high), unit in SHADOW_NUMBERS:
        value = getattr(args, flag.removeprefix("--").replace("-", "_"), None)
        if value is not None and not low <= value <= high:  # NaN fails this too
            raise ValueError(f"{flag} must be between {low:g} and {high:g}{unit}, not {value:g}")
    if args.threads is not None and not 1 <= args.threads <= max_threads():
        raise ValueError(f"--threads must be between 1 and {max_threads()} (this machine's cores), not {args.threads}")
    for flag in ("model", "preset"):
        value = getattr(args, flag, None)
        if value is not None and not value.strip():
            raise ValueError(f"--{flag} was given an empty name (an unset variable?)")
    if args.cluster_workers is not None and args.cluster_workers < 1:
        raise ValueError(f"--cluster-workers must be at least 1, not {args.cluster_workers}")
    if args.cluster is not None and not args.cluster.strip():
        raise ValueError("--cluster was given an empty address (an unset variable?)")
    if args.review_threshold is not None and not 0 <= args.review_threshold <= 1:
        raise ValueError(f"--review-threshold must be between 0 and 1, not {args.review_threshold}")


def list_models() -> int:
    from clearbg_desktop.core.inference.model_library import installed_models
    from clearbg_desktop.core.inference.weights import WeightsError

    try:
        rows = installed_models()
    except WeightsError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not rows:
        print("no models installed", file=sys.stderr)
        return EXIT_USAGE
    from clearbg_desktop.core.inference.model_choice import resolve_model

    default = resolve_model()
    for row in rows:
        where = "bundled" if row.bundled else "user"
        size = f"{row.size_bytes / 1e6:.1f} MB" if row.size_bytes else "not installed"
        details = ", ".join(x for x in (row.label, row.speed, row.source, row.quality) if x)
        mark = "*" if row.name == default.name else " "
        print(f"{mark} {row.name:<20} {row.entry.variant:<6} {size:>13}  {where:<7} {details}")
    print("* the default model" + (f"\nnote: {default.note}" if default.note else ""))
    return EXIT_OK


def get_full_model(source: str, quiet: bool) -> int:
    """``--get-full-model``: the official u2net.onnx from its pinned release (or a given file) -> model "full"."""
    from tqdm import tqdm

    from clearbg_desktop.core.inference.model_download import DownloadError
    from clearbg_desktop.core.inference.model_library import download_and_install_full, install_full_model
    from clearbg_desktop.core.inference.weights import WeightsError

    try:
        if source == "download":
            with tqdm(unit="B", unit_scale=True, disable=quiet, desc="u2net.onnx") as bar:
                def progressed(got: int, total: int) -> None:
                    bar.total = total or None
                    bar.update(got - bar.n)

                entry = download_and_install_full(progressed)
        else:
            entry = install_full_model(Path(source))
    except (WeightsError, DownloadError) as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"installed the full U²-Net as {entry.name!r} ({entry.path.stat().st_size / 1e6:.0f} MB, "
          f"{entry.short_hash}) in {entry.path.parent}; it is now the default model")
    return EXIT_OK


def add_model(source: Path, name: str | None, accept_licence: bool = False) -> int:
    from clearbg_desktop.core.inference.model_library import add_model_file
    from clearbg_desktop.core.inference.weights import WeightsError

    try:
        entry = add_model_file(source, name, accept_licence=accept_licence)
    except WeightsError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    kind = f"U²-Net {entry.variant}" if entry.family == "u2net" and entry.variant != "other" else entry.card.get(
        "architecture", entry.family)
    print(f"installed {entry.name!r} ({kind}, {entry.input_size} px, {entry.short_hash}) in {entry.path.parent}; "
          f"use it with --model {entry.name}")
    return EXIT_OK


def options_from_args(args: argparse.Namespace) -> ExportOptions:
    options = _options_from_flags(args)
    if not getattr(args, "preset", None):
        return options
    from clearbg_desktop.core.imaging.presets import find_preset
    from clearbg_desktop.core.settings import AppSettings

    base = find_preset(args.preset, AppSettings.load().export_presets).options
    given: set[str] = getattr(args, "given", set())
    changes: dict[str, object] = {field: getattr(options, field) for flag, field in PRESET_FLAG_FIELDS.items()
                                  if flag in given}
    if given & {"feather", "shift", "decontaminate"}:
        changes["refine"] = options.refine
    if given & SHADOW_FLAGS:
        changes["shadow"] = shadow_from_args(args, None if "shadow" in given else base.shadow)
    return base.with_changes(**changes)


#: The shadow's numbers: flag, the core's range, unit (checked with the other numbers, before any photo).
SHADOW_NUMBERS = (("--shadow-opacity", OPACITY_RANGE, " %"), ("--shadow-blur", BLUR_RANGE, " %"),
                  ("--shadow-distance", DISTANCE_RANGE, " %"), ("--shadow-angle", ANGLE_RANGE, " degrees"))
SHADOW_FLAGS = {"shadow", "shadow_opacity", "shadow_blur", "shadow_distance", "shadow_angle"}


def shadow_from_args(args: argparse.Namespace, base: ShadowSettings | None = None) -> ShadowSettings | None:
    """The shadow ``--shadow`` and its numbers ask for, starting from ``base`` (a preset's shadow) when ``--shadow``
    is not given; a number for no shadow, or a drop shadow's number for a contact shadow, is a usage error."""
    kind = args.shadow if args.shadow is not None else (base.kind if base is not None else None)
    numbers = {field: getattr(args, f"shadow_{field}") for field in ("opacity", "blur", "distance", "angle")
               if getattr(args, f"shadow_{field}", None) is not None}
    if kind in (None, "none"):
        if numbers:
            raise ValueError(f"--shadow-{next(iter(numbers))} is for a shadow: add --shadow contact or --shadow drop")
        return None
    if kind == "contact" and numbers.keys() & {"distance", "angle"}:
        raise ValueError("--shadow-distance and --shadow-angle move a drop shadow: use them with --shadow drop")
    start = base if base is not None and base.kind == kind else ShadowSettings(kind=kind)
    return replace(start, **numbers)


def given_flags(argv: list[str] | None) -> set[str]:
    """The options actually typed (a flag equal to its default counts too), for --preset's overrides."""
    probe = build_parser()
    for action in probe._actions:
        action.default = argparse.SUPPRESS
    return set(vars(probe.parse_known_args(argv)[0]))


#: Which option each flag sets, so a flag given with --preset overrides the preset and the rest keep it.
PRESET_FLAG_FIELDS = {"format": "format", "quality": "quality", "bg": "background", "mask_only": "mask_only",
                      "crop": "crop_to_subject", "padding": "crop_padding", "long_edge": "resize_long_edge",
                      "name": "name_template"}


def _options_from_flags(args: argparse.Namespace) -> ExportOptions:
    lossy_webp = args.format == "webp" and args.quality != 92
    return ExportOptions(
        format=args.format,
        quality=args.quality,
        lossless=not lossy_webp,
        background=Background.parse(args.bg),
        mask_only=args.mask_only,
        crop_to_subject=args.crop,
        crop_padding=args.padding,
        resize_long_edge=args.long_edge,
        name_template=args.name,
        refine=RefineSettings(feather=args.feather, shift=args.shift, decontaminate=args.decontaminate),
        shadow=None if getattr(args, "preset", None) else shadow_from_args(args),  # a preset's: options_from_args
    )


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    warnings.formatwarning = lambda message, *_args, **_kw: f"clearbg-cli: warning: {message}\n"  # one line, no source
    parser = build_parser()
    args = parser.parse_args(argv)
    args.given = given_flags(argv)
    if args.list_models:
        return list_models()
    if args.list_presets:
        from clearbg_desktop.core.imaging.presets import all_presets
        from clearbg_desktop.core.settings import AppSettings

        for preset in all_presets(AppSettings.load().export_presets):
            print(f"{'built-in' if preset.built_in else 'yours   '}  {preset.name}")
        return EXIT_OK
    if args.get_full_model is not None:
        return get_full_model(args.get_full_model, args.quiet)
    if args.add_model is not None:
        return add_model(args.add_model, args.add_name or (args.name if args.name != NAME_TEMPLATE else None),
                         args.accept_licence)
    if not args.inputs:
        parser.error("give photos or folders to process (or --list-models / --add-model FILE)")
    if args.output is None:
        parser.error("the output folder is required: -o/--output FOLDER")
    try:
        check_numbers(args)
        options = options_from_args(args)
    except PresetError as exc:  # the preset, its file or its background image: one line, before any photo
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        parser.error(str(exc))
    unusable = [f"{str(p)[:120]}: {_in_words(kind)}" for p in args.inputs
                if (kind := path_kind(p)) not in ("dir", "file")]
    if unusable:
        print(f"clearbg-cli: cannot use {'; '.join(unusable)}", file=sys.stderr)
        return EXIT_USAGE
    output_kind = path_kind(args.output)
    if output_kind not in ("dir", "missing"):
        why = "is a file" if output_kind == "file" else _in_words(output_kind)
        print(f"clearbg-cli: the output folder {str(args.output)[:120]} {why}", file=sys.stderr)
        return EXIT_USAGE
    projects = [p for p in args.inputs if p.is_file() and is_project_file(p)]
    photos = [p for p in args.inputs if p not in projects]
    existing = "overwrite" if args.overwrite else args.existing
    from clearbg_desktop.core.inference.model_choice import resolve_model

    model = resolve_model(args.model)
    plan = plan_batch(photos, args.output, options, recursive=not args.no_recursive, model=model.name)
    plan.boxes = tuple(args.box or ())
    if plan.replaces_originals:
        first = plan.replaces_originals[0]
        print(f"clearbg-cli: refused: {len(plan.replaces_originals)} output(s) would replace the original photos "
              f"(first: {first.source}); choose another output folder (-o) or a name template (--name) other than "
              "{name}", file=sys.stderr)
        return EXIT_USAGE
    report = BatchReport()
    for result in export_projects(projects, args.output, existing, beside=plan):
        report.results.append(result)
        if result.status == "done":
            print(f"{result.item.source.name} -> {result.output}")
        elif result.status == "failed":
            print(f"failed: {result.item.source}: {result.message}", file=sys.stderr)
    if model.note and photos:
        print(f"clearbg-cli: note: {model.note}", file=sys.stderr)
    if photos and not plan.items and not projects:
        print("clearbg-cli: no photos found in the inputs", file=sys.stderr)
        return EXIT_USAGE
    if plan.items:
        from clearbg_desktop.core.inference.engine_choice import TIMING_PAYS_FROM_PHOTOS
        from clearbg_desktop.core.inference.engines import load_segmenter  # torch loads here, not for --help
        from clearbg_desktop.core.inference.weights import WeightsError

        if args.cluster:
            return finish(report, args) if on_cluster(plan, model.name, options, existing, report, args) else EXIT_USAGE
        try:
            to_model = sum(1 for item in plan.items if item not in plan.problems)
            segmenter = load_segmenter(model.name, device=args.device, threads=args.threads,
                                       on_measure=None if args.quiet else lambda text: print(text, file=sys.stderr),
                                       measure=to_model >= TIMING_PAYS_FROM_PHOTOS)
        except WeightsError as exc:
            print(f"clearbg-cli: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not args.quiet and segmenter.choice_reason:
            print(f"{segmenter.description}: {segmenter.choice_reason}", file=sys.stderr)
        if not args.quiet:
            from clearbg_desktop.core.inference.time_per_photo import warning_for

            to_cut = sum(1 for item in plan.items if existing != "skip" or not item.target.exists())
            warning = warning_for(model.name, to_cut, segmenter.device.type)
            if warning:
                print(f"clearbg-cli: note: {warning}", file=sys.stderr)
        cancel = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
        try:
            from clearbg_desktop.core.inference.time_per_photo import PhotoRate, format_rate

            rate = PhotoRate()  # photos/s of the last photos cut out: a GPU's pace, not diluted by skipped ones
            with tqdm(total=len(plan.items), unit="photo", disable=args.quiet, desc=segmenter.description,
                      bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
                      postfix=format_rate(None)) as bar:
                for step in iter_export(plan, segmenter, options, existing=existing, cancel=cancel, report=report):
                    rate.add(step.result.status)
                    bar.set_postfix_str(format_rate(rate.per_second), refresh=False)
                    bar.update(1)
                    if step.result.status == "failed":
                        bar.write(f"failed: {step.result.item.source}: {step.result.message}")
                    elif step.result.status == "done" and step.result.message:  # written under another name, …
                        bar.write(f"note: {step.result.item.source}: {step.result.message}")
        finally:
            signal.signal(signal.SIGINT, previous)
    return finish(report, args)


def on_cluster(plan: BatchPlan, model: str, options: ExportOptions, existing: str, report: BatchReport,
               args: argparse.Namespace) -> bool:
    """``--cluster``: the batch on Ray workers, each running the engine the local batch would run here (so the
    outputs are its bytes), with the same progress bar and cancel. False: there was no cluster to run on (said)."""
    from tqdm import tqdm

    from clearbg_desktop.core.batch.cluster import ClusterError, EngineSpec, iter_cluster_export
    from clearbg_desktop.core.inference.engine_choice import TIMING_PAYS_FROM_PHOTOS
    from clearbg_desktop.core.inference.engines import load_segmenter
    from clearbg_desktop.core.inference.weights import WeightsError, find_weights

    threads = args.threads or 1
    try:
        if args.device == "cuda":  # the GPUs are the workers'; this machine may have none
            spec = EngineSpec(model, find_weights(model).sha256, "cuda", threads)
        else:
            to_model = sum(1 for item in plan.items if item not in plan.problems)
            here = load_segmenter(model, device=args.device, threads=threads, measure=to_model >= TIMING_PAYS_FROM_PHOTOS,
                                  on_measure=None if args.quiet else lambda text: print(text, file=sys.stderr))
            spec = EngineSpec.of(here, threads)
            del here
    except (WeightsError, ClusterError) as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return False
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        from clearbg_desktop.core.inference.time_per_photo import PhotoRate, format_rate

        rate = PhotoRate()  # the cluster's photos/s lately, as the local bar says it
        with tqdm(total=len(plan.items), unit="photo", disable=args.quiet, desc=f"{model} on Ray",
                  bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
                  postfix=format_rate(None)) as bar:
            def started(where: dict) -> None:
                bar.write(f"worker on {where.get('host')} (pid {where.get('pid')}): {where.get('engine')}")

            for step in iter_cluster_export(plan, spec, options, existing=existing, cancel=cancel, report=report,
                                            address=args.cluster, workers=args.cluster_workers,
                                            on_worker=None if args.quiet else started):
                rate.add(step.result.status)
                bar.set_postfix_str(format_rate(rate.per_second), refresh=False)
                bar.update(1)
                if step.result.status == "failed":
                    bar.write(f"failed: {step.result.item.source}: {step.result.message}")
                elif step.result.status == "done" and step.result.message:
                    bar.write(f"note: {step.result.item.source}: {step.result.message}")
    except ClusterError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return False
    finally:
        signal.signal(signal.SIGINT, previous)
    return True


def _in_words(kind: str) -> str:
    """:func:`core.paths.path_kind` said to the user."""
    return {"missing": "not found", "other": "is not a regular file or folder"}.get(kind, kind)


def finish(report: BatchReport, args: argparse.Namespace) -> int:
    """The summary, the failures, the log and the photos to review; the exit code (projects and photos alike)."""
    for line in report.lines()[:1] + [line for line in report.lines()[1:] if line.startswith("FAILED")]:
        print(line, file=sys.stderr if line.startswith("FAILED") else sys.stdout)
    soft = report.soft_note()
    if soft:
        print(f"note: {soft}")
    for note in report.notes:
        print(f"clearbg-cli: note: {note}", file=sys.stderr)
    try:
        log = report.write_log(log_dir())
        print(f"log: {log}\nreport (with each photo's doubt): {log.with_suffix('.json')}")
    except OSError as exc:
        print(f"clearbg-cli: could not write the log ({exc})", file=sys.stderr)
    if args.review_threshold is not None:
        doubtful = report.doubtful(args.review_threshold)
        print(f"to review: {len(doubtful)} photo(s) with doubt ≥ {args.review_threshold:g}")
        for result in doubtful:
            assert result.doubt is not None
            reasons = ", ".join(result.doubt.reasons())
            print(f"  {result.doubt.score:.2f}  {result.output}" + (f"  ({reasons})" if reasons else ""))
    if report.cancelled:
        print("cancelled: run the same command again to finish the remaining photos", file=sys.stderr)
        return EXIT_FAILURES
    if report.stopped:
        print("stopped: free some space, then run the same command again to finish the remaining photos",
              file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_FAILURES if report.failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
