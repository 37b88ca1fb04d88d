"""How large an output will be before it is made: its size in pixels, how much it enlarges the photo's own pixels,
and about how many bytes it will take (the export dialog shows these; the batch names soft, enlarged photos).
"""

from __future__ import annotations

from PIL import Image

from clearbg_desktop.core.imaging.compose import combine_alpha, scaled_size
from clearbg_desktop.core.imaging.encoding import encode_image
from clearbg_desktop.core.imaging.export import ExportOptions
from clearbg_desktop.core.imaging.formats import LAYERED_FORMATS
from clearbg_desktop.core.imaging.loading import LoadedImage
from clearbg_desktop.core.imaging.output_file import (
    crop_box,
    encode_output,
    framed_box,
    keeps_sixteen_bits,
    on_canvas,
    render_output,
    resize_asked,
    shadow_canvas,
)


def _output_box(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> tuple[int, int, int, int]:
    """The part of the picture the output shows (all of it, or the subject and its shadow when cropping), in the
    photo's coordinates: past its edges where a shadow needs room there."""
    combined = combine_alpha(alpha, loaded.source_alpha)
    canvas, extra = shadow_canvas(combined, options)
    found = crop_box(on_canvas(combined, canvas), options.crop_padding, extra) if options.crop_to_subject else None
    left, top, right, bottom = found or (0, 0, canvas[2] - canvas[0], canvas[3] - canvas[1])
    return left + canvas[0], top + canvas[1], right + canvas[0], bottom + canvas[1]


def _framed(loaded: LoadedImage, alpha: Image.Image, options: ExportOptions) -> tuple[tuple[int, int, int, int], int]:
    """For a square frame (``subject_fill``): the subject's box (with its shadow's) and the square's side before
    any resize."""
    combined = combine_alpha(alpha, loaded.source_alpha)
    canvas, extra = shadow_canvas(combined, options)
    drawn_on = on_canvas(combined, canvas)
    left, top, right, bottom = framed_box(drawn_on, extra) or (0, 0, drawn_on.width, drawn_on.height)
    assert options.subject_fill is not None
    side = max(1, round(max(right - left, bottom - top) / options.subject_fill))
    return (left + canvas[0], top + canvas[1], right + canvas[0], bottom + canvas[1]), side


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
    width, height = loaded.rgb.size  # the bands sample the photo: a shadow's room past its edges is flat colour
    box = (max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3]))
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
