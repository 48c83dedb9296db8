"""Documents (PDF, PNG, JPEG) become pages of dots at the printer's resolution: a PDF page keeps
its physical size and shrinks only to fit the print width, an image fills the print width, the
barcodes in them still scan, and no file, however broken, raises anything but Invalid."""

from __future__ import annotations

import io
import threading
import zlib

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from labeld.contracts import Raster
from labeld.errors import Invalid
from labeld.intake.render import (FontBook, mm_to_dots, parse_label, raster_to_bits, raster_to_png,
                           render_label)
from labeld.intake.render.barcodes import encode
from labeld.intake.render.label import BarcodeElement
from labeld.intake.render.documents import document_to_rasters

RECEIPT = {"width_dots": 576, "dpi": 203}  # 80 mm receipt paper, 72 mm printable
ZEBRA_203 = {"width_dots": 832, "dpi": 203}
PT_PER_MM = 72 / 25.4


# --------------------------------------------------------------------------------------------
# Making documents


def label_png(elements: list[dict], width_mm: float, height_mm: float, dpi: int = 300) -> bytes:
    """A label drawn by labeld itself, as PNG: a realistic image to embed in a document."""
    label = parse_label({"width_mm": width_mm, "height_mm": height_mm, "dpi": dpi,
                         "elements": elements}, dpi)
    return raster_to_png(render_label(label, FontBook()))


def qr_png(data: str, width_mm: float = 100, height_mm: float = 60, dpi: int = 300) -> bytes:
    """A QR code of `data` over a line of text, on a label of the given size."""
    return label_png([
        {"type": "barcode", "symbology": "qr", "data": data, "x_mm": 3, "y_mm": 3},
        {"type": "text", "x_mm": 3, "y_mm": height_mm - 6, "text": f"Árvíztűrő {data}",
         "size_pt": 8, "max_width_mm": width_mm - 6, "fit": "shrink"},
    ], width_mm, height_mm, dpi)


def image_pdf(pngs: list[bytes], dpi: int = 300) -> bytes:
    """A real PDF written by Pillow: each PNG one page, `dpi` image pixels per inch, so that a
    300 dpi image of a 100 mm label makes a page 100 mm wide."""
    images = [Image.open(io.BytesIO(p)).convert("L") for p in pngs]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return buf.getvalue()


def vector_pdf(pages: list[tuple[float, float, bytes]], page_extra: bytes = b"",
               trailer_extra: bytes = b"") -> bytes:
    """A minimal, valid PDF written by hand: (width_pt, height_pt, content stream) per page,
    with Helvetica as /F1. The xref offsets are exact, so no reader has to repair it."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")  # 3 0 R
    kids = []
    for w, h, content in pages:
        stream = zlib.compress(content)
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream"
                       % (len(stream), stream))
        content_ref = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] /Contents %d 0 R"
                       b" /Resources << /Font << /F1 3 0 R >> >> %s >>"
                       % (w, h, content_ref, page_extra))
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += (b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, trailer_extra, xref))
    return bytes(out)


def code128_bars(data: str, x_mm: float, y_mm: float, module_mm: float, height_mm: float,
                 page_h_mm: float) -> bytes:
    """A Code 128 symbol as filled PDF rectangles: vector bars, as a carrier's label has them."""
    modules = encode(BarcodeElement(x_mm=0, y_mm=0, symbology="code128", data=data)).modules[0]
    ops = [b"0 g"]
    x = 0
    while x < len(modules):
        if modules[x]:
            run = int(np.argmin(np.append(modules[x:], False)))
            ops.append(b"%.4f %.4f %.4f %.4f re f" % (
                (x_mm + x * module_mm) * PT_PER_MM, (page_h_mm - y_mm - height_mm) * PT_PER_MM,
                run * module_mm * PT_PER_MM, height_mm * PT_PER_MM))
            x += run
        else:
            x += 1
    return b"\n".join(ops)


def encoded(im: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt)
    return buf.getvalue()


