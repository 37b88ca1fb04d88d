"""Turning a photo and its alpha into the picture the user asked for.

Cut-out (RGBA), a new background (colour, image fitted to cover, blurred original), crop to
the subject with padding, and resizing. Pure Pillow/numpy so every front end shares it.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageColor, ImageFilter, ImageOps

from clearbg_desktop.core.imaging.formats import DEFAULT_MAX_PIXELS, MAX_PIXELS_PER_FILE_BYTE, SMALL_PHOTO_PIXELS
from clearbg_desktop.core.paths import open_regular_file

BACKGROUND_KINDS = ("transparent", "color", "image", "blur")
BLUR_RADIUS_MAX = 500.0
MAX_PATH_CHARS = 4096
#: An output may not have more pixels than a photo may (an upscale to 60,000 px would need tens of GiB).
MAX_OUTPUT_PIXELS = DEFAULT_MAX_PIXELS


def check_number(name: str, value: object, low: float, high: float, *, integer: bool = False,
                 unit: str = "") -> None:
    """Raise ValueError unless ``value`` is a finite number (an int when ``integer``) in ``low..high``.

    Why: settings come from the CLI, the dialogs and project files, which anyone can write; every front end
    checks them with these same limits, so a project cannot ask for what the CLI would refuse.
    """
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{name} must be {'a whole number' if integer else 'a number'}, not {shown(value)}")
    if not low <= value <= high:  # exact for any int: 10**400 is compared, never turned into a float
        raise ValueError(f"{name} must be between {low:g} and {high:g}{' ' + unit if unit else ''}, "
                         f"not {shown(value)}")


def shown(value: object) -> str:
    """``value`` for a message: short, one line, and never an error itself (10**400 has no ``:g``)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        digits = len(str(abs(value))) if value.bit_length() < 14_000 else round(value.bit_length() * math.log10(2))
        return f"a {digits}-digit number"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return f"{ascii(value):.40}"


def check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r:.40}")


@contextlib.contextmanager
def _background_file(path: Path) -> Iterator[Image.Image]:
    """``path`` opened as a picture, or ValueError with a sentence: never blocks, never inflates.

    Why: a background image is named by ``--bg``, a preset or a project, which anyone can write. Opened by name,
    a FIFO blocks forever and a device never ends; so the file is opened without blocking and must be a regular
    file, and its declared size is bounded like a photo's before a pixel is decoded.
    """
    try:
        handle = open_regular_file(path)
    except (OSError, ValueError) as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.EISDIR, errno.EINVAL):
            raise ValueError(f"background image {path} is not a file (a folder, a device or a pipe)") from None
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"background image {path}: cannot read it ({reason})") from None
    with handle:
        info = os.fstat(handle.fileno())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                opened = Image.open(handle)
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a bad file
            raise ValueError(f"background image {path} is not a readable image ({exc})") from None
        with opened:
            width, height = opened.size
            if width * height > min(DEFAULT_MAX_PIXELS, max(SMALL_PHOTO_PIXELS, info.st_size * MAX_PIXELS_PER_FILE_BYTE)):
                raise ValueError(f"background image {path} declares {width}×{height} px in {info.st_size} bytes: "
                                 "too large, or a decompression bomb")
            yield opened


def check_background_image(path: Path) -> None:
    """Refuse a background file that is not a readable image now, not once per photo later.

    The one check for ``--bg``, presets, project files and the dialogs: ValueError with a sentence.
    """
    try:
        with _background_file(path) as opened:
            opened.verify()
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a bad file
        raise ValueError(f"background image {path} is not a readable image ({exc})") from None


def read_background_image(path: Path) -> Image.Image:
    """The picture behind the subject, upright RGB, with :func:`check_background_image`'s checks (the file may
    have changed since it was checked)."""
    try:
        with _background_file(path) as opened:
            return ImageOps.exif_transpose(opened).convert("RGB")
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a bad file
        raise ValueError(f"background image {path} is not a readable image ({exc})") from None


