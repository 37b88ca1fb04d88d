"""One photo + alpha -> one output file: the recipe the export dialog, batch and CLI share."""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.compose import (
    MAX_OUTPUT_PIXELS,
    Background,
    background_layer,
    check_flag,
    check_number,
    combine_alpha,
    compose,
    flatten_onto_colour,
    resized,
    scaled_size,
    subject_box,
)
from clearbg_desktop.core.imaging.deep_colour import (
    DEEP_FORMATS,
    TIFF_EXTRA_SAMPLE_UNSPECIFIED,
    encode_tiff16,
    from_eight_bit,
    probability_to_sixteen_bit,
    resize_deep,
)
from clearbg_desktop.core.imaging.image_io import (
    FORMAT_SUFFIXES,
    LAYERED_FORMATS,
    LoadedImage,
    encode_image,
    tiff_safe_exif,
    write_atomic,
)
from clearbg_desktop.core.imaging.png_encoder import encode_png16
from clearbg_desktop.core.imaging.psd_writer import encode_psd
from clearbg_desktop.core.imaging.refine import RefineSettings, refine_alpha

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

    @property
    def suffix(self) -> str:
        return FORMAT_SUFFIXES[self.format]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["background"] = self.background.to_dict()
        data["refine"] = self.refine.to_dict()
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
    # A tag that told same-named photos apart (core.output_plan) and a rename's " (2)" may follow.
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


