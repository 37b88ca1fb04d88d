"""Quarter turns a photo source applied that nothing in the pixels flags: a checked list, applied at ingest.

The authors of ``photos-worksite`` augmented their set by turning photos upside down or on their side
(its SOURCE.md): about half of them are (counts: ``training/annotations/photos-worksite.DATA_CARD.md``). The teacher then labels people standing on
their heads, the student spends its capacity on them, and people-val is upright. Neither the teacher's
confidence nor simple cues (bright sky, subject cut at the bottom) told the way up better than chance on
upright photos, so the fixes are a list, checked by eye: ``source,file,rotate_clockwise`` (90, 180 or 270),
one row per photo to turn, ``source`` being the folder's name as ``ingest`` records it and ``file`` the
photo's path inside that folder. The turn applies after straightening (``training.cleaning.straighten``), to the
photo as the teacher is about to see it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from PIL import Image

TURNS = {
    90: Image.Transpose.ROTATE_270,  # PIL turns counter-clockwise
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
COLUMNS = ("source", "file", "rotate_clockwise")


class TurnListError(ValueError):
    """A turn list that cannot be read; the message names the file and line."""


def read_turn_lists(paths: Iterable[Path | str]) -> dict[tuple[str, str], int]:
    """``(source, file) -> degrees clockwise`` from every list; the same photo twice is an error."""
    turns: dict[tuple[str, str], int] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise TurnListError(f"{path}: turn list not found (data.turn_lists in params.yaml)")
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != COLUMNS:
                raise TurnListError(f"{path}: the header must be {','.join(COLUMNS)}")
            for line, row in enumerate(reader, start=2):
                key = (row["source"], Path(row["file"]).as_posix())
                try:
                    degrees = int(row["rotate_clockwise"])
                except (TypeError, ValueError):
                    degrees = -1
                if degrees not in TURNS:
                    raise TurnListError(f"{path}:{line}: rotate_clockwise must be 90, 180 or 270, "
                                        f"not {row['rotate_clockwise']!r}")
                if key in turns:
                    raise TurnListError(f"{path}:{line}: {key[0]}/{key[1]} is listed twice")
                turns[key] = degrees
    return turns


def turn_clockwise(image: Image.Image, degrees: int) -> Image.Image:
    return image.transpose(TURNS[degrees])
