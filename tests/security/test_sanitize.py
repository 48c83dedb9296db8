"""Text that reaches a printer as text cannot carry commands."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.security.sanitize import (
    BIDI_CONTROLS,
    escpos_text,
    strip_controls,
    zpl_field,
    zpl_field_decode,
)

FRAGMENTS = ["^", "~", "_", "_5E", "_7e", "^XZ^XA^JUF^XZ", "~JR", "! U1 setvar ", "{}{", "\r\n",
             "\n", "\t", "\x00", "\x1b=\x00", "\x10\x04\x01", "\x1dV", "\x7f", "\x85", "\u202e",
             "\u2066", "\u200f", "\u2028", "\U0001F600", "ő", "ű", "€", "o\u030b"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=80).map("".join),
)
ENCODINGS = ["cp852", "cp437", "cp858", "cp1250", "iso8859-2", "utf-8", "ascii"]


# -- strip_controls --------------------------------------------------------------------------

def test_strip_controls_removes_c0_c1_del_and_bidi():
    assert strip_controls("a\x00b\x1bc\x7fd\x85e\u202ef\u2066g\u200eh\n") == "abcdefgh"
    assert strip_controls("line 1\nline 2\r\n", keep="\n") == "line 1\nline 2\n"
    assert not any(c in strip_controls("".join(BIDI_CONTROLS) + "x") for c in BIDI_CONTROLS)
    assert strip_controls("Árvíztűrő tükörfúrógép 1 200 Ft") == "Árvíztűrő tükörfúrógép 1 200 Ft"


# -- ZPL -----------------------------------------------------------------------------------

def test_zpl_field_escapes_the_price_field_injection():
    out = zpl_field("^XZ^XA^JUF^XZ")
    assert out == "_5EXZ_5EXA_5EJUF_5EXZ"
    assert zpl_field("~JR a_b") == "_7EJR a_5Fb"
    assert zpl_field("line 1\r\nline 2") == "line 1line 2"
    assert zpl_field("Ár: 1 200 Ft") == "Ár: 1 200 Ft"
    assert zpl_field("ő", ascii_only=True) == "_C5_91"


@given(texts)
@settings(max_examples=300, deadline=None)
def test_zpl_field_output_has_no_prefix_characters_and_decodes_back(text):
    for ascii_only in (False, True):
        out = zpl_field(text, ascii_only=ascii_only)
        assert "^" not in out and "~" not in out
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in out)
        if ascii_only:
            assert out.isascii()
        assert zpl_field_decode(out) == strip_controls(text)


# -- ESC/POS -------------------------------------------------------------------------------

def test_escpos_text_for_a_hungarian_receipt():
    text = "Árvíztűrő tükörfúrógép\nÖsszesen: 1 200 Ft\n"
    assert escpos_text(text).decode("cp852") == text
    assert escpos_text("o\u030b") == "ő".encode("cp852")  # decomposed input, NFC first


@pytest.mark.parametrize("text, expected", [
    ("\x1b=\x00Total", b"=Total"),  # ESC = NUL (deselect) loses its control bytes
    ("\x10\x04\x01", b""),  # DLE EOT
    ("\x1dV\x00", b"V"),  # GS V
    ("a\x00b", b"ab"),  # NUL
    ("a\r\nb\rc", b"a\nbc"),  # CR LF -> LF, lone CR dropped
    ("a\tb", b"a b"),
    ("1\u202e00 Ft", b"100 Ft"),  # bidi override
    ("\u2066x\u2069\u200f", b"x"),
    ("tip \U0001F600", b"tip ?"),  # 4-byte UTF-8
    ("\x7f\x85\x9b", b""),  # DEL, C1 (0x9B is CSI)
    ("€", b"?"),  # not in cp852
])
def test_escpos_text_corpus(text, expected):
    assert escpos_text(text) == expected


def test_escpos_text_options():
    assert escpos_text("a\nb", keep_newlines=False) == b"ab"
    assert escpos_text("€ 5", "cp858") == b"\xd5 5"
    assert escpos_text("€ 5", "ascii", replacement="EUR") == b"EUR 5"
    assert escpos_text("ő \U0001F600", "utf-8") == "ő ?".encode()
    with pytest.raises(ValueError):
        escpos_text("x", "utf-16")
    with pytest.raises(LookupError):
        escpos_text("x", "no-such-codec")


@given(texts, st.sampled_from(ENCODINGS), st.booleans())
@settings(max_examples=300, deadline=None)
def test_escpos_text_output_has_no_control_bytes(text, encoding, keep_newlines):
    out = escpos_text(text, encoding, keep_newlines=keep_newlines)
    allowed_low = {0x0A} if keep_newlines else set()
    assert all(b >= 0x20 or b in allowed_low for b in out)
    assert 0x7F not in out
    if encoding == "utf-8":
        assert not any(b >= 0xF0 for b in out)  # no 4-byte sequences
        decoded = out.decode("utf-8")
        assert not any(0x80 <= ord(c) <= 0x9F or c in BIDI_CONTROLS for c in decoded)