@dataclass(frozen=True)
class Background:
    """What goes behind the subject. ``color`` is also the matte when flattening for JPEG."""

    kind: str = "transparent"
    color: tuple[int, int, int] = (255, 255, 255)
    image_path: str | None = None
    blur_radius: float = 24.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """The checks every front end shares (ValueError with a sentence for the user)."""
        if self.kind not in BACKGROUND_KINDS:
            raise ValueError(f"unknown background {self.kind!r:.40}; choose one of {BACKGROUND_KINDS}")
        if (not isinstance(self.color, tuple) or len(self.color) != 3
                or any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255 for c in self.color)):
            raise ValueError(f"the background colour must be three whole numbers 0..255, not {self.color!r:.60}")
        if self.image_path is not None and (not isinstance(self.image_path, str) or "\0" in self.image_path
                                            or len(self.image_path) > MAX_PATH_CHARS):
            raise ValueError(f"the background image must be a file path, not {self.image_path!r:.60}")
        if self.kind == "image" and not self.image_path:
            raise ValueError("an image background needs an image file")
        check_number("the blur radius", self.blur_radius, 0.0, BLUR_RADIUS_MAX, unit="px")
        if self.blur_radius <= 0:
            raise ValueError("the blur radius must be more than 0 px")

    @classmethod
    def parse(cls, spec: str) -> Background:
        """CLI form: ``transparent``, a colour (``white``, ``#20a0ff``), ``blur[:RADIUS]`` or an image path."""
        text = spec.strip()
        if text.lower() in ("", "transparent", "none"):
            return cls()
        if text.lower().startswith("blur"):
            _, _, radius = text.partition(":")
            try:
                value = float(radius) if radius else 24.0
            except ValueError:
                raise ValueError(f"background {spec!r}: the blur radius must be a number, e.g. blur:24") from None
            if not 0 < value <= BLUR_RADIUS_MAX:
                raise ValueError(f"background {spec!r}: the blur radius must be between 0 and "
                                 f"{BLUR_RADIUS_MAX:g} px")
            return cls(kind="blur", blur_radius=value)
        try:
            rgb = ImageColor.getrgb(text)
            return cls(kind="color", color=tuple(rgb[:3]))  # type: ignore[arg-type]
        except ValueError:
            pass
        if _names_something(text):
            check_background_image(Path(text))
            return cls(kind="image", image_path=text)
        raise ValueError(f"background {spec!r} is neither a colour, 'blur', 'transparent' nor an existing image file")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "color": list(self.color), "image_path": self.image_path,
                "blur_radius": self.blur_radius}

    @classmethod
    def from_dict(cls, data: object) -> Background:
        """As :meth:`to_dict` wrote it; anything else is a ValueError (settings files and projects are input)."""
        if not isinstance(data, dict):
            raise ValueError(f"the background must be a mapping, not {type(data).__name__}")
        color = data.get("color", [255, 255, 255])
        return cls(kind=data.get("kind", "transparent"),
                   color=tuple(color) if isinstance(color, list | tuple) else color,
                   image_path=data.get("image_path"), blur_radius=data.get("blur_radius", 24.0))


def _names_something(text: str) -> bool:
    """Whether ``text`` is a path to anything at all (a pipe or a folder too: the check then says what it is)."""
    try:
        return os.path.lexists(text)
    except (OSError, ValueError):
        return False


