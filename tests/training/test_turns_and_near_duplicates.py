"""Photos a source turned are put upright from a checked list; copies of one shot stay on one side of the split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from tests.training.test_straighten import scene
from training.cleaning.near_duplicates import group_ids
from training.cleaning.turns import TurnListError, read_turn_lists, turn_clockwise
from training.ingest import assign_splits


def write_list(path: Path, *rows: str) -> Path:
    path.write_text("source,file,rotate_clockwise\n" + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def test_turn_lists_are_read_and_checked(tmp_path: Path) -> None:
    first = write_list(tmp_path / "a.csv", "photos-worksite,000002.jpg,180", "photos-worksite,sub/000006.jpg,90")
    second = write_list(tmp_path / "b.csv", "other,x.png,270")
    assert read_turn_lists([first, second]) == {
        ("photos-worksite", "000002.jpg"): 180, ("photos-worksite", "sub/000006.jpg"): 90, ("other", "x.png"): 270,
    }
    with pytest.raises(TurnListError, match=r"bad\.csv:3: rotate_clockwise must be 90, 180 or 270, not '45'"):
        read_turn_lists([write_list(tmp_path / "bad.csv", "s,a.jpg,90", "s,b.jpg,45")])
    with pytest.raises(TurnListError, match="listed twice"):
        read_turn_lists([first, write_list(tmp_path / "again.csv", "photos-worksite,000002.jpg,90")])
    with pytest.raises(TurnListError, match="header"):
        (tmp_path / "noheader.csv").write_text("s,a.jpg,90\n", encoding="utf-8")
        read_turn_lists([tmp_path / "noheader.csv"])
    with pytest.raises(TurnListError, match="not found"):
        read_turn_lists([tmp_path / "missing.csv"])


def test_turning_clockwise_puts_the_top_where_it_belongs() -> None:
    photo = Image.new("L", (4, 2))
    photo.putpixel((0, 0), 255)  # top left
    assert turn_clockwise(photo, 90).size == (2, 4) and turn_clockwise(photo, 90).getpixel((1, 0)) == 255  # top right
    assert turn_clockwise(photo, 180).getpixel((3, 1)) == 255  # bottom right
    assert turn_clockwise(photo, 270).getpixel((0, 3)) == 255  # bottom left


def test_mirrored_turned_and_darkened_copies_are_one_shot(tmp_path: Path) -> None:
    shot = scene()
    other = ImageOps.mirror(scene(brightness=(90, 250))).rotate(8).resize((240, 160))
    copies = {
        "shot": shot,
        "upside_down": ImageOps.flip(shot),
        "turned": shot.transpose(Image.Transpose.ROTATE_90),
        "darkened": ImageEnhance.Brightness(ImageOps.mirror(shot)).enhance(0.35),
        "other": Image.fromarray(np.asarray(other)[:, ::-1].copy()),
    }
    paths = []
    for name, image in copies.items():
        paths.append(tmp_path / f"{name}.jpg")
        image.save(paths[-1], quality=90)
    ids = group_ids(paths)
    assert ids[:4] == [0, 0, 0, 0]
    assert ids[4] == 4


def test_the_held_out_split_takes_whole_groups(tmp_path: Path) -> None:
    paths = []
    rng = np.random.default_rng(1)
    for index in range(12):  # 12 different shots, each saved with its mirror image
        shot = Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).resize((96, 64))
        for suffix, image in (("a", shot), ("b", ImageOps.mirror(shot))):
            paths.append(tmp_path / f"{index}{suffix}.png")
            image.save(paths[-1])
    records = [{"image": str(p)} for p in paths]
    assign_splits(records, val_fraction=0.25, seed=3)
    held_out = [r for r in records if r["split"] == "val"]
    assert len(held_out) == 6
    for first, second in zip(records[::2], records[1::2], strict=True):
        assert first["split"] == second["split"] and first["group"] == second["group"]
