"""The stock templates: each is a valid template, renders at 203 and 300 dpi with its sample data
and with other data, its barcodes scan as the data that filled them, a missing field is named,
and hostile values in any field are drawn as pixels or refused, never passed to a printer as
commands."""

from __future__ import annotations

import re

import numpy as np
import pytest
import zxingcpp

from labeld.contracts import PrintOptions, Raster
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.zpl.language import ZplLanguage
from labeld.errors import Invalid
from labeld.plugins.escpos_generic import MODELS as ESCPOS_MODELS
from labeld.plugins.templates_builtin import DESCRIPTIONS, SAMPLE_DATA, TEMPLATES
from labeld.plugins.zebra import MODELS as ZEBRA_MODELS
from labeld.intake.render import FontBook, mm_to_dots, parse_label, raster_to_bits, render_label
from labeld.intake.placeholders import fields, fill, validate_template

NAMES = sorted(TEMPLATES)
ZEBRA_203 = next(m for m in ZEBRA_MODELS if m.id == "zebra-generic-203")
ESCPOS_80 = next(m for m in ESCPOS_MODELS if m.id == "escpos-generic-80")

# Data unlike the samples, to show that what prints comes from the data and not the template.
OTHER_DATA = {
    "shelf-price-tag": {"name": "Alma, Jonagold", "price": "499 Ft", "unit_price": "499 Ft/kg",
                        "ean": "2000000004990", "small_print": "Származási hely: Magyarország"},
    "product-label": {"name": "Csavarhúzó készlet", "sku": "CSK-77", "ean": "4006381333931"},
    "shipping-label-4x6": {"from_name": "A", "from_address": "B", "to_name": "C",
                           "to_address": "Line 1\nLine 2", "tracking_number": "CODE128-test/42",
                           "tracking_url": "https://example.org/t?id=42&k=%C3%A1"},
    "deposit-label": {"product": "Sör 0,5 l üveg", "deposit": "25 Ft",
                      "barcode": "5990000000252"},
}

# Strings that mean something to a printer or to a terminal, in every field.
INJECTIONS = [
    "^XZ^XA^JUF^XZ",  # ZPL: end the format, start another, save settings to flash
    "~JR", "~JA", "^CC~", "~CC^",  # ZPL: reset, cancel all, change the caret / tilde
    '! U1 setvar "device.languages" "zpl"',  # SGD
    "\x1bp\x00\x19\xfa",  # ESC p: kick the cash drawer
    "\x1dV\x00", "\x1dVB\x00",  # GS V: cut
    "\x10\x04\x01", "\x10\x14\x01\x00\x05",  # DLE EOT status, DLE DC4 real-time
    "\x00", "a\x00b", "line1\r\nline2\rline3\n", "\x1b@", "\x7f\x9b",
    "😀 4-byte UTF-8", "\u202eevil\u202c", "\u200f\u2066x\u2069",
    "{{ name }}", "%PDF-1.4", "", " ",
]


@pytest.fixture(scope="module")
def fonts() -> FontBook:
    return FontBook()


def render(doc: dict, dpi: int, fonts: FontBook) -> Raster:
    return render_label(parse_label(doc, default_dpi=dpi), fonts)


def scan(raster: Raster) -> set[str]:
    grey = np.where(raster_to_bits(raster), 0, 255).astype(np.uint8)
    return {b.text for b in zxingcpp.read_barcodes(grey)}


def barcode_data(doc: dict) -> set[str]:
    return {el["data"] for el in doc["elements"] if el["type"] == "barcode"}


# --------------------------------------------------------------------------------------------


def test_the_four_stock_templates_are_there_with_descriptions_and_sample_data():
    assert set(TEMPLATES) == {"shelf-price-tag", "product-label", "shipping-label-4x6",
                              "deposit-label"}
    assert set(DESCRIPTIONS) == set(SAMPLE_DATA) == set(TEMPLATES)


@pytest.mark.parametrize("name", NAMES)
def test_each_is_a_valid_template_whose_sample_data_fills_every_field(name):
    validate_template(TEMPLATES[name])
    assert fields(TEMPLATES[name]) == set(SAMPLE_DATA[name]) == set(OTHER_DATA[name])


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("data", ["sample", "other"])
def test_each_renders_at_its_size_and_its_barcodes_scan_as_the_data(name, dpi, data, fonts):
    values = SAMPLE_DATA[name] if data == "sample" else OTHER_DATA[name]
    doc = fill(TEMPLATES[name], values)
    raster = render(doc, dpi, fonts)
    template = TEMPLATES[name]
    assert (raster.width, raster.height) == (mm_to_dots(template["width_mm"], dpi),
                                             mm_to_dots(template["height_mm"], dpi))
    assert raster.dpi == dpi
    expected = barcode_data(doc)
    assert expected and expected <= {str(v) for v in values.values()}
    assert scan(raster) == expected


@pytest.mark.parametrize("name", NAMES)
def test_the_same_template_is_the_same_size_on_paper_at_both_resolutions(name, fonts):
    doc = fill(TEMPLATES[name], SAMPLE_DATA[name])
    low, high = render(doc, 203, fonts), render(doc, 300, fonts)
    assert low.width / 203 == pytest.approx(high.width / 300, abs=0.01)  # inches


