"""Whole documents (PDF, PNG, JPEG) to 1-bit pages at the printer's resolution.

A PDF page has a physical size, so it prints at that size: rendered at the printer's dpi and
shrunk, keeping its aspect ratio, only when it is wider than the print width (an A4 page on an
80 mm receipt, a 4.1 in label on a 4 in head). A 4x6 in shipping label PDF therefore prints
4x6 in, and its barcodes keep the module width their sender chose. A PNG or JPEG has no
reliable physical size (its dpi tag is often missing or wrong), so it fills the print width.

Everything here reads bytes from the network: any file that cannot be read is an `Invalid`
with a code the client can act on, never a PdfiumError, a Pillow exception or a MemoryError.
"""

from __future__ import annotations

import math
import threading
from typing import Any, cast

from PIL import Image

from labeld.contracts import Raster
from labeld.errors import Invalid
from labeld.intake.render.label import DITHERS, Dither
from labeld.intake.render.images import DEFAULT_MAX_PIXELS, page_to_raster, why
# imported under another name: document_to_rasters' `dither` argument (the API's field name)
# would shadow it
from labeld.intake.render.images import dither as dither_grey
from labeld.intake.render.sprite import pack

__all__ = ["CONTENT_TYPES", "DEFAULT_MAX_PAGES", "document_to_rasters"]

CONTENT_TYPES = ("application/pdf", "image/png", "image/jpeg")
DEFAULT_MAX_PAGES = 50
PDF_POINTS_PER_INCH = 72.0

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_PDF_MAGIC = b"%PDF-"

# PDFium is not thread-safe, not even across different documents: every call into it, page
# and document closing included, holds this lock. Rendering runs in worker threads.
_PDFIUM_LOCK = threading.Lock()


def document_to_rasters(content_type: str, data: bytes, *, width_dots: int, dpi: int,
                        dither: str = "floyd-steinberg", max_pages: int = DEFAULT_MAX_PAGES,
                        max_pixels: int = DEFAULT_MAX_PIXELS) -> list[Raster]:
    """One Raster per page, `dpi` dots per inch and at most `width_dots` wide.

    Raises Invalid: `unsupported-content-type`, `invalid-document` (unreadable, corrupt,
    encrypted or empty; the message names the format), `too-many-pages` (over `max_pages`),
    `image-too-large` (a page or image over `max_pixels`) and `invalid-dither`."""
    if width_dots < 1 or dpi < 1:
        raise ValueError(f"width_dots and dpi must be positive, got {width_dots}, {dpi}")
    kind = _content_type(content_type)
    if dither not in DITHERS:
        raise Invalid("invalid-dither", f"unknown dither {str(dither)[:50]!r}",
                      "one of " + ", ".join(DITHERS))
    method = cast(Dither, dither)
    if not data:
        raise Invalid("invalid-document", f"the {_NAMES[kind]} document is empty",
                      "send the file's bytes, base64-encoded")
    if kind == "application/pdf":
        if data.startswith((_PNG_MAGIC, _JPEG_MAGIC)):
            raise _mismatch(kind, data)
        return _pdf_to_rasters(data, width_dots, dpi, method, max_pages, max_pixels)
    # decode_image takes PNG and JPEG alike; a file that is not what the client declared is
    # a client bug worth reporting, not something to guess around
    if not data.startswith(_PNG_MAGIC if kind == "image/png" else _JPEG_MAGIC):
        raise _mismatch(kind, data)
    try:
        return [page_to_raster(data, width_dots, dpi, method, max_pixels)]
    except Invalid as e:
        if e.code == "invalid-image":
            raise Invalid("invalid-document", f"the {_NAMES[kind]} image is unreadable: "
                          f"{e.message}", e.hint) from None
        raise


_NAMES = {"application/pdf": "PDF", "image/png": "PNG", "image/jpeg": "JPEG"}


def _content_type(content_type: Any) -> str:
    """The media type without parameters, lower-cased (`Application/PDF; x=y` is a PDF)."""
    kind = content_type.split(";", 1)[0].strip().lower() if isinstance(content_type, str) else ""
    if kind not in CONTENT_TYPES:
        shown = str(content_type)[:100].encode("utf-8", "backslashreplace").decode()
        raise Invalid("unsupported-content-type", f"cannot print documents of type {shown!r}",
                      "send one of " + ", ".join(CONTENT_TYPES))
    return kind


def _mismatch(kind: str, data: bytes) -> Invalid:
    actual = ("a PNG image" if data.startswith(_PNG_MAGIC)
              else "a JPEG image" if data.startswith(_JPEG_MAGIC)
              else "a PDF" if data[:1024].find(_PDF_MAGIC) >= 0
              else "not a PNG, JPEG or PDF file")
    right = {"a PNG image": "image/png", "a JPEG image": "image/jpeg", "a PDF": "application/pdf"}
    hint = (f"send it with content_type {right[actual]}" if actual in right
            else "check that the right file was sent, base64-encoded")
    return Invalid("invalid-document", f"the document is declared {_NAMES[kind]} but the data is "
                   f"{actual}", hint)


