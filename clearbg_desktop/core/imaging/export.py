"""What an output is: the export options every front end sets (the export dialog, Export all, the batch, the CLI,
presets and project files), the range each may take, and the file names the name template gives.

Making the file is ``core.imaging.output_file``; how large it will be, ``core.imaging.output_size``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from clearbg_desktop.core.imaging.compose import Background, check_flag, check_number
from clearbg_desktop.core.imaging.formats import FORMAT_SUFFIXES, LAYERED_FORMATS
from clearbg_desktop.core.imaging.refine import RefineSettings
from clearbg_desktop.core.imaging.shadow import ShadowSettings

TEMPLATE_FIELDS = ("name", "ext", "format", "model")
#: The range each option may take, whichever front end sets it (CLI, dialogs, project files). Sizes that
#: pass these can still make too large an output for a given photo: :func:`core.imaging.compose.scaled_size` says so.
QUALITY_RANGE = (1, 100)
PNG_LEVEL_RANGE = (0, 9)
CROP_PADDING_MAX = 5000
LONG_EDGE_MAX = 30_000
PERCENT_RANGE = (1.0, 1000.0)
TEMPLATE_MAX_CHARS = 200
SUBJECT_FILL_RANGE = (0.1, 1.0)


@dataclass(frozen=True)
class ExportOptions:
    """Everything that decides an output file; saved in settings and reused by batch jobs."""

    format: str = "png"  # png | webp | tiff | jpg | psd | tiff-mask (the last two: LAYERED_FORMATS)
    quality: int = 92
    lossless: bool = True  # WebP only
    background: Background = field(default_factory=Background)
    mask_only: bool = False
    crop_to_subject: bool = False
    crop_padding: int = 16
    resize_long_edge: int | None = None
    resize_percent: float | None = None
    keep_icc: bool = True
    keep_exif: bool = True
    name_template: str = "{name}-cutout"
    png_compress_level: int = 1
    refine: RefineSettings = field(default_factory=RefineSettings)
    subject_fill: float | None = None  # a square frame in which the subject's long side fills this share
    never_enlarge: bool = False  # a resize (long edge, percentage, square frame) only ever makes the picture smaller
    shadow: ShadowSettings | None = None  # a contact or drop shadow under the cut-out (core.imaging.shadow)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """ValueError with a sentence for the user when an option is of the wrong type or out of range."""
        if self.format not in FORMAT_SUFFIXES:
            raise ValueError(f"unknown format {self.format!r:.40}; choose one of {', '.join(FORMAT_SUFFIXES)}")
        check_number("quality", self.quality, *QUALITY_RANGE, integer=True)
        check_number("PNG compression level", self.png_compress_level, *PNG_LEVEL_RANGE, integer=True)
        check_number("crop padding", self.crop_padding, 0, CROP_PADDING_MAX, integer=True, unit="px")
        if self.resize_long_edge is not None:
            check_number("the long edge", self.resize_long_edge, 1, LONG_EDGE_MAX, integer=True, unit="px")
        if self.resize_percent is not None:
            check_number("the resize percentage", self.resize_percent, *PERCENT_RANGE, unit="%")
        for name in ("lossless", "mask_only", "crop_to_subject", "keep_icc", "keep_exif", "never_enlarge"):
            check_flag(name.replace("_", " "), getattr(self, name))
        if not isinstance(self.background, Background) or not isinstance(self.refine, RefineSettings):
            raise ValueError("the background and refine settings must be given as such")
        validate_template(self.name_template)
        if self.subject_fill is not None:
            check_number("the subject's share of the frame", self.subject_fill, *SUBJECT_FILL_RANGE)
        if self.format in LAYERED_FORMATS and (self.mask_only or self.subject_fill is not None):
            raise ValueError("a layered file keeps the whole photo with its mask: choose it without 'mask only' "
                             "or a square frame")
        if self.shadow is not None:
            if not isinstance(self.shadow, ShadowSettings):
                raise ValueError("the shadow must be given as shadow settings")
            if self.format in LAYERED_FORMATS:
                raise ValueError("a layered file keeps the photo and its mask editable, with nothing baked in: "
                                 "choose it without a shadow")
            if self.mask_only:
                raise ValueError("a shadow is drawn into a cut-out, not into a mask: choose 'mask only' or a shadow")

    @property
    def suffix(self) -> str:
        return FORMAT_SUFFIXES[self.format]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["background"] = self.background.to_dict()
        data["refine"] = self.refine.to_dict()
        if self.shadow is None:
            del data["shadow"]  # an output without a shadow is saved as before, and older versions read it
        else:
            data["shadow"] = self.shadow.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: object) -> ExportOptions:
        """As :meth:`to_dict` wrote it (unknown keys ignored); anything else is a ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"the export settings must be a mapping, not {type(data).__name__}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if "background" in known:
            known["background"] = Background.from_dict(known["background"])
        if "refine" in known:
            known["refine"] = RefineSettings.from_dict(known["refine"])
        if "shadow" in known:
            known["shadow"] = ShadowSettings.maybe_from_dict(known["shadow"])
        return cls(**known)

    def with_changes(self, **changes: object) -> ExportOptions:
        return replace(self, **changes)  # type: ignore[arg-type]