def decode(raster: Raster) -> set[str]:
    grey = np.where(raster_to_bits(raster), 0, 255).astype(np.uint8)
    return {b.text for b in zxingcpp.read_barcodes(grey)}


# --------------------------------------------------------------------------------------------
# PDF


def test_a_pdf_wider_than_the_paper_shrinks_to_the_print_width_and_still_scans():
    # a 100 mm wide page on 72 mm receipt paper
    pdf = image_pdf([qr_png("https://example.com/r/42")])
    (page,) = document_to_rasters("application/pdf", pdf, **RECEIPT)
    assert page.width == 576 and page.dpi == 203
    assert page.height == pytest.approx(576 * 60 / 100, abs=1)  # aspect ratio kept
    assert decode(page) == {"https://example.com/r/42"}


def test_a_pdf_page_that_fits_prints_at_its_own_size():
    # a 50 mm label PDF on a 104 mm print head is 50 mm wide on paper, not stretched to 104
    pdf = image_pdf([qr_png("SMALL-1", width_mm=50, height_mm=30)])
    (page,) = document_to_rasters("application/pdf", pdf, **ZEBRA_203)
    assert abs(page.width - mm_to_dots(50, 203)) <= 1
    assert abs(page.height - mm_to_dots(30, 203)) <= 1
    assert "SMALL-1" in decode(page)


def test_vector_bars_land_on_whole_dots_and_scan():
    # 0.375 mm modules are exactly 3 dots at 203 dpi... almost (203 / 25.4 * 0.375 = 2.997):
    # rendered without anti-aliasing, every bar is solid black and the code reads
    content = code128_bars("1Z999AA10123456784", 5, 5, 0.375, 20, 40) + (
        b"\nBT /F1 10 Tf 14.17 8 Td (1Z999AA10123456784) Tj ET")
    pdf = vector_pdf([(100 * PT_PER_MM, 40 * PT_PER_MM, content)])
    for dither in ("floyd-steinberg", "threshold", "ordered"):
        (page,) = document_to_rasters("application/pdf", pdf, **ZEBRA_203, dither=dither)
        assert decode(page) == {"1Z999AA10123456784"}, dither
    # no grey fringes: a scanline through the bars holds only black and white runs of 2-12 dots
    line = raster_to_bits(page)[mm_to_dots(15, 203)]
    bars = line[mm_to_dots(5, 203) - 2:]
    edges = np.flatnonzero(np.diff(bars.astype(np.int8)))
    runs = np.diff(edges)
    assert runs.min() >= 2, runs


def test_every_page_of_a_multi_page_pdf_becomes_one_raster_in_order():
    pdf = image_pdf([qr_png(f"page-{n}") for n in (1, 2, 3)])
    pages = document_to_rasters("application/pdf", pdf, **RECEIPT)
    assert [decode(p) for p in pages] == [{"page-1"}, {"page-2"}, {"page-3"}]


def test_pages_of_different_sizes_each_keep_their_own_size():
    pdf = vector_pdf([(50 * PT_PER_MM, 20 * PT_PER_MM, b""),
                      (200 * PT_PER_MM, 100 * PT_PER_MM, b"")])
    small, large = document_to_rasters("application/pdf", pdf, **RECEIPT)
    assert (small.width, small.height) == (mm_to_dots(50, 203), mm_to_dots(20, 203))
    assert (large.width, large.height) == (576, 288)


def test_a_rotated_page_prints_as_displayed():
    pdf = vector_pdf([(50 * PT_PER_MM, 20 * PT_PER_MM, b"0 g 0 0 10 10 re f")],
                     page_extra=b"/Rotate 90")
    (page,) = document_to_rasters("application/pdf", pdf, **ZEBRA_203)
    assert (page.width, page.height) == (mm_to_dots(20, 203), mm_to_dots(50, 203))


def test_a_blank_page_is_a_blank_raster():
    pdf = vector_pdf([(40 * PT_PER_MM, 30 * PT_PER_MM, b"")])
    (page,) = document_to_rasters("application/pdf", pdf, **RECEIPT)
    assert not raster_to_bits(page).any()


