"""User preferences as a readable JSON file under the platformdirs config folder.

Geometry, window state and recent files live in ``QSettings`` (GUI only); everything a batch
job or the CLI also needs lives here, so the CLI and the app agree (docs/adr/0001).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clearbg_desktop.core.editing.memory_budget import clamp_budget_mib, default_budget_mib
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.image_io import write_atomic
from clearbg_desktop.core.paths import config_dir

SETTINGS_FILE = "settings.json"
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

    @staticmethod
    def path() -> Path:
        return config_dir() / SETTINGS_FILE

    @classmethod
    def load(cls) -> AppSettings:
        """Saved settings, or defaults when the file is absent or unreadable (never an error).

        Checked field by field: one value out of range (an export size an older version allowed) falls back
        to its own default and the user keeps every other preference, the chosen model above all.
        """
        try:
            data = json.loads(cls.path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        settings = cls()
        if not isinstance(data, dict):
            return settings
        if data.get("settings_version", 1) in (1, None) and data.get("model") == "small":
            data = {**data, "model": "auto"}  # version 1 saved its default whether or not the user chose it
        for name, value in data.items():
            if name not in cls.__dataclass_fields__ or name == "settings_version":
                continue
            try:
                setattr(settings, name, cls._checked(name, value, getattr(settings, name)))
            except (ValueError, TypeError, OverflowError):
                continue
        return settings

    @staticmethod
    def _checked(name: str, value: object, default: object) -> object:
        """``value`` for field ``name`` if it is of the default's kind and in range; else a ValueError."""
        if name in ("export", "batch_export"):
            return ExportOptions.from_dict(value)
        if name == "batch_inputs":
            if not isinstance(value, list) or len(value) > MAX_BATCH_INPUTS or not all(
                    isinstance(item, str) and 0 < len(item) <= 4096 for item in value):
                raise ValueError(name)
            return list(value)
        if name == "export_presets":
            return _checked_presets(value)
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

    def save(self) -> Path:
        data = asdict(self)
        data["export"] = self.export.to_dict()
        data["batch_export"] = self.batch_export.to_dict()
        return write_atomic((json.dumps(data, indent=2) + "\n").encode(), self.path(), overwrite=True)


def _checked_presets(value: object) -> dict:
    """The saved presets that still validate (name and every option); a bad one is dropped, not the file."""
    from clearbg_desktop.core.imaging.presets import MAX_PRESETS, PresetError, check_name

    if not isinstance(value, dict):
        raise ValueError("export_presets")
    kept: dict = {}
    for name, data in list(value.items())[:MAX_PRESETS]:
        try:
            kept[check_name(name)] = ExportOptions.from_dict(data).to_dict()
        except (PresetError, ValueError, TypeError):
            continue
    return kept
