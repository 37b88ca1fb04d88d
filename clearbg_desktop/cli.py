"""``clearbg-cli``: batch background removal from the command line (the core's batch generator + tqdm)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path

from clearbg_desktop import __version__
from clearbg_desktop.core.batch import DEFAULT_REVIEW_THRESHOLD, EXISTING_POLICIES, BatchReport, iter_export, plan_batch
from clearbg_desktop.core.compose import Background
from clearbg_desktop.core.devices import DEVICE_CHOICES
from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.image_io import FORMAT_SUFFIXES, ImageLoadError
from clearbg_desktop.core.paths import log_dir
from clearbg_desktop.core.project import is_project_file
from clearbg_desktop.core.refine import RefineSettings

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2
NAME_TEMPLATE = "{name}-cutout"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clearbg-cli",
        description="Remove the background of photos, files or whole folders, with the bundled U²-Net.",
    )
    parser.add_argument("inputs", nargs="*", type=Path,
                        help="photos and/or folders, or .clearbg projects (exported with their saved mask and settings)")
    parser.add_argument("-o", "--output", type=Path, help="output folder (required with inputs)")
    parser.add_argument("--format", choices=sorted(FORMAT_SUFFIXES), default="png")
    parser.add_argument("--bg", default="transparent",
                        help="transparent (default), a colour (white, '#20a0ff'), blur[:RADIUS], or an image file")
    parser.add_argument("--mask-only", action="store_true", help="write the greyscale mask instead of a cut-out")
    parser.add_argument("--crop", action="store_true", help="crop to the subject")
    parser.add_argument("--padding", type=int, default=16, help="padding around the subject when cropping (px)")
    parser.add_argument("--long-edge", type=int, help="resize the output to this long edge (px)")
    parser.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality (WebP: implies lossy)")
    parser.add_argument("--name", default=NAME_TEMPLATE,
                        help="output name template: {name} {ext} {format} {model}; with --add-model: the model's name")
    parser.add_argument("--feather", type=float, default=0.0, help="feather the edge (blur radius, px)")
    parser.add_argument("--shift", type=int, default=0, help="grow (>0) or shrink (<0) the subject (px)")
    parser.add_argument("--decontaminate", action="store_true", help="remove background colour from edge pixels")
    parser.add_argument("--model", default="small", help="an installed model's name (see --list-models); default: small")
    parser.add_argument("--list-models", action="store_true", help="list the installed models and exit")
    parser.add_argument("--add-model", type=Path, metavar="FILE",
                        help="install a U²-Net weights file (rembg's .onnx, the authors' .pth, or ours) and exit")
    parser.add_argument("--add-name", "--model-name", dest="add_name", metavar="NAME",
                        help="the name for --add-model (default: the file's name)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
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
    """Every numeric option checked before any photo is touched (usage errors exit 2, not per photo)."""
    if not 1 <= args.quality <= 100:
        raise ValueError(f"--quality must be between 1 and 100, not {args.quality}")
    if args.long_edge is not None and not 1 <= args.long_edge <= 65_535:
        raise ValueError(f"--long-edge must be between 1 and 65535 px, not {args.long_edge}")
    if args.padding < 0:
        raise ValueError(f"--padding cannot be negative ({args.padding})")
    if not 0 <= args.feather <= 200:
        raise ValueError(f"--feather must be between 0 and 200 px, not {args.feather}")
    if abs(args.shift) > 200:
        raise ValueError(f"--shift must be between -200 and 200 px, not {args.shift}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be at least 1, not {args.threads}")
    if args.review_threshold is not None and not 0 <= args.review_threshold <= 1:
        raise ValueError(f"--review-threshold must be between 0 and 1, not {args.review_threshold}")


def list_models() -> int:
    from clearbg_desktop.core.model_library import installed_models
    from clearbg_desktop.core.weights import WeightsError

    try:
        rows = installed_models()
    except WeightsError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not rows:
        print("no models installed", file=sys.stderr)
        return EXIT_USAGE
    for row in rows:
        where = "bundled" if row.bundled else "user"
        size = f"{row.size_bytes / 1e6:.1f} MB"
        details = ", ".join(x for x in (row.source, row.quality) if x)
        print(f"{row.name:<20} {row.entry.variant:<6} {size:>9}  {where:<7} {details}")
    return EXIT_OK


def add_model(source: Path, name: str | None) -> int:
    from clearbg_desktop.core.model_library import add_model_file
    from clearbg_desktop.core.weights import WeightsError

    try:
        entry = add_model_file(source, name)
    except WeightsError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"installed {entry.name!r} (U²-Net {entry.variant}, {entry.short_hash}) in {entry.path.parent}; "
          f"use it with --model {entry.name}")
    return EXIT_OK


def options_from_args(args: argparse.Namespace) -> ExportOptions:
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
    )


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    warnings.formatwarning = lambda message, *_args, **_kw: f"clearbg-cli: warning: {message}\n"  # one line, no source
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_models:
        return list_models()
    if args.add_model is not None:
        return add_model(args.add_model, args.add_name or (args.name if args.name != NAME_TEMPLATE else None))
    if not args.inputs:
        parser.error("give photos or folders to process (or --list-models / --add-model FILE)")
    if args.output is None:
        parser.error("the output folder is required: -o/--output FOLDER")
    try:
        check_numbers(args)
        options = options_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        print(f"clearbg-cli: not found: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    projects = [p for p in args.inputs if p.is_file() and is_project_file(p)]
    photos = [p for p in args.inputs if p not in projects]
    project_failures = export_projects(projects, args.output, "overwrite" if args.overwrite else args.existing)
    if not photos:
        return EXIT_FAILURES if project_failures else EXIT_OK
    plan = plan_batch(photos, args.output, options, recursive=not args.no_recursive, model=args.model)
    if not plan.items:
        print("clearbg-cli: no photos found in the inputs", file=sys.stderr)
        return EXIT_USAGE
    from clearbg_desktop.core.engines import load_segmenter  # torch loads here, not for --help
    from clearbg_desktop.core.weights import WeightsError

    try:
        segmenter = load_segmenter(args.model, device=args.device, threads=args.threads)
    except WeightsError as exc:
        print(f"clearbg-cli: {exc}", file=sys.stderr)
        return EXIT_USAGE
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    report = BatchReport()
    existing = "overwrite" if args.overwrite else args.existing
    try:
        with tqdm(total=len(plan.items), unit="photo", disable=args.quiet, desc=segmenter.description) as bar:
            for step in iter_export(plan, segmenter, options, existing=existing, cancel=cancel, report=report):
                bar.update(1)
                if step.result.status == "failed":
                    bar.write(f"failed: {step.result.item.source}: {step.result.message}")
    finally:
        signal.signal(signal.SIGINT, previous)
    for line in report.lines()[:1] + [line for line in report.lines()[1:] if line.startswith("FAILED")]:
        print(line, file=sys.stderr if line.startswith("FAILED") else sys.stdout)
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
    return EXIT_FAILURES if report.failed or project_failures else EXIT_OK


def export_projects(projects: list[Path], output: Path, existing: str) -> int:
    """Export each project with its own mask and settings into ``output``; returns how many failed."""
    from clearbg_desktop.core.export import next_free_path, output_name
    from clearbg_desktop.core.image_io import OutputError, OutputExistsError
    from clearbg_desktop.core.project import ProjectError, export_from_project, read_project

    failures = 0
    for path in projects:
        try:
            project = read_project(path)
            target = output / output_name(project.photo_path, project.export_options, project.model)
            if existing == "rename":
                target = next_free_path(target)
            written = export_from_project(path, target, overwrite=existing == "overwrite")
            print(f"{path.name} -> {written}")
        except OutputExistsError as exc:
            print(f"skipped {path.name}: {exc}", file=sys.stderr)
        except (ProjectError, OutputError, ImageLoadError) as exc:
            print(f"FAILED  {path.name}: {exc}", file=sys.stderr)
            failures += 1
    return failures


if __name__ == "__main__":
    raise SystemExit(main())
