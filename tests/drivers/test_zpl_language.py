"""ZPL status decoding: ~HS, ~HQES and ~HI replies as the reference (section 1) shows them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labeld.contracts import Language, Reason, Severity, StatusReport
from labeld.drivers.zpl.language import (
    ALL_REASONS,
    ZplLanguage,
    decode_hi,
    decode_hqes,
    format_hs,
)

E, W, R = Severity.ERROR, Severity.WARNING, Severity.REPORT

# The canonical healthy reply (reference 1.2), written out independently of the module's tables.
HS_STRINGS = (
    "030,0,0,1245,000,0,0,0,000,0,0,0",
    "000,0,0,0,0,2,4,0,00000000,1,000",
    "1234,0",
)


def hs(*strings: str) -> bytes:
    return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in strings)


HEALTHY = hs(*HS_STRINGS)


def hs_with(string: int, index: int, value: str) -> bytes:
    """The healthy reply with one field (string 1..3, field index 0..) replaced."""
    strings = list(HS_STRINGS)
    fields = strings[string - 1].split(",")
    fields[index] = value
    strings[string - 1] = ",".join(fields)
    return hs(*strings)


@pytest.fixture
def zpl() -> ZplLanguage:
    return ZplLanguage()


def codes(report: StatusReport) -> list[str]:
    return [r.code for r in report.reasons]


# --- the Language contract -------------------------------------------------------------------


def test_is_a_language(zpl: ZplLanguage) -> None:
    assert isinstance(zpl, Language)
    assert zpl.name == "zpl"
    assert zpl.status_query() == b"~HS"


# --- completeness ----------------------------------------------------------------------------


def test_complete_only_after_three_frames(zpl: ZplLanguage) -> None:
    assert zpl.status_complete(HEALTHY)
    for cut in range(len(HEALTHY)):
        assert not zpl.status_complete(HEALTHY[:cut]), cut


@pytest.mark.parametrize("noise", [b"\x00\x00", b"\xff\xfejunk", b"\x02half a frame", b"\r\n"])
def test_complete_tolerates_leading_noise(zpl: ZplLanguage, noise: bytes) -> None:
    assert zpl.status_complete(noise + HEALTHY)
    report = zpl.decode_status(noise + HEALTHY)
    assert report.answered and report.reasons == [] and report.ok


# --- ~HS decoding ----------------------------------------------------------------------------


def test_healthy(zpl: ZplLanguage) -> None:
    report = zpl.decode_status(HEALTHY)
    assert report.answered and report.ok and report.reasons == []
    assert report.reply == HEALTHY
    f = report.fields
    assert f["label_length_dots"] == 1245
    assert f["print_mode"] == "2" and f["print_mode_name"] == "tear-off"
    assert f["paper_out"] is False and f["head_up"] is False
    assert f["format_while_printing"] is True
    assert f["labels_remaining"] == 0
    assert f["comm"] == {
        "baud": 9600, "data_bits": 8, "stop_bits": 1, "parity": "none", "handshake": "xon/xoff"
    }  # fmt: skip


def test_password_is_not_exposed(zpl: ZplLanguage) -> None:
    assert "1234" not in repr(zpl.decode_status(HEALTHY).fields)


# (string, field index, what the reference calls it, expected reason)
FLAG_CASES = [
    (1, 1, "paper out", Reason("media-empty", "paper-out", E)),
    (1, 2, "paused", Reason("paused", "paused", E)),
    (1, 5, "buffer full", Reason("other", "buffer-full", W)),
    (1, 6, "comm diagnostics", Reason("other", "diagnostic-mode", E)),
    (1, 9, "corrupt RAM", Reason("other", "corrupt-ram", W)),
    (1, 10, "under temperature", Reason("other", "head-too-cold", W)),
    (1, 11, "over temperature", Reason("other", "head-too-hot", E)),
    (2, 2, "head up", Reason("cover-open", "head-open", E)),
    (2, 3, "ribbon out", Reason("marker-supply-empty", "ribbon-out", E)),
    (2, 7, "label waiting", Reason("other", "label-waiting", R)),
]


@pytest.mark.parametrize(("string", "index", "what", "reason"), FLAG_CASES)
def test_each_flag(zpl: ZplLanguage, string: int, index: int, what: str, reason: Reason) -> None:
    report = zpl.decode_status(hs_with(string, index, "1"))
    assert report.answered
    assert report.reasons == [reason], what
    assert report.ok is (reason.severity is not E)


@pytest.mark.parametrize(
    ("string", "index", "value"),
    [(1, 7, "1"), (2, 4, "1"), (2, 8, "00000012"), (1, 4, "012"), (3, 1, "1"), (2, 0, "001")],
)
def test_informational_fields_raise_no_reason(
    zpl: ZplLanguage, string: int, index: int, value: str
) -> None:
    # partial format, thermal transfer, labels remaining, formats queued, static RAM, settings
    report = zpl.decode_status(hs_with(string, index, value))
    assert report.answered and report.reasons == []


def test_several_flags_at_once(zpl: ZplLanguage) -> None:
    reply = hs(
        "030,1,1,1245,000,0,0,0,000,0,0,0",
        "000,0,1,1,1,2,4,0,00000000,1,000",
        "1234,0",
    )
    assert codes(zpl.decode_status(reply)) == ["paper-out", "paused", "head-open", "ribbon-out"]


def test_format_hs_matches_the_canonical_reply() -> None:
    assert format_hs() == HEALTHY
    assert format_hs(head_up=True) == hs_with(2, 2, "1")
    assert format_hs(labels_remaining=12) == hs_with(2, 8, "00000012")


def test_print_mode_letters(zpl: ZplLanguage) -> None:
    report = zpl.decode_status(hs_with(2, 5, "K"))
    assert report.answered and report.fields["print_mode_name"] == "kiosk"


def test_comm_settings_bits(zpl: ZplLanguage) -> None:
    # 0b1_1110_0011: a8=1 and a2..a0=011 -> code 1011 = 14400; DTR, even parity, 1 stop, 7 data
    comm = zpl.decode_status(hs_with(1, 0, f"{0b111110011:03d}")).fields["comm"]
    assert comm == {
        "baud": 14400, "data_bits": 7, "stop_bits": 1, "parity": "even", "handshake": "dtr"
    }  # fmt: skip


def test_wide_label_length_is_accepted(zpl: ZplLanguage) -> None:
    # Widths are what the printer pads to, not a ceiling: a 600 dpi label can pass 9999 dots.
    report = zpl.decode_status(hs_with(1, 3, "12000"))
    assert report.answered and report.fields["label_length_dots"] == 12000


def test_silence_is_not_offline(zpl: ZplLanguage) -> None:
    report = zpl.decode_status(b"")
    assert report.answered is False
    assert report.reasons == [Reason("other", "no-status-reply", W)]


GARBLED = [
    pytest.param(b"hello", id="text"),
    pytest.param(HEALTHY[:40], id="one frame cut"),
    pytest.param(hs(*HS_STRINGS[:2]), id="two frames"),
    pytest.param(hs(",".join(["0"] * 32), HS_STRINGS[1], ",".join(["0"] * 32)), id="32 fields"),
    pytest.param(hs_with(1, 1, "2"), id="flag 2"),
    pytest.param(hs_with(1, 3, "12a5"), id="letter in number"),
    pytest.param(hs_with(1, 3, ""), id="empty number"),
    pytest.param(hs_with(2, 5, "?"), id="bad print mode"),
    pytest.param(hs_with(1, 3, "１２"), id="non-ascii digits"),
    pytest.param(b"\x02\x03\r\n" * 3, id="empty frames"),
    pytest.param(HEALTHY.replace(b"\x02", b""), id="no STX"),
]


@pytest.mark.parametrize("reply", GARBLED)
def test_garbled(zpl: ZplLanguage, reply: bytes) -> None:
    report = zpl.decode_status(reply)
    assert report.answered is True
    assert report.reasons == [Reason("other", "garbled-status-reply", W)]
    assert report.reply == reply


@given(st.binary(max_size=300))
def test_decode_never_raises(reply: bytes) -> None:
    zpl = ZplLanguage()
    zpl.status_complete(reply)
    report = zpl.decode_status(reply)
    assert isinstance(report, StatusReport)
    assert set(report.reasons) <= ALL_REASONS


@given(st.binary(max_size=20), st.binary(max_size=20), st.integers(0, len(HEALTHY)))
def test_decode_never_raises_near_valid(prefix: bytes, junk: bytes, at: int) -> None:
    report = ZplLanguage().decode_status(prefix + HEALTHY[:at] + junk + HEALTHY[at:])
    assert isinstance(report, StatusReport)
    assert set(report.reasons) <= ALL_REASONS


# --- ~HQES -----------------------------------------------------------------------------------


def hqes(errors: str, warnings: str) -> bytes:
    return (
        b"\x02\r\n\r\n  PRINTER STATUS                            \r\n"
        + f"   ERRORS:         {errors}      \r\n".encode()
        + f"   WARNINGS:       {warnings}      \r\n".encode()
        + b"\x03"
    )


HQES_OK = hqes("0 00000000 00000000", "0 00000000 00000000")


def test_hqes_reference_example() -> None:
    reasons, fields = decode_hqes(hqes("1 00000000 00000005", "0 00000000 00000000"))
    assert [r.code for r in reasons] == ["paper-out", "head-open"]
    assert reasons[0] == Reason("media-empty", "paper-out", E)
    assert reasons[1] == Reason("cover-open", "head-open", E)
    assert fields["errors_flag"] is True and fields["errors_group1"] == "00000005"


def test_hqes_healthy() -> None:
    assert decode_hqes(HQES_OK)[0] == []


@pytest.mark.parametrize(
    ("errors", "warnings", "expected"),
    [
        # warnings are read from the warning word: 0x2 there is "clean head", not ribbon out
        ("0 00000000 00000000", "1 00000000 00000002", ["clean-head"]),
        ("1 00000000 00000002", "0 00000000 00000000", ["ribbon-out"]),
        ("0 00000000 00000000", "1 00000000 00000008", ["paper-near-end"]),
        ("0 00000000 00000000", "1 00000000 00000001", ["calibrate-media"]),
        ("0 00000000 00000000", "1 00000000 00000004", ["replace-head"]),
        ("1 00000000 00000008", "0 00000000 00000000", ["cutter-error"]),
        ("1 00000000 00000010", "0 00000000 00000000", ["head-too-hot"]),
        ("1 00000000 00004000", "0 00000000 00000000", ["paper-feed-error"]),
        ("1 00000000 00001000", "0 00000000 00000000", ["paper-jam"]),
        ("1 00000000 00010001", "0 00000000 00000000", ["paper-out", "paused"]),
        ("1 00000000 000C0000", "0 00000000 00000000",
         ["black-mark-calibration-error", "black-mark-not-found"]),
        # 0x400 is the one JavaScript table's paper-feed error; the guide has nothing there
        ("1 00000000 00000400", "0 00000000 00000000", ["unknown-error"]),
        ("1 00000001 00000000", "0 00000000 00000000", ["unknown-error"]),
        ("1 00000000 00000000", "0 00000000 00000000", ["unknown-error"]),
        ("0 00000000 00000000", "1 00000000 00001000", ["unknown-warning"]),
        # KR403 sensor bits are states, not warnings
        ("0 00000000 00000000", "1 00000000 00000030", []),
    ],
)  # fmt: skip
def test_hqes_masks(errors: str, warnings: str, expected: list[str]) -> None:
    reasons, _ = decode_hqes(hqes(errors, warnings))
    assert [r.code for r in reasons] == expected


def test_hqes_sensor_fields() -> None:
    _, fields = decode_hqes(hqes("0 00000000 00000000", "1 00000000 00000030"))
    assert fields["sensor_paper_before_head"] and fields["sensor_black_mark"]
    assert not fields["sensor_at_bin"]


@pytest.mark.parametrize(
    "reply",
    [
        b"\x02ERRORS: 1 00000000 00000005\r\nWARNINGS: 0 00000000 00000000\x03",
        b"\x02\r\n\tERRORS:\t1\t00000000\t00000005\r\n\tWARNINGS:\t0 0 0\r\n\x03",
        b"  errors:   1   00000000   00000005  warnings: 0 00000000 00000000",
    ],
)
def test_hqes_whitespace_tolerant(reply: bytes) -> None:
    assert [r.code for r in decode_hqes(reply)[0]] == ["paper-out", "head-open"]


def test_hqes_missing_warning_line_is_garbled_but_keeps_errors() -> None:
    reasons, _ = decode_hqes(b"\x02\r\n   ERRORS:  1 00000000 00000001\r\n\x03")
    assert [r.code for r in reasons] == ["paper-out", "garbled-status-reply"]


def test_hqes_empty_and_garbage() -> None:
    assert [r.code for r in decode_hqes(b"")[0]] == ["no-status-reply"]
    assert [r.code for r in decode_hqes(b"\x02nonsense\x03")[0]] == ["garbled-status-reply"]


@given(st.binary(max_size=300))
def test_hqes_never_raises(reply: bytes) -> None:
    reasons, fields = decode_hqes(reply)
    assert set(reasons) <= ALL_REASONS and isinstance(fields, dict)


# --- ~HI -------------------------------------------------------------------------------------


def test_hi_guide_form() -> None:
    info = decode_hi(b"\x02ZT410-203dpi,V75.19.15Z,8,8192KB,C\x03\r\n")
    assert info["model"] == "ZT410-203dpi"
    assert info["firmware"] == "V75.19.15Z"
    assert (info["dpmm"], info["dpi"]) == (8, 203)
    assert (info["memory"], info["memory_kb"]) == ("8192KB", 8192)
    assert info["options"] == ["C"]
    assert info["garbled"] is False


def test_hi_raw_memory_number() -> None:
    info = decode_hi(b"\x02ZTC ZD420-203dpi ZPL,V93.20.15Z,8,4194304\x03\r\n")
    assert info["model"] == "ZTC ZD420-203dpi ZPL" and info["dpi"] == 203
    assert info["memory"] == "4194304" and info["memory_kb"] is None
    assert info["options"] == []


@pytest.mark.parametrize(("dpmm", "dpi"), [(6, 152), (8, 203), (12, 300), (24, 600), (9, None)])
def test_hi_dpi(dpmm: int, dpi: int | None) -> None:
    assert decode_hi(f"\x02M,V1,{dpmm},512KB\x03\r\n".encode())["dpi"] == dpi


def test_hi_sgd_quoted_form() -> None:
    info = decode_hi(b'"ZD421-300dpi,V93.21.26Z,12,4MB"')
    assert info["dpi"] == 300 and info["memory_kb"] == 4096


@pytest.mark.parametrize("reply", [b"\x02free text from an emulator\x03\r\n", b"\x02M,V1,x\x03"])
def test_hi_garbled(reply: bytes) -> None:
    info = decode_hi(reply)
    assert info["garbled"] is True and info["dpi"] is None


def test_hi_empty() -> None:
    info = decode_hi(b"")
    assert info["model"] is None and info["garbled"] is False


@given(st.binary(max_size=200))
def test_hi_never_raises(reply: bytes) -> None:
    assert isinstance(decode_hi(reply), dict)


# --- the label counter (SGD odometer.total_label_count) ---------------------------------------


def test_counter_query_is_an_sgd_getvar_line(zpl: ZplLanguage) -> None:
    assert zpl.counter_query() == b'! U1 getvar "odometer.total_label_count"\r\n'


def test_counter_reply_is_whole_at_its_closing_quote(zpl: ZplLanguage) -> None:
    reply = b'"1234"'  # a Zebra sends nothing after it: waiting for CR LF would wait forever
    assert zpl.counter_complete(reply)
    for cut in range(len(reply)):
        assert not zpl.counter_complete(reply[:cut]), cut


@pytest.mark.parametrize(("reply", "value"), [
    (b'"0"', 0),
    (b'"1234"', 1234),
    (b'"1234"\r\n', 1234),  # a line end, should a firmware add one, changes nothing
    (b' "99999999" ', 99999999),
])
def test_counter_decodes_the_quoted_number(zpl: ZplLanguage, reply: bytes, value: int) -> None:
    assert zpl.decode_counter(reply) == value


@pytest.mark.parametrize("reply", [
    b"",  # no answer
    b'"?"',  # what a Zebra says for a variable it does not know
    b'""',
    b'"12',  # cut short
    b'"-3"',
    b'"12.5"',
    b'"1234""1235"',  # two answers run together: which one is ours?
    b'\xff\x00garbage',  # the simulator's `garbage` fault
    b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n",  # a ~HS frame
    b'noise"1234"',
])
def test_counter_decodes_anything_else_to_none(zpl: ZplLanguage, reply: bytes) -> None:
    assert zpl.decode_counter(reply) is None


@given(st.binary(max_size=60))
def test_counter_decoder_never_raises(reply: bytes) -> None:
    value = ZplLanguage().decode_counter(reply)
    assert value is None or value >= 0


LABEL = b"^XA^FO10,10^A0N,30,30^FDlabel^FS"


@pytest.mark.parametrize(("data", "labels"), [
    (b"", 0),
    (LABEL + b"^XZ", 1),
    (LABEL + b"^PQ3^XZ", 3),
    (LABEL + b"^PQ3,0,1,Y^XZ", 3),  # pauses and replicates do not change the total
    (LABEL + b"^PQ^XZ", 1),  # an empty quantity is the default
    (b"^xa^fo0,0^fdlower case^fs^pq2^xz", 2),
    (LABEL + b"^PQ2^XZ" + LABEL + b"^XZ\r\n" + LABEL + b"^PQ5^XZ", 8),
    (b"^XA^FO0,0^GFA,2,2,1,FFFF^FS^PQ4^XZ", 4),  # a graphic prints as a field does
    (b"^XA^FO0,0^GB100,100,3^FS^XZ", 1),
    (b"~HS~HI~HQES\r\n", 0),  # status queries print nothing
    (b"~JA" + LABEL + b"^XZ", 1),  # a cancel before the job's formats cancels others' only
    (b"~DGR:LOGO.GRF,2,1,FFFF\r\n" + LABEL + b"^XG R:LOGO.GRF^XZ", 1),
    (b"^XA^FO0,0^GFB,3,3,3,^XA^FS^XZ", 1),  # binary graphic bytes that read ^XA are image
    (b"^XZ" + LABEL + b"^XZ", 1),  # a stray ^XZ closes nothing
])
def test_labels_in_raw_counts_formats_times_their_quantity(zpl: ZplLanguage, data: bytes,
                                                          labels: int) -> None:
    assert zpl.labels_in_raw(data) == labels


@pytest.mark.parametrize("data", [
    b"^XA^XFR:STORED.ZPL^FS^FN1^FDx^FS^XZ",  # a recalled format: its ^PQ is elsewhere
    b"^XA^DFR:STORED.ZPL^FS^FO0,0^FN1^FS^XZ",  # a stored format prints nothing now
    LABEL + b"^XZ~JA",  # the cancel may catch the job's own format in the buffer
    LABEL + b"^XZ~JR",
    LABEL,  # no ^XZ: the printer waits for the rest
    b"^XA^FDa^XA^FDb^XZ",  # a format inside a format
    b"^XA^MD10^XZ",  # settings only: whether it feeds a blank label is not documented
    b"^XA^HH^XZ",
    b"^XA^XZ",
    LABEL + b"^PQ0^XZ",  # out of ^PQ's range
    LABEL + b"^PQ100000000^XZ",
    LABEL + b"^PQx^XZ",
    LABEL + b"^PQ2^PQ3^XZ",  # which one wins is not documented
    b"^CC+" + LABEL + b"+XZ",  # another prefix: the rest cannot be read as ZPL here
    b"~WC",  # prints a configuration label
    b"^XA^FO0,0^GFB,20,20,1,^XZ",  # a binary graphic shorter than announced
])
def test_labels_in_raw_is_none_when_the_bytes_cannot_tell(zpl: ZplLanguage, data: bytes) -> None:
    assert zpl.labels_in_raw(data) is None


@given(st.lists(st.integers(1, 1000), max_size=8), st.sampled_from([b"", b"\r\n", b"~HS"]))
def test_labels_in_raw_adds_up_over_formats(quantities: list[int], between: bytes) -> None:
    data = between.join(LABEL + b"^PQ%d^XZ" % q for q in quantities)
    assert ZplLanguage().labels_in_raw(data) == sum(quantities)


@given(st.binary(max_size=200))
def test_labels_in_raw_never_raises(data: bytes) -> None:
    value = ZplLanguage().labels_in_raw(data)
    assert value is None or value >= 0