def validate_template(template: str) -> None:
    if not isinstance(template, str) or len(template) > TEMPLATE_MAX_CHARS:
        raise ValueError(f"the name template must be a text of at most {TEMPLATE_MAX_CHARS} characters")
    fields = re.findall(r"{([^{}]*)}", template)
    unknown = [f for f in fields if f not in TEMPLATE_FIELDS]
    if unknown:
        raise ValueError(f"unknown field {{{unknown[0]}}} in name template; use {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
    if "/" in template or "\\" in template or "\0" in template or not template.strip():
        raise ValueError("the name template must be a plain file name without folders")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in template):
        raise ValueError("the name template must not hold control characters or line breaks")
    if template.startswith("."):
        raise ValueError("the name template must not start with a dot (the outputs would be hidden files)")
    try:
        template.format(**dict.fromkeys(TEMPLATE_FIELDS, "x"))
    except (ValueError, IndexError, KeyError):
        raise ValueError(f"the name template {template!r} has an unpaired {{ or }}") from None


def output_name(source: Path, options: ExportOptions, model: str = "small") -> str:
    """File name from the template, e.g. ``beach.jpg`` + ``{name}-cutout`` -> ``beach-cutout.png``."""
    stem = options.name_template.format(
        name=source.stem, ext=source.suffix.lstrip(".").lower(), format=options.format, model=model
    )
    return stem + options.suffix


def looks_like_output(path: Path, options: ExportOptions, model: str = "small") -> bool:
    """Whether ``path`` is named as this template would name an output (so it is ours, not a photo).

    Used where outputs and photos share a folder (``clearbg-cli DIR -o DIR``): those files are skipped,
    the photos are not. Outputs tagged apart (``a-cutout-jpg.png``) or renamed (``a-cutout (2).png``) count. A template without ``{name}`` names every output alike, so nothing matches it.
    """
    if path.suffix.lower() != options.suffix.lower():
        return False
    pattern = ""
    has_name = False
    for literal, field_name, _spec, _conv in string.Formatter().parse(options.name_template):
        pattern += re.escape(literal)
        if field_name == "name":
            pattern += ".+"
            has_name = True
        elif field_name == "model":
            pattern += re.escape(model)
        elif field_name == "format":
            pattern += re.escape(options.format)
        elif field_name is not None:
            pattern += r"[A-Za-z0-9]+"
    if not has_name or pattern == ".+":
        return False
    # A tag that told same-named photos apart (core.batch.naming) and a rename's " (2)" may follow.
    pattern += r"(?:-[^/\\]{1,64})?(?: \(\d+\))?"
    return re.fullmatch(pattern, path.stem) is not None


def next_free_path(target: Path) -> Path:
    """``name.png`` -> ``name (2).png`` … for the 'rename' policy."""
    if not target.exists():
        return target
    for number in range(2, 100_000):
        candidate = target.with_name(f"{target.stem} ({number}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise FileExistsError(f"no free name next to {target}")
