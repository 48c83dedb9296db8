"""The simulated Zebra answers ~HS, ~HQES and ~HI byte for byte (reference 1.2-1.4), acts on
~JA, ~PP, ~PS and ~JR wherever they appear in the stream, and keeps a label counter that SGD
`getvar "odometer.total_label_count"` reads (reference 1.1, 1.8)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from labeld.drivers.zpl.language import ZplLanguage
from labeld.drivers.zpl.simulator import SPEC, count_labels
from labeld.sim import GENERIC_FAULT_NAMES, SimulatorThread
from tests.conftest import ask, connect, read_exactly, send_job

COUNTER_QUERY = b'! U1 getvar "odometer.total_label_count"\r\n'

CANONICAL_HEALTHY_HS = (b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
                        b"\x02000,0,0,0,0,2,4,0,00000000,1,000\x03\r\n"
                        b"\x021234,0\x03\r\n")


def hs(string1: str, string2: str) -> bytes:
    return b"\x02%s\x03\r\n\x02%s\x03\r\n\x021234,0\x03\r\n" % (string1.encode(),
                                                                  string2.encode())


def hqes(errors: str, warnings: str = "0 00000000 00000000") -> bytes:
    return (b"\x02\r\n\r\n"
            b"  PRINTER STATUS                            \r\n"
            b"   ERRORS:         " + errors.encode() + b"      \r\n"
            b"   WARNINGS:       " + warnings.encode() + b"      \r\n"
            b"\x03")


HEALTHY_1 = "030,0,0,1245,000,0,0,0,000,0,0,0"
HEALTHY_2 = "000,0,0,0,0,2,4,0,00000000,1,000"


@pytest.fixture
def zebra() -> Iterator[SimulatorThread]:
    with SimulatorThread(SPEC) as sim:
        yield sim




# --- ~HS


def test_healthy_hs_reply_is_the_canonical_one_byte_for_byte(zebra):
    assert ask(zebra.port, b"~HS", len(CANONICAL_HEALTHY_HS)) == CANONICAL_HEALTHY_HS


@pytest.mark.parametrize("fault, string1, string2", [
    ("paper-out", "030,1,0,1245,000,0,0,0,000,0,0,0", HEALTHY_2),
    ("paused", "030,0,1,1245,000,0,0,0,000,0,0,0", HEALTHY_2),
    ("buffer-full", "030,0,0,1245,000,1,0,0,000,0,0,0", HEALTHY_2),
    ("head-too-hot", "030,0,0,1245,000,0,0,0,000,0,0,1", HEALTHY_2),
    ("head-open", HEALTHY_1, "000,0,1,0,0,2,4,0,00000000,1,000"),
    ("ribbon-out", HEALTHY_1, "000,0,0,1,0,2,4,0,00000000,1,000"),
])
def test_each_fault_sets_exactly_its_hs_field(zebra, fault, string1, string2):
    zebra.set_fault(fault)
    expected = hs(string1, string2)
    assert ask(zebra.port, b"~HS", len(expected)) == expected


def test_replies_to_back_to_back_queries_are_concatenated(zebra):
    expected = CANONICAL_HEALTHY_HS * 2
    assert ask(zebra.port, b"~HS~HS", len(expected)) == expected


def test_a_query_split_across_writes_and_in_lower_case_is_answered(zebra):
    with connect(zebra.port) as sock:
        for part in (b"~", b"h", b"s"):
            sock.sendall(part)
            time.sleep(0.03)
        assert read_exactly(sock, len(CANONICAL_HEALTHY_HS)) == CANONICAL_HEALTHY_HS


def test_hs_counts_formats_waiting_in_the_buffer(zebra):
    zebra.set_fault("paper-out")
    send_job(zebra.port, b"^XA^FDone^FS^XZ^XA^FDtwo^FS^XZ")
    send_job(zebra.port, b"^XA^FDthree^FS^XZ")
    zebra.wait_jobs(2)
    expected = hs("030,1,0,1245,003,0,0,0,000,0,0,0", HEALTHY_2)
    assert ask(zebra.port, b"~HS", len(expected)) == expected


def test_hs_reports_a_partial_format_and_the_formats_of_an_open_connection(zebra):
    """A ~HS inside a job sees that job's state: one whole format buffered (the printer is
    paused) and a ^XA still waiting for its ^XZ."""
    zebra.set_fault("paused")
    expected = hs("030,0,1,1245,001,0,0,1,000,0,0,0", HEALTHY_2)
    assert ask(zebra.port, b"^XA^FDa^FS^XZ^XA^FDb~HS", len(expected)) == expected


def test_silent_when_faulted_stays_silent_in_a_fault_but_answers_when_healthy(zebra):
    zebra.set_fault("silent-when-faulted")
    assert ask(zebra.port, b"~HS", len(CANONICAL_HEALTHY_HS)) == CANONICAL_HEALTHY_HS
    zebra.set_fault("head-open")
    with connect(zebra.port) as sock:
        sock.sendall(b"~HS")
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(100)
    # ~HQES still answers, so a client can learn why ~HS went quiet.
    assert ask(zebra.port, b"~HQES", len(hqes("1 00000000 00000004"))) == hqes(
        "1 00000000 00000004")


def test_silent_when_faulted_can_be_set_as_a_start_option():
    with SimulatorThread(SPEC, options={"silent_when_faulted": True}) as sim:
        assert sim.faults() == {"silent-when-faulted": True}


# --- ~HQES and ~HI


@pytest.mark.parametrize("faults, errors", [
    ((), "0 00000000 00000000"),
    (("paper-out",), "1 00000000 00000001"),
    (("ribbon-out",), "1 00000000 00000002"),
    (("head-open",), "1 00000000 00000004"),
    (("head-too-hot",), "1 00000000 00000010"),
    (("paused",), "1 00000000 00010000"),
    (("paper-out", "paused"), "1 00000000 00010001"),
    (("buffer-full",), "0 00000000 00000000"),
])
def test_hqes_reports_error_masks_in_group_one(zebra, faults, errors):
    for fault in faults:
        zebra.set_fault(fault)
    expected = hqes(errors)
    assert ask(zebra.port, b"~HQES", len(expected)) == expected


def test_hi_identifies_the_printer(zebra):
    expected = b"\x02ZD421-203dpi,V93.21.26Z,8,8192KB\x03\r\n"
    assert ask(zebra.port, b"~HI", len(expected)) == expected


def test_hi_fields_are_options():
    with SimulatorThread(SPEC, options={"model": "ZT411-300dpi", "dpmm": 12,
                                        "options": "C"}) as sim:
        expected = b"\x02ZT411-300dpi,V93.21.26Z,12,8192KB,C\x03\r\n"
        assert ask(sim.port, b"~HI", len(expected)) == expected


# --- jobs


def test_answered_commands_are_removed_from_job_data_and_other_tilde_commands_kept(zebra):
    send_job(zebra.port, b"~HS^XA~HI^FO10,10~SD15^FDx~1^FS^XZ~HQES\r\n")
    assert zebra.wait_jobs(1)[0].data == b"^XA^FO10,10~SD15^FDx~1^FS^XZ\r\n"


def test_a_status_poll_with_line_ends_records_no_job(zebra):
    ask(zebra.port, b"~HS\r\n", len(CANONICAL_HEALTHY_HS))
    send_job(zebra.port, b"~PP\r\n~PS\r\n")
    send_job(zebra.port, b"^XA^XZ")
    assert [j.data for j in zebra.wait_jobs(1)] == [b"^XA^XZ"]


def test_a_job_sent_while_paper_is_out_prints_when_the_paper_is_back(zebra):
    zebra.set_fault("paper-out")
    send_job(zebra.port, b"^XA^FDhello^FS^PQ3^XZ")
    assert zebra.wait_jobs(1)[0].printed is False
    assert zebra.state()["counters"]["labels_printed"] == 0
    zebra.clear_fault("paper-out")
    assert zebra.jobs()[0].printed is True
    assert zebra.state()["counters"] == {"jobs_printed": 1, "labels_printed": 3,
                                         "formats_printed": 1, "labels_fed": 0,
                                         "calibrations": 0, "config_labels": 0,
                                         "buffer_cancels": 0}


def test_pp_pauses_like_the_paused_fault_and_ps_resumes(zebra):
    send_job(zebra.port, b"~PP")
    zebra.wait_until(lambda sim: "paused" in sim.faults)
    send_job(zebra.port, b"^XA^XZ")
    assert zebra.wait_jobs(1)[0].printed is False
    send_job(zebra.port, b"~PS")
    zebra.wait_until(lambda sim: sim.jobs[0].printed)
    assert zebra.faults() == {}


def test_ja_cancels_the_formats_waiting_in_the_buffer(zebra):
    zebra.set_fault("head-open")
    send_job(zebra.port, b"^XA^FDa^FS^XZ")
    zebra.wait_jobs(1)
    send_job(zebra.port, b"~JA")
    zebra.wait_until(lambda sim: sim.jobs[0].canceled)
    zebra.clear_fault("head-open")
    job = zebra.jobs()[0]
    assert (job.canceled, job.printed) == (True, False)
    assert zebra.state()["buffered"] == 0


def test_jr_clears_the_buffer_and_the_pause(zebra):
    zebra.set_fault("paused")
    send_job(zebra.port, b"^XA^XZ")
    zebra.wait_jobs(1)
    send_job(zebra.port, b"~JR")
    zebra.wait_until(lambda sim: not sim.faults)
    assert zebra.jobs()[0].canceled


@pytest.mark.parametrize("data, expected", [
    (b"", (0, 0)),
    (b"^XA^FDa^FS^XZ", (1, 1)),
    (b"^xa^pq5^xz^XA^PQ2,0,1,Y^XZ", (2, 7)),
    (b"^XA^FDno end", (0, 0)),
])
def test_labels_are_counted_per_format_and_pq(data, expected):
    assert count_labels(data) == expected


# --- the label counter and the odometer


def getvar_reply(port: int, query: bytes) -> bytes:
    """Everything the printer sends back within a short wait: the exact reply, nothing more."""
    with connect(port) as sock:
        sock.sendall(query)
        sock.settimeout(0.3)
        reply = b""
        try:
            while chunk := sock.recv(100):
                reply += chunk
        except TimeoutError:
            pass
        return reply


def label_count(zebra: SimulatorThread) -> int | None:
    """The counter as labeld reads it: until the reply is whole, then decoded."""
    zpl = ZplLanguage()
    with connect(zebra.port) as sock:
        sock.sendall(zpl.counter_query())
        reply = b""
        while not zpl.counter_complete(reply) and (chunk := sock.recv(100)):
            reply += chunk
    return zpl.decode_counter(reply)


def test_the_counter_getvar_is_answered_in_quotes_with_nothing_after(zebra):
    assert getvar_reply(zebra.port, COUNTER_QUERY) == b'"0"'


def test_an_unknown_variable_is_answered_with_a_question_mark(zebra):
    assert getvar_reply(zebra.port, b'! U1 getvar "device.friendly_name"\r\n') == b'"?"'


def test_the_counter_advances_by_each_printed_label_including_pq(zebra):
    send_job(zebra.port, b"^XA^FDone^FS^XZ")
    zebra.wait_jobs(1)
    assert label_count(zebra) == 1
    send_job(zebra.port, b"^XA^FDthree^FS^PQ3^XZ^XA^FDtwo^FS^PQ2^XZ")
    zebra.wait_jobs(2)
    assert label_count(zebra) == 6


def test_the_counter_does_not_move_while_paper_out_holds_the_job(zebra):
    zebra.set_fault("paper-out")
    send_job(zebra.port, b"^XA^FDheld^FS^PQ3^XZ")
    assert zebra.wait_jobs(1)[0].printed is False
    assert label_count(zebra) == 0
    zebra.clear_fault("paper-out")
    assert label_count(zebra) == 3


def test_canceled_and_incomplete_jobs_never_move_the_counter(zebra):
    zebra.set_fault("head-open")
    send_job(zebra.port, b"^XA^FDcanceled^FS^XZ")
    zebra.wait_jobs(1)
    send_job(zebra.port, b"~JA")
    zebra.wait_until(lambda sim: sim.jobs[0].canceled)
    zebra.clear_fault("head-open")
    zebra.set_fault("reset-mid-job", 12)
    send_job(zebra.port, b"^XA^FDcut short^FS^XZ")
    zebra.wait_jobs(2)
    zebra.clear_faults()
    assert label_count(zebra) == 0


def test_the_counter_moves_exactly_as_far_as_the_language_predicts(zebra):
    """The scheduler's evidence: counter after - counter before == labels_in_raw(job)."""
    zpl = ZplLanguage()
    jobs = [b"^XA^FO10,10^FDa^FS^PQ3^XZ",
            b"~HS^XA^FO0,0^GB10,10,1^FS^XZ^XA^FDb^FS^PQ2,0,1,Y^XZ\r\n",
            b"^XA^FO0,0^GFA,2,2,1,FFFF^FS^PQ4^XZ"]
    for number, job in enumerate(jobs, 1):
        before = label_count(zebra)
        send_job(zebra.port, job)
        zebra.wait_jobs(number)
        expected = zpl.labels_in_raw(job)
        assert expected is not None
        assert label_count(zebra) - before == expected


