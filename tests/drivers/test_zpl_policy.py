"""ZPL's raw-command policy (drivers/zpl/policy.py): an injection corpus that must be refused,
real labels that must pass; and `zpl_field`, the text sanitizer, whose output always passes.

Copies and job boundaries, for every language, are in tests/intake/test_policy_boundaries.py.
"""

from __future__ import annotations

import base64
import binascii
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from labeld.drivers.zpl.language import ZplLanguage
from labeld.drivers.zpl.policy import ZPL_RULES, zpl_field, zpl_field_decode

from labeld.intake.policy import check_raw, find_commands
from labeld.contracts import Role
from labeld.langkit import strip_controls
from tests.drivers.policy_checks import hostile_texts, policy_checks

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN
ZPL = ZplLanguage()

refused, passes = policy_checks(ZPL)


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
    err = refused(data)
    assert err.code == "forbidden-command"
    assert named.lower() in err.message.lower()


@pytest.mark.parametrize("data", [b"^XA^CC+^XZ", b"~CC+", b"^ct!", b"~CD;", b"^XA^CD;^XZ",
                                  b'! U1 setvar "zpl.caret" "+"\r\n',
                                  b'! U1 setvar "zpl.control_character" "!"\r\n'])
def test_prefix_changes_are_refused_to_everyone(data):
    for role in Role:
        err = refused(data, role)
        assert "never" in err.message


def test_roles_are_hierarchical_for_zpl():
    for data in (b"~JA", b"~JR", b"~PP", b"~PS", b"~WC", b"~JC", b'! U1 do "device.reset" ""\r\n'):
        refused(data, POS)
        passes(data, TECH)
        passes(data, ADMIN)
    for data in (b"^XA^JUS^XZ", b"^XA~SD20^XZ", b'! U1 setvar "ip.addr" "1.2.3.4"\r\n',
                 b"~DGR:A.GRF,1,1,FF"):
        refused(data, POS)
        refused(data, TECH)
        passes(data, ADMIN)


def test_a_zpl_job_may_not_end_in_a_command_the_next_job_would_complete():
    # "^J" + "UF^XZ" from the next job (or copy) is ^JUF. The next job may be another client's,
    # so not even an admin's job may end there (tests/intake/test_policy_boundaries.py).
    for role in Role:
        err = refused(b"^XA^FDx^FS^XZ^J", role)
        assert err.code == "incomplete-command" and "^J" in err.message
    refused(b"^XA^FDx^FS^XZ~", ADMIN)  # "~" + "CC+" is nobody's
    passes(b"^XA^FDx^FS^XZ\r\n")


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
    passes(label)
    assert find_commands(ZPL, label) == []


def test_field_data_made_by_zpl_field_passes_whatever_it_holds():
    evil = "^XZ^XA^JUF^XZ ~JR ~CC+ ! U1 setvar \"ip.addr\" \"1.2.3.4\"\r\n_5E"
    label = f"^XA^CI28^FO10,10^A0N,30,30^FH^FD{zpl_field(evil)}^FS^XZ".encode()
    passes(label)


def test_status_queries_and_getvar_pass():
    passes(b"~HS")
    passes(b"~HQES")
    passes(b"~HI")
    passes(b'! U1 getvar "device.host_status"\r\n')


def test_binary_graphic_payloads_are_skipped_but_only_as_declared():
    image = b"\x00~JR^JUF\xff" * 4  # bytes that look like commands, inside a binary graphic
    job = b"^XA^FO0,0^GFB,%d,%d,4,%s^FS^XZ" % (len(image), len(image), image)
    passes(job)
    short = b"^XA^FO0,0^GFB,4,4,4,%s^FS^XZ" % image  # declares 4 bytes: the rest is commands
    refused(short)


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
    check_raw(ZPL, f"^XA^FO1,1^FH^FD{zpl_field(text)}^FS^XZ".encode(), POS)


def test_zpl_rules_are_prefix_and_two_letters_once_each():
    assert len({r.command for r in ZPL_RULES}) == len(ZPL_RULES)
    assert all(len(r.command) == 3 and r.command[0] in "^~" and r.command == r.command.upper()
               for r in ZPL_RULES)


# -- text: zpl_field, the language's sanitizer -----------------------------------------------

texts = hostile_texts


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


def test_the_languages_sanitizer_is_zpl_field_as_utf8():
    assert ZPL.sanitize_text("^XZ ő") == zpl_field("^XZ ő").encode("utf-8") == "_5EXZ ő".encode()
