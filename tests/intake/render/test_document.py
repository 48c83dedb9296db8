"""parse_label: the api.md example parses; every kind of bad field is an Invalid naming it."""

from __future__ import annotations

import base64
import io
import math

import pytest
from PIL import Image

from labeld.errors import Invalid
from labeld.intake.render import (BarcodeElement, BoxElement, ImageElement, Label, LineElement,
                           TextElement, mm_to_dots, parse_label)


def tiny_png() -> str:
    buf = io.BytesIO()
    Image.new("L", (4, 4), 0).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def api_example() -> dict:
    """The label document of /work/shared/design/api.md, verbatim but for the image data."""
    return {"width_mm": 100, "height_mm": 150, "dpi": 203,
            "elements": [
                {"type": "text", "x_mm": 5, "y_mm": 5, "text": "Árvíztűrő tükörfúrógép",
                 "size_pt": 14, "bold": True},
                {"type": "barcode", "symbology": "ean13", "data": "5901234123457", "x_mm": 5,
                 "y_mm": 20, "height_mm": 15, "module_dots": 3, "human_readable": True},
                {"type": "barcode", "symbology": "qr", "data": "https://example.com/p/123",
                 "x_mm": 60, "y_mm": 20, "module_dots": 5},
                {"type": "image", "data": tiny_png(), "x_mm": 5, "y_mm": 60, "width_mm": 40,
                 "dither": "floyd-steinberg"},
                {"type": "box", "x_mm": 2, "y_mm": 2, "width_mm": 96, "height_mm": 146,
                 "thickness_mm": 0.5},
                {"type": "line", "x_mm": 2, "y_mm": 50, "x2_mm": 98, "y2_mm": 50,
                 "thickness_mm": 0.5},
            ]}


def test_api_example_parses():
    label = parse_label(api_example(), default_dpi=300)
    assert isinstance(label, Label)
    assert (label.width_mm, label.height_mm, label.dpi) == (100, 150, 203)
    text, ean, qr, image, box, line = label.elements
    assert text == TextElement(x_mm=5, y_mm=5, text="Árvíztűrő tükörfúrógép", size_pt=14,
                               bold=True)
    assert ean == BarcodeElement(x_mm=5, y_mm=20, symbology="ean13", data="5901234123457",
                                 height_mm=15, module_dots=3, human_readable=True)
    assert qr.symbology == "qr" and qr.module_dots == 5 and qr.height_mm is None
    assert isinstance(image, ImageElement) and image.data.startswith(b"\x89PNG")
    assert image.width_mm == 40 and image.dither == "floyd-steinberg"
    assert box == BoxElement(2, 2, 96, 146, 0.5)
    assert line == LineElement(2, 50, 98, 50, 0.5)


def test_api_example_renders(fonts):
    from labeld.intake.render import render_label

    r = render_label(parse_label(api_example(), 203), fonts)
    assert (r.width, r.height, r.dpi) == (mm_to_dots(100, 203), mm_to_dots(150, 203), 203)


def test_dpi_defaults_to_the_printer():
    d = api_example()
    del d["dpi"]
    assert parse_label(d, default_dpi=300).dpi == 300


def test_elements_are_immutable():
    label = parse_label(api_example(), 203)
    with pytest.raises(AttributeError):
        label.elements[0].x_mm = 3  # type: ignore[misc]


def test_optional_fields_and_defaults():
    label = parse_label({"width_mm": 50, "height_mm": 30, "elements": [
        {"type": "text", "x_mm": 0, "y_mm": 0, "text": "x", "align": "center",
         "max_width_mm": 40, "fit": "shrink", "rotation": 90, "font": "DejaVu Sans"},
        {"type": "barcode", "symbology": "qr", "data": "x", "x_mm": 0, "y_mm": 0, "ecc": "H"},
        {"type": "barcode", "symbology": "pdf417", "data": "x", "x_mm": 0, "y_mm": 0, "ecc": 5},
        {"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": 1, "height_mm": 1, "rotation": 270.0},
    ]}, 203)
    text, qr, pdf, box = label.elements
    assert (text.align, text.fit, text.rotation, text.size_pt) == ("center", "shrink", 90, 10.0)
    assert qr.ecc == "H" and pdf.ecc == 5 and box.rotation == 270 and box.thickness_mm == 0.25


