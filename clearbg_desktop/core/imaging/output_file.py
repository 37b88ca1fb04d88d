"""One photo + alpha -> one output file: the recipe the export dialog, batch and CLI share.

The picture at 8 bits (:func:`render_output`), at 16 bits for a 16-bit photo (:func:`render_deep_output`), or as
a photo and its mask for a layered file (:func:`render_layers`); its bytes in the chosen format; written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from clearbg_desktop.core.imaging.atomic_write import write_atomic
from clearbg_desktop.core.imaging.compose import (
    MAX_OUTPUT_PIXELS,
    background_layer,
    combine_alpha,
    compose,
    darkened,
    flatten_onto_colour,
    over_shadow,
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
from clearbg_desktop.core.imaging.encoding import encode_image
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.formats import LAYERED_FORMATS
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.metadata import tiff_safe_exif
from clearbg_desktop.core.imaging.png_encoder import encode_png16
from clearbg_desktop.core.imaging.psd_writer import encode_psd
from clearbg_desktop.core.imaging.refine import refine_alpha
from clearbg_desktop.core.imaging.shadow import Box, ShadowLayer, render_shadow, shadow_box, subject_of


def render_output(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> Image.Image:
    """The final picture (before encoding): refine, combine with source alpha, compose (over a shadow, if any),
    crop, resize."""
    alpha = refine_alpha(loaded.rgb, alpha, options.refine)
    alpha = combine_alpha(alpha, loaded.source_alpha)
    rgb = loaded.rgb
    if options.refine.decontaminate and not options.mask_only:
        from clearbg_desktop.core.imaging.refine import decontaminate_colors

        rgb = decontaminate_colors(rgb, alpha)
    extra: Box | None = None
    if options.mask_only:
        picture = alpha
    else:
        layout = shadow_layout(alpha, options)
        shadow = None
        if layout is not None:
            canvas, extra, layer = layout
            rgb, alpha = on_canvas(rgb, canvas), on_canvas(alpha, canvas)
            shadow = layer.on(canvas)
        picture = compose(rgb, alpha, options.background, shadow)
        if options.format == "jpg":
            picture = flatten_onto_colour(picture, options.background.color)
    if options.subject_fill is not None:
        picture = framed_square(picture, alpha, options.subject_fill, options, extra)
    elif options.crop_to_subject:
        box = crop_box(alpha, options.crop_padding, extra)
        if box is not None:
            picture = picture.crop(box)
    return resized(picture, *resize_asked(options, picture.size))


def shows_room_beyond(options: ExportOptions) -> bool:
    """Whether the output may reach past the photo's edges to hold a shadow: when it is cropped or framed on
    transparency or a colour. An image or blurred background ends at the photo's edges, and so does the shadow;
    an output neither cropped nor framed is the photo's own frame."""
    return (options.crop_to_subject or options.subject_fill is not None) and options.background.kind in (
        "transparent", "color")


def shadow_canvas(alpha: Image.Image, options: ExportOptions, subject: Box | None = None) -> tuple[Box, Box | None]:
    """(the canvas the picture is drawn on, in the photo's coordinates: the photo, or more where a cropped or
    framed output needs room for the shadow; the shadow's box on that canvas, or None without a shadow).

    From the settings and the mask alone, without drawing the shadow: the size estimate uses it too."""
    width, height = alpha.size
    photo: Box = (0, 0, width, height)
    if options.shadow is None or options.mask_only:
        return photo, None
    box = shadow_box(alpha, options.shadow, subject)
    if box is None:
        return photo, None
    canvas = photo
    if shows_room_beyond(options):
        pad = 0 if options.subject_fill is not None else options.crop_padding
        canvas = (min(0, box[0] - pad), min(0, box[1] - pad), max(width, box[2] + pad), max(height, box[3] + pad))
        wide, high = canvas[2] - canvas[0], canvas[3] - canvas[1]
        if wide * high > MAX_OUTPUT_PIXELS:  # refused like too large an output, before allocating it
            raise ValueError(f"with its shadow the output would be {wide}×{high} px, more than the "
                             f"{MAX_OUTPUT_PIXELS / 1e6:.0f} MP limit: choose a shorter or softer shadow")
    return canvas, _clipped(_moved(box, canvas), (0, 0, canvas[2] - canvas[0], canvas[3] - canvas[1]))


def shadow_layout(alpha: Image.Image, options: ExportOptions) -> tuple[Box, Box, ShadowLayer] | None:
    """(canvas, the shadow's box on it, the shadow) as :func:`shadow_canvas` says; None without a shadow."""
    if options.shadow is None or options.mask_only:
        return None
    subject = subject_of(alpha)  # found once: a full pass over a 24 MP mask
    canvas, box = shadow_canvas(alpha, options, subject)
    if box is None:
        return None
    layer = render_shadow(alpha, options.shadow, subject)
    return None if layer is None else (canvas, box, layer)


def crop_box(alpha: Image.Image | np.ndarray, padding: int, extra: Box | None = None) -> Box | None:
    """The subject's box grown by ``padding``, with the shadow's box (``extra``, grown alike) when there is one,
    clipped to the picture; None when the mask is empty."""
    image = alpha if isinstance(alpha, Image.Image) else Image.fromarray(alpha)
    box = subject_box(image, padding)
    if box is None or extra is None:
        return box
    grown = (extra[0] - padding, extra[1] - padding, extra[2] + padding, extra[3] + padding)
    return _clipped(_union(box, grown), (0, 0, image.width, image.height))


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _clipped(box: Box, bounds: Box) -> Box:
    return (max(box[0], bounds[0]), max(box[1], bounds[1]), min(box[2], bounds[2]), min(box[3], bounds[3]))


