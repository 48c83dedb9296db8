"""The raw command policy: an injection corpus that must be refused, real jobs that must pass."""

from __future__ import annotations

import base64
import binascii
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.security.policy import (
    ESCPOS_RULES,
    POLICIES,
    SGD_RULES,
    TSPL_RULES,
    ZPL_RULES,
    check_raw,
    find_commands,
    policy_table,
)
from labeld.security.roles import Forbidden, Role
from labeld.security.sanitize import escpos_text, zpl_field

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN


def refused(language: str, data: bytes, role: Role = POS) -> Forbidden:
    with pytest.raises(Forbidden) as e:
        check_raw(language, data, role)
    assert e.value.status == 403 and e.value.hint
    return e.value


def passes(language: str, data: bytes, role: Role = POS) -> None:
    check_raw(language, data, role)


# -- ZPL: refused --------------------------------------------------------------------------

@pytest.mark.parametrize("data, named", [
    (b"^XA^FO50,50^FD^XZ^XA^JUF^XZ^FS^XZ", "^JUF"),  # the price-field injection
    (b"^XA^JUS^XZ", "^JUS"),
    (b"^xa^jua^xz", "^jua"),  # command letters are case-insensitive
    (b"~JR", "~JR"),
    (b"^XA^FDPrice ~jr^FS^XZ", "~jr"),  # a ~ command acts even inside field data
    (b"~JA", "~JA"),
    (b"~PP", "~PP"),
    (b"^XA^IDE:*.*^FS^XZ", "^IDE:*.*"),
    (b"~DGR:LOGO.GRF,4,1,FFFFFFFF", "~DGR:LOGO.GRF"),
    (b"^XA^DFR:FMT.ZPL^FS^XZ", "^DFR:FMT.ZPL"),
    (b"^XA^NSa,192.168.0.9,255.255.255.0,192.168.0.1^XZ", "^NS"),
    (b"^XA~SD30^XZ", "~SD30"),
    (b"^XA^MD30^XZ", "^MD30"),
    (b"^XA^MTT^XZ", "^MTT"),
    (b"~WC", "~WC"),
    (b"~JD", "~JD"),
    (b'! U1 setvar "ip.addr" "1.2.3.4"\r\n', 'setvar "ip.addr"'),
    (b'! u1 SETVAR "wlan.essid" "free"\r\n', 'setvar "wlan.essid"'),
    (b'! U1 do "device.reset" ""\r\n', 'do "device.reset"'),
    (b'! U1 do "device.restore_defaults" "ip"\r\n', 'do "device.restore_defaults"'),
    (b'! U1 setvar "media.speed" "12"\r\n', 'setvar "media.speed"'),
    (b'! U\r\nsetvar "ip.dhcp.enable" "off"\r\n', 'setvar "ip.dhcp.enable"'),
    (b'{}{"ip.addr":"1.2.3.4"}', "{}{"),
    (b"! CISDFCRC16\r\n0000\r\nLOGO.GRF\r\n", "CISDFCRC16"),
])
def test_the_zpl_injection_corpus_is_refused_to_pos(data, named):
    err = refused("zpl", data)
    assert err.code == "forbidden-command"
    assert named.lower() in err.message.lower()


@pytest.mark.parametrize("data", [b"^XA^CC+^XZ", b"~CC+", b"^ct!", b"~CD;", b"^XA^CD;^XZ",
                                  b'! U1 setvar "zpl.caret" "+"\r\n',
                                  b'! U1 setvar "zpl.control_character" "!"\r\n'])
def test_prefix_changes_are_refused_to_everyone(data):
    for role in Role:
        err = refused("zpl", data, role)
        assert "never" in err.message


