"""``clearbg-cli --shadow contact|drop`` and its numbers (#40): checked with the core's limits before any photo, layered
over a preset's shadow, and a project's saved shadow exported as the app would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.cli import build_parser, check_numbers, given_flags, options_from_args
from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.editing.project import Project, save_project
from clearbg_desktop.core.file_hash import sha256_file
from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.imaging.output_file import render_output
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from tests.conftest import make_photo


def options(argv: list[str]) -> ExportOptions:
    args = build_parser().parse_args(["photo.jpg", "-o", "out", *argv])
    args.given = given_flags(["photo.jpg", "-o", "out", *argv])
    check_numbers(args)
    return options_from_args(args)


def test_no_shadow_unless_asked() -> None:
    assert options([]).shadow is None
    assert options(["--shadow", "none"]).shadow is None


def test_shadow_flags_make_the_shadow() -> None:
    assert options(["--shadow", "contact"]).shadow == ShadowSettings(kind="contact")
    drop = options(["--shadow", "drop", "--shadow-opacity", "35", "--shadow-blur", "2.5", "--shadow-distance", "8",
                    "--shadow-angle", "90"]).shadow
    assert drop == ShadowSettings(kind="drop", opacity=35.0, blur=2.5, distance=8.0, angle=90.0)


def test_a_preset_s_shadow_is_kept_tuned_or_turned_off() -> None:
    preset = ["--preset", "Marketplace main image with contact shadow"]
    kept = options(preset).shadow
    assert kept is not None and kept.kind == "contact" and kept.opacity == 40.0
    tuned = options([*preset, "--shadow-opacity", "60"]).shadow
    assert tuned == ShadowSettings(kind="contact", opacity=60.0, blur=kept.blur)
    assert options([*preset, "--shadow", "none"]).shadow is None
    assert options([*preset, "--shadow", "drop"]).shadow == ShadowSettings(kind="drop")  # a new kind starts afresh
    assert options(["--preset", "Transparent PNG, full size", "--shadow", "drop"]).shadow == ShadowSettings(kind="drop")


@pytest.mark.parametrize("argv,message", [
    (["--shadow", "drop", "--shadow-opacity", "0"], "--shadow-opacity must be between 1 and 100 %, not 0"),
    (["--shadow", "drop", "--shadow-opacity", "nan"], "--shadow-opacity must be between"),
    (["--shadow", "drop", "--shadow-blur", "30"], "--shadow-blur must be between 0 and 25 %"),
    (["--shadow", "drop", "--shadow-distance", "-1"], "--shadow-distance must be between 0 and 50 %"),
    (["--shadow", "drop", "--shadow-angle", "1e400"], "--shadow-angle must be between 0 and 360 degrees, not inf"),
    (["--shadow-blur", "3"], "--shadow-blur is for a shadow: add --shadow contact or --shadow drop"),
    (["--shadow", "contact", "--shadow-angle", "45"], "use them with --shadow drop"),
    (["--shadow", "contact", "--mask-only"], "a shadow is drawn into a cut-out"),
    (["--shadow", "drop", "--format", "psd"], "layered file"),
])
def test_bad_shadow_flags_are_one_line_and_exit_2_before_any_photo(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_photo().save(tmp_path / "x.jpg")
    with pytest.raises(SystemExit) as exited:
        cli_main([str(tmp_path / "x.jpg"), "-o", str(tmp_path / "out"), *argv])
    error = capsys.readouterr().err
    assert exited.value.code == 2 and message in error
    assert not (tmp_path / "out").exists()


def test_a_projects_shadow_reaches_its_cli_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "bottle.png"
    make_photo((200, 160)).save(photo)
    alpha = np.zeros((160, 200), np.uint8)
    alpha[30:130, 70:130] = 255
    shadow = ShadowSettings(kind="drop", opacity=60.0, blur=3.0, distance=8.0, angle=90.0)
    chosen = ExportOptions(format="png", background=Background(kind="color", color=(255, 255, 255)), shadow=shadow,
                           crop_to_subject=True, crop_padding=4)
    project = Project(photo_path=photo, photo_sha256=sha256_file(photo), alpha=alpha, predicted=None,
                      model="small", weights_sha256=None, export_options=chosen)
    saved = save_project(project, tmp_path / "bottle.clearbg")
    assert cli_main([str(saved), "-o", str(tmp_path / "out"), "-q"]) == 0
    written = next((tmp_path / "out").glob("*.png"))
    with Image.open(written) as image:
        exported = np.asarray(image.convert("RGB"))
    expected = np.asarray(render_output(load_image(photo), Image.fromarray(alpha, "L"), chosen))
    np.testing.assert_array_equal(exported, expected)
    assert exported.shape[0] > 100 + 2 * 4  # taller than the subject: the shadow falls below it and is kept
    assert exported[-10:].min() < 255 or exported[-20:-5].min() < 250
