"""User preferences as a readable JSON file under the platformdirs config folder.

Geometry, window state and recent files live in ``QSettings`` (GUI only); everything a batch
job or the CLI also needs lives here, so the CLI and the app agree (docs/adr/0001).
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clearbg_desktop.core.editing.memory_budget import clamp_budget_mib, default_budget_mib
from clearbg_desktop.core.imaging.atomic_write import OutputError, write_atomic
from clearbg_desktop.core.imaging.compose import shown
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.presets import one_line, shown_name
from clearbg_desktop.core.paths import config_dir, read_user_file

SETTINGS_FILE = "settings.json"
MAX_SETTINGS_BYTES = 8 * 1024 * 1024  # 500 remembered batch paths and 100 presets take about 2.5 MB
NUMBER_RANGES = {"brush_size": (1, 5000), "brush_hardness": (0.0, 1.0), "brush_opacity": (0.0, 1.0),
                 "autosave_minutes": (1, 120)}
MAX_BATCH_INPUTS = 500  # folders and photos the batch dialog remembers
SETTINGS_VERSION = 2  # 2: "model" is "auto" until the user picks one (version 1 saved the old default, "small")


@dataclass
class AppSettings:
    device: str = "auto"  # auto | cuda | mps | cpu
    model: str = "auto"  # auto (the full U²-Net, or small until it is installed) | a model the user picked
    export: ExportOptions = field(default_factory=ExportOptions)
    last_export_folder: str = ""  # empty: next to the photo
    batch_existing: str = "skip"  # skip | rename | overwrite
    batch_recursive: bool = True
    batch_output_folder: str = ""
    # The batch's own options and photos: a batch is a recurring job of its own, so neither a single photo's
    # export (a JPEG for the web) nor an empty list should change what the next batch does.
    batch_export: ExportOptions = field(default_factory=ExportOptions)
    batch_inputs: list[str] = field(default_factory=list)
    brush_size: int = 60
    brush_hardness: float = 0.7
    brush_opacity: float = 1.0
    autosave_minutes: int = 3  # unsaved edits are autosaved this often, for recovery after a crash
    memory_budget_mib: int = field(default_factory=default_budget_mib)  # for the open photos' pixels
    export_presets: dict = field(default_factory=dict)  # the user's named presets: name -> ExportOptions.to_dict()
    settings_version: int = SETTINGS_VERSION

    def __post_init__(self) -> None:
        #: One line per entry of the file that was left out (a warning said it too), for the window to show.
        self.load_notes: list[str] = []
        #: Why the file could not be read at all, or "": then it is kept as it is, and :meth:`save` never
        #: writes over it (the user's presets and choices are in it).
        self.unreadable = ""
        #: Why the last :meth:`save` wrote nothing, or "" (a dialog that saved a preset can say so).
        self.not_saved = ""
        #: What the file held that this version cannot use (a later version's fields, a preset that does not
        #: validate): written back as it was, so starting and quitting never loses it.
        self._kept: dict[str, object] = {}
        self._kept_presets: dict[str, object] = {}

    @staticmethod
    def path() -> Path:
        return config_dir() / SETTINGS_FILE

    @classmethod
    def load(cls) -> AppSettings:
        """Saved settings, or defaults where the file is absent or cannot be read (never an error).

        Read entry by entry: a value of the wrong type or out of range (an export size an older version allowed,
        10**400, NaN), or one bad preset, falls back to its own default with a warning naming it, and the user
        keeps every other preference, the chosen model above all. A file that cannot be read at all (no
        permission, a folder, not JSON) is said once and marked :attr:`unreadable`: :meth:`save` keeps it.
        """
        settings = cls()
        path = cls.path()
        try:
            data = json.loads(read_user_file(path, MAX_SETTINGS_BYTES).decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"it holds {type(data).__name__}, not settings")
        except FileNotFoundError:
            return settings
        except (OSError, ValueError, RecursionError) as exc:
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc) or type(exc).__name__
            if isinstance(exc, RecursionError):
                reason = "nested too deeply"
            elif isinstance(exc, UnicodeDecodeError | json.JSONDecodeError):
                reason = f"not a settings file ({type(exc).__name__})"
            settings.unreadable = one_line(f"{path} could not be read ({reason[:160]}); ClearBG runs on its defaults "
                                           "this time and the file is kept as it is, not saved over")
            warnings.warn(settings.unreadable, stacklevel=2)
            return settings
        if data.get("settings_version", 1) in (1, None) and data.get("model") == "small":
            data = {**data, "model": "auto"}  # version 1 saved its default whether or not the user chose it
        for name, value in data.items():
            if name not in cls.__dataclass_fields__:
                settings._kept[name] = value
                continue
            if name == "settings_version":
                continue
            try:
                setattr(settings, name, settings._checked(name, value, getattr(settings, name)))
            except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                settings._note(f"{name} skipped ({str(exc)[:120] if str(exc) != name else 'not ' + shown(value)})")
        return settings

    def _note(self, text: str) -> None:
        line = one_line(f"{SETTINGS_FILE}: {text}")
        self.load_notes.append(line)
        warnings.warn(line, stacklevel=3)

    def _checked(self, name: str, value: object, default: object) -> object:
        """``value`` for field ``name`` if it is of the default's kind and in range; else a ValueError."""
        if name in ("export", "batch_export"):
            return ExportOptions.from_dict(value)
        if name == "batch_inputs":
            if not isinstance(value, list) or len(value) > MAX_BATCH_INPUTS or not all(
                    isinstance(item, str) and 0 < len(item) <= 4096 for item in value):
                raise ValueError(name)
            return list(value)
        if name == "export_presets":
            return self._checked_presets(value)
        if name == "memory_budget_mib":
            return clamp_budget_mib(value)  # type: ignore[arg-type]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(name)
            return value
        if isinstance(default, int | float) and not isinstance(value, bool) and isinstance(value, int | float):
            low, high = NUMBER_RANGES.get(name, (float("-inf"), float("inf")))
            if not low <= value <= high:  # NaN fails this too
                raise ValueError(name)
            return type(default)(value)
        if isinstance(default, str) and isinstance(value, str) and len(value) <= 4096:
            return value
        raise ValueError(name)

    def _checked_presets(self, value: object) -> dict:
        """The saved presets that still validate (name and every option); a bad one is named and set aside (kept
        in the file), never the others with it."""
        from clearbg_desktop.core.imaging.presets import MAX_PRESETS, PresetError, check_name

        if not isinstance(value, dict):
            raise ValueError(f"not a list of presets but {shown(value)}")
        kept: dict = {}
        for name, data in list(value.items())[:MAX_PRESETS]:
            try:
                kept[check_name(name)] = ExportOptions.from_dict(data).to_dict()
            except (PresetError, ValueError, TypeError, OverflowError, RecursionError) as exc:
                self._kept_presets[name] = data
                self._note(f"export preset {shown_name(name)} skipped ({str(exc)[:120]})")
        return kept

    def save(self) -> Path | None:
        """Write the settings; None when they were not written, never an error (quitting, saving a preset and a
        batch's choices all save, and none of them may fail for it).

        Not written over a file that could not be read when loaded (it holds the user's real settings); not
        written where the folder cannot take it (read-only, a file in its place): a warning says so.
        """
        if self.unreadable:
            self.not_saved = self.unreadable
            return None
        data = {**self._kept, **asdict(self)}
        data["export"] = self.export.to_dict()
        data["batch_export"] = self.batch_export.to_dict()
        data["export_presets"] = {**{k: v for k, v in self._kept_presets.items() if k not in self.export_presets},
                                  **self.export_presets}
        try:
            text = json.dumps(data, indent=2) + "\n"
            written = write_atomic(text.encode(), self.path(), overwrite=True)
        except (OutputError, OSError, ValueError, TypeError) as exc:
            self.not_saved = one_line(f"the settings were not saved ({str(exc)[:200]})")
            logging.getLogger("clearbg").warning(self.not_saved)
            warnings.warn(self.not_saved, stacklevel=2)
            return None
        self.not_saved = ""
        return written