def test_roles_are_hierarchical_for_zpl():
    for data in (b"~JA", b"~JR", b"~PP", b"~PS", b"~WC", b"~JC", b'! U1 do "device.reset" ""\r\n'):
        refused("zpl", data, POS)
        passes("zpl", data, TECH)
        passes("zpl", data, ADMIN)
    for data in (b"^XA^JUS^XZ", b"^XA~SD20^XZ", b'! U1 setvar "ip.addr" "1.2.3.4"\r\n',
                 b"~DGR:A.GRF,1,1,FF"):
        refused("zpl", data, POS)
        refused("zpl", data, TECH)
        passes("zpl", data, ADMIN)


def test_a_zpl_job_may_not_end_in_a_command_the_next_job_would_complete():
    # "^J" + "UF^XZ" from the next job (or copy) is ^JUF. The next job may be another client's,
    # so not even an admin's job may end there (tests/security/test_policy_boundaries.py).
    for role in Role:
        err = refused("zpl", b"^XA^FDx^FS^XZ^J", role)
        assert err.code == "incomplete-command" and "^J" in err.message
    refused("zpl", b"^XA^FDx^FS^XZ~", ADMIN)  # "~" + "CC+" is nobody's
    passes("zpl", b"^XA^FDx^FS^XZ\r\n")


# -- ZPL: passes ---------------------------------------------------------------------------

def z64(bitmap: bytes) -> str:
    b64 = base64.b64encode(zlib.compress(bitmap)).decode()
    return f":Z64:{b64}:{binascii.crc_hqx(b64.encode(), 0):04X}"


def test_a_normal_label_passes():
    logo = bytes(range(256)) * 4  # 32 bytes per row, 32 rows
    label = (
        "^XA^CI28^PW812^LL406^LH0,0\r\n"
        "^FO50,40^A0N,40,40^FDÁrvíztűrő tükörfúrógép^FS\r\n"
        "^FO50,100^BY2^BCN,80,Y,N,N^FD>;123456789012^FS\r\n"
        "^FO50,220^BQN,2,5^FDQA,https://shop.example/p/42^FS\r\n"
        f"^FO600,40^GFA,{len(logo)},{len(logo)},32,{z64(logo)}^FS\r\n"
        "^FO400,300^GFA,8,8,2,FF00FF00FF00FF00^FS\r\n"
        "^PQ2,0,1,Y^XZ\r\n"
    ).encode()
    passes("zpl", label)
    assert find_commands("zpl", label) == []


def test_field_data_made_by_zpl_field_passes_whatever_it_holds():
    evil = "^XZ^XA^JUF^XZ ~JR ~CC+ ! U1 setvar \"ip.addr\" \"1.2.3.4\"\r\n_5E"
    label = f"^XA^CI28^FO10,10^A0N,30,30^FH^FD{zpl_field(evil)}^FS^XZ".encode()
    passes("zpl", label)


def test_status_queries_and_getvar_pass():
    passes("zpl", b"~HS")
    passes("zpl", b"~HQES")
    passes("zpl", b"~HI")
    passes("zpl", b'! U1 getvar "device.host_status"\r\n')


def test_binary_graphic_payloads_are_skipped_but_only_as_declared():
    image = b"\x00~JR^JUF\xff" * 4  # bytes that look like commands, inside a binary graphic
    job = b"^XA^FO0,0^GFB,%d,%d,4,%s^FS^XZ" % (len(image), len(image), image)
    passes("zpl", job)
    short = b"^XA^FO0,0^GFB,4,4,4,%s^FS^XZ" % image  # declares 4 bytes: the rest is commands
    refused("zpl", short)


# Text built from command fragments as well as arbitrary characters, so that the examples
# actually try to smuggle commands.
FRAGMENTS = ["^", "~", "_", "!", "{", "}", "^XZ", "^XA", "^JUF", "~JR", "~CC", "! U1 ", "setvar",
             "do", '"ip.addr"', "\r\n", "\n", "\x1b", "\x1d", "(E", "=", "\x00", "\x10", "\x14",
             "\x02", "\x01", "\x08", "\x1f", "\u202e", "\U0001F600", "5E", "7E"]