def test_a_getvar_connection_is_a_status_connection_not_a_job(zebra):
    assert label_count(zebra) == 0
    zebra.wait_until(lambda sim: sim.connection_counts()["status_connections"] == 1)
    assert zebra.jobs() == []


def test_a_getvar_split_across_writes_is_answered_once_its_line_ends(zebra):
    with connect(zebra.port) as sock:
        for part in (b"! U1 get", b'var "odometer.total_label', b'_count"\r', b"\n"):
            sock.sendall(part)
            time.sleep(0.03)
        assert read_exactly(sock, 3) == b'"0"'


def test_getvar_text_inside_a_format_is_field_data(zebra):
    job = b'^XA^FD! U1 getvar "odometer.total_label_count"\r\n^FS^XZ'
    with connect(zebra.port) as sock:
        sock.sendall(job)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)
    assert zebra.wait_jobs(1)[0].data == job


def test_a_getvar_after_a_job_is_answered_and_removed_from_its_data(zebra):
    with connect(zebra.port) as sock:
        sock.sendall(b"^XA^FDx^FS^XZ\r\n" + COUNTER_QUERY)
        assert read_exactly(sock, 3) == b'"0"'  # the job prints when its connection ends
    assert zebra.wait_jobs(1)[0].data == b"^XA^FDx^FS^XZ\r\n"
    assert label_count(zebra) == 1


