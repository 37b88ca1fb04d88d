"""User preferences as a readable JSON file under the platformdirs config folder.

Geometry, window state and recent files live in ``QSettings`` (GUI only); everything a batch
job or the CLI also needs lives here, so the CLI and the app agree (docs/adr/0001).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from clearbg_desktop.core.export import ExportOptions
from clearbg_desktop.core.image_io import write_atomic
from clearbg_desktop.core.memory_budget import clamp_budget_mib, default_budget_mib
from clearbg_desktop.core.paths import config_dir

SETTINGS_FILE = "settings.json"
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
    brush_size: int = 60
    brush_hardness: float = 0.7
    brush_opacity: float = 1.0
    memory_budget_mib: int = field(default_factory=default_budget_mib)  # for the open photos' pixels
    settings_version: int = SETTINGS_VERSION

    @staticmethod
    def path() -> Path:
        return config_dir() / SETTINGS_FILE

    @classmethod
    def load(cls) -> AppSettings:
        """Saved settings, or defaults when the file is absent or unreadable (never an error)."""
        try:
            data = json.loads(cls.path().read_text(encoding="utf-8"))
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            if data.get("settings_version", 1) < 2 and known.get("model") == "small":
                known["model"] = "auto"  # version 1 saved its default whether or not the user chose it
            known["settings_version"] = SETTINGS_VERSION
            if "memory_budget_mib" in known:
                known["memory_budget_mib"] = clamp_budget_mib(known["memory_budget_mib"])
            if "export" in known:
                known["export"] = ExportOptions.from_dict(known["export"])
            return cls(**known)
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self) -> Path:
        data = asdict(self)
        data["export"] = self.export.to_dict()
        return write_atomic((json.dumps(data, indent=2) + "\n").encode(), self.path(), overwrite=True)
