"""Pixels in and out: what turns a file into pixels and pixels plus a mask into a file.

Loading (EXIF, ICC, 16-bit, reduced decodes, thumbnails), 16-bit colour (``deep_colour``), encoders, the
alpha's edge operations applied at export (``refine``: shift, feather, matting, colour decontamination),
composing onto a background, export options and presets, and atomic writes.

May import: the shared helpers ``core.paths`` / ``core.file_hash`` only. Never ``core.inference``,
``core.editing``, the GUI or ``training``: a photo's pixels do not depend on which model made its mask.
"""
