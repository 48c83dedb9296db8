"""ESC/POS's raw-command policy (drivers/escpos/policy.py): a corpus that must be refused, a
real receipt that must pass; and `escpos_text`, the text sanitizer, whose output always passes.

Copies and job boundaries, for every language, are in tests/intake/test_policy_boundaries.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.policy import escpos_text

from labeld.intake.policy import check_raw, find_commands
from labeld.contracts import Role
from labeld.langkit import BIDI_CONTROLS
from tests.drivers.policy_checks import ENCODINGS, hostile_texts, policy_checks

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN
ESCPOS = EscposLanguage()

refused, passes = policy_checks(ESCPOS)


# Text built from command fragments as well as arbitrary characters, so that the examples
# actually try to smuggle commands.
FRAGMENTS = ["^", "~", "_", "!", "{", "}", "^XZ", "^XA", "^JUF", "~JR", "~CC", "! U1 ", "setvar",
             "do", '"ip.addr"', "\r\n", "\n", "\x1b", "\x1d", "(E", "=", "\x00", "\x10", "\x14",
             "\x02", "\x01", "\x08", "\x1f", "\u202e", "\U0001F600", "5E", "7E"]
evil_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=60).map(
    "".join)


# -- ESC/POS -------------------------------------------------------------------------------

INIT = b"\x1b@"
CP852 = b"\x1bt\x12"


def gs_v_0(width_bytes: int, height: int, data: bytes) -> bytes:
    assert len(data) == width_bytes * height
    return b"\x1dv0\x00" + width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little") + data


def gs_l_store(width_dots: int, height: int, data: bytes) -> bytes:
    body = b"\x30\x70\x30\x01\x01\x31" + width_dots.to_bytes(2, "little") + \
        height.to_bytes(2, "little") + data
    return b"\x1d(L" + len(body).to_bytes(2, "little") + body + b"\x1d(L\x02\x00\x30\x32"


# Every refused command also hidden in image data, where it must not count.
NASTY = (b"\x1d(E\x03\x00\x01\x49\x4e" + b"\x1b=\x00" + b"\x1cq\x01" + b"\x1d(M\x02\x00\x01\x01"
         + b"\x1d(D\x05\x00\x14\x01\x00\x02\x00" + b"\x1bc5\x01" + b"\x1da\xff" + b"\x1f\x1b\x1f"
         + b"\x1d(L\x06\x00\x30\x43" + b"\x1d(K\x02\x00\x31\x05")


def receipt(*parts: bytes) -> bytes:
    return INIT + CP852 + b"".join(parts)


@pytest.mark.parametrize("data, named", [
    (b"\x1d(E\x03\x00\x01\x49\x4e", "GS ( E"),
    (b"\x1d(M\x02\x00\x01\x01", "GS ( M"),
    (b"\x1d(D\x05\x00\x14\x01\x00\x02\x00", "GS ( D"),
    (b"\x1b=\x00", "ESC ="),
    (b"\x1b=\x02", "ESC ="),
    (b"\x1bc5\x01", "ESC c 5"),
    (b"\x1cq\x01\x01\x00\x01\x00\xff", "FS q"),
    (b"\x1d(L\x0c\x00\x30\x43\x30\x20\x20\x01\x00\x01\x00\x31\xff\x00", "GS ( L"),
    (b"\x1d8L\x0c\x00\x00\x00\x30\x43\x30\x20\x20\x01\x00\x01\x00\x31\xff\x00", "GS 8 L"),
    (b"\x1d(L\x04\x00\x30\x41\x43\x43", "GS ( L"),  # delete all NV graphics
    (b"\x1d(C\x05\x00\x00\x30\x00\x20\x20", "GS ( C"),
    (b"\x1d(A\x02\x00\x00\x02", "GS ( A"),
    (b"\x1d(K\x02\x00\x31\x05", "GS ( K"),
    (b"\x1da\xff", "GS a"),
    (b"\x1dg0\x00\x14\x00", "GS g 0"),
    (b"\x1cg1\x00\x00\x00\x00\x00\x01\x00A", "FS g 1"),
    (b"\x1f\x1b\x1f\x91\x00\x49\x50", "US ESC US"),
    (b"\x1b\x1d#\x01", "ESC GS #"),
    (b"\x10\x14\x02\x01\x08", "power off"),
    (b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08", "clear buffers"),
])
def test_the_escpos_corpus_is_refused_to_pos_and_named(data, named):
    err = refused(receipt(b"Total: 100 Ft\n", data, b"\n\x1dVB\x00"))
    assert err.code == "forbidden-command" and named in err.message


def test_roles_are_hierarchical_for_escpos():
    for data in (b"\x1d(A\x02\x00\x00\x02", b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"):
        refused(receipt(data), POS)
        passes(receipt(data), TECH)
    for data in (b"\x1d(E\x03\x00\x01\x49\x4e", b"\x10\x14\x02\x01\x08", b"\x1b=\x00"):
        refused(receipt(data), TECH)
        passes(receipt(data), ADMIN)


def test_a_real_receipt_with_raster_images_drawer_and_cut_passes():
    width, height = 8, len(NASTY)  # an "image" whose rows hold every forbidden sequence
    image = (NASTY * width)[:width * height]
    qr = b"https://shop.example/r/1042\x1d(E"
    code128 = b"{A\x1d01\x1d(E"  # GS1-style group separators inside barcode data
    column_image = NASTY[:30]
    data = receipt(
        b"\x1ba\x01", b"\x1d!\x11", escpos_text("Kávézó Kft.\n"), b"\x1d!\x00",
        b"\x1ba\x00", escpos_text("Cappuccino          1 200 Ft\nÖsszesen:           1 200 Ft\n"),
        gs_v_0(width, height, image),
        gs_l_store(width * 8, height, image),
        b"\x1b*\x00" + len(column_image).to_bytes(2, "little") + column_image + b"\n",
        b"\x1d(k\x04\x00\x31\x41\x32\x00", b"\x1d(k\x03\x00\x31\x43\x06",
        b"\x1d(k" + (len(qr) + 3).to_bytes(2, "little") + b"\x31\x50\x30" + qr,
        b"\x1d(k\x03\x00\x31\x51\x30",
        b"\x1dkI" + bytes([len(code128)]) + code128,
        b"\x1b=\x01",  # select the printer (Odoo does this before the drawer kick)
        b"\x1bp\x00\x19\x19",  # drawer kick: a till's job, allowed to pos
        b"\x10\x14\x01\x00\x01",  # real-time drawer pulse
        b"\x10\x04\x01",  # DLE EOT status query
        b"\x1bd\x05", b"\x1dVA\x10",  # feed, cut (feed 16: ends with a 10 byte as a parameter)
    )
    passes(data)
    assert find_commands(ESCPOS, data) == []


def test_image_payloads_are_only_skipped_when_their_header_is_valid():
    image = NASTY[:16]
    bad_mode = b"\x1dv0\x07" + (8).to_bytes(2, "little") + (2).to_bytes(2, "little") + image
    refused(receipt(bad_mode))  # the printer ignores it and runs the "image"
    truncated = gs_v_0(8, 2, image)[:-1]
    refused(receipt(truncated))


def test_real_time_commands_count_even_inside_image_data():
    image = (b"\x00" * 6 + b"\x10\x14\x02\x01\x08" + b"\x00" * 5)
    err = refused(receipt(gs_v_0(8, 2, image)), TECH)
    assert "power off" in err.message


def test_an_escpos_job_may_not_end_in_a_command_the_next_job_would_complete():
    for tail in (b"\x1d(", b"\x1d", b"\x1b=", b"\x10\x14", b"\x10\x14\x02\x01", b"\x1f\x1b"):
        assert refused(receipt(b"ok\n", tail), ADMIN).code == "incomplete-command"
    refused(b"\x14\x02\x01\x08")  # the rest of DLE DC4 2, after a job ending in DLE
    passes(receipt(b"ok\n", b"\x1dVA\x1d"))  # 1D as the feed parameter of GS V 65
    passes(receipt(b"ok\n", b"\x1bd\x1b"))


@given(st.one_of(st.text(max_size=200), evil_text),
       st.sampled_from(["cp852", "cp437", "utf-8", "cp1250"]))
@settings(max_examples=300, deadline=None)
def test_any_text_through_escpos_text_passes_the_policy(text, encoding):
    check_raw(ESCPOS, INIT + escpos_text(text, encoding) + b"\x1dVB\x00", POS)


# -- text: escpos_text, the language's sanitizer ---------------------------------------------

texts = hostile_texts


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


def test_the_languages_sanitizer_is_escpos_text_in_cp852():
    assert ESCPOS.sanitize_text("\x1b=\x00Ő") == escpos_text("\x1b=\x00Ő") == b"=\x8a"


def test_the_end_of_a_job_is_read_forward_from_a_command_boundary():
    # ESC ! <1B>, "!", a lone ESC: the next job's "3D 00" would make it ESC = NUL.
    assert refused(receipt(b"\x1b!\x1b!\x1b"), ADMIN).code == "incomplete-command"
    passes(receipt(b"\x1b!\x1b!\x1b!!"))  # ESC ! <1B>, "!", ESC ! <21>
    passes(receipt(b"\x1b!\x1b("))  # "1B 28" here is a parameter and text, no ESC ( block
    passes(receipt(b"\x1dVA\x1b\x1b!\x1b"))  # GS V A <1B>, ESC ! <1B>
    # Either reading of an unknown ESC followed by an ESC must end on a boundary.
    assert refused(receipt(b"\x1b\x1b!\x1b"), ADMIN).code == "incomplete-command"
    # A block opened before an image and running past the end of the job is still cut...
    image = gs_v_0(2, 2, b"abcd")
    assert refused(receipt(b"\x1d(A\xff\xff", image), ADMIN).code == "incomplete-command"
    # ...and one inside image data is none.
    passes(receipt(gs_v_0(5, 1, b"\x1d(A\xff\xff"), b"\x1dVA\x00"))


# A payload opener that is only a parameter of an earlier command is no payload: the printer
# reads "1B 21 1D 76 30 ..." as ESC ! <1D>, the text "v0", ..., so what follows is commands.
@pytest.mark.parametrize("opener", [
    b"\x1dv0\x00\x0a\x00\x01\x00",  # GS v 0: 10 x 1 bytes of "image"
    b"\x1b*\x00\x0a\x00",  # ESC *: 10 columns
    b"\x1d(L\x0a\x00\x30\x70",  # GS ( L: 8 bytes of "graphics data"
])
def test_a_payload_opener_that_is_a_parameter_hides_nothing(opener):
    job = b"\x1b!" + opener + b"\x1b=\x00" + b"abcdefg"
    err = refused(job)
    assert err.code == "forbidden-command" and "ESC =" in err.message
    err = refused(receipt(b"Total\n", job, b"\x1dVA\x00"))
    assert err.code == "forbidden-command" and "ESC =" in err.message
    hidden = b"\x1b!" + opener + b"\x1d(E\x03\x00\x01\x49\x4e"
    assert "GS ( E" in refused(receipt(hidden)).message
    # At a command start the same bytes are image data.
    data = (b"\x1b=\x00" + b"abcdefg")[:8 if opener.startswith(b"\x1d(L") else 10]
    passes(receipt(b"\x1b!\x00", opener + data, b"\x1dVA\x00"))


def test_a_receipt_with_a_logo_holding_esc_equals_nul_passes():
    logo = (b"\x1b=\x00\xff\x1d(E\x03\x00" * 4)[:32]
    data = receipt(b"\x1ba\x01", b"\x1b!\x08Shop\n", gs_v_0(4, 8, logo), b"\n",
                   b"\x1b!\x1d", escpos_text("Total: 100 Ft\n"), gs_v_0(4, 8, logo),
                   b"\x1dVA\x00")
    passes(data)
    assert find_commands(ESCPOS, data) == []


def test_a_job_of_millions_of_command_openers_is_refused_without_reading_them_all():
    # 16 MiB of "ESC *" with an invalid mode took ~20 s to check opener by opener.
    flood = b"\x1b*\x07" * ((1 << 20) + 10)
    finding = refused(flood)
    assert finding.code == "incomplete-command"