def test_too_many_pages_is_refused_before_any_is_drawn():
    pdf = vector_pdf([(100, 100, b"")] * 3)
    assert len(document_to_rasters("application/pdf", pdf, **RECEIPT, max_pages=3)) == 3
    with pytest.raises(Invalid) as e:
        document_to_rasters("application/pdf", pdf, **RECEIPT, max_pages=2)
    assert e.value.code == "too-many-pages" and "3 pages" in e.value.message


def test_a_page_over_the_pixel_limit_is_refused():
    # a 1 m long page at the full 72 mm width is 576 x 7992 dots
    pdf = vector_pdf([(72 * PT_PER_MM, 1000 * PT_PER_MM, b"")])
    with pytest.raises(Invalid) as e:
        document_to_rasters("application/pdf", pdf, **RECEIPT, max_pixels=4_000_000)
    assert e.value.code == "image-too-large"
    assert len(document_to_rasters("application/pdf", pdf, **RECEIPT, max_pixels=5_000_000)) == 1


def test_a_password_protected_pdf_says_so():
    encrypt = (b"/Encrypt << /Filter /Standard /V 1 /R 2 /P -4 /O <" + b"11" * 32 + b"> /U <"
               + b"22" * 32 + b"> >> /ID [<0123456789abcdef0123456789abcdef> "
               b"<0123456789abcdef0123456789abcdef>]")
    pdf = vector_pdf([(100, 100, b"")], trailer_extra=encrypt)
    with pytest.raises(Invalid) as e:
        document_to_rasters("application/pdf", pdf, **RECEIPT)
    assert e.value.code == "invalid-document" and "password" in e.value.message


@pytest.mark.parametrize("data", [
    b"%PDF-1.7\n this is not a PDF at all",
    b"hello world",
    b"\x00" * 100,
], ids=["header-only", "text", "zeros"])
def test_a_corrupt_pdf_is_invalid_document(data):
    with pytest.raises(Invalid) as e:
        document_to_rasters("application/pdf", data, **RECEIPT)
    assert e.value.code == "invalid-document" and "PDF" in e.value.message


