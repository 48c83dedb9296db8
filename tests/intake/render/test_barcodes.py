"""Every symbology, drawn at 203 and 300 dpi, decodes with an independent decoder (zxing-cpp) to
exactly the data sent, with every bar a whole number of dots wide."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labeld.errors import Invalid
from labeld.intake.render import BarcodeElement, gtin_check_digit
from labeld.intake.render.barcodes import QUIET_ZONES, encode, render_barcode

F = zxingcpp.BarcodeFormat

# symbology, data sent, what a scanner must read, zxing format, element widths allowed (modules)
CASES = [
    ("code128", "Hello-World 0123456789", "Hello-World 0123456789", F.Code128, {1, 2, 3, 4}),
    ("gs1-128", "(01)09501101530003(17)140704(10)AB-123",
     "(01)09501101530003(17)140704(10)AB-123", F.Code128, {1, 2, 3, 4}),
    ("ean13", "5901234123457", "5901234123457", F.EAN13, {1, 2, 3, 4}),
    ("ean8", "96385074", "96385074", F.EAN8, {1, 2, 3, 4}),
    # zxing-cpp reports a UPC-A as its GTIN-13, i.e. with a leading 0
    ("upca", "036000291452", "0036000291452", F.UPCA, {1, 2, 3, 4}),
    ("code39", "LABELD-42 $/+%.", "LABELD-42 $/+%.", F.Code39, {1, 3}),
    ("itf14", "15400141288763", "15400141288763", (F.ITF, F.ITF14), {1, 3}),
    ("qr", "https://example.com/p/123?q=Árvíztűrő", "https://example.com/p/123?q=Árvíztűrő",
     F.QRCode, None),
    ("datamatrix", "Árvíztűrő tükörfúrógép 0123", "Árvíztűrő tükörfúrógép 0123", F.DataMatrix,
     None),
    ("pdf417", "LABELD pdf417 test 1234567890", "LABELD pdf417 test 1234567890", F.PDF417, None),
]


def grey(bits: np.ndarray) -> np.ndarray:
    return np.where(bits, 0, 255).astype(np.uint8)


def decode(bits: np.ndarray, fmt: object = None,
           plain: bool = False) -> list[str]:
    kw = {"text_mode": zxingcpp.TextMode.Plain} if plain else {}
    found = zxingcpp.read_barcodes(grey(bits), formats=fmt, **kw) if fmt else \
        zxingcpp.read_barcodes(grey(bits), **kw)
    return [b.text for b in found]


def runs(line: np.ndarray) -> list[int]:
    """Lengths of the alternating black/white runs between the first and last black dot."""
    idx = np.flatnonzero(line)
    seg = line[idx[0]:idx[-1] + 1].astype(np.int8)
    edges = np.flatnonzero(np.diff(seg)) + 1
    return np.diff(np.concatenate(([0], edges, [seg.size]))).tolist()


def element(sym: str, data: str, **kw) -> dict:
    return {"type": "barcode", "symbology": sym, "data": data, "x_mm": 8, "y_mm": 6, **kw}


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize("sym,data,expected,fmt,widths", CASES, ids=[c[0] for c in CASES])
def test_every_symbology_decodes_exactly(draw, sym, data, expected, fmt, widths, dpi):
    kw = {"height_mm": 12} if widths else {}  # 2D sizes follow the modules
    bits = draw([element(sym, data, **kw)], width_mm=100, height_mm=60, dpi=dpi)
    assert decode(bits, fmt) == [expected]


@pytest.mark.parametrize("module_dots", [1, 2, 3, 4])
@pytest.mark.parametrize("sym,data,expected,fmt,widths", [c for c in CASES if c[4]],
                         ids=[c[0] for c in CASES if c[4]])
def test_linear_bars_are_whole_multiples_of_the_module(draw, sym, data, expected, fmt, widths,
                                                       module_dots):
    bits = draw([element(sym, data, height_mm=10, module_dots=module_dots)], width_mm=150,
                height_mm=40, dpi=203)
    mid = bits[6 * 203 * 10 // 254 + 20]  # a scanline through the bars
    lengths = runs(mid)
    assert all(n % module_dots == 0 for n in lengths), lengths
    assert {n // module_dots for n in lengths} <= widths
    # every bar runs the full height: the same pattern on each row of the bar area
    ys = np.flatnonzero(bits.any(axis=1))
    bar_rows = bits[ys[0]:ys[0] + 10 * 203 * 10 // 254 - 2]
    assert (bar_rows == bar_rows[0]).all()
    if sym in ("code128", "ean13", "ean8", "upca", "code39", "itf14"):
        assert decode(bits, fmt) == [expected]


@pytest.mark.parametrize("sym", ["qr", "datamatrix", "pdf417"])
@pytest.mark.parametrize("module_dots", [1, 3, 5])
def test_matrix_modules_are_whole_dots(sym, module_dots, fonts):
    el = BarcodeElement(x_mm=0, y_mm=0, symbology=sym, data="WHOLE DOTS 12345",
                        module_dots=module_dots)
    sprite = render_barcode(el, 203, fonts)
    modules = encode(el).modules
    row_h = module_dots * (3 if sym == "pdf417" else 1)
    expected = np.repeat(np.repeat(modules, row_h, axis=0), module_dots, axis=1)
    assert np.array_equal(sprite.bits, expected)
    if module_dots >= 3:  # at 1 dot per module the reader needs more pixels than there are
        assert decode(np.pad(sprite.bits, 40)) == ["WHOLE DOTS 12345"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), min_size=1,
               max_size=24))
def test_code128_any_ascii_decodes_exactly(draw, data):
    """Subset switching (A for control characters, B for lower case, C for digit runs) must be
    right for any mix; the decoder sees raw characters in Plain text mode."""
    bits = draw([element("code128", data, height_mm=8, module_dots=2)], width_mm=200,
                height_mm=20, dpi=203)
    assert decode(bits, F.Code128, plain=True) == [data]
    assert all(n % 2 == 0 for n in runs(bits[50]))


@pytest.mark.parametrize("data", ["12345678901234", "ABC1234567890123", "a1b2c3", "0", "00"])
def test_code128_digit_runs_use_subset_c(draw, data):
    bits = draw([element("code128", data, height_mm=8, module_dots=2)], width_mm=200,
                height_mm=20)
    assert decode(bits, F.Code128) == [data]
    if data == "12345678901234":
        # start C + 7 pairs + check + stop: 11 modules each, stop 13
        assert sum(runs(bits[50])) == 2 * (11 * 9 + 13)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
@pytest.mark.parametrize("sym,data", [("code128", "ROT-123"), ("ean13", "5901234123457"),
                                      ("qr", "rotated"), ("pdf417", "rotated pdf")])
def test_rotated_barcodes_decode(draw, sym, data, rotation):
    bits = draw([element(sym, data, rotation=rotation, module_dots=3,
                         **({"height_mm": 12} if sym in ("code128", "ean13") else {}))],
                width_mm=100, height_mm=100)
    assert decode(bits) == [data]


def test_check_digit_is_computed_when_left_off(draw):
    bits = draw([element("ean13", "590123412345", height_mm=12)])
    assert decode(bits, F.EAN13) == ["5901234123457"]
    bits = draw([element("itf14", "1540014128876", height_mm=12)])
    assert decode(bits, (F.ITF, F.ITF14)) == ["15400141288763"]
    assert gtin_check_digit("03600029145") == 2


def test_gs1_brackets_and_parentheses_are_the_same(fonts):
    a = encode(BarcodeElement(0, 0, "gs1-128", "[01]09501101530003[10]AB-123"))
    b = encode(BarcodeElement(0, 0, "gs1-128", "(01)09501101530003(10)AB-123"))
    assert np.array_equal(a.modules, b.modules)


@pytest.mark.parametrize("sym,data", [
    ("ean13", "5901234123458"), ("ean8", "96385075"), ("upca", "036000291453"),
    ("itf14", "15400141288764"), ("gs1-128", "(01)09501101530004"),
])
def test_wrong_check_digit_is_refused(draw, sym, data):
    with pytest.raises(Invalid) as e:
        draw([element(sym, data)])
    assert e.value.code == "bad-check-digit"
    assert e.value.message.startswith("elements[0].data:")


@pytest.mark.parametrize("sym,data", [
    ("code128", "Árvíztűrő"), ("code128", "ñ"), ("code39", "lower"), ("code39", "A*B"),
    ("ean13", "59012341234"), ("ean13", "590123412345X"), ("ean8", "１２３４５６７"),
    ("upca", "1234"), ("itf14", "12345"), ("gs1-128", "0109501101530003"),
    ("gs1-128", "(01)123"), ("gs1-128", "(99)" + "x" * 100), ("qr", "x" * 7100),
    ("datamatrix", "9" * 3200), ("pdf417", "x" * 2000),
])
def test_unencodable_data_is_refused(draw, sym, data):
    with pytest.raises(Invalid) as e:
        draw([element(sym, data)], width_mm=300, height_mm=300)
    assert e.value.code == "unencodable-data", e.value.message


def test_barcode_wider_than_label(draw):
    with pytest.raises(Invalid) as e:
        draw([element("code128", "A-LONG-CODE-128-THAT-CANNOT-FIT", module_dots=3)],
             width_mm=40, height_mm=30)
    assert e.value.code == "does-not-fit"
    assert "wide" in e.value.message


def test_barcode_taller_than_label(draw):
    with pytest.raises(Invalid) as e:
        draw([element("qr", "tall", module_dots=10)], width_mm=100, height_mm=20)
    assert e.value.code == "does-not-fit"


@pytest.mark.parametrize("sym,data", [("code128", "QZ"), ("ean13", "5901234123457"),
                                      ("qr", "quiet")])
def test_quiet_zone_must_be_on_the_label(draw, sym, data):
    m = 2
    left_qz_mm = QUIET_ZONES[sym][0] * m * 25.4 / 203
    el = element(sym, data, module_dots=m)
    el["x_mm"] = left_qz_mm - 0.3  # the bars fit, the quiet zone does not
    if sym != "qr":
        el["height_mm"] = 10
    with pytest.raises(Invalid) as e:
        draw([el], width_mm=100, height_mm=60)
    assert e.value.code == "does-not-fit"
    assert "quiet zone" in e.value.message
    el["x_mm"] = left_qz_mm + 0.2
    assert decode(draw([el], width_mm=100, height_mm=60)) == [data]


@pytest.mark.parametrize("sym,data", [("ean13", "5901234123457"), ("upca", "036000291452"),
                                      ("ean8", "96385074"), ("code128", "HRT-0123"),
                                      ("gs1-128", "(01)09501101530003"),
                                      ("itf14", "15400141288763"),
                                      ("code39", "HRT"), ("qr", "hrt")])
@pytest.mark.parametrize("dpi,module_dots", [(203, 1), (203, 2), (203, 3), (300, 4)])
def test_human_readable_text_never_touches_the_bars(fonts, sym, data, dpi, module_dots):
    kw = {} if sym == "qr" else {"height_mm": 10}
    plain = render_barcode(BarcodeElement(0, 0, sym, data, module_dots=module_dots, **kw),
                           dpi, fonts)
    with_text = render_barcode(BarcodeElement(0, 0, sym, data, module_dots=module_dots,
                                              human_readable=True, **kw), dpi, fonts)
    pl, _, pr, bars_h = plain.box
    wl = with_text.box[0]
    bars = with_text.bits[:bars_h, wl:wl + (pr - pl)]
    assert np.array_equal(bars, plain.bits)  # the bars are untouched
    assert not with_text.bits[:bars_h, :wl].any()  # nothing beside the bars (EAN digit is below)
    assert not with_text.bits[:bars_h, wl + (pr - pl):].any()
    gap = with_text.bits[bars_h:bars_h + 2]
    assert not gap.any()  # at least two dots of air under the bars
    assert with_text.bits[bars_h:].any()  # and some text below


def test_human_readable_ean13_groups(draw):
    bits = draw([element("ean13", "5901234123457", height_mm=10, module_dots=3,
                         human_readable=True)])
    assert decode(bits, F.EAN13) == ["5901234123457"]
    top = round(6 * 203 / 25.4)
    bars_h = round(10 * 203 / 25.4)
    first_bar = int(np.flatnonzero(bits[top + 5])[0])
    assert first_bar == round(8 * 203 / 25.4)  # x_mm is the first bar
    text = bits[top + bars_h:]
    cols = np.flatnonzero(text.any(axis=0))
    # the number-system digit sits in the left quiet zone, with air before the first bar
    assert cols[0] < first_bar - 3 and cols[0] >= first_bar - 11 * 3
    # and the text is in three groups: 5 | 901234 | 123457
    gaps = np.flatnonzero(np.diff(cols) > 6)
    assert len(gaps) == 2


def test_default_module_is_whole_dots_at_any_dpi(fonts):
    for dpi in (152, 203, 300, 600):
        s = render_barcode(BarcodeElement(0, 0, "code128", "DEFAULT", height_mm=5), dpi, fonts)
        assert all(n % max(1, round(0.25 * dpi / 25.4)) == 0 for n in runs(s.bits[0]))


def test_human_readable_text_under_a_2d_symbol_keeps_accents(fonts):
    el = BarcodeElement(0, 0, "qr", "Árvíztűrő", module_dots=4, human_readable=True)
    sprite = render_barcode(el, 203, fonts)
    bars_h = encode(el).modules.shape[0] * 4
    text = sprite.bits[bars_h:]
    assert text.any(axis=0).sum() > 50  # nine letters wide, not blanks
