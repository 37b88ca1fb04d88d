"""Export presets: the built-in ones do what they say, user presets persist, shared files are checked, and
the CLI's --preset is overridden only by the flags given."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearbg_desktop.cli import main as cli_main
from clearbg_desktop.core.imaging.loading import load_image
from clearbg_desktop.core.imaging.output_file import render_output
from clearbg_desktop.core.imaging.presets import (
    BUILT_IN_PRESETS,
    ExportPreset,
    PresetError,
    find_preset,
    presets_json,
    read_presets_file,
)
from clearbg_desktop.core.settings import AppSettings
from tests.conftest import make_photo


def _subject(size: tuple[int, int] = (300, 200)) -> tuple[Path, Image.Image]:
    return make_photo(size), Image.fromarray(np.pad(np.full((80, 60), 255, np.uint8), ((60, 60), (40, 200))), "L")


def test_the_marketplace_preset_centres_the_subject_on_a_white_square(tmp_path: Path) -> None:
    photo, alpha = _subject()
    path = tmp_path / "p.png"
    photo.save(path)
    preset = find_preset("marketplace main image (white square, subject 85 %)", {})
    picture = render_output(load_image(path), alpha, preset.options.with_changes(resize_long_edge=None))
    assert picture.width == picture.height == round(80 / 0.85)
    pixels = np.asarray(picture.convert("RGB"))
    assert (pixels[0, 0] == 255).all() and (pixels[-1, -1] == 255).all()  # white around
    rows = np.where((pixels < 250).any(axis=(1, 2)))[0]
    assert rows.max() - rows.min() + 1 == 80  # the subject's long side fills 85 % of the frame


@pytest.mark.slow
def test_every_built_in_preset_exports_through_the_cli(tmp_path: Path, random_weights: Path) -> None:
    photo = tmp_path / "p.jpg"
    make_photo((300, 200)).save(photo)
    for index, preset in enumerate(BUILT_IN_PRESETS):
        out = tmp_path / f"out{index}"
        assert cli_main([str(photo), "-o", str(out), "-q", "--preset", preset.name]) == 0
        written = next(out.glob("*.*"))
        assert written.suffix == preset.options.suffix
        with Image.open(written) as image:
            if preset.options.resize_long_edge:  # a 300 px photo: the built-ins never enlarge it
                assert max(image.size) < preset.options.resize_long_edge and preset.options.never_enlarge
    web = tmp_path / "web"
    assert cli_main([str(photo), "-o", str(web), "-q", "--preset", "Web JPEG on white, 2048 px", "--format", "png"]) == 0
    with Image.open(next(web.glob("*.png"))) as image:  # the flag given wins, the rest of the preset stays
        assert image.size == (300, 200) and image.mode == "RGB"  # on white: no transparency, never enlarged


def test_user_presets_are_saved_shared_and_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = AppSettings()
    mine = BUILT_IN_PRESETS[1].options.with_changes(quality=70)
    settings.export_presets = {"Studio web": mine.to_dict(), "bad": {"quality": -5}}
    settings.save()
    loaded = AppSettings.load()
    assert list(loaded.export_presets) == ["Studio web"]  # a preset that no longer validates is dropped alone
    assert find_preset("studio web", loaded.export_presets).options == mine
    shared = tmp_path / "team.json"
    shared.write_text(presets_json([ExportPreset("Studio web", mine)]))
    assert read_presets_file(shared)[0].options == mine
    assert find_preset(str(shared), {}).name == "Studio web"
    hostile = {
        "huge.json": "x" * (300 * 1024),
        "deep.json": "[" * 100_000,
        "foreign.json": json.dumps({"presets": []}),
        "many.json": json.dumps({"clearbg_presets": 1, "presets": [{"name": f"p{i}", "options": {}} for i in range(101)]}),
        "range.json": json.dumps({"clearbg_presets": 1, "presets": [{"name": "x", "options": {"subject_fill": 5}}]}),
        "name.json": json.dumps({"clearbg_presets": 1, "presets": [{"name": "a\nb", "options": {}}]}),
    }
    for name, text in hostile.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(PresetError, match=name):
            read_presets_file(tmp_path / name)
    assert cli_main(["--list-presets"]) == 0
    listed = capsys.readouterr().out
    assert "built-in  Transparent PNG, full size" in listed and "yours     Studio web" in listed
    photo = tmp_path / "p.jpg"
    make_photo().save(photo)
    assert cli_main([str(photo), "-o", str(tmp_path / "o"), "--preset", "No such preset"]) == 2  # one line, no usage
    assert "no preset named" in capsys.readouterr().err
