"""Users' files as they arrive: every format with every photo, every failing photo isolated (issue #23)."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.batch import BatchReport, iter_export, plan_batch
from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import ImageLoadError, load_image
from clearbg_desktop.core.imaging.output_file import export_photo
from clearbg_desktop.core.inference.segmenter import Segmenter
from clearbg_desktop.core.inference.weights_install import write_weights_folder
from tests.conftest import make_photo

# ----- real-looking sources -----------------------------------------------------------------------


def camera_exif() -> Image.Exif:
    """IFD0 tags plus an Exif sub-IFD (exposure, date), as every camera JPEG has."""
    exif = Image.Exif()
    exif[0x010F] = "ClearBG Camera Co"  # Make
    exif[0x0110] = "Model 1"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x0132] = "2026:11:30 10:00:00"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2026:11:30 10:00:00"  # DateTimeOriginal
    sub[0x829A] = (1, 250)  # ExposureTime
    return exif


def adobe_like_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()  # any valid, non-sRGB profile


def make_sources(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    photo = make_photo((96, 72), seed=7)
    sources = {}
    sources["camera.jpg"] = folder / "camera.jpg"
    photo.save(sources["camera.jpg"], quality=90, exif=camera_exif())
    sources["icc.png"] = folder / "icc.png"
    photo.save(sources["icc.png"], icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    sixteen = (np.asarray(photo.convert("L"), np.uint16) * 257).astype(np.uint16)
    sources["grey16.png"] = folder / "grey16.png"
    Image.fromarray(sixteen).save(sources["grey16.png"])
    sources["grey16.tif"] = folder / "grey16.tif"
    Image.fromarray(sixteen).save(sources["grey16.tif"])
    sources["cmyk.jpg"] = folder / "cmyk.jpg"
    photo.convert("CMYK").save(sources["cmyk.jpg"])
    sources["palette.png"] = folder / "palette.png"
    photo.convert("P", palette=Image.Palette.ADAPTIVE).save(sources["palette.png"])
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.new("L", photo.size, 200))
    sources["rgba.png"] = folder / "rgba.png"
    rgba.save(sources["rgba.png"])
    sources["source.tif"] = folder / "source.tif"
    photo.save(sources["source.tif"], compression="tiff_lzw", exif=camera_exif())
    return sources


OPTION_SETS = {
    "default": {},
    "crop-resize": {"crop_to_subject": True, "resize_long_edge": 50},
    "mask": {"mask_only": True},
    "colour": {"background": "#2040ff"},
}
FORMATS = ("png", "webp", "tiff", "jpg")


def options_for(fmt: str, name: str) -> ExportOptions:
    from clearbg_desktop.core.imaging.compose import Background

    values = OPTION_SETS[name]
    options = ExportOptions(format=fmt, crop_to_subject=bool(values.get("crop_to_subject", False)),
                            mask_only=bool(values.get("mask_only", False)))
    if "resize_long_edge" in values:
        options = options.with_changes(resize_long_edge=int(values["resize_long_edge"]))
    if "background" in values:
        options = options.with_changes(background=Background.parse(str(values["background"])))
    return options


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_sources(tmp_path_factory.mktemp("sources"))


@pytest.mark.parametrize("option_set", sorted(OPTION_SETS))
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source_name", ["camera.jpg", "icc.png", "grey16.png", "grey16.tif", "cmyk.jpg",
                                         "palette.png", "rgba.png", "source.tif"])
def test_export_matrix_reads_back(sources: dict[str, Path], tmp_path: Path, source_name: str, fmt: str,
                                  option_set: str) -> None:
    loaded = load_image(sources[source_name])
    alpha = Image.new("L", loaded.size, 0)
    alpha.paste(255, (20, 15, 70, 60))
    options = options_for(fmt, option_set)
    target = export_photo(loaded, alpha, tmp_path / f"out{options.suffix}", options)
    with Image.open(target) as result:
        result.load()
        expected_size = (50, 43) if option_set == "crop-resize" else loaded.size
        if option_set == "crop-resize":
            assert max(result.size) == 50
        else:
            assert result.size == expected_size
        if option_set == "mask":
            assert result.mode == ("RGB" if fmt == "webp" else "L")  # WebP has no grey mode
        elif fmt == "jpg" or option_set == "colour":
            assert result.mode == "RGB"
        else:
            assert result.mode == "RGBA"
        exif = result.getexif()
        for tag in (0x0100, 0x0101, 0x0102, 0x0111, 0x0117):  # layout tags never come from the source
            if tag in exif and fmt != "tiff":
                pytest.fail(f"layout tag {tag:#x} carried into a {fmt} output")
        if source_name in ("camera.jpg", "source.tif") and option_set != "mask":
            assert exif.get(0x010F) == "ClearBG Camera Co", "camera make lost"
        if source_name == "icc.png" and option_set != "mask":
            assert result.info.get("icc_profile") == loaded.icc_profile


def test_tiff_outputs_describe_themselves_not_the_source(sources: dict[str, Path], tmp_path: Path) -> None:
    loaded = load_image(sources["source.tif"])
    target = export_photo(loaded, Image.new("L", loaded.size, 255), tmp_path / "small.tif",
                          ExportOptions(format="tiff", resize_long_edge=40))
    with Image.open(target) as result:
        result.load()
        assert result.size == (40, 30) and result.mode == "RGBA"


# ----- loader fuzz --------------------------------------------------------------------------------


def mutations(seed: int = 1234, per_source: int = 40) -> list[tuple[str, bytes]]:
    """A seeded corpus: bit flips, truncations, header swaps and huge declared sizes of real files."""
    rng = random.Random(seed)
    originals = {}
    photo = make_photo((64, 48), seed=3)
    for fmt, options in (("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("TIFF", {}), ("GIF", {}), ("BMP", {}),
                         ("TIFF-multi", {})):
        buffer = io.BytesIO()
        if fmt == "TIFF-multi":
            photo.save(buffer, format="TIFF", save_all=True, append_images=[photo.rotate(90, expand=True)])
        else:
            photo.save(buffer, format=fmt, **options)
        originals[fmt] = buffer.getvalue()
    cases = []
    for fmt, data in originals.items():
        for index in range(per_source):
            mutated = bytearray(data)
            kind = index % 5
            if kind == 0:  # bit flips
                for _ in range(rng.randint(1, 20)):
                    position = rng.randrange(len(mutated))
                    mutated[position] ^= 1 << rng.randrange(8)
            elif kind == 1:  # truncation
                mutated = mutated[: rng.randrange(1, len(mutated))]
            elif kind == 2:  # another format's header
                other = originals[rng.choice([k for k in originals if k != fmt])]
                mutated[:16] = other[:16]
            elif kind == 3:  # huge declared sizes: overwrite 2-4 byte fields near the start
                for _ in range(3):
                    position = rng.randrange(min(64, len(mutated) - 4))
                    mutated[position:position + 2] = b"\xff\xf0"
            else:  # bytes spliced in from the middle
                start = rng.randrange(len(mutated))
                mutated[start:start] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
            cases.append((f"{fmt}-{index}", bytes(mutated)))
    return cases


def test_fuzzed_files_raise_only_image_load_error(tmp_path: Path) -> None:
    import resource

    cases = mutations()
    assert len(cases) >= 250
    path = tmp_path / "case.bin"

    def hang(_signum: int, _frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, hang)
    try:
        for name, data in cases:
            for suffix in (".jpg", ".tif"):
                target = path.with_name(f"{name}{suffix}")
                target.write_bytes(data)
                signal.alarm(20)  # a hang guard, not a timing assertion
                try:
                    loaded = load_image(target)
                except ImageLoadError:
                    continue
                except TimeoutError:
                    pytest.fail(f"{name}: load_image hung")
                except Exception as exc:  # noqa: BLE001 - that is what the test looks for
                    pytest.fail(f"{name}: {type(exc).__name__} escaped load_image: {exc}")
                finally:
                    signal.alarm(0)
                    target.unlink()
                width, height = loaded.size
                assert width * height <= 16_000_000, f"{name}: decoded {width}×{height} from {len(data)} bytes"
    finally:
        signal.signal(signal.SIGALRM, previous)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mib < 4096


def test_huge_declared_size_in_a_small_file_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (10_000, 8_999), 0).save(buffer, format="PNG")  # just under 90 MP
    path = tmp_path / "bomb.png"
    path.write_bytes(buffer.getvalue()[:30_000])  # a 30 KB file that claims it
    with pytest.raises(ImageLoadError, match="declares 10000×8999"):
        load_image(path)


# ----- batch isolation, usage errors, modes, leftovers ----------------------------------------------


@pytest.fixture
def segmenter(random_weights: Path) -> Segmenter:
    return Segmenter.from_weights("small", device="cpu")


def photo_folder(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        make_photo(seed=index).save(folder / f"p{index}.jpg", exif=camera_exif())
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["decode", "model", "encode"])
def test_a_failure_in_any_stage_fails_only_that_photo(tmp_path: Path, segmenter: Segmenter,
                                                      monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    photos = photo_folder(tmp_path / "photos", 4)
    victim = "p1.jpg"
    if stage == "decode":
        from clearbg_desktop.core.batch import running, writing

        real = running.load_image
        monkeypatch.setattr(running, "load_image", lambda p: (_ for _ in ()).throw(RuntimeError("decoder blew up"))
                            if Path(p).name == victim else real(p))
    elif stage == "model":
        real_predict = segmenter.predict_alpha
        sizes = iter(range(100))

        def predict(rgb: Image.Image) -> Image.Image:
            if next(sizes) == 1:
                raise RuntimeError("model blew up")
            return real_predict(rgb)

        monkeypatch.setattr(segmenter, "predict_alpha", predict)
    else:
        from clearbg_desktop.core.batch import running, writing

        real_export = writing.export_photo

        def export(loaded, alpha, target, options, overwrite=False, workers=None, probability=None):
            if loaded.path.name == victim:
                raise RuntimeError("Error setting from dictionary")
            return real_export(loaded, alpha, target, options, overwrite=overwrite, workers=workers,
                               probability=probability)

        monkeypatch.setattr(writing, "export_photo", export)
    report = BatchReport()
    list(iter_export(plan_batch([photos], tmp_path / "out", ExportOptions()), segmenter, ExportOptions(),
                     report=report))
    assert len(report.done) == 3 and len(report.failed) == 1
    assert "blew up" in report.failed[0].message or "dictionary" in report.failed[0].message
    assert report.failed[0].item.source.name == victim


@pytest.mark.slow
def test_tiff_batch_of_camera_jpegs_exports_every_photo(tmp_path: Path, random_weights: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    photos = photo_folder(tmp_path / "photos", 3)
    (photos / "broken.jpg").write_bytes((photos / "p0.jpg").read_bytes()[:500])
    code = cli_main([str(photos), "-o", str(tmp_path / "out"), "--format", "tiff", "-q"])
    assert code == 1  # the broken one
    out = capsys.readouterr()
    assert "3 exported" in out.out and "broken.jpg" in out.err
    for index in range(3):
        with Image.open(tmp_path / "out" / f"p{index}-cutout.tif") as image:
            image.load()
            assert image.mode == "RGBA" and image.getexif().get(0x010F) == "ClearBG Camera Co"


@pytest.mark.parametrize("args", [["--bg", "NOT-AN-IMAGE"], ["--quality", "0"], ["--long-edge", "-5"],
                                  ["--threads", "0"], ["--bg", "blur:x"]])
def test_usage_errors_exit_2_before_any_work(tmp_path: Path, args: list[str], random_weights: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    photos = photo_folder(tmp_path / "photos", 1)
    if args[1] == "NOT-AN-IMAGE":
        args = ["--bg", str(tmp_path / "notes.png")]
        (tmp_path / "notes.png").write_text("this is not a picture")
    with pytest.raises(SystemExit) as exited:
        cli_main([str(photos), "-o", str(tmp_path / "out"), *args])
    assert exited.value.code == 2
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_new_files_follow_the_umask(tmp_path: Path, umask: int, expected: int) -> None:
    previous = os.umask(umask)
    try:
        written = write_atomic(b"data", tmp_path / "out.png")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(written.stat().st_mode) == expected


def test_overwrite_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomic(b"new", target, overwrite=True)
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_stale_parts_are_cleaned_and_duplicates_run_once(tmp_path: Path, segmenter: Segmenter) -> None:
    photos = photo_folder(tmp_path / "photos", 2)
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = out / f".p0-cutout.{dead.pid}-abcd1234.part"
    stale.write_bytes(b"half a file")
    live = out / f".p1-cutout.{os.getpid()}-abcd1234.part"  # a running writer's: left alone
    live.write_bytes(b"being written")
    plan = plan_batch([photos, photos / "p0.jpg", photos / "p0.jpg"], out, ExportOptions())
    assert sorted(i.source.name for i in plan.items) == ["p0.jpg", "p1.jpg"]
    list(iter_export(plan, segmenter, ExportOptions()))
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["p0-cutout.png", "p1-cutout.png"]


def test_output_folder_can_be_the_input_folder(tmp_path: Path, random_weights: Path) -> None:
    photos = photo_folder(tmp_path / "photos", 2)
    assert cli_main([str(photos), "-o", str(photos), "-q"]) == 0
    assert cli_main([str(photos), "-o", str(photos), "-q"]) == 0  # re-run: outputs are not new photos
    assert sorted(p.name for p in photos.iterdir()) == ["p0-cutout.png", "p0.jpg", "p1-cutout.png", "p1.jpg"]


def test_relative_input_and_absolute_output_do_not_nest(tmp_path: Path, random_weights: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    photo_folder(tmp_path / "shoot", 1)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert cli_main(["shoot", "-o", str(tmp_path / "shoot" / "cut"), "-q"]) == 0
    assert sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "shoot").rglob("*") if p.is_file()) == [
        "shoot/cut/p0-cutout.png", "shoot/p0.jpg"]


# ----- weights: one clear line, exit 2 -------------------------------------------------------------


def weights_case(root: Path, case: str) -> Path:
    import torch

    from clearbg_desktop.core.inference.model import build_model

    folder = root / "weights"
    write_weights_folder(build_model("small"), folder, "small", input_size=64)
    manifest = json.loads((folder / "manifest.json").read_text())
    item = manifest["models"]["small"]
    if case == "folder":
        (folder / item["file"]).unlink()
        (folder / item["file"]).mkdir()
    elif case == "variant":
        item["variant"] = "gigantic"
    elif case in ("size0", "size-320", "size20000"):
        item["input_size"] = int(case[4:])
    elif case == "random-bytes":
        data = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
        (folder / item["file"]).write_bytes(data)
        from clearbg_desktop.core.inference.weights import sha256_file

        item["sha256"] = sha256_file(folder / item["file"])
    del torch
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.mark.parametrize("case", ["folder", "variant", "size0", "size-320", "size20000", "random-bytes"])
def test_bad_weights_exit_2_with_one_clear_line(tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CLEARBG_RESOURCES", str(weights_case(tmp_path / "res", case)))
    photos = photo_folder(tmp_path / "photos", 1)
    assert cli_main([str(photos), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "weights_only" not in err
    assert err.strip() and all(line.startswith("clearbg-cli:") for line in err.strip().splitlines())


def test_a_broken_user_manifest_does_not_hide_the_bundled_model(tmp_path: Path, random_weights: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user-models"
    user.mkdir()
    (user / "manifest.json").write_text("{broken")
    monkeypatch.setenv("CLEARBG_USER_MODELS", str(user))
    photos = photo_folder(tmp_path / "photos", 1)
    with pytest.warns(UserWarning, match="skipped: .*user-models"):
        assert cli_main([str(photos), "-o", str(tmp_path / "out"), "-q"]) == 0


# ----- kill -9 at random moments --------------------------------------------------------------------


@pytest.mark.slow
def test_killed_batches_leave_no_partial_outputs_and_rerun_completes(tmp_path: Path, random_weights: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(12):
        make_photo((900, 700), seed=index).save(photos / f"p{index:02d}.jpg")
    out = tmp_path / "out"
    env = {**os.environ, "CLEARBG_RESOURCES": str(random_weights.parent)}
    command = [sys.executable, "-m", "clearbg_desktop.cli", str(photos), "-o", str(out), "-q", "--format", "tiff"]
    rng = random.Random(7)
    for _ in range(3):
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        for path in out.glob("*.tif") if out.exists() else []:
            with Image.open(path) as image:
                image.load()  # every final file is complete
    finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert len(list(out.glob("*.tif"))) == 12
    assert not list(out.glob(".*.part"))
