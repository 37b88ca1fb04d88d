"""Named export presets: a few built in, the user's own saved with the settings, shared as a small JSON file.

Why: a photographer exports the same few ways (a transparent PNG for retouching, a web JPEG, the marketplace's
white square); a preset is one choice in the export dialog, Export all, the batch dialog and the CLI
(``--preset``), instead of nine fields set again. A preset file from someone else is hostile input like any
other: bounded in size and count, every option checked with the same limits as the dialog and the CLI.
"""

from __future__ import annotations

import errno
import json
import os
import unicodedata
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from clearbg_desktop.core.imaging.compose import Background, check_background_image
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.imaging.shadow import ShadowSettings
from clearbg_desktop.core.paths import path_kind, read_user_file

PRESETS_FILE_VERSION = 1
MAX_PRESETS_FILE_BYTES = 256 * 1024
MAX_PRESETS = 100
MAX_NAME_CHARS = 64
#: Characters a name may not hold: controls (DEL, escapes), invisible formatting (bidi overrides that show a name
#: reversed, zero-width spaces), line and paragraph separators, and lone surrogates (which cannot be printed).
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
WHITE = Background(kind="color", color=(255, 255, 255))


@dataclass(frozen=True)
class ExportPreset:
    name: str
    options: ExportOptions
    built_in: bool = False


#: On a colour, an edge pixel keeps some of the old background's colour: a beige or dark halo on white, which
#: marketplaces reject (photographer's walk, round 4). The built-in presets on a colour clean it up, and never
#: enlarge a small photo into a soft one (the web preset made 480 px photos 2048 px: up to 7.4×).
ON_COLOUR = RefineSettings(decontaminate=True)
SUBTLE_CONTACT = ShadowSettings(kind="contact", opacity=40.0, blur=4.0)

BUILT_IN_PRESETS: tuple[ExportPreset, ...] = (
    ExportPreset("Transparent PNG, full size", ExportOptions(format="png"), built_in=True),
    ExportPreset("Web JPEG on white, 2048 px",  # the name scripts use with --preset: kept
                 ExportOptions(format="jpg", quality=85, background=WHITE, resize_long_edge=2048,
                               name_template="{name}-web", refine=ON_COLOUR, never_enlarge=True), built_in=True),
    ExportPreset("Marketplace main image (white square, subject 85 %)",
                 ExportOptions(format="jpg", quality=92, background=WHITE, subject_fill=0.85,
                               resize_long_edge=2000, name_template="{name}-main", refine=ON_COLOUR,
                               never_enlarge=True), built_in=True),
    # The same with a subtle contact shadow, so the product stands on the white instead of floating (#40); the
    # preset above stays as it was for the scripts that name it.
    ExportPreset("Marketplace main image with contact shadow",
                 ExportOptions(format="jpg", quality=92, background=WHITE, subject_fill=0.85,
                               resize_long_edge=2000, name_template="{name}-main", refine=ON_COLOUR,
                               never_enlarge=True, shadow=SUBTLE_CONTACT), built_in=True),
    ExportPreset("TIFF for Photoshop (16-bit when the photo is)",
                 ExportOptions(format="tiff", keep_icc=True, keep_exif=True, name_template="{name}-cutout"),
                 built_in=True),
)


class PresetError(ValueError):
    """A preset name or file that cannot be used; one sentence for the user."""


def check_name(name: object) -> str:
    """``name`` stripped, if a preset may be called that; else :class:`PresetError`.

    The one check for names from the dialogs, the settings file and shared files: a name is shown in lists and
    printed by ``--list-presets``, so it must show what it is (no reversed text, no second line).
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_CHARS:
        raise PresetError(f"a preset name is a line of 1 to {MAX_NAME_CHARS} characters")
    hidden = next((c for c in name if unicodedata.category(c) in HIDDEN_CATEGORIES), None)
    if hidden is not None:
        raise PresetError(f"a preset name may not hold a control or invisible character (U+{ord(hidden):04X})")
    return name.strip()


def shown_name(name: object) -> str:
    """A preset name as a message may show it, whatever it holds (escaped, short, one line)."""
    return ascii(name)[:60] if isinstance(name, str) else f"of type {type(name).__name__}"


def all_presets(saved: dict[str, dict]) -> list[ExportPreset]:
    """The built-in presets, then the user's (a saved one that no longer validates is left out)."""
    presets = list(BUILT_IN_PRESETS)
    for name, data in saved.items():
        try:
            presets.append(ExportPreset(check_name(name), ExportOptions.from_dict(data)))
        except (ValueError, TypeError, OverflowError, RecursionError):
            continue
    return presets