# --------------------------------------------------------------------------------------------
# PDF

# FPDF_ERR_* from pdfium's fpdfview.h, as the reasons a client can act on
_LOAD_ERRORS = {
    4: ("the PDF is password-protected", "send a PDF without a password"),
    5: ("the PDF is encrypted with a scheme that cannot be read",
        "save the PDF without encryption"),
}


def _pdf_to_rasters(data: bytes, width_dots: int, dpi: int, method: Dither,
                    max_pages: int, max_pixels: int) -> list[Raster]:
    import pypdfium2 as pdfium  # imported here so that label printing never loads PDFium

    with _PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as e:
            message, hint = _LOAD_ERRORS.get(
                e.err_code or 0, ("the PDF is corrupt or not a PDF at all",
                                  "re-export the document as PDF, or send PNG"))
            raise Invalid("invalid-document", message, hint) from None
        except Exception as e:  # noqa: BLE001 - a library fault on hostile bytes is still bad input
            raise Invalid("invalid-document", f"the PDF cannot be read ({why(e)})",
                          "re-export the document as PDF") from None
        try:
            pages = len(pdf)
            if pages < 1:
                raise Invalid("invalid-document", "the PDF has no pages",
                              "send a PDF with at least one page")
            if pages > max_pages:
                raise Invalid("too-many-pages", f"the PDF has {pages} pages, at most "
                              f"{max_pages} can be printed in one job",
                              "split the document into several jobs")
            # Page by page: one page's grey bitmap at a time, only the packed bits are kept.
            return [_render_page(pdf, i, width_dots, dpi, method, max_pixels)
                    for i in range(pages)]
        finally:
            pdf.close()


def _render_page(pdf: Any, index: int, width_dots: int, dpi: int, method: Dither,
                 max_pixels: int) -> Raster:
    where = f"page {index + 1} of the PDF"
    try:
        page = pdf[index]
    except Exception as e:  # noqa: BLE001
        raise Invalid("invalid-document", f"{where} is corrupt ({why(e)})",
                      "re-export the document as PDF") from None
    try:
        # pdfium reports the size as displayed, i.e. after the page's /Rotate
        w_pt, h_pt = page.get_size()
        if not (math.isfinite(w_pt) and math.isfinite(h_pt)) or w_pt <= 0 or h_pt <= 0:
            raise Invalid("invalid-document", f"{where} has no size", "re-export the PDF")
        # Whole dots, rounded like mm_to_dots: at the printer's dpi, or shrunk to the width
        w = max(1, math.floor(w_pt * dpi / PDF_POINTS_PER_INCH + 0.5))
        h = max(1, math.floor(h_pt * dpi / PDF_POINTS_PER_INCH + 0.5))
        if w > width_dots:
            w, h = width_dots, max(1, math.floor(h * width_dots / w + 0.5))
        if w * h > max_pixels:
            raise Invalid("image-too-large", f"{where} would be {w}x{h} dots, over the limit "
                          f"of {max_pixels:,}", "send shorter pages")
        try:
            grey = _draw(page, w, h)
        except Exception as e:  # noqa: BLE001 - pdfium failing on a hostile page is bad input
            raise Invalid("invalid-document", f"{where} cannot be drawn ({why(e)})",
                          "re-export the document as PDF") from None
    finally:
        page.close()
    if grey.mode != "L":
        grey = grey.convert("L")
    return pack(dither_grey(grey, method), dpi)


def _draw(page: Any, w: int, h: int) -> Image.Image:
    """The page drawn into exactly w x h grey pixels on white.

    pypdfium2's PdfPage.render sizes the bitmap with ceil(size * scale), where float noise
    adds a row now and then (288.0000001 -> 289): the raw call takes the size as given."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    # Vector edges and text are drawn without anti-aliasing: a thermal head prints a dot or
    # none, and grey fringes would only dither into speckles along bars and glyphs. Embedded
    # images keep smooth scaling, so that photos dither well. FPDF_PRINTING draws what the
    # document means for paper (annotations flagged print-only, not screen-only).
    flags = (pdfium_c.FPDF_GRAYSCALE | pdfium_c.FPDF_ANNOT | pdfium_c.FPDF_PRINTING
             | pdfium_c.FPDF_RENDER_NO_SMOOTHTEXT | pdfium_c.FPDF_RENDER_NO_SMOOTHPATH)
    bitmap = pdfium.PdfBitmap.new_native(w, h, pdfium_c.FPDFBitmap_Gray)
    try:
        bitmap.fill_rect((255, 255, 255, 255), 0, 0, w, h)
        pdfium_c.FPDF_RenderPageBitmap(bitmap, page, 0, 0, w, h, 0, flags)
        return bitmap.to_pil().copy()  # to_pil shares the bitmap's buffer
    finally:
        bitmap.close()
