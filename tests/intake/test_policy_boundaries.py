"""The raw policy judges the bytes the printer receives, not one copy of one job.

A printer reads one stream: a job's copies back to back, then the next job, whoever sent it. A
command split across two copies or two jobs is whole on the printer. So:

* copies: `check_raw` reads two copies joined as the printer's language joins them;
* jobs: a job may not end inside a command (403 `incomplete-command`, for every role), so the
  printer starts each job where the check starts it, whatever came before.

The attacks of the report are here verbatim; ordinary jobs must still pass.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.drivers.zpl.language import ZplLanguage
from labeld.pluginmanager import default_manager
from labeld.intake.policy import check_raw, find_commands
from labeld.contracts import Role
from labeld.security.roles import Forbidden

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN
LANGUAGES = default_manager().languages()


def refused(language: str, data: bytes, role: Role = POS, copies: int = 1) -> Forbidden:
    with pytest.raises(Forbidden) as e:
        check_raw(LANGUAGES[language], data, role, copies=copies)
    assert e.value.status == 403 and e.value.message and e.value.hint
    return e.value


def cut(language: str, data: bytes, role: Role = POS) -> Forbidden:
    err = refused(language, data, role)
    assert err.code == "incomplete-command", err.message
    return err


def passes(language: str, data: bytes, role: Role = POS, copies: int = 1) -> None:
    check_raw(LANGUAGES[language], data, role, copies=copies)


# -- the report's attacks, verbatim ----------------------------------------------------------

# {"copies": 2, "raw": {"data": ...}}: each puts a whole SGD command on the wire.
SPLIT_SETVAR = 'var "device.reset" ""\r\n! U1 set'
SPLIT_DO = 'o "device.reset" ""\r\n! U1 d'
SPLIT_JSON = '{"device.reset":""}{}'
COPIES_ATTACKS = [
    (SPLIT_SETVAR, b'! U1 setvar "device.reset" ""\r\n', 'SGD setvar "device.reset"'),
    (SPLIT_DO, b'! U1 do "device.reset" ""\r\n', 'SGD do "device.reset"'),
    (SPLIT_JSON, b'{}{"device.reset":""}', 'JSON SGD "device.reset"'),
]


@pytest.mark.parametrize("data, on_the_wire, command", COPIES_ATTACKS)
def test_an_sgd_command_split_across_two_copies_is_refused_as_the_command_it_makes(
        data, on_the_wire, command):
    assert on_the_wire in LANGUAGES["zpl"].raw_job(data.encode(), 2)  # what the printer gets
    err = refused("zpl", data.encode(), POS, copies=2)
    assert err.code == "forbidden-command"
    assert command in err.message and f"one copy is {len(data)} bytes" in err.message


@pytest.mark.parametrize("copies", [2, 3, 1000])
def test_any_number_of_copies_is_judged(copies):
    err = refused("zpl", SPLIT_SETVAR.encode(), POS, copies=copies)
    assert 'setvar "device.reset"' in err.message


@pytest.mark.parametrize("data", [SPLIT_SETVAR, SPLIT_DO, SPLIT_JSON])
@pytest.mark.parametrize("role", list(Role))
def test_one_copy_of_each_attack_ends_inside_a_command_and_is_refused_to_every_role(data, role):
    # One copy, or the first of two jobs: what completes it may be another client's job, so
    # not even an admin may leave a command open.
    err = cut("zpl", data.encode(), role)
    assert "SGD" in err.message and "CR LF" in err.hint


def test_two_consecutive_jobs_cannot_split_a_command_between_them():
    first, second = b'^XA^FDok^FS^XZ\r\n! U1 set', b'var "device.reset" ""\r\n'
    assert b'! U1 setvar "device.reset" ""' in first + second  # what the printer would read
    err = cut("zpl", first)
    assert "! U1 set" in err.message and "at byte 16" in err.message
    passes("zpl", second)  # alone it is no command: a line the printer ignores
    # ...and the JSON form: "{}" then the object in the next job.
    cut("zpl", b"^XA^FDok^FS^XZ\r\n{}")
    passes("zpl", b'{"device.reset":""}\r\n')


def test_the_check_joins_copies_the_way_the_language_does():
    class TildeBetween(ZplLanguage):  # a language with its own raw_job
        def raw_job(self, data: bytes, copies: int) -> bytes:
            return b"~".join([data] * copies)

    job = b"JR^XA^FDok^FS^XZ"  # alone harmless; "~" + "JR" between copies is a power-on reset
    check_raw(LANGUAGES["zpl"], job, POS, copies=2)
    with pytest.raises(Forbidden) as e:
        check_raw(TildeBetween(), job, POS, copies=2)
    assert "~JR" in e.value.message and "two copies" in e.value.message


# -- ZPL endings ------------------------------------------------------------------------------

@pytest.mark.parametrize("ending", [
    b"!", b"! ", b"! U", b"! U1", b"! U1 ", b"! U1 set", b"!U1 set", b"! u1 SETVAR", b"!\tU1\tse",
    b'! U1 setvar "device.re', b'! U1 setvar "ip.addr" "1.2.3.4"', b'! U1 setvar "a" "b"\r',
    b"! U1 d", b"! U1 do", b'! U1 getvar "device.host_status"', b"! C", b"! CISDF",
    b"! U\r\nsetv", b"! U\r\n  do ", b"! U\r\nd", b"\r\nset",
])
def test_a_zpl_job_may_not_end_inside_an_sgd_command(ending):
    # Even an admin's: "zpl.caret" + "+" from the next job would blind this very filter.
    err = cut("zpl", b"^XA^FDok^FS^XZ\r\n" + ending, ADMIN)
    assert "SGD command" in err.message


@pytest.mark.parametrize("ending", [
    b"{", b"{}", b"{ }", b"{}\r\n", b"{\t}  \r\n", b"{} {", b'{}{"device.re',
    b'{}{"ip":{"addr":"1.2.3.4"}', b'{}{"a":"}{"',
])
def test_a_zpl_job_may_not_end_inside_json_sgd(ending):
    err = cut("zpl", b"^XA^FDok^FS^XZ\r\n" + ending, ADMIN)
    assert "JSON SGD" in err.message


@pytest.mark.parametrize("ending", [b"^", b"~", b"^J", b"~J", b"^C", b"~D"])
def test_a_zpl_job_may_not_end_in_the_start_of_a_rules_command_name(ending):
    for role in Role:
        cut("zpl", b"^XA^FDok^FS^XZ" + ending, role)


def test_a_zpl_job_may_not_end_inside_binary_graphic_data():
    # The printer would take the next job's first bytes as image data, then read the rest of
    # that job from a place no check of it started at: inside the payload of its own ^GFB,
    # which the check skipped.
    image = b"\x00\xff" * 5
    job = b"^XA^FO0,0^GFB,100,100,10," + image
    for role in Role:
        err = cut("zpl", job, role)
        assert "^GFB" in err.message and "100" in err.message
    passes("zpl", b"^XA^FO0,0^GFB,10,10,10," + image + b"^FS^XZ")


@pytest.mark.parametrize("job", [
    b"^XA^FO50,50^A0N,40,40^FDHello^FS^XZ",
    b"^XA^FO50,50^A0N,40,40^FDHello^FS^XZ\r\n",
    b"^XA^FO50,50^A0N,40,40^FDHello^FS^XZ\n",
    b"^XA^FO50,50^FDWow! 50% off {today}^FS^XZ",  # "!" and braces in field data
    b"^XA^FDHi!^FS^XZ\r\n^XA^FD{}^FS^XZ",
    b'! U1 getvar "device.host_status"\r\n',
    b"~HS",  # a status query: complete once its two letters are there
    b"^XA^FDx^FS^XZ^X",  # "^X" + "Z": no rule starts that way
    b"^XA^FO0,0^GFB,4,4,4,^JU!^FS^XZ",  # "^JU!" and the rest are image data
])
def test_ordinary_zpl_jobs_end_on_a_boundary(job):
    passes("zpl", job)
    passes("zpl", job, copies=3)
    assert not [f for f in find_commands(LANGUAGES["zpl"], job) if f.incomplete]


# -- JSON SGD is judged like setvar ------------------------------------------------------------

@pytest.mark.parametrize("job, needs", [
    (b'{}{"device.reset":""}', TECH),
    (b'{} {"device.reset":""}', TECH),  # whitespace between header and object
    (b'{}\r\n{"DEVICE.RESET":""}', TECH),  # and variable names in any case
    (b'{}{"media.speed":"4"}', ADMIN),  # any other variable: JSON SGD itself
    (b'{}{"ip.addr":"10.0.0.66"}', ADMIN),
    (b'{}{"ip":{"addr":"10.0.0.66"}}', ADMIN),  # nested objects name ip.addr
    (b'{}{"device.languages":"zpl"}', ADMIN),
    (b'{}{"zpl.caret":"+"}', None),  # the prefix changes are nobody's in JSON too
    (b'{}{"zpl.car\\u0065t":"+"}', None),  # as the printer's JSON parser decodes it
    (b'{}{"zpl":{"caret":"+"}}', None),
])
def test_json_sgd_is_judged_by_the_variables_it_names(job, needs):
    for role in Role:
        if needs is not None and role.covers(needs):
            passes("zpl", job, role)
        else:
            assert refused("zpl", job, role).code == "forbidden-command"


def test_a_json_sgd_object_too_large_to_read_is_refused_to_everyone():
    # Real ones are a few hundred bytes; a huge one could hide "zpl.caret" past what is read.
    job = b'{}{"a":"' + b"x" * 70_000 + b'","zpl.caret":"+"}'
    err = refused("zpl", job, ADMIN)
    assert err.code == "forbidden-command" and "64 KiB" in err.message


# -- ESC/POS endings --------------------------------------------------------------------------

RECEIPT = b"\x1b@\x1bt\x12Total: 1 200 Ft\n"


@pytest.mark.parametrize("ending", [
    b"\x10", b"\x1b", b"\x1d", b"\x1c", b"\x1f",  # a lone DLE, ESC, GS, FS, US
    b"\x1b!", b"\x1bd", b"\x1bp\x00\x19", b"\x1b=", b"\x1bc", b"\x1bc5",  # parameters missing
    b"\x1dV", b"\x1dVA", b"\x10\x04", b"\x10\x14", b"\x10\x14\x01\x00", b"\x10\x14\x02\x01",
    b"\x1f\x1b",
    b"\x1dv0\x00\x08\x00", b"\x1dv0\x00\x01\x00\x04\x00\x00\xff",  # image header / rows cut
    b"\x1d(k\x04\x00\x31", b"\x1d(A\x05\x00ab",  # "GS ( fn pL pH" data cut, known or not
    b"\x1dkI\x0c{B12", b"\x1dk\x04ABC",  # barcode data cut; function A without its NUL
])
def test_an_escpos_job_may_not_end_inside_a_command(ending):
    # An admin may send every ESC/POS command, but not half of one: the rest would come from
    # whatever the printer receives next, another client's job included.
    cut("escpos", RECEIPT + ending, ADMIN)
    for role in (POS, TECH):  # (some of these halves are already commands they may not send)
        refused("escpos", RECEIPT + ending, role)


def test_an_escpos_block_that_runs_past_the_end_is_found_behind_an_image():
    # ESC ( A declares 65535 bytes: the image after it, the cut and the next job's first bytes
    # would all be its data on the printer.
    image = b"\x1dv0\x00\x02\x00\x02\x00abcd"
    cut("escpos", RECEIPT + b"\x1b(A\xff\xff" + image + b"\x1dVA\x00", ADMIN)
    # The same bytes inside image data are no command.
    passes("escpos", RECEIPT + b"\x1dv0\x00\x05\x00\x01\x00\x1b(A\xff\xff" + b"\x1dVA\x00")


@pytest.mark.parametrize("ending", [
    b"\x1dVA\x10",  # cut after feeding 16: the 10 is GS V's parameter, not a DLE
    b"\x1dVB\x00", b"\x1dV\x01", b"\x1bi", b"\x1bm",  # the cuts
    b"\x1bp\x00\x19\x19", b"\x10\x14\x01\x00\x01",  # drawer kick, real-time pulse
    b"\x1bd\x1b", b"\x1bJ\x1d", b"\x10\x04\x01", b"\n", b"Thank you",
    b"\x1dk\x04ABC\x00", b"\x1d(k\x03\x00\x31\x51\x30",  # barcode, QR print
])
def test_ordinary_escpos_receipts_end_on_a_boundary(ending):
    passes("escpos", RECEIPT + ending)
    passes("escpos", RECEIPT + ending, copies=2)


# -- TSPL endings -----------------------------------------------------------------------------

LABEL = b"SIZE 50 mm,30 mm\r\nGAP 2 mm,0\r\nCLS\r\n"


@pytest.mark.parametrize("ending", [
    b"\x1b", b"\x1b!",  # <ESC>!R / <ESC>!P would be completed by the next job
    b"SE", b"KIL", b"  NE",  # the start of a rule's command word on the last line
    b"BITMAP 0,0,2,2,0,\x00\x00", b"bitmap 0, 0, 2, 2, 0,\x00\x00\x00",  # rows cut
    b"BITMAP 0,0,2", b"BIT",  # header cut
])
def test_a_tspl_job_may_not_end_inside_a_command(ending):
    for role in Role:
        cut("tspl", LABEL + ending, role)


@pytest.mark.parametrize("ending", [
    b"PRINT 1\r\n",
    # No final newline is a boundary too: the next job's first line is glued to "PRINT 1" and
    # spoils only that line, and a job's first line is checked as a line start anyway.
    b"PRINT 1", b"PRINT 1,1", b"PRI",
    b"BITMAP 0,0,2,2,0,\x00\x00\x00\x00", b"BITMAP 0,0,2,2,0,SE\r\n",  # rows complete
])
def test_ordinary_tspl_jobs_end_on_a_boundary(ending):
    passes("tspl", LABEL + ending)
    passes("tspl", LABEL + ending, copies=2)


def test_tspl_print_without_newline_followed_by_a_set_line_is_still_refused_in_that_job():
    passes("tspl", LABEL + b"PRINT 1")
    refused("tspl", b"SET CUTTER ON\r\n")  # a job's first line counts as a line start


# -- any bytes --------------------------------------------------------------------------------

PIECES = [b"^", b"~", b"!", b" U1 ", b"setvar", b"do", b'"device.reset"', b"{", b"}", b":",
          b'"', b"\r\n", b"\x10", b"\x1b", b"\x1c", b"\x1d", b"\x1f", b"(", b"\x00", b"\xff",
          b"^GFB,4,4,1,", b"\x1dv0\x00\x01\x00\x02\x00", b"\x1dk", b"BITMAP 0,0,1,2,0,", b"SE",
          b"\x1b!", b"V", b"A", b"\x14"]


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=3)), max_size=40)
       .map(b"".join), st.sampled_from(["zpl", "escpos", "tspl"]), st.sampled_from(list(Role)),
       st.integers(min_value=1, max_value=3))
@settings(max_examples=500, deadline=None)
def test_any_bytes_are_judged_pass_or_403_never_a_crash(data, language, role, copies):
    try:
        passes(language, data, role, copies)
    except Forbidden as e:
        assert e.code in ("forbidden-command", "incomplete-command") and e.hint


def _passes(language: str, data: bytes, role: Role) -> bool:
    try:
        check_raw(LANGUAGES[language], data, role)
    except Forbidden:
        return False
    return True


@given(st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=3)), max_size=30)
       .map(b"".join), st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=3)),
                                max_size=30).map(b"".join),
       st.sampled_from(["zpl", "escpos", "tspl"]), st.sampled_from(list(Role)))
@settings(max_examples=500, deadline=None)
def test_two_jobs_that_each_pass_also_pass_one_after_the_other(first, second, language, role):
    # What the boundary rule is for: the stream the printer reads, job after job, holds no
    # command that the jobs checked one at a time did not.
    if _passes(language, first, role) and _passes(language, second, role):
        assert _passes(language, first + second, role)


# -- ESC/POS: the end of a job is read forward, as the printer reads it -------------------------

def test_an_escpos_job_ending_in_a_lone_esc_after_parameters_that_look_like_commands_is_cut():
    # The printer reads "1B 21 1B 21 1B" as ESC ! <1B> (n = 1B), the text "!", then a lone ESC,
    # which the next job's "3D 00" makes ESC = NUL (deselect the printer, admin only).
    first, second = b"\x1b\x21\x1b\x21\x1b", b"\x3d\x00"
    err = cut("escpos", first)
    assert "an ESC command" in err.message and "at byte 4" in err.message
    passes("escpos", second)  # alone it is text
    assert refused("escpos", first + second).code == "forbidden-command"


def test_an_escpos_parameter_that_looks_like_a_block_opener_is_no_block():
    # "1B 21 1B" is ESC ! with n = 1B; the "1B 28" a following "28" makes is no ESC ( block.
    passes("escpos", b"\x1b\x21\x1b")
    passes("escpos", b"\x28")
    passes("escpos", b"\x1b\x21\x1b\x28")
    cut("escpos", b"\x1b\x21\x00\x1b\x28")  # here it is one, cut at its length


def test_an_escpos_job_whose_end_cannot_be_placed_within_reach_is_refused():
    # Megabytes of chained parameters hold no place known to start a command; reading them all
    # in Python per submit is not on, and a receipt never looks like that.
    chain = b"\x1b!" * (1 << 20)
    assert "cannot find the start" in cut("escpos", chain, ADMIN).message
    # ...but a job ending in a full-size block after ordinary text is read.
    block = b"\x1b(A\xff\xff" + b"\x1b!" * (0xFFFF // 2) + b"x"
    passes("escpos", b"x" * 200_000 + block, ADMIN)
    cut("escpos", b"x" * 200_000 + block[:-1], ADMIN)


# An independent reading of ESC/POS as the printer does it, from the protocol reference
# (section 2) and Epson's parameter counts: (start, end) of every command. A command labeld
# does not know is its introducer and one byte (three for the few opcodes of three bytes).
FIXED_LENGTH = {
    **{b"\x1b" + bytes([c]): 2 for c in b"\x0c2<@LSimv"},
    **{b"\x1b" + bytes([c]): 3 for c in b"!%-=?EGJKMRTUVade{rt 3"},
    **{b"\x1b" + bytes([c]): 4 for c in b"$\\f"},
    b"\x1bp": 5, b"\x1bW": 10, b"\x1bc3": 4, b"\x1bc4": 4, b"\x1bc5": 4,
    **{b"\x1d" + bytes([c]): 3 for c in b"!/BHITabfhjrw"},
    **{b"\x1d" + bytes([c]): 4 for c in b"$LPW\\"},
    b"\x1d^": 5, b"\x1dg0": 6, b"\x1dg2": 6,
    **{b"\x1c" + bytes([c]): 2 for c in b"&."},
    **{b"\x1c" + bytes([c]): 3 for c in b"!-CW"},
    b"\x1cS": 4, b"\x1cp": 4,
    b"\x10\x04": 3, b"\x10\x05": 3, b"\x10\x14\x01": 5, b"\x10\x14\x02": 5, b"\x10\x14\x08": 10,
}
THREE_BYTE_OPCODES = {b"\x1f\x1b\x1f", b"\x1b\x1d#", b"\x1cg1", b"\x1dv0", b"\x1d8L"}
ESCPOS_INTRODUCERS = b"\x10\x1b\x1c\x1d\x1f"


def payload_end(data: bytes, i: int) -> int | None:
    """End of an image or barcode command at i with its declared data (Epson's reference), when
    its parameters are valid; beyond the data when cut."""
    n, head = len(data), data[i:i + 8]
    if head[:3] == b"\x1dv0":  # GS v 0 m xL xH yL yH, x * y bytes
        if len(head) < 8:
            return n + 1
        x, y = head[4] + 256 * head[5], head[6] + 256 * head[7]
        return i + 8 + x * y if head[3] in b"\x00\x01\x02\x03\x30\x31\x32\x33" and x and y \
            else None
    if head[:2] == b"\x1b*":  # ESC * m nL nH, columns of 1 or 3 bytes
        if len(head) < 5:
            return n + 1
        columns = head[3] + 256 * head[4]
        if head[2] in (0, 1, 32, 33) and columns:
            return i + 5 + columns * (3 if head[2] >= 32 else 1)
    if head[:2] == b"\x1dk" and len(head) >= 3 and 65 <= head[2] <= 79:  # GS k m n, n bytes
        return i + 4 + head[3] if len(head) >= 4 else n + 1
    return None


def printer_commands(data: bytes) -> list[tuple[int, int]]:
    n, i, commands = len(data), 0, []
    while i < n:
        if data[i] not in ESCPOS_INTRODUCERS:
            i += 1
            continue
        end = None
        for op in (data[i:i + 3], data[i:i + 2]):
            if op in FIXED_LENGTH:
                end = i + FIXED_LENGTH[op]
                break
        if end is None and data[i:i + 2] == b"\x1dV":  # GS V m, GS V m n for m = 65, 66...
            end = i + (4 if i + 2 < n and data[i + 2] in (65, 66, 97, 98, 103, 104) else 3)
        if end is None:
            end = payload_end(data, i)
        if end is None and data[i + 1:i + 2] == b"(" and data[i] in b"\x1b\x1c\x1d":
            end = i + 5 + int.from_bytes(data[i + 3:i + 5], "little") if i + 5 <= n else n + 1
        if end is None:
            end = i + (3 if data[i:i + 3] in THREE_BYTE_OPCODES else 2)
        commands.append((i, end))
        i = end
    return commands


CHAIN = st.lists(st.sampled_from([b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x1f", b"!", b"(",
                                  b"=", b"\x00", b"V", b"A", b"a", b"\x14", b"\x02", b"\x01"]),
                 max_size=24).map(b"".join)
# ...and with the openers of image and barcode commands, whose declared data is skipped.
PAYLOAD_CHAIN = st.lists(st.sampled_from([
    b"\x1b", b"\x1d", b"\x1c", b"\x10", b"\x1f", b"!", b"(", b"=", b"\x00", b"\x01", b"\x02",
    b"\x03", b"E", b"a", b"*", b"v", b"0", b"k", b"L", b"p", b"\x1b!", b"\x1b=\x00",
    # each declaring 3 bytes of data: room for ESC = NUL
    b"\x1dv0\x00\x03\x00\x01\x00", b"\x1b*\x00\x03\x00", b"\x1d(L\x05\x00\x30\x70"]),
    max_size=30).map(b"".join)


def role_may_not_send(data: bytes, role: Role) -> list[str]:
    """The commands the printer reads in `data` (printer_commands) that `role` may not send."""
    rules = [r for r in LANGUAGES["escpos"].policy.rules if not r.allows(role)]
    found = []
    for s, _ in printer_commands(data):
        for r in rules:
            if not data.startswith(r.seq, s):
                continue
            at = s + (r.param_at or 0)
            if r.param_at is None or at >= len(data) or (
                    r.only is not None and data[at] in r.only) or (
                    r.unless is not None and data[at] not in r.unless):
                found.append(r.command)
    return found


@given(PAYLOAD_CHAIN, st.sampled_from([POS, TECH]))
@settings(max_examples=1000, deadline=None)
def test_an_escpos_job_that_passes_holds_no_command_the_role_may_not_send(data, role):
    # Whatever looks like an image or barcode opener, as a parameter or as text, the job the
    # printer reads forward holds no command the policy let through as "image data".
    if _passes("escpos", data, role):
        assert not role_may_not_send(data, role), data.hex(" ")


def test_the_payload_opener_as_a_parameter_case_is_what_the_independent_reading_finds():
    job = bytes.fromhex("1B 21 1D 76 30 00 0A 00 01 00 1B 3D 00 61 62 63 64 65 66 67")
    assert role_may_not_send(job, POS) == ["ESC = (n != 1)"]
    assert refused("escpos", job).code == "forbidden-command"


@given(CHAIN, CHAIN, st.sampled_from(list(Role)))
@settings(max_examples=500, deadline=None)
def test_two_escpos_jobs_that_each_pass_make_no_command_across_their_boundary(first, second,
                                                                            role):
    # The security property: what the printer reads from the two jobs one after the other
    # holds no command that starts in the first and ends in the second.
    if _passes("escpos", first, role) and _passes("escpos", second, role):
        assert not [(s, e) for s, e in printer_commands(first + second)
                    if s < len(first) < e], (first + second).hex(" ")
        # And the two together end on a boundary too. (They may hold a forbidden command the
        # jobs alone do not: forbidden commands are searched for context-free, parameters
        # included, so "1D 21 1B" + "3D 00" is refused for the "1B 3D 00" the printer reads
        # as GS ! <1B>, "=", NUL. That only ever refuses more.)
        try:
            check_raw(LANGUAGES["escpos"], first + second, role)
        except Forbidden as e:
            assert e.code == "forbidden-command", e.message