def test_setvar_is_not_answered_and_stays_job_data(zebra):
    line = b'! U1 setvar "device.friendly_name" "shelf"\r\n'
    with connect(zebra.port) as sock:
        sock.sendall(line)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(10)
    assert zebra.wait_jobs(1)[0].data == line


def test_hqod_reports_the_printed_length_in_the_hq_framing(zebra):
    send_job(zebra.port, b"^XA^LL406^FDtwo inches^FS^PQ3^XZ")  # 3 x 406 dots at 203 dpi
    zebra.wait_jobs(1)
    reply = getvar_reply(zebra.port, b"~HQOD")
    assert reply.startswith(b"\x02\r\n\r\n") and reply.endswith(b"\r\n\x03")
    lines = reply[1:-1].decode("ascii").split("\r\n")
    assert lines[2].strip() == "PRINT METERS"
    assert [" ".join(line.split()) for line in lines[3:6]] == [
        'TOTAL NONRESETTABLE: 6 "', 'USER RESETTABLE CNTR1: 6 "', 'USER RESETTABLE CNTR2: 6 "']
    assert zebra.jobs()[0].data == b"^XA^LL406^FDtwo inches^FS^PQ3^XZ"  # ~HQOD is no job


def test_hqod_uses_the_last_label_length_set_and_not_held_labels(zebra):
    send_job(zebra.port, b"^XA^LL812^FDfour inches^FS^XZ")
    send_job(zebra.port, b"^XA^FDagain four^FS^XZ")  # ^LL carries over
    zebra.wait_jobs(2)
    zebra.set_fault("paused")
    send_job(zebra.port, b"^XA^FDheld^FS^PQ10^XZ")
    zebra.wait_jobs(3)
    assert b' 8 "' in getvar_reply(zebra.port, b"~HQOD")


def test_spec_lists_generic_and_device_faults():
    assert SPEC.name == "zpl" and SPEC.language == "zpl"
    assert SPEC.faults == (*GENERIC_FAULT_NAMES, "paper-out", "head-open", "ribbon-out",
                           "paused", "buffer-full", "head-too-hot", "silent-when-faulted",
                           "busy")
