"""Receipts as text on ESC/POS: code pages chosen per line, nothing substituted, styles, native
barcodes and QR, read back by the simulated printer's own decoder (its own table of ESC t
numbers, its own Font A cells) and by zxing-cpp from its picture."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import zxingcpp

from labeld.contracts import CodePage
from labeld.drivers.escpos.receipt import encode_in, ordered, text_line, _State
from labeld.drivers.escpos.simulator import EPSON_TABLES, render_receipts
from labeld.errors import Invalid
from labeld.intake.prepare import prepare
from labeld.intake.render import FontBook, raster_to_bits
from labeld.plugins.escpos_generic import MODELS
from labeld.plugins.escpos_generic.profiles import OVERRIDES, load, model_id

SAMPLE = "Árvíztűrő tükörfúrógép ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"
BY_ID = {m.id: m for m in MODELS}


@pytest.fixture(scope="module")
def fonts() -> FontBook:
    return FontBook()


def job(model: str, blocks: list[dict], fonts: FontBook):
    from labeld.drivers.escpos.language import EscposLanguage

    printer = SimpleNamespace(id="till", model=BY_ID[model], language=EscposLanguage())
    return prepare("receipt", {"receipt": {"blocks": blocks}}, printer, fonts, None)


def printed(prepared, width: int):
    [receipt] = render_receipts(prepared.raw, width)
    return receipt


def bits(receipt) -> np.ndarray:
    rows = np.frombuffer(receipt.rows, np.uint8).reshape(receipt.height, -1)
    return np.unpackbits(rows, axis=1)[:, :receipt.width].astype(bool)


def test_hungarian_arrives_as_the_bytes_of_the_code_page_the_printer_selected(fonts):
    prepared = job("escpos-generic-80", [{"type": "text", "text": SAMPLE}], fonts)
    receipt = printed(prepared, 576)
    assert receipt.text == [SAMPLE]
    [table] = receipt.code_pages
    assert EPSON_TABLES[table] == "cp852"  # the printer's own table, not labeld's profile
    # ő and ű as CP852 has them (0x8B, 0xFB), never õ, û or ?
    assert receipt.text_bytes[0] == SAMPLE.encode("cp852")
    assert b"?" not in receipt.text_bytes[0]


def test_the_picture_is_the_preview_cell_for_cell(fonts):
    blocks = [{"type": "text", "text": SAMPLE, "align": "center", "bold": True},
              {"type": "text", "text": "NAGY", "double_width": True, "double_height": True},
              {"type": "row", "columns": ["Őszibarack", "2 x 645", "1 290 Ft"]},
              {"type": "row", "columns": ["ÖSSZESEN", "1 290 Ft"], "inverse": True,
               "underline": True},
              {"type": "separator", "char": "="}]
    prepared = job("escpos-generic-80", blocks, fonts)
    receipt = printed(prepared, 576)
    [page] = prepared.pages
    assert receipt.height == page.height
    assert np.array_equal(bits(receipt), raster_to_bits(page).astype(bool))


def test_a_table_is_selected_only_when_a_line_needs_another():
    pages = ordered(BY_ID["escpos-tm-t88v"].text.code_pages)
    state = _State()
    first = text_line("Őrző", pages, state)
    assert first.startswith(b"\x1bt\x12")  # CP852 is table 18 on the TM-T88V
    assert text_line("tűz és víz", pages, state) == "tűz és víz".encode("cp852")  # no ESC t
    assert text_line("plain ascii", pages, state) == b"plain ascii"
    # € is not in CP852: the line goes to Windows-1250 (table 45), which has ő too
    assert text_line("Ő 5 €", pages, state) == b"\x1bt\x2d" + "Ő 5 €".encode("cp1250")


def test_a_character_no_table_holds_prints_as_dots_never_as_a_question_mark(fonts):
    prepared = job("escpos-generic-80", [{"type": "text", "text": "Ω ♥ ő"},
                                         {"type": "text", "text": "ő"}], fonts)
    receipt = printed(prepared, 576)
    assert receipt.text == ["ő"]  # the first line came as an image, not as text
    assert receipt.text_bytes == [b"\x8b"]  # and nothing of it as "?" text
    [page] = prepared.pages
    assert np.array_equal(bits(receipt), raster_to_bits(page).astype(bool))


def test_a_character_nothing_can_print_is_refused_by_name(fonts):
    with pytest.raises(Invalid) as refused:
        job("escpos-generic-80", [{"type": "text", "text": "Köszönjük 😀"}], fonts)
    assert refused.value.code == "unprintable-character"
    assert "U+1F600" in refused.value.message


def test_native_qr_and_barcodes_scan_from_the_printers_picture(fonts):
    blocks = [{"type": "qr", "data": "https://example.com/r/4f1c?q=1", "module_dots": 5},
              {"type": "feed", "lines": 1},
              {"type": "barcode", "symbology": "ean13", "data": "5901234123457"},
              {"type": "feed", "lines": 1},
              {"type": "barcode", "symbology": "code128", "data": "R-{0123"}]
    prepared = job("escpos-tm-t20ii", blocks, fonts)
    assert b"\x1d(k" in prepared.raw and b"\x1dkC" in prepared.raw and b"\x1dkI" in prepared.raw
    receipt = printed(prepared, 576)
    grey = np.where(bits(receipt), 0, 255).astype(np.uint8)
    found = {r.text for r in zxingcpp.read_barcodes(np.pad(grey, 40, constant_values=255))}
    assert found == {"https://example.com/r/4f1c?q=1", "5901234123457", "R-{0123"}


def test_a_model_without_native_codes_prints_them_as_images(fonts):
    prepared = job("escpos-pos-5890", [{"type": "qr", "data": "hello"},
                                       {"type": "barcode", "symbology": "ean8",
                                        "data": "96385074"}], fonts)
    assert b"\x1d(k" not in prepared.raw and b"\x1dk" not in prepared.raw
    receipt = printed(prepared, 384)
    grey = np.where(bits(receipt), 0, 255).astype(np.uint8)
    found = {r.text for r in zxingcpp.read_barcodes(np.pad(grey, 40, constant_values=255))}
    assert found == {"hello", "96385074"}


def test_qr_data_holding_a_realtime_command_is_drawn_not_sent(fonts):
    prepared = job("escpos-generic-80", [{"type": "qr", "data": "a\x10\x04\x01b"}], fonts)
    assert b"\x10\x04" not in prepared.raw


# -- profiles ------------------------------------------------------------------------------

def test_every_profile_with_raster_graphics_is_a_model_with_its_code_pages():
    db = load()
    for key, profile in db.profiles.items():
        if not profile["features"].get("bitImageRaster"):
            continue
        mid = model_id(key)
        if mid not in BY_ID:
            assert key not in OVERRIDES  # left out only for want of a paper width
            continue
        text = BY_ID[mid].text
        tables = {str(p.table): p.name for p in text.code_pages}
        assert tables.items() <= profile["codePages"].items()
        assert text.qr == bool(profile["features"].get("qrCode"))


def test_every_override_names_a_database_profile_and_says_why():
    db = load()
    for key, override in OVERRIDES.items():
        assert key in db.profiles and override.why


def test_hungarian_code_pages_by_model():
    def tables(mid: str) -> dict[str, int]:
        return {p.name: p.table for p in BY_ID[mid].text.code_pages}

    assert tables("escpos-tm-t88v")["CP852"] == 18 and tables("escpos-tm-t88v")["CP1250"] == 45
    assert tables("escpos-tsp600")["CP852"] == 5  # the database's Star numbering
    assert "CP852" not in tables("escpos-tm-t88iii")
    assert BY_ID["escpos-generic-80"].text.columns == 48


def test_encode_in_refuses_tables_that_lack_a_character_or_map_it_to_control_bytes():
    cp437 = CodePage(0, "CP437", "cp437")
    assert encode_in("ő", cp437) is None
    assert encode_in("é", cp437) == b"\x82"
