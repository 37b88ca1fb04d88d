"""Pixels in and out: what turns a file into pixels and pixels plus a mask into a file.

In: ``formats`` (which files open, the output formats, the size limits), ``loading`` (EXIF, ICC, 16-bit, reduced
decodes), ``thumbnails``, camera RAW (``raw_decode``: the helper process LibRaw runs in; ``raw_libraw``: its bounds
and development; ``raw_exif``: the camera's metadata), ``deep_colour`` (16-bit colour), ``metadata`` (the EXIF an
output carries).
Out: ``export`` (the options, their ranges, output names), ``output_file`` (render, encode, write one output),
``output_size`` (its pixels, enlargement, bytes), ``compose`` (backgrounds), ``refine`` (the alpha's edge
operations applied at export: shift, feather, matting, colour decontamination), ``presets``, the encoders
(``encoding``, ``png_encoder``, ``psd_writer``) and ``atomic_write`` (every file the app writes).

May import: the shared helpers ``core.paths`` / ``core.file_hash`` only. Never ``core.inference``,
``core.editing``, the GUI or ``training``: a photo's pixels do not depend on which model made its mask.
"""