def test_a_truncated_pdf_is_invalid_document_or_the_pages_that_survive():
    # PDFium repairs what it can, like every PDF viewer; what it cannot is Invalid
    pdf = image_pdf([qr_png("cut")])
    for cut in (20, len(pdf) // 4, len(pdf) // 2, len(pdf) - 40):
        try:
            pages = document_to_rasters("application/pdf", pdf[:cut], **RECEIPT)
        except Invalid as e:
            assert e.code == "invalid-document"
        else:
            assert all(p.width <= 576 for p in pages)


def test_concurrent_renders_from_many_threads_agree():
    # PDFium is not thread-safe: the module serialises every call, so threads just queue
    pdf = image_pdf([qr_png("threads")])
    expected = document_to_rasters("application/pdf", pdf, **RECEIPT)
    results: list[list[Raster]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(document_to_rasters("application/pdf", pdf, **RECEIPT))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 18
    assert all(r == expected for r in results)


# --------------------------------------------------------------------------------------------
# PNG and JPEG


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_an_image_is_one_page_filling_the_print_width(fmt, content_type):
    im = Image.open(io.BytesIO(qr_png("image-page", dpi=203))).convert("L")
    pages = document_to_rasters(content_type, encoded(im, fmt), **RECEIPT, dither="threshold")
    assert len(pages) == 1
    assert pages[0].width == 576 and pages[0].dpi == 203
    assert "image-page" in decode(pages[0])


def test_content_type_parameters_and_case_are_ignored():
    png = encoded(Image.new("L", (10, 10), 0), "PNG")
    (page,) = document_to_rasters("Image/PNG; charset=binary", png, width_dots=10, dpi=203)
    assert raster_to_bits(page).all()


def test_data_that_is_not_the_declared_type_says_what_it_is():
    png = encoded(Image.new("L", (10, 10), 255), "PNG")
    jpeg = encoded(Image.new("L", (10, 10), 255), "JPEG")
    cases = [("image/jpeg", png, "PNG"), ("image/png", jpeg, "JPEG"),
             ("application/pdf", png, "PNG"), ("image/png", vector_pdf([(9, 9, b"")]), "PDF")]
    for content_type, data, actual in cases:
        with pytest.raises(Invalid) as e:
            document_to_rasters(content_type, data, **RECEIPT)
        assert e.value.code == "invalid-document", content_type
        assert f"a {actual}" in e.value.message


@pytest.mark.parametrize("fmt,content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_a_corrupt_image_is_invalid_document_naming_the_format(fmt, content_type):
    data = encoded(Image.new("L", (300, 300), 128), fmt)
    for bad in (data[:30], data[:len(data) // 2]):
        with pytest.raises(Invalid) as e:
            document_to_rasters(content_type, bad, **RECEIPT)
        assert e.value.code == "invalid-document" and fmt in e.value.message


def test_an_image_over_the_pixel_limit_is_image_too_large():
    png = encoded(Image.new("L", (2000, 2000), 255), "PNG")
    with pytest.raises(Invalid) as e:
        document_to_rasters("image/png", png, **RECEIPT, max_pixels=1_000_000)
    assert e.value.code == "image-too-large"


# --------------------------------------------------------------------------------------------
# The request itself


@pytest.mark.parametrize("content_type", ["image/gif", "text/plain", "application/zpl", "",
                                          "application/pdfx", None, 42])
def test_other_content_types_are_unsupported(content_type):
    with pytest.raises(Invalid) as e:
        document_to_rasters(content_type, b"%PDF-1.4", **RECEIPT)  # type: ignore[arg-type]
    assert e.value.code == "unsupported-content-type"
    assert "application/pdf" in e.value.hint


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "image/jpeg"])
def test_an_empty_document_is_invalid(content_type):
    with pytest.raises(Invalid) as e:
        document_to_rasters(content_type, b"", **RECEIPT)
    assert e.value.code == "invalid-document"


def test_an_unknown_dither_is_refused():
    with pytest.raises(Invalid) as e:
        document_to_rasters("image/png", b"x", **RECEIPT, dither="atkinson")
    assert e.value.code == "invalid-dither"


# --------------------------------------------------------------------------------------------
# Hostile bytes: only Invalid, whatever arrives

SAMPLE_PDF = image_pdf([qr_png("fuzz", width_mm=30, height_mm=20, dpi=100)], dpi=100)
SAMPLE_PNG = encoded(Image.new("L", (40, 20), 90), "PNG")
SAMPLE_JPEG = encoded(Image.new("L", (40, 20), 90), "JPEG")
TYPES = st.sampled_from(["application/pdf", "image/png", "image/jpeg"])


def _only_invalid(content_type: str, data: bytes) -> None:
    try:
        pages = document_to_rasters(content_type, data, **RECEIPT, max_pixels=2_000_000)
    except Invalid as e:
        assert e.code in {"invalid-document", "image-too-large", "too-many-pages"}, e.code
    else:
        assert pages and all(isinstance(p, Raster) and p.width <= 576 for p in pages)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content_type=TYPES, data=st.binary(max_size=400))
def test_random_bytes_of_every_type_are_only_ever_invalid(content_type, data):
    _only_invalid(content_type, data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from([("application/pdf", SAMPLE_PDF), ("image/png", SAMPLE_PNG),
                              ("image/jpeg", SAMPLE_JPEG)]),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
                      max_size=8),
       cut=st.floats(0.05, 1))
def test_damaged_real_files_are_only_ever_invalid(which, flips, cut):
    # a real file with some bytes overwritten and the tail cut off: past the magic numbers,
    # into the parsers' own code paths
    content_type, original = which
    data = bytearray(original[:max(16, int(len(original) * cut))])
    for where, value in flips:
        data[8 + int(where * (len(data) - 8))] = value  # keep the signature, damage the rest
    _only_invalid(content_type, bytes(data))
