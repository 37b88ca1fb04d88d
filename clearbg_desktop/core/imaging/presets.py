"""Named export presets: a few built in, the user's own saved with the settings, shared as a small JSON file.

Why: a photographer exports the same few ways (a transparent PNG for retouching, a web JPEG, the marketplace's
white square); a preset is one choice in the export dialog, Export all, the batch dialog and the CLI
(``--preset``), instead of nine fields set again. A preset file from someone else is hostile input like any
other: bounded in size and count, every option checked with the same limits as the dialog and the CLI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from clearbg_desktop.core.imaging.compose import Background
from clearbg_desktop.core.imaging.export import ExportOptions

PRESETS_FILE_VERSION = 1
MAX_PRESETS_FILE_BYTES = 256 * 1024
MAX_PRESETS = 100
MAX_NAME_CHARS = 64
WHITE = Background(kind="color", color=(255, 255, 255))


@dataclass(frozen=True)
class ExportPreset:
    name: str
    options: ExportOptions
    built_in: bool = False


BUILT_IN_PRESETS: tuple[ExportPreset, ...] = (
    ExportPreset("Transparent PNG, full size", ExportOptions(format="png"), built_in=True),
    ExportPreset("Web JPEG on white, 2048 px",
                 ExportOptions(format="jpg", quality=85, background=WHITE, resize_long_edge=2048,
                               name_template="{name}-web"), built_in=True),
    ExportPreset("Marketplace main image (white square, subject 85 %)",
                 ExportOptions(format="jpg", quality=92, background=WHITE, subject_fill=0.85,
                               resize_long_edge=2000, name_template="{name}-main"), built_in=True),
    ExportPreset("TIFF for Photoshop (16-bit when the photo is)",
                 ExportOptions(format="tiff", keep_icc=True, keep_exif=True, name_template="{name}-cutout"),
                 built_in=True),
)


class PresetError(ValueError):
    """A preset name or file that cannot be used; one sentence for the user."""


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS or any(c < " " for c in name):
        raise PresetError(f"a preset name is a line of 1 to {MAX_NAME_CHARS} characters")
    return name.strip()


def all_presets(saved: dict[str, dict]) -> list[ExportPreset]:
    """The built-in presets, then the user's (a saved one that no longer validates is left out)."""
    presets = list(BUILT_IN_PRESETS)
    for name, data in saved.items():
        try:
            presets.append(ExportPreset(check_name(name), ExportOptions.from_dict(data)))
        except (ValueError, TypeError):
            continue
    return presets


def find_preset(name_or_file: str, saved: dict[str, dict]) -> ExportPreset:
    """A preset by name (case-insensitive), or the single preset in a shared ``.json`` file."""
    wanted = name_or_file.strip().lower()
    for preset in all_presets(saved):
        if preset.name.lower() == wanted:
            return preset
    path = Path(name_or_file)
    if path.suffix.lower() == ".json" and path.is_file():
        shared = read_presets_file(path)
        if len(shared) == 1:
            return shared[0]
        raise PresetError(f"{path.name} holds {len(shared)} presets; import it, then choose one by name")
    names = ", ".join(f"'{p.name}'" for p in all_presets(saved))
    raise PresetError(f"no preset named {name_or_file!r}; the presets are {names}")


def presets_json(presets: list[ExportPreset]) -> str:
    """A small file to share with a team (the user's presets, or any chosen)."""
    return json.dumps({"clearbg_presets": PRESETS_FILE_VERSION,
                       "presets": [{"name": p.name, "options": p.options.to_dict()} for p in presets]},
                      indent=2) + "\n"


def read_presets_file(path: Path) -> list[ExportPreset]:
    """Presets from a shared file; :class:`PresetError` naming the file and what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_PRESETS_FILE_BYTES:
            raise PresetError(f"{path.name}: {size // 1024} KB, far larger than a presets file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PresetError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError):
        raise PresetError(f"{path.name}: not a presets file (not JSON)") from None
    if not isinstance(data, dict) or data.get("clearbg_presets") != PRESETS_FILE_VERSION:
        raise PresetError(f"{path.name}: not a ClearBG presets file (or from a newer version)")
    items = data.get("presets")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PRESETS:
        raise PresetError(f"{path.name}: a presets file holds 1 to {MAX_PRESETS} presets")
    presets = []
    for index, item in enumerate(items, 1):
        try:
            if not isinstance(item, dict):
                raise ValueError("not a preset")
            presets.append(ExportPreset(check_name(item.get("name")), ExportOptions.from_dict(item.get("options"))))
        except (ValueError, TypeError) as exc:
            raise PresetError(f"{path.name}: preset {index}: {str(exc)[:160]}") from None
    return presets