def render_output(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> Image.Image:
    """The final picture (before encoding): refine, combine with source alpha, compose, crop, resize."""
    alpha = refine_alpha(loaded.rgb, alpha, options.refine)
    alpha = combine_alpha(alpha, loaded.source_alpha)
    rgb = loaded.rgb
    if options.refine.decontaminate and not options.mask_only:
        from clearbg_desktop.core.imaging.refine import decontaminate_colors

        rgb = decontaminate_colors(rgb, alpha)
    if options.mask_only:
        picture = alpha
    else:
        picture = compose(rgb, alpha, options.background)
        if options.format == "jpg":
            picture = flatten_onto_colour(picture, options.background.color)
    if options.subject_fill is not None:
        picture = framed_square(picture, alpha, options.subject_fill, options)
    elif options.crop_to_subject:
        box = subject_box(alpha, options.crop_padding)
        if box is not None:
            picture = picture.crop(box)
    return resized(picture, *resize_asked(options, picture.size))


def resize_asked(options: ExportOptions, size: tuple[int, int]) -> tuple[int | None, float | None]:
    """The resize (long edge, percentage) to apply to a picture of ``size``: the options', or none at all when it
    would enlarge the picture and the options say never enlarge (a 480 px photo stays 480 px, not a soft 2000)."""
    long_edge, percent = options.resize_long_edge, options.resize_percent
    if options.never_enlarge:
        enlarges = long_edge > max(size) if long_edge else bool(percent and percent > 100.0)
        if enlarges:
            return None, None
    return long_edge, percent


def framed_square(picture: Image.Image, alpha: Image.Image, fill: float, options: ExportOptions) -> Image.Image:
    """The subject centred on a square whose side its long side fills by ``fill`` (marketplace main images),
    on the output's background (transparent, or the colour a JPEG is flattened on)."""
    box = subject_box(alpha, 0) or (0, 0, picture.width, picture.height)
    subject = picture.crop(box)
    side = max(1, round(max(subject.size) / fill))
    if side * side > MAX_OUTPUT_PIXELS:  # refused like too large an output, before allocating it
        raise ValueError(f"a square frame of {side}×{side} px is more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} MP "
                         "limit: let the subject fill more of it")
    if picture.mode == "RGBA" and options.format != "jpg":
        canvas = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    else:
        colour = options.background.color if picture.mode == "RGB" else 0
        canvas = Image.new(picture.mode, (side, side), colour)
    canvas.paste(subject, ((side - subject.width) // 2, (side - subject.height) // 2))
    return canvas


def keeps_sixteen_bits(loaded: LoadedImage, options: ExportOptions) -> bool:
    """A 16-bit photo exported as a cut-out to PNG or TIFF stays 16-bit (masks and JPEG/WebP are 8-bit)."""
    return (loaded.deep is not None and options.format in DEEP_FORMATS and not options.mask_only
            and options.subject_fill is None)


def render_deep_output(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions,
                       probability: np.ndarray | None = None) -> np.ndarray:
    """:func:`render_output` at 16 bits per channel: HxWx4 (transparent) or HxWx3 uint16.

    The mask and the colour clean-up are computed on the 8-bit photo; the clean-up is applied as the change it
    makes, so colours it leaves alone keep all 16 bits. ``probability``: the model's, at model resolution, which
    ``alpha`` was made from; given, and no refinement changing the mask, the alpha gets its 65,536 levels from it.
    """
    assert loaded.deep is not None
    alpha = combine_alpha(refine_alpha(loaded.rgb, alpha, options.refine), loaded.source_alpha)
    deep = loaded.deep
    if options.refine.decontaminate:
        from clearbg_desktop.core.imaging.refine import decontaminate_colors

        change = (np.asarray(decontaminate_colors(loaded.rgb, alpha), np.int32)
                  - np.asarray(loaded.rgb, np.int32)) * 257
        deep = (deep + change).clip(0, 65535).astype(np.uint16)
    if probability is not None and options.refine.is_identity:
        alpha16 = probability_to_sixteen_bit(probability, loaded.rgb.size)
        if loaded.source_alpha is not None:
            kept = np.asarray(loaded.source_alpha, np.float32) / 255.0
            alpha16 = (alpha16 * kept + 0.5).astype(np.uint16)
    else:
        alpha16 = from_eight_bit(np.asarray(alpha))
    layer = background_layer(options.background, loaded.rgb)
    if layer is None:
        picture = np.dstack([deep, alpha16])
    else:
        weight = alpha16[..., None].astype(np.float32) / 65535.0
        behind = from_eight_bit(np.asarray(layer)).astype(np.float32)
        picture = (deep * weight + behind * (1.0 - weight) + 0.5).astype(np.uint16)
    if options.crop_to_subject:
        box = subject_box(alpha, options.crop_padding)
        if box is not None:
            picture = picture[box[1]:box[3], box[0]:box[2]]
    size = scaled_size((picture.shape[1], picture.shape[0]), *resize_asked(options, (picture.shape[1], picture.shape[0])))
    return resize_deep(picture, size) if size != (picture.shape[1], picture.shape[0]) else picture


def render_layers(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions,
                  probability: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the photo HxWx3, its mask HxW) for a layered output: uint16 for a 16-bit photo, else uint8.

    The photo is whole (no background, nothing flattened): the mask says what is cut out, so it stays editable.
    Refinement and colour clean-up apply as for any output; cropping and resizing apply to both alike, each
    channel on its own (a resize of RGBA would darken the photo where the mask hides it).
    """
    alpha = combine_alpha(refine_alpha(loaded.rgb, alpha, options.refine), loaded.source_alpha)
    rgb = loaded.rgb
    if options.refine.decontaminate:
        from clearbg_desktop.core.imaging.refine import decontaminate_colors

        rgb = decontaminate_colors(loaded.rgb, alpha)
    if loaded.deep is not None:
        photo = loaded.deep
        if rgb is not loaded.rgb:
            change = (np.asarray(rgb, np.int32) - np.asarray(loaded.rgb, np.int32)) * 257
            photo = (photo + change).clip(0, 65535).astype(np.uint16)
        if probability is not None and options.refine.is_identity and loaded.source_alpha is None:
            mask = probability_to_sixteen_bit(probability, loaded.rgb.size)
        else:
            mask = from_eight_bit(np.asarray(alpha))
    else:
        photo, mask = np.asarray(rgb), np.asarray(alpha)
    if options.crop_to_subject:
        box = subject_box(alpha, options.crop_padding)
        if box is not None:
            photo, mask = photo[box[1]:box[3], box[0]:box[2]], mask[box[1]:box[3], box[0]:box[2]]
    size = (photo.shape[1], photo.shape[0])
    target = scaled_size(size, *resize_asked(options, size))
    if target != size:
        if photo.dtype == np.uint16:
            both = resize_deep(np.dstack([photo, mask]), target)
            photo, mask = both[..., :3], both[..., 3]
        else:
            photo = np.asarray(Image.fromarray(photo, "RGB").resize(target, Image.Resampling.LANCZOS))
            mask = np.asarray(Image.fromarray(mask, "L").resize(target, Image.Resampling.LANCZOS))
    return np.ascontiguousarray(photo), np.ascontiguousarray(mask)


def encode_layered(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions,
                   probability: np.ndarray | None = None) -> bytes:
    """A PSD (the photo as a layer, the cut-out its layer mask) or a TIFF with the mask as a fourth channel that
    is not transparency; 16-bit for a 16-bit photo (a camera RAW), with the ICC profile and EXIF."""
    photo, mask = render_layers(loaded, alpha, options, probability)
    icc = loaded.icc_profile if options.keep_icc else None
    exif = loaded.exif if options.keep_exif else None
    if options.format == "psd":
        return encode_psd(photo, mask, icc_profile=icc, exif=exif,
                          layer_name=loaded.path.stem if loaded.path is not None else "Photo")
    return encode_tiff16(np.dstack([photo, mask]), icc, tiff_safe_exif(exif) if exif else None,
                         extra_sample=TIFF_EXTRA_SAMPLE_UNSPECIFIED)


def encode_output(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions, workers: int | None = None,
                  probability: np.ndarray | None = None) -> bytes:
    """The output file's bytes; ``workers`` as in :func:`core.imaging.image_io.encode_image`; ``probability`` as in
    :func:`render_deep_output` (only 16-bit outputs use it)."""
    if options.format in LAYERED_FORMATS:
        return encode_layered(loaded, alpha, options, probability)
    icc = loaded.icc_profile if options.keep_icc and not options.mask_only else None
    exif = loaded.exif if options.keep_exif and not options.mask_only else None
    if keeps_sixteen_bits(loaded, options):
        pixels = render_deep_output(loaded, alpha, options, probability)
        if options.format == "png":
            return encode_png16(pixels, options.png_compress_level, icc_profile=icc, exif=exif, workers=workers)
        return encode_tiff16(pixels, icc, tiff_safe_exif(exif) if exif else None)
    picture = render_output(loaded, alpha, options)
    return encode_image(
        picture,
        options.format,
        quality=options.quality,
        lossless=options.lossless,
        png_compress_level=options.png_compress_level,
        icc_profile=icc,
        exif=exif,
        workers=workers,
    )


def export_photo(
    loaded: LoadedImage, alpha: Image.Image, target: Path, options: ExportOptions, overwrite: bool = False,
    workers: int | None = None, probability: np.ndarray | None = None,
) -> Path:
    """Render, encode and write atomically; never replaces a file unless ``overwrite``."""
    return write_atomic(encode_output(loaded, alpha, options, workers, probability), target, overwrite=overwrite)


def _output_box(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> tuple[int, int, int, int]:
    """The part of the photo the output shows (all of it, or the subject when cropping)."""
    width, height = loaded.rgb.size
    if options.crop_to_subject:
        found = subject_box(combine_alpha(alpha, loaded.source_alpha), options.crop_padding)
        if found is not None:
            return found
    return 0, 0, width, height


def _framed(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> tuple[tuple[int, int, int, int], int]:
    """For a square frame (``subject_fill``): the subject's box and the square's side before any resize."""
    width, height = loaded.rgb.size
    box = subject_box(combine_alpha(alpha, loaded.source_alpha), 0) or (0, 0, width, height)
    assert options.subject_fill is not None
    return box, max(1, round(max(box[2] - box[0], box[3] - box[1]) / options.subject_fill))


def output_size(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> tuple[int, int]:
    """The output's size in pixels; ValueError when it would be larger than an output may be."""
    if options.subject_fill is not None:
        side = _framed(loaded, alpha, options)[1]
        return scaled_size((side, side), *resize_asked(options, (side, side)))
    box = _output_box(loaded, alpha, options)
    size = (box[2] - box[0], box[3] - box[1])
    return scaled_size(size, *resize_asked(options, size))


SOFT_ENLARGEMENT = 1.5  # a photo's pixels enlarged more than this look soft: the batch names such photos


def enlargement(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> float:
    """How many times the photo's own pixels are enlarged in the output (1.0 or less: not enlarged).

    A small photo through a preset's 2000 px square comes out 3× enlarged and soft; the batch says which photos
    were (found exporting 480×640 photos with the marketplace preset). The subject's box is taken before
    edge refinement, which moves it by a few pixels at most.
    """
    long_edge = options.resize_long_edge
    if not long_edge:  # as in compose.scaled_size: the long edge wins over a percentage
        scale = options.resize_percent / 100.0 if options.resize_percent else 1.0
        return min(scale, 1.0) if options.never_enlarge else scale
    if options.subject_fill is not None:
        long_side = _framed(loaded, alpha, options)[1]
    else:
        left, top, right, bottom = _output_box(loaded, alpha, options)
        long_side = max(right - left, bottom - top)
    scale = long_edge / max(long_side, 1)
    return min(scale, 1.0) if options.never_enlarge else scale


def estimate_output_bytes(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions,
                          bands: int = 16, band_height: int = 32) -> int:
    """About how many bytes the export will take, without encoding the whole photo.

    A downscaled preview has more detail per pixel and overestimates (about 2× at 24 MP), so this
    encodes a few full-resolution horizontal bands spread over the picture, at the output's own
    scale, and extrapolates their bytes per pixel to the output's size, plus the metadata it carries. Each band
    is a whole file with its own headers (a JPEG's tables are ~600 bytes): counted once, not once per band, or a
    small JPEG's estimate came out twice its size.
    """
    out_width, out_height = output_size(loaded, alpha, options)
    if options.subject_fill is not None:
        # The bands sample the subject; the square's margin is one flat colour, which costs next to nothing.
        box, side = _framed(loaded, alpha, options)
        factor = out_width / side
        shown_pixels = (box[2] - box[0]) * (box[3] - box[1]) * factor * factor
    else:
        box = _output_box(loaded, alpha, options)
        factor = out_width / (box[2] - box[0])
        shown_pixels = out_width * out_height
    crop_height = box[3] - box[1]
    # Each band as the output shows it, but never framed: a band framed in a square was a square of up to 49 MP.
    band_options = options.with_changes(crop_to_subject=False, resize_long_edge=None, resize_percent=None,
                                        subject_fill=None)
    step = max(1, crop_height // bands)
    sampled_bytes = sampled_pixels = 0
    headers = 0  # bytes of a file with (almost) no pixels, in the bands' format
    for index in range(bands):
        top = box[1] + index * step + max(0, (step - band_height) // 2)
        bottom = min(top + band_height, box[3])
        if bottom <= top:
            continue
        region = (box[0], top, box[2], bottom)
        band = LoadedImage(rgb=loaded.rgb.crop(region),
                           source_alpha=None if loaded.source_alpha is None else loaded.source_alpha.crop(region),
                           deep=None if loaded.deep is None else loaded.deep[top:bottom, box[0]:box[2]])
        if keeps_sixteen_bits(band, band_options) or options.format in LAYERED_FORMATS:
            # 16-bit and layered: sampled at full size, the ratio is what matters
            encoded = encode_output(band, alpha.crop(region), band_options.with_changes(keep_icc=False,
                                                                                        keep_exif=False))
            sampled_bytes += len(encoded)
            sampled_pixels += band.rgb.width * band.rgb.height
            continue
        picture = render_output(band, alpha.crop(region), band_options)
        if factor != 1.0:
            picture = picture.resize((max(1, round(picture.width * factor)), max(1, round(picture.height * factor))),
                                     Image.Resampling.LANCZOS)
        encoded = encode_image(picture, options.format, quality=options.quality, lossless=options.lossless,
                               png_compress_level=options.png_compress_level)
        if not headers:
            headers = len(encode_image(Image.new(picture.mode, (8, 8)), options.format, quality=options.quality,
                                       lossless=options.lossless, png_compress_level=options.png_compress_level))
        sampled_bytes += max(0, len(encoded) - headers)
        sampled_pixels += picture.width * picture.height
    metadata = 0 if options.mask_only else (len(loaded.icc_profile or b"") * options.keep_icc
                                            + len(loaded.exif or b"") * options.keep_exif)
    per_pixel = sampled_bytes / max(sampled_pixels, 1)
    return int(per_pixel * shown_pixels + headers + metadata)

