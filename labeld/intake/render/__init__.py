"""Rendering: label documents and page images to 1-bit rasters at the printer's resolution.

labeld draws labels itself, so every printer prints the same pixels whatever its language:

    fonts = FontBook(["/etc/labeld/fonts"])           # hold one for the daemon's lifetime
    label = parse_label(doc, default_dpi=model.dpi)   # Invalid on any bad field
    raster = render_label(label, fonts)               # Invalid if it cannot be drawn as asked
"""

from labeld.intake.render.barcodes import gtin_check_digit
from labeld.intake.render.label import (SYMBOLOGIES, BarcodeElement, BoxElement, Element,
                                    ImageElement, Label, LineElement, TextElement, mm_to_dots,
                                    parse_label)
from labeld.intake.render.images import DEFAULT_MAX_PIXELS, decode_image, dither, page_to_raster
from labeld.intake.render.raster import png_to_raster, raster_to_bits, raster_to_png, render_label
from labeld.intake.render.sprite import pack
from labeld.intake.render.text import DEFAULT_FONT, FontBook

__all__ = [
    "DEFAULT_FONT", "DEFAULT_MAX_PIXELS", "SYMBOLOGIES",
    "BarcodeElement", "BoxElement", "Element", "FontBook", "ImageElement", "Label",
    "LineElement", "TextElement",
    "decode_image", "dither", "gtin_check_digit", "mm_to_dots", "pack", "page_to_raster",
    "parse_label", "png_to_raster", "raster_to_bits", "raster_to_png", "render_label",
]