def el(**kw) -> dict:
    base = {"type": "text", "x_mm": 1, "y_mm": 1, "text": "x"}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


BAD = [
    # (element or label patch, code, message start)
    (el(size_pt=0), "invalid-label", "elements[0].size_pt: must be > 0"),
    (el(size_pt=-3), "invalid-label", "elements[0].size_pt: must be > 0"),
    (el(size_pt="12"), "invalid-label", "elements[0].size_pt: must be a number"),
    (el(size_pt=True), "invalid-label", "elements[0].size_pt: must be a number"),
    (el(size_pt=math.nan), "invalid-label", "elements[0].size_pt: must be a finite number"),
    (el(size_pt=1e9), "invalid-label", "elements[0].size_pt: must be <="),
    (el(size_pt=10**400), "invalid-label", "elements[0].size_pt: is far out of range"),
    (el(text="a\ud800"), "invalid-label", "elements[0].text: is not valid Unicode"),
    ({"type": "barcode", "symbology": "qr", "data": "\udfff", "x_mm": 0, "y_mm": 0},
     "invalid-label", "elements[0].data: is not valid Unicode"),
    (el(x_mm=-1), "invalid-label", "elements[0].x_mm: must be >= 0"),
    (el(y_mm=...), "invalid-label", "elements[0].y_mm: is required"),
    (el(text=...), "invalid-label", "elements[0].text: is required"),
    (el(text=5), "invalid-label", "elements[0].text: must be a string"),
    (el(text="x" * 10_000), "invalid-label", "elements[0].text: is 10000 characters"),
    (el(bold="yes"), "invalid-label", "elements[0].bold: must be true or false"),
    (el(align="justify"), "invalid-label", "elements[0].align: must be one of"),
    (el(rotation=45), "invalid-label", "elements[0].rotation: must be 0, 90, 180 or 270"),
    (el(rotation=360), "invalid-label", "elements[0].rotation: must be between"),
    (el(fit="wrap"), "invalid-label", "elements[0].fit: needs max_width_mm"),
    (el(max_width_mm=0), "invalid-label", "elements[0].max_width_mm: must be > 0"),
    (el(colour="red"), "invalid-label", "elements[0]: unknown field(s): colour"),
    (el(type="circle"), "invalid-label", "elements[0].type: must be one of"),
    (el(type=...), "invalid-label", "elements[0].type: is required"),
    ({"type": "barcode", "symbology": "aztec", "data": "x", "x_mm": 0, "y_mm": 0},
     "unknown-symbology", "elements[0].symbology: unknown symbology 'aztec'"),
    ({"type": "barcode", "symbology": "qr", "data": "", "x_mm": 0, "y_mm": 0},
     "unencodable-data", "elements[0].data: must not be empty"),
    ({"type": "barcode", "symbology": "qr", "data": "x", "x_mm": 0, "y_mm": 0, "height_mm": 5},
     "invalid-label", "elements[0].height_mm: does not apply to qr"),
    ({"type": "barcode", "symbology": "ean13", "data": "5901234123457", "x_mm": 0, "y_mm": 0,
      "ecc": "H"}, "invalid-label", "elements[0].ecc: does not apply to ean13"),
    ({"type": "barcode", "symbology": "qr", "data": "x", "x_mm": 0, "y_mm": 0, "ecc": "X"},
     "invalid-label", "elements[0].ecc: must be one of L, M, Q, H"),
    ({"type": "barcode", "symbology": "qr", "data": "x", "x_mm": 0, "y_mm": 0,
      "module_dots": 0}, "invalid-label", "elements[0].module_dots: must be between 1 and"),
    ({"type": "barcode", "symbology": "qr", "data": "x", "x_mm": 0, "y_mm": 0,
      "module_dots": 2.5}, "invalid-label", "elements[0].module_dots: must be an integer"),
    ({"type": "barcode", "symbology": "code128", "data": "x", "x_mm": 0, "y_mm": 0,
      "height_mm": -5}, "invalid-label", "elements[0].height_mm: must be > 0"),
    ({"type": "image", "data": "%%%", "x_mm": 0, "y_mm": 0}, "invalid-image",
     "elements[0].data: is not valid base64"),
    ({"type": "image", "data": tiny_png(), "x_mm": 0, "y_mm": 0, "dither": "atkinson"},
     "invalid-label", "elements[0].dither: must be one of"),
    ({"type": "image", "data": tiny_png(), "x_mm": 0, "y_mm": 0, "width_mm": -1},
     "invalid-label", "elements[0].width_mm: must be > 0"),
    ({"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": -2, "height_mm": 3},
     "invalid-label", "elements[0].width_mm: must be > 0"),
    ({"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": 2, "height_mm": 3, "thickness_mm": 0},
     "invalid-label", "elements[0].thickness_mm: must be > 0"),
    ({"type": "line", "x_mm": 0, "y_mm": 0, "x2_mm": 5, "y2_mm": 5, "rotation": 90},
     "invalid-label", "elements[0].rotation: does not apply to a line"),
    ({"type": "line", "x_mm": 0, "y_mm": 0, "x2_mm": 5}, "invalid-label",
     "elements[0].y2_mm: is required"),
    ("not an object", "invalid-label", "elements[0]: must be an object"),
]