evil_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=60).map(
    "".join)


@given(st.one_of(st.text(max_size=200), evil_text))
@settings(max_examples=300, deadline=None)
def test_any_text_through_zpl_field_passes_the_policy(text):
    check_raw("zpl", f"^XA^FO1,1^FH^FD{zpl_field(text)}^FS^XZ".encode(), POS)


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
    err = refused("escpos", receipt(b"Total: 100 Ft\n", data, b"\n\x1dVB\x00"))
    assert err.code == "forbidden-command" and named in err.message


def test_roles_are_hierarchical_for_escpos():
    for data in (b"\x1d(A\x02\x00\x00\x02", b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"):
        refused("escpos", receipt(data), POS)
        passes("escpos", receipt(data), TECH)
    for data in (b"\x1d(E\x03\x00\x01\x49\x4e", b"\x10\x14\x02\x01\x08", b"\x1b=\x00"):
        refused("escpos", receipt(data), TECH)
        passes("escpos", receipt(data), ADMIN)


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
    passes("escpos", data)
    assert find_commands("escpos", data) == []


def test_image_payloads_are_only_skipped_when_their_header_is_valid():
    image = NASTY[:16]
    bad_mode = b"\x1dv0\x07" + (8).to_bytes(2, "little") + (2).to_bytes(2, "little") + image
    refused("escpos", receipt(bad_mode))  # the printer ignores it and runs the "image"
    truncated = gs_v_0(8, 2, image)[:-1]
    refused("escpos", receipt(truncated))


def test_real_time_commands_count_even_inside_image_data():
    image = (b"\x00" * 6 + b"\x10\x14\x02\x01\x08" + b"\x00" * 5)
    err = refused("escpos", receipt(gs_v_0(8, 2, image)), TECH)
    assert "power off" in err.message


def test_an_escpos_job_may_not_end_in_a_command_the_next_job_would_complete():
    for tail in (b"\x1d(", b"\x1d", b"\x1b=", b"\x10\x14", b"\x10\x14\x02\x01", b"\x1f\x1b"):
        assert refused("escpos", receipt(b"ok\n", tail), ADMIN).code == "incomplete-command"
    refused("escpos", b"\x14\x02\x01\x08")  # the rest of DLE DC4 2, after a job ending in DLE
    passes("escpos", receipt(b"ok\n", b"\x1dVA\x1d"))  # 1D as the feed parameter of GS V 65
    passes("escpos", receipt(b"ok\n", b"\x1bd\x1b"))


@given(st.one_of(st.text(max_size=200), evil_text),
       st.sampled_from(["cp852", "cp437", "utf-8", "cp1250"]))
@settings(max_examples=300, deadline=None)
def test_any_text_through_escpos_text_passes_the_policy(text, encoding):
    check_raw("escpos", INIT + escpos_text(text, encoding) + b"\x1dVB\x00", POS)


# -- the tables and the rest ----------------------------------------------------------------

# -- TSPL ----------------------------------------------------------------------------------

def tspl_page(bitmap: bytes, row_bytes: int = 8) -> bytes:
    # The shape drivers/tspl sends: SIZE, GAP, CLS, BITMAP (binary rows), PRINT.
    return (b"SIZE 50 mm,30 mm\r\nGAP 2 mm,0\r\nCLS\r\n"
            + b"BITMAP 0,0,%d,%d,0," % (row_bytes, len(bitmap) // row_bytes) + bitmap
            + b"\r\nPRINT 1,1\r\n")


@pytest.mark.parametrize("data, named", [
    (b"SIZE 50 mm,30 mm\r\nSET CUTTER ON\r\nPRINT 1\r\n", "SET CUTTER ON"),
    (b"set peel on\r\n", "set peel on"),
    (b'DOWNLOAD F,"AUTO.BAS",10,PRINT 1\r\n', "DOWNLOAD"),
    (b'KILL "*"\r\n', "KILL"),
    (b'MOVE\r\n', "MOVE"),
    (b"INITIALPRINTER\r\n", "INITIALPRINTER"),
    (b"CLS\rNET IP \"1.2.3.4\"\r", "NET"),  # CR alone ends a line too
    (b"SELFTEST\r\n", "SELFTEST"),
    (b"CLS\r\n\x1b!R", "<ESC>!R"),
])
def test_the_tspl_corpus_is_refused_to_pos(data, named):
    err = refused("tspl", data)
    assert err.code == "forbidden-command" and named in err.message


def test_a_tspl_job_may_not_end_in_a_command_word_the_next_job_would_complete():
    err = refused("tspl", b"CLS\r\nPRINT 1\r\nSE")  # + "T CUTTER ON"
    assert err.code == "incomplete-command" and "SE..." in err.message


def test_a_tspl_label_passes_even_with_commands_in_its_bitmap():
    rows = (b"\r\nSET CUTTER ON\r\nKILL \"*\"\r\n" * 10)[:8 * 30]
    passes("tspl", tspl_page(rows))
    passes("tspl", b'CLS\r\nTEXT 10,10,"3",0,1,1,"SET KILL"\r\nPRINT 1\r\n')
    # A bitmap that declares fewer bytes than it holds: the rest are lines again.
    refused("tspl", b"CLS\r\nBITMAP 0,0,1,1,0," + rows + b"\r\nPRINT 1\r\n")
    passes("tspl", b"SELFTEST\r\n", TECH)
    refused("tspl", b"SET CUTTER ON\r\n", TECH)
    passes("tspl", b"SET CUTTER ON\r\n", ADMIN)


def test_unknown_languages_are_admin_only():
    err = refused("brother-ql", b"\x1b@\x1bia\x01")
    assert err.code == "raw-language-unchecked"
    refused("brother-ql", b"\x1b@", TECH)
    passes("brother-ql", b"\x1b@", ADMIN)


def test_the_tables_say_why_and_who_for_every_command():
    assert set(POLICIES) == {"zpl", "escpos", "tspl"}
    for rule in (*ZPL_RULES, *SGD_RULES, *ESCPOS_RULES, *TSPL_RULES):
        assert rule.why and rule.command
        assert rule.min_role in (None, TECH, ADMIN)  # nothing in a table is pos-level
    rows = policy_table("escpos")
    assert {"command": "GS ( E", "bytes": "1d 28 45", "min_role": "admin"}.items() <= \
        next(r for r in rows if r["command"] == "GS ( E").items()
    assert len({r.command for r in ZPL_RULES}) == len(ZPL_RULES)
    assert all(len(r.command) == 3 and r.command[0] in "^~" and r.command == r.command.upper()
               for r in ZPL_RULES)


@pytest.mark.timeout(60)  # a hang guard (a quadratic scan takes hours), not a speed target:
def test_large_jobs_are_checked_whole():  # bench/ measures speed
    label = b"^XA^FO10,10^A0N,30,30^FDHello world^FS^FO10,60^GFA,8,8,2,FF00FF00FF00FF00^FS^XZ\r\n"
    big_zpl = label * (16 * 1024 * 1024 // len(label))
    image = bytes(range(256)) * 256  # 64 KiB per image, full of 1B/1D/1C/10 bytes
    big_escpos = receipt(*[gs_v_0(64, 1024, image) + b"\n"] * 256)  # 16 MiB
    text_escpos = receipt(b"\x1b!\x00Line of text\n" * 800_000)  # ~14 MiB of small commands
    for language, data in (("zpl", big_zpl), ("escpos", big_escpos), ("escpos", text_escpos)):
        check_raw(language, data, POS)  # allowed for pos: raises if any command is refused
    # and a refused command at the very end of 16 MiB is still found
    with pytest.raises(Forbidden):
        check_raw("zpl", big_zpl + b"^XA^JUF^XZ", POS)