def combine_alpha(alpha: Image.Image, source_alpha: Image.Image | None) -> Image.Image:
    """A photo that was already transparent stays transparent where it was."""
    if source_alpha is None:
        return alpha
    product = np.asarray(alpha, np.uint16) * np.asarray(source_alpha, np.uint16)
    return Image.fromarray(((product + 127) // 255).astype(np.uint8), "L")


def subject_box(alpha: Image.Image, padding: int = 0, threshold: int = 12) -> tuple[int, int, int, int] | None:
    """Bounding box of alpha > threshold, grown by ``padding`` px and clipped; None when empty."""
    mask = np.asarray(alpha) > threshold
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    width, height = alpha.size
    return (
        max(0, int(cols[0]) - padding),
        max(0, int(rows[0]) - padding),
        min(width, int(cols[-1]) + 1 + padding),
        min(height, int(rows[-1]) + 1 + padding),
    )


def background_layer(background: Background, rgb: Image.Image) -> Image.Image | None:
    """The RGB layer behind the subject at the photo's size; None for transparent."""
    if background.kind == "transparent":
        return None
    if background.kind == "color":
        return Image.new("RGB", rgb.size, background.color)
    if background.kind == "blur":
        # Blurring a reduced copy is ~20x faster at 24 MP and looks the same.
        factor = max(1, int(min(rgb.size) // 512))
        small = rgb.reduce(factor) if factor > 1 else rgb
        blurred = small.filter(ImageFilter.GaussianBlur(background.blur_radius / factor))
        return blurred.resize(rgb.size, Image.Resampling.BILINEAR)
    picture = read_background_image(Path(background.image_path))  # type: ignore[arg-type]
    return ImageOps.fit(picture, rgb.size, Image.Resampling.LANCZOS)


#: A shadow placed on a picture: its opacity (hxw uint16 of 65535) and where its top left corner lies (x, y); it
#: lies wholly on the picture (``core.imaging.shadow.ShadowLayer.on``).
PlacedShadow = tuple[np.ndarray, tuple[int, int]]


def compose(rgb: Image.Image, alpha: Image.Image, background: Background,
            shadow: PlacedShadow | None = None) -> Image.Image:
    """RGBA cut-out for a transparent background, else the subject flattened over it (RGB).

    ``shadow``: a black shadow under the subject (``core.imaging.shadow``); the subject is laid over it, so where
    alpha is 255 the output is exactly the subject's pixel.
    """
    layer = background_layer(background, rgb)
    if layer is None:
        cutout = rgb.copy()
        cutout.putalpha(alpha)
        if shadow is not None:
            values, (left, top) = shadow
            box = (left, top, left + values.shape[1], top + values.shape[0])
            pixels = np.asarray(cutout.crop(box))
            colour, kept = over_shadow(pixels[..., :3], pixels[..., 3], values)
            cutout.paste(Image.fromarray(np.dstack([colour, kept]), "RGBA"), box[:2])
        return cutout
    if shadow is not None:
        values, (left, top) = shadow
        box = (left, top, left + values.shape[1], top + values.shape[0])
        layer.paste(Image.fromarray(darkened(np.asarray(layer.crop(box)), values), "RGB"), box[:2])
    return Image.composite(rgb, layer, alpha)


SHADOW_ROWS = 512  # the shadow is laid in bands of rows: a 24 MP photo never needs a float copy of itself


def darkened(background: np.ndarray, shadow: np.ndarray) -> np.ndarray:
    """``background`` (HxWx3 uint8 or uint16) under a black shadow of opacity ``shadow`` (HxW uint16 of 65535)."""
    out = background.copy()
    for top in range(0, background.shape[0], SHADOW_ROWS):
        rows = slice(top, top + SHADOW_ROWS)
        share = shadow[rows].astype(np.float32)[..., None] / 65535.0
        out[rows] = (background[rows] * (1.0 - share) + 0.5).astype(background.dtype)
    return out


def over_shadow(colour: np.ndarray, alpha: np.ndarray, shadow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A cut-out (HxWx3 colour, HxW alpha; uint8 or uint16, not premultiplied) laid over a black shadow of opacity
    ``shadow`` (HxW uint16 of 65535): the 'over' operator. Where alpha is full, nothing changes; where the shadow
    is nothing, nothing changes; a fully transparent pixel under the shadow becomes black at the shadow's
    opacity."""
    top_value = float(np.iinfo(alpha.dtype).max)
    colour_out, alpha_out = colour.copy(), alpha.copy()
    full = np.iinfo(alpha.dtype).max
    for top in range(0, alpha.shape[0], SHADOW_ROWS):
        rows = slice(top, top + SHADOW_ROWS)
        shade, own_alpha = shadow[rows], alpha[rows]
        colour_band, alpha_band = colour_out[rows], alpha_out[rows]
        # Where nothing was (most pixels the shadow falls on): black at the shadow's opacity.
        clear = (own_alpha == 0) & (shade > 0)
        colour_band[clear] = 0
        np.copyto(alpha_band, (shade.astype(np.float32) * (top_value / 65535.0) + 0.5).astype(alpha.dtype),
                  where=clear)
        # The subject's soft edge over the shadow: the general 'over'. An opaque pixel is never touched.
        edge = (own_alpha > 0) & (own_alpha < full) & (shade > 0)
        if not edge.any():
            continue
        own = own_alpha[edge].astype(np.float32) / top_value
        share = shade[edge].astype(np.float32) / 65535.0
        total = own + share * (1.0 - own)
        colour_band[edge] = (colour[rows][edge] * (own / total)[:, None] + 0.5).astype(colour.dtype)
        alpha_band[edge] = (total * top_value + 0.5).astype(alpha.dtype)
    return colour_out, alpha_out


def flatten_onto_colour(image: Image.Image, color: tuple[int, int, int]) -> Image.Image:
    """Drop transparency onto a solid colour (JPEG output)."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    return Image.composite(image.convert("RGB"), Image.new("RGB", image.size, color), image.getchannel("A"))


def scaled_size(size: tuple[int, int], long_edge: int | None = None, percent: float | None = None
                ) -> tuple[int, int]:
    """The size :func:`resized` gives; ValueError when it exceeds :data:`MAX_OUTPUT_PIXELS`, before allocating."""
    width, height = size
    if long_edge:
        scale = long_edge / max(width, height)
    elif percent:
        scale = percent / 100.0
    else:
        return size
    scaled = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scaled[0] * scaled[1] > MAX_OUTPUT_PIXELS:
        raise ValueError(f"the output would be {scaled[0]}×{scaled[1]} ({scaled[0] * scaled[1] / 1e6:.0f} MP), "
                         f"more than the {MAX_OUTPUT_PIXELS / 1e6:.0f} MP limit: choose a smaller size")
    return scaled


def resized(image: Image.Image, long_edge: int | None = None, percent: float | None = None) -> Image.Image:
    """Scale down (or up) by a target long edge or a percentage; unchanged when neither is set."""
    size = scaled_size(image.size, long_edge, percent)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)