@pytest.mark.parametrize("element,code,message", BAD, ids=[b[2][:50] for b in BAD])
def test_bad_elements(element, code, message):
    doc = {"width_mm": 50, "height_mm": 30, "elements": [element]}
    with pytest.raises(Invalid) as e:
        parse_label(doc, 203)
    assert e.value.code == code
    assert e.value.message.startswith(message), e.value.message
    assert e.value.status == 422 and e.value.hint


def test_error_names_the_right_index():
    doc = {"width_mm": 50, "height_mm": 30,
           "elements": [el(), el(), el(size_pt=-1)]}
    with pytest.raises(Invalid, match=r"^elements\[2\]\.size_pt: must be > 0"):
        parse_label(doc, 203)


@pytest.mark.parametrize("doc,message", [
    ([], "must be an object"),
    ({"height_mm": 30}, "width_mm: is required"),
    ({"width_mm": 0, "height_mm": 30}, "width_mm: must be > 0"),
    ({"width_mm": -10, "height_mm": 30}, "width_mm: must be > 0"),
    ({"width_mm": 50, "height_mm": 30, "dpi": 10}, "dpi: must be between"),
    ({"width_mm": 50, "height_mm": 30, "dpi": "203"}, "dpi: must be an integer"),
    ({"width_mm": 50, "height_mm": 30, "elements": {}}, "elements: must be an array"),
    ({"width_mm": 50, "height_mm": 30, "elements": [el()] * 501}, "elements: has 501"),
    ({"width_mm": 50, "height_mm": 30, "page": 2}, "label: unknown field(s): page"),
    ({"width_mm": 0.05, "height_mm": 30}, "width_mm: is less than one dot"),
    ({"width_mm": 2000, "height_mm": 2000, "dpi": 600}, "label: 47244x47244 dots"),
])
def test_bad_labels(doc, message):
    with pytest.raises(Invalid) as e:
        parse_label(doc, 203)
    assert e.value.code == "invalid-label"
    assert message in e.value.message


@pytest.mark.parametrize("mm,dpi,dots", [(25.4, 203, 203), (101.6, 203, 812), (152.4, 203, 1218),
                                         (100, 203, 799), (4 * 25.4, 300, 1200), (0, 203, 0),
                                         (25.4 / 203 / 2, 203, 1), (25.4 * 1.5 / 203, 203, 2),
                                         (25.4 * 2.5 / 203, 203, 3)])
def test_mm_to_dots(mm, dpi, dots):
    assert mm_to_dots(mm, dpi) == dots