def find_preset(name_or_file: str, saved: dict[str, dict]) -> ExportPreset:
    """A preset by name (case-insensitive), or the single preset in a shared ``.json`` file.

    Its background image, if any, is checked now (:func:`check_background_image`): a preset saved weeks ago may
    name a file that has since gone or changed, and the CLI refuses it before any photo is touched.
    """
    wanted = name_or_file.strip().lower()
    for preset in all_presets(saved):
        if preset.name.lower() == wanted:
            background = preset.options.background
            if background.kind == "image" and background.image_path:
                try:
                    check_background_image(Path(background.image_path))
                except ValueError as exc:
                    raise PresetError(f"preset {shown_name(preset.name)}: {exc}") from None
            return preset
    path = Path(name_or_file)
    kind = path_kind(path) if path.suffix.lower() == ".json" else "missing"
    if kind not in ("file", "missing"):  # a folder or a FIFO named like a preset file: say so, never "no preset"
        what = {"dir": "is a folder", "other": "is not a regular file (a FIFO, a device or a socket)"}.get(kind, kind)
        raise PresetError(f"the preset file {shown_name(name_or_file)} {what}")
    if kind == "file":
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
    """Presets from a shared file, each bad one left out with a warning naming it (:func:`read_presets`)."""
    presets, skipped = read_presets(path)
    for text in skipped:
        warnings.warn(f"skipped: {text}", stacklevel=2)
    return presets


def read_presets(path: Path) -> tuple[list[ExportPreset], list[str]]:
    """(the good presets of a shared file, one sentence per preset left out).

    Read entry by entry: one bad preset (a huge number, an unknown format, an invisible character in its name,
    an unreadable background image) is named and left out, the others load. :class:`PresetError` names the file
    when it is not a presets file at all, or when none of its presets can be used.
    """
    try:
        data = json.loads(read_user_file(path, MAX_PRESETS_FILE_BYTES).decode("utf-8"))  # a FIFO never blocks
    except OSError as exc:
        if exc.errno == errno.EFBIG:
            raise PresetError(f"{path.name}: far larger than a presets file") from None
        raise PresetError(f"{path.name}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, RecursionError):
        raise PresetError(f"{path.name}: not a presets file (not JSON)") from None
    if not isinstance(data, dict) or data.get("clearbg_presets") != PRESETS_FILE_VERSION \
            or isinstance(data.get("clearbg_presets"), bool):
        raise PresetError(f"{path.name}: not a ClearBG presets file (or from a newer version)")
    items = data.get("presets")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PRESETS:
        raise PresetError(f"{path.name}: a presets file holds 1 to {MAX_PRESETS} presets")
    folder = Path(os.path.abspath(path)).parent
    presets, skipped = [], []
    for index, item in enumerate(items, 1):
        name = item.get("name") if isinstance(item, dict) else None
        label = f"preset {index}" + (f" ({shown_name(name)})" if name is not None else "")
        try:
            presets.append(_preset_from(item, folder))
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            skipped.append(one_line(f"{path.name}: {label}: {str(exc)[:200]}"))
    if not presets:
        raise PresetError(skipped[0] if len(skipped) == 1 else f"{skipped[0]} (and {len(skipped) - 1} more)")
    return presets, skipped


def one_line(text: str) -> str:
    """``text`` with what a value in it could hide (a newline, a bidi override) escaped: a message shows all."""
    return "".join(c if unicodedata.category(c) not in HIDDEN_CATEGORIES else ascii(c)[1:-1] for c in text)


def _preset_from(item: object, folder: Path) -> ExportPreset:
    """One entry of a shared file; its background image found beside the file, and checked like ``--bg``."""
    if not isinstance(item, dict):
        raise ValueError("not a preset (a name and its options)")
    name = check_name(item.get("name"))
    options = ExportOptions.from_dict(item.get("options"))
    background = options.background
    if background.image_path:
        # A shared file names its image as its author saw it: relative to the file, not to wherever it is used.
        image = Path(os.path.abspath(folder / background.image_path))
        if background.kind == "image":
            check_background_image(image)
        options = options.with_changes(background=replace(background, image_path=str(image)))
    return ExportPreset(name, options)