def _moved(box: Box, canvas: Box) -> Box:
    """``box`` in the coordinates of ``canvas`` (whose corner is at canvas[0], canvas[1] in the photo's)."""
    return box[0] - canvas[0], box[1] - canvas[1], box[2] - canvas[0], box[3] - canvas[1]


def on_canvas(image: Image.Image, canvas: Box) -> Image.Image:
    """``image`` on a larger transparent (or zero) canvas; itself when the canvas is the image."""
    if canvas == (0, 0, image.width, image.height):
        return image
    return image.crop(canvas)  # Pillow fills what lies beyond the image with zeros


def _arrayon_canvas(pixels: np.ndarray, canvas: Box) -> np.ndarray:
    height, width = pixels.shape[:2]
    if canvas == (0, 0, width, height):
        return pixels
    out = np.zeros((canvas[3] - canvas[1], canvas[2] - canvas[0], *pixels.shape[2:]), pixels.dtype)
    out[-canvas[1]:height - canvas[1], -canvas[0]:width - canvas[0]] = pixels
    return out


def resize_asked(options: ExportOptions, size: tuple[int, int]) -> tuple[int | None, float | None]:
    """The resize (long edge, percentage) to apply to a picture of ``size``: the options', or none at all when it
    would enlarge the picture and the options say never enlarge (a 480 px photo stays 480 px, not a soft 2000)."""
    long_edge, percent = options.resize_long_edge, options.resize_percent
    if options.never_enlarge:
        enlarges = long_edge > max(size) if long_edge else bool(percent and percent > 100.0)
        if enlarges:
            return None, None
    return long_edge, percent


def framed_square(picture: Image.Image, alpha: Image.Image, fill: float, options: ExportOptions,
                  extra: Box | None = None) -> Image.Image:
    """The subject centred on a square whose side its long side fills by ``fill`` (marketplace main images),
    on the output's background (transparent, or the colour a JPEG is flattened on). ``extra``: the shadow's box,
    framed with the subject (it is part of the picture: a frame that cut it off would show its edge)."""
    box = framed_box(alpha, extra) or (0, 0, picture.width, picture.height)
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


def framed_box(alpha: Image.Image, extra: Box | None = None) -> Box | None:
    """What a square frame centres: the subject's box, with its shadow's (``extra``) when there is one."""
    box = subject_box(alpha, 0)
    if box is None or extra is None:
        return box
    return _clipped(_union(box, extra), (0, 0, alpha.width, alpha.height))


def keeps_sixteen_bits(loaded: LoadedImage, options: ExportOptions) -> bool:
    """A 16-bit photo exported as a cut-out to PNG or TIFF, or as a layered file, stays 16-bit (masks and JPEG/WebP
    are 8-bit)."""
    if loaded.deep is None:
        return False
    return options.format in LAYERED_FORMATS or (options.format in DEEP_FORMATS and not options.mask_only
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
    layout = shadow_layout(alpha, options)
    rgb, shadow, extra = loaded.rgb, None, None
    if layout is not None:
        canvas, extra, shadow_layer = layout
        deep, alpha16 = _arrayon_canvas(deep, canvas), _arrayon_canvas(alpha16, canvas)
        rgb, alpha = on_canvas(rgb, canvas), on_canvas(alpha, canvas)
        shadow = shadow_layer.on(canvas)
    layer = background_layer(options.background, rgb)
    if layer is None:
        picture = np.dstack([deep, alpha16])
        if shadow is not None:
            values, (left, top) = shadow
            part = picture[top:top + values.shape[0], left:left + values.shape[1]]
            colour, kept = over_shadow(part[..., :3], part[..., 3], values)
            part[..., :3], part[..., 3] = colour, kept
    else:
        behind = from_eight_bit(np.asarray(layer))
        if shadow is not None:
            values, (left, top) = shadow
            part = behind[top:top + values.shape[0], left:left + values.shape[1]]
            part[...] = darkened(part, values)
        picture = _flattened(deep, alpha16, behind)
    if options.crop_to_subject:
        box = crop_box(alpha, options.crop_padding, extra)
        if box is not None:
            picture = picture[box[1]:box[3], box[0]:box[2]]
    size = scaled_size((picture.shape[1], picture.shape[0]), *resize_asked(options, (picture.shape[1], picture.shape[0])))
    return resize_deep(picture, size) if size != (picture.shape[1], picture.shape[0]) else picture


def _flattened(deep: np.ndarray, alpha16: np.ndarray, behind: np.ndarray) -> np.ndarray:
    """The 16-bit subject over a 16-bit background, by its 16-bit alpha (full alpha: the subject's own value)."""
    weight = alpha16[..., None].astype(np.float32) / 65535.0
    return (deep * weight + behind.astype(np.float32) * (1.0 - weight) + 0.5).astype(np.uint16)


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
    """The output file's bytes; ``workers`` as in :func:`core.imaging.encoding.encode_image`; ``probability`` as in
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