@pytest.mark.parametrize("name", NAMES)
def test_stock_templates_fit_the_printers_they_are_meant_for(name, fonts):
    # every one fits a 4 in Zebra; all but the 4x6 in label fit 80 mm receipt paper too
    raster = render(fill(TEMPLATES[name], SAMPLE_DATA[name]), 203, fonts)
    assert raster.width <= ZEBRA_203.print_width_dots
    if name != "shipping-label-4x6":
        assert raster.width <= ESCPOS_80.print_width_dots


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_field_is_named(name):
    for field in SAMPLE_DATA[name]:
        data = {k: v for k, v in SAMPLE_DATA[name].items() if k != field}
        with pytest.raises(Invalid) as e:
            fill(TEMPLATES[name], data)
        assert e.value.code == "missing-field" and field in e.value.message
    with pytest.raises(Invalid) as e:
        fill(TEMPLATES[name], {})
    assert all(field in e.value.message for field in SAMPLE_DATA[name])


def test_a_number_where_a_template_prints_text_is_refused_with_the_place(fonts):
    # "{{ price }}" alone stands for the value itself, and a text element takes strings only:
    # prices are sent as printed ("649 Ft", "1 299 Ft/kg"), formatted by the POS
    doc = fill(TEMPLATES["shelf-price-tag"], {**SAMPLE_DATA["shelf-price-tag"], "price": 649})
    with pytest.raises(Invalid) as e:
        render(doc, 203, fonts)
    assert e.value.message == "elements[1].text: must be a string, got number"


@pytest.mark.parametrize("name", NAMES)
def test_filling_never_changes_the_stock_template(name):
    before = repr(TEMPLATES[name])
    fill(TEMPLATES[name], SAMPLE_DATA[name])["elements"].clear()
    assert repr(TEMPLATES[name]) == before


# --------------------------------------------------------------------------------------------
# Hostile values

ZPL_JOB = re.compile(rb"\^XA\^PW\d+\^LL\d+\^FO\d+,\d+"
                     rb"\^GFA,\d+,\d+,\d+,:Z64:[A-Za-z0-9+/=]+:[0-9A-F]{4}"
                     rb"\^FS\^PQ1\^XZ")


def escpos_commands(job: bytes) -> bytes:
    """The job with every GS v 0 image payload taken out: what remains is all the printer
    reads as commands."""
    out, i = bytearray(), 0
    while i < len(job):
        if job.startswith(b"\x1dv0", i):
            x = int.from_bytes(job[i + 4:i + 6], "little")
            y = int.from_bytes(job[i + 6:i + 8], "little")
            out += job[i:i + 8]
            i += 8 + x * y
        else:
            out.append(job[i])
            i += 1
    return bytes(out)


@pytest.mark.parametrize("name", NAMES)
def test_hostile_values_in_any_field_become_pixels_or_invalid(name, fonts):
    zpl, escpos = ZplLanguage(), EscposLanguage()
    outcomes: dict[str, int] = {}
    for field in SAMPLE_DATA[name]:
        for value in INJECTIONS:
            data = {**SAMPLE_DATA[name], field: value}
            try:
                raster = render(fill(TEMPLATES[name], data), 203, fonts)
            except Invalid as e:
                # barcodes refuse what their symbology cannot hold; text can refuse nothing
                # printable, so only these codes are expected
                assert e.code in {"unencodable-data", "bad-check-digit", "invalid-label",
                                  "does-not-fit"}, (field, value, e.code)
                outcomes[e.code] = outcomes.get(e.code, 0) + 1
                continue
            outcomes["rendered"] = outcomes.get("rendered", 0) + 1
            # Safe by construction: the value reaches the printer only as image data. The ZPL
            # job is one format holding one Z64 graphic (no ^ or ~ in base64) ...
            job = zpl.encode_raster([raster], ZEBRA_203, PrintOptions())
            assert ZPL_JOB.fullmatch(job), (field, value)
            # ... and the ESC/POS job, pixels aside, is init, image headers and the cut only.
            if raster.width <= ESCPOS_80.print_width_dots:
                commands = escpos_commands(escpos.encode_raster([raster], ESCPOS_80,
                                                                PrintOptions()))
                assert re.fullmatch(rb"\x1b@(\x1dv0\x00[\s\S]{4})+\x1dVB\x00", commands), \
                    (field, value)
    assert outcomes.get("rendered", 0) > 0


@pytest.mark.parametrize("value", ["😀", "\u202eevil", "a\x00b", "^XZ^XA^JUF^XZ"])
def test_hostile_text_is_drawn_not_interpreted(value, fonts):
    # the same value in a text field prints as glyphs: different values, different pixels
    doc = fill(TEMPLATES["product-label"], {**SAMPLE_DATA["product-label"], "name": value})
    plain = fill(TEMPLATES["product-label"], {**SAMPLE_DATA["product-label"], "name": "X"})
    assert render(doc, 203, fonts).rows != render(plain, 203, fonts).rows
