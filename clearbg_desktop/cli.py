"""``clearbg-cli``: batch background removal from the command line (the core's batch generator + tqdm)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from clearbg_desktop import __version__
from clearbg_desktop.core.batch import EXISTING_POLICIES, BatchReport, iter_export, plan_batch
from clearbg_desktop.core.compose import Background
from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.imageio import FORMAT_SUFFIXES
from clearbg_desktop.core.paths import log_dir
from clearbg_desktop.core.refine import RefineSettings
from clearbg_desktop.core.segmenter import DEVICE_CHOICES, Segmenter
from clearbg_desktop.core.weights import WeightsError

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="clearbg-cli",
        description="Remove the background of photos, files or whole folders, with the bundled U²-Net.",
    )
    parser.add_argument("inputs", nargs="+", type=Path, help="photos and/or folders")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    parser.add_argument("--format", choices=sorted(FORMAT_SUFFIXES), default="png")
    parser.add_argument("--bg", default="transparent",
                        help="transparent (default), a colour (white, '#20a0ff'), blur[:RADIUS], or an image file")
    parser.add_argument("--mask-only", action="store_true", help="write the greyscale mask instead of a cut-out")
    parser.add_argument("--crop", action="store_true", help="crop to the subject")
    parser.add_argument("--padding", type=int, default=16, help="padding around the subject when cropping (px)")
    parser.add_argument("--long-edge", type=int, help="resize the output to this long edge (px)")
    parser.add_argument("--quality", type=int, default=92, help="JPEG/WebP quality (WebP: implies lossy)")
    parser.add_argument("--name", default="{name}-cutout", help="output name template: {name} {ext} {format} {model}")
    parser.add_argument("--feather", type=float, default=0.0, help="feather the edge (blur radius, px)")
    parser.add_argument("--shift", type=int, default=0, help="grow (>0) or shrink (<0) the subject (px)")
    parser.add_argument("--decontaminate", action="store_true", help="remove background colour from edge pixels")
    parser.add_argument("--model", default="small", help="small (default) or full, where weights exist")
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto")
    parser.add_argument("--threads", type=int, help="CPU threads for the model")
    parser.add_argument("--no-recursive", action="store_true", help="do not descend into sub-folders")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    existing.add_argument("--existing", choices=EXISTING_POLICIES, default="skip",
                          help="what to do when an output exists (default: skip, so a re-run resumes)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


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

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        options = options_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    missing = [str(p) for p in args.inputs if not p.exists()]
    if missing:
        print(f"clearbg-cli: not found: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    plan = plan_batch(args.inputs, args.output, options, recursive=not args.no_recursive, model=args.model)
    if not plan.items:
        print("clearbg-cli: no photos found in the inputs", file=sys.stderr)
        return EXIT_USAGE
    try:
        segmenter = Segmenter.from_weights(args.model, device=args.device, threads=args.threads)
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
        print(f"log: {report.write_log(log_dir())}")
    except OSError as exc:
        print(f"clearbg-cli: could not write the log ({exc})", file=sys.stderr)
    if report.cancelled:
        print("cancelled: run the same command again to finish the remaining photos", file=sys.stderr)
        return EXIT_FAILURES
    return EXIT_FAILURES if report.failed else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
