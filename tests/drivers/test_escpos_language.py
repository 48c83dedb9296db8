"""ESC/POS status decoding: DLE EOT 1..4, ASB and GS I, per reference section 2."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeld.contracts import Language, Reason, Severity, StatusReport
from labeld.drivers.escpos.language import (
    ALL_REASONS,
    EscposLanguage,
    decode_asb,
    decode_gs_i,
    gs_i_query,
)

E, W, R = Severity.ERROR, Severity.WARNING, Severity.REPORT


@pytest.fixture
def escpos() -> EscposLanguage:
    return EscposLanguage()


def b(text: str) -> bytes:
    return bytes.fromhex(text)


def codes(report: StatusReport) -> list[str]:
    return [r.code for r in report.reasons]


def test_is_a_language(escpos: EscposLanguage) -> None:
    assert isinstance(escpos, Language)
    assert escpos.name == "escpos"
    assert escpos.status_query() == b("10 04 01 10 04 02 10 04 03 10 04 04")


# --- completeness ----------------------------------------------------------------------------


def test_complete_after_four_bytes(escpos: EscposLanguage) -> None:
    reply = b("12 12 12 12")
    assert escpos.status_complete(reply)
    for cut in range(4):
        assert not escpos.status_complete(reply[:cut])


def test_flow_control_and_asb_are_not_counted(escpos: EscposLanguage) -> None:
    assert not escpos.status_complete(b("11 12 13 12 12"))
    assert not escpos.status_complete(b("10 00 00 00 12 12 12"))
    # an ASB block still arriving is not mistaken for status bytes
    assert not escpos.status_complete(b("12 12 12 10 00"))
    assert escpos.status_complete(b("12 12 12 10 00 00 00 12"))


def test_garbage_completes_so_the_read_does_not_wait_for_the_timeout(
    escpos: EscposLanguage,
) -> None:
    assert escpos.status_complete(b("FF FF FF FF"))


# --- DLE EOT ---------------------------------------------------------------------------------

# reference 2.2 "values a simulator should produce"
TABLE = [
    ("idle", "12 12 12 12", []),
    ("cover open", "1A 16 12 12", [Reason("cover-open", "cover-open", E)]),
    ("cover open while printing", "1A 16 52 12",
     [Reason("cover-open", "cover-open", E), Reason("other", "recoverable-error", W)]),
    ("paper end", "1A 32 12 72", [Reason("media-empty", "paper-out", E)]),
    ("paper near end", "12 12 12 1E", [Reason("media-low", "paper-near-end", W)]),
    ("cutter jam", "1A 52 1A 12", [Reason("other", "cutter-error", E)]),
    ("drawer pin 3 high", "16 12 12 12", []),
    ("unrecoverable", "1A 52 32 12", [Reason("other", "unrecoverable-error", E)]),
    ("auto-recoverable", "1A 52 52 12", [Reason("other", "recoverable-error", W)]),
    ("mechanical", "1A 52 16 12", [Reason("other", "mechanical-error", E)]),
    ("offline, no cause given", "1A 12 12 12", [Reason("offline-report", "printer-offline", E)]),
    ("offline with near end only", "1A 12 12 1E",
     [Reason("media-low", "paper-near-end", W), Reason("offline-report", "printer-offline", E)]),
    ("feeding with the button", "1A 1A 12 12", [Reason("other", "paper-feeding", R)]),
    # paper end seen by n=2 and n=4, and n=4 with near-end bits as well: one paper-out
    ("paper end, all sensors", "1A 32 12 7E", [Reason("media-empty", "paper-out", E)]),
    ("paper sensor only", "12 12 12 72", [Reason("media-empty", "paper-out", E)]),
    # half of a bit pair is not the condition
    ("one near-end bit", "12 12 12 16", []),
]  # fmt: skip


@pytest.mark.parametrize(("state", "reply", "expected"), TABLE, ids=[t[0] for t in TABLE])
def test_dle_eot_table(
    escpos: EscposLanguage, state: str, reply: str, expected: list[Reason]
) -> None:
    report = escpos.decode_status(b(reply))
    assert report.answered
    assert report.reasons == expected
    assert report.ok is not any(r.severity is E for r in expected)


def test_fields(escpos: EscposLanguage) -> None:
    fields = escpos.decode_status(b("1E 16 12 72")).fields
    assert [fields[f"dle_eot_{n}"] for n in (1, 2, 3, 4)] == ["1E", "16", "12", "72"]
    assert fields["drawer_pin3_high"] and fields["offline"] and fields["cover_open"]
    assert fields["paper_end"] and not fields["paper_near_end"]
    assert not fields["autocutter_error"]


def test_silence(escpos: EscposLanguage) -> None:
    report = escpos.decode_status(b"")
    assert report.answered is False
    assert report.reasons == [Reason("other", "no-status-reply", W)]


def test_only_flow_control_is_silence(escpos: EscposLanguage) -> None:
    assert escpos.decode_status(b("11 13")).answered is False


GARBLED = [
    pytest.param("12", id="one byte"),
    pytest.param("12 12 12", id="three bytes"),
    pytest.param("00 00 00 00", id="zeros"),
    pytest.param("FF 12 12 12", id="bit 7 set"),
    pytest.param("12 12 13 12", id="flow control is skipped, three left"),
    pytest.param("12 12 12 02", id="bit 4 clear"),
    pytest.param("12 10 12 12", id="bit 1 clear"),
    pytest.param("92 12 12 12", id="high bit"),
    pytest.param("4F 4B 0D 0A", id="text"),
]


@pytest.mark.parametrize("reply", GARBLED)
def test_garbled(escpos: EscposLanguage, reply: str) -> None:
    report = escpos.decode_status(b(reply))
    assert report.answered is True
    assert report.reasons == [Reason("other", "garbled-status-reply", W)]
    assert report.reply == b(reply)


def test_unsolicited_asb_is_set_aside(escpos: EscposLanguage) -> None:
    report = escpos.decode_status(b("11 1A 38 00 00 00 16 12 12"))
    assert codes(report) == ["cover-open"]
    assert report.fields["asb_blocks"] == ["38 00 00 00"]


def test_asb_alone_is_used_when_dle_eot_is_not_answered(escpos: EscposLanguage) -> None:
    report = escpos.decode_status(b("10 00 0C 00"))
    assert report.answered and codes(report) == ["paper-out"]


@given(st.binary(max_size=64))
def test_decode_never_raises(reply: bytes) -> None:
    escpos = EscposLanguage()
    escpos.status_complete(reply)
    report = escpos.decode_status(reply)
    assert isinstance(report, StatusReport)
    assert set(report.reasons) <= ALL_REASONS


VALID_STATUS_BYTES = [x for x in range(256) if x & 0x93 == 0x12]  # 0xx1xx10, 16 values


def test_every_valid_byte_combination_decodes(escpos: EscposLanguage) -> None:
    # Only 16**4 combinations: check them all rather than sample.
    for reply in itertools.product(VALID_STATUS_BYTES, repeat=4):
        report = escpos.decode_status(bytes(reply))
        assert report.answered and escpos.status_complete(bytes(reply))
        assert Reason("other", "garbled-status-reply", W) not in report.reasons
        assert set(report.reasons) <= ALL_REASONS


# --- ASB -------------------------------------------------------------------------------------

ASB_TABLE = [
    ("idle", "10 00 00 00", []),
    ("cover open", "38 00 00 00", [Reason("cover-open", "cover-open", E)]),
    ("paper end", "18 00 0C 00", [Reason("media-empty", "paper-out", E)]),
    ("near end", "10 00 03 00", [Reason("media-low", "paper-near-end", W)]),
    ("cutter", "18 08 00 00", [Reason("other", "cutter-error", E)]),
    ("unrecoverable", "18 20 00 00", [Reason("other", "unrecoverable-error", E)]),
    ("recoverable", "18 40 00 00", [Reason("other", "recoverable-error", W)]),
    ("mechanical", "18 04 00 00", [Reason("other", "mechanical-error", E)]),
    ("offline", "18 00 00 00", [Reason("offline-report", "printer-offline", E)]),
    ("drawer", "14 00 00 00", []),
]


@pytest.mark.parametrize(("state", "block", "expected"), ASB_TABLE, ids=[t[0] for t in ASB_TABLE])
def test_asb(state: str, block: str, expected: list[Reason]) -> None:
    report = decode_asb(b(block))
    assert report.answered and report.reasons == expected


def test_asb_fields() -> None:
    fields = decode_asb(b("14 00 00 00")).fields
    assert fields["drawer_pin3_high"] and not fields["offline"] and fields["asb"] == "14 00 00 00"


@pytest.mark.parametrize("block", ["12 00 00 00", "10 10 00 00", "10 00", "90 00 00 00"])
def test_asb_garbled(block: str) -> None:
    assert codes(decode_asb(b(block))) == ["garbled-status-reply"]


def test_asb_empty() -> None:
    assert decode_asb(b"").answered is False


@given(st.binary(max_size=8))
def test_asb_never_raises(block: bytes) -> None:
    assert set(decode_asb(block).reasons) <= ALL_REASONS


# --- GS I ------------------------------------------------------------------------------------


def test_gs_i_query() -> None:
    assert gs_i_query(67) == b("1D 49 43")


def test_gs_i_model_id() -> None:
    assert decode_gs_i(1, b("20"))["model_id"] == 0x20
    assert decode_gs_i(49, b("20"))["model_id"] == 0x20


def test_gs_i_type_id() -> None:
    info = decode_gs_i(2, b("02"))
    assert info["autocutter"] is True and info["multibyte"] is False
    assert info["customer_display"] is False and info["garbled"] is False


@pytest.mark.parametrize(("n", "key"), [(65, "firmware"), (66, "maker"), (67, "model"),
                                        (68, "serial"), (69, "font")])  # fmt: skip
def test_gs_i_text(n: int, key: str) -> None:
    info = decode_gs_i(n, b"\x5fEPSON\x00")
    assert info[key] == "EPSON" and info["garbled"] is False


@pytest.mark.parametrize(
    ("n", "reply"),
    [(2, b("12")), (2, b""), (3, b("01 02")), (67, b"\x5fTM-T88"), (67, b"TM"), (200, b"x")],
)
def test_gs_i_garbled(n: int, reply: bytes) -> None:
    assert decode_gs_i(n, reply)["garbled"] is True


@given(st.integers(0, 255), st.binary(max_size=40))
def test_gs_i_never_raises(n: int, reply: bytes) -> None:
    assert isinstance(decode_gs_i(n, reply), dict)
