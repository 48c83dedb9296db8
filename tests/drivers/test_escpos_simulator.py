"""The simulated ESC/POS printer answers real-time status at the receive layer, byte for byte
(reference 2.2-2.5), and parses the rest of the stream in order, payload lengths included."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from labeld.drivers.escpos.simulator import SPEC, CommandParser, RealtimeScanner, count_cuts
from labeld.sim import GENERIC_FAULT_NAMES, SimulatorThread
from tests.conftest import ask, connect, read_exactly, send_job

DLE_EOT_ALL = bytes.fromhex("10 04 01 10 04 02 10 04 03 10 04 04")


@pytest.fixture
def printer() -> Iterator[SimulatorThread]:
    with SimulatorThread(SPEC) as sim:
        yield sim




def assert_silent(sock: socket.socket, within: float = 0.25) -> None:
    sock.settimeout(within)
    with pytest.raises(TimeoutError):
        sock.recv(100)


# --- DLE EOT


@pytest.mark.parametrize("faults, expected", [
    ((), "12 12 12 12"),
    (("cover-open",), "1A 16 12 12"),
    (("paper-out",), "1A 32 12 72"),
    (("paper-near-end",), "12 12 12 1E"),
    (("paper-out", "paper-near-end"), "1A 32 12 7E"),
    (("cutter-error",), "1A 52 1A 12"),
    (("unrecoverable-error",), "1A 52 32 12"),
    (("drawer-open",), "16 12 12 12"),
])
def test_dle_eot_1_to_4_answer_the_reference_values(printer, faults, expected):
    for fault in faults:
        printer.set_fault(fault)
    assert ask(printer.port, DLE_EOT_ALL, 4) == bytes.fromhex(expected)


def test_dle_eot_split_across_writes_is_answered_once_whole(printer):
    with connect(printer.port) as sock:
        for part in (b"\x10", b"\x04", b"\x01\x10\x04", b"\x04"):
            sock.sendall(part)
            time.sleep(0.03)
        assert read_exactly(sock, 2) == b"\x12\x12"
        assert_silent(sock)


def test_dle_eot_inside_raster_data_is_answered_and_kept_as_image_data(printer):
    """The receive layer does not know command lengths, like the hardware; the command
    parser does, so a GS I inside the same image is not answered."""
    raster = b"\x1dv0\x00\x04\x00\x02\x00" + b"\x10\x04\x04\x1dIB\x00\x00"
    job = raster + b"\x1dIB"
    with connect(printer.port) as sock:
        sock.sendall(job)
        assert read_exactly(sock, 8) == b"\x12_EPSON\x00"
    assert printer.wait_jobs(1)[0].data == job


# --- GS I, GS r


@pytest.mark.parametrize("n, expected", [
    (1, b"\x20"),
    (49, b"\x20"),
    (2, b"\x02"),
    (3, b"\x01"),
    (65, b"_1.00 ESC/POS\x00"),
    (66, b"_EPSON\x00"),
    (67, b"_TM-T20III\x00"),
    (68, b"_SIM00000001\x00"),
    (69, b"_\x00"),
])
def test_gs_i_identifies_the_printer(printer, n, expected):
    assert ask(printer.port, bytes([0x1D, 0x49, n]), len(expected)) == expected


def test_gs_i_text_fields_are_options():
    with SimulatorThread(SPEC, options={"maker": "BIXOLON", "model": "SRP-350"}) as sim:
        assert ask(sim.port, b"\x1dIB\x1dIC", 18) == b"_BIXOLON\x00_SRP-350\x00"


@pytest.mark.parametrize("fault, n, expected", [
    (None, 1, b"\x00"),
    ("paper-near-end", 1, b"\x03"),
    (None, 2, b"\x00"),
    ("drawer-open", 50, b"\x01"),
])
def test_gs_r_reports_paper_and_drawer(printer, fault, n, expected):
    if fault:
        printer.set_fault(fault)
    assert ask(printer.port, bytes([0x1D, 0x72, n]), 1) == expected


def test_gs_r_paper_sensor_is_not_answered_at_paper_end(printer):
    printer.set_fault("paper-out")
    with connect(printer.port) as sock:
        sock.sendall(b"\x1dr\x01")
        assert_silent(sock)


# --- ASB


def test_asb_sends_status_at_once_and_again_on_every_change(printer):
    with connect(printer.port) as sock:
        sock.sendall(b"\x1da\x0f")
        assert read_exactly(sock, 4) == bytes.fromhex("10 00 00 00")
        printer.set_fault("cover-open")
        assert read_exactly(sock, 4) == bytes.fromhex("38 00 00 00")
        printer.set_fault("paper-out")
        assert read_exactly(sock, 4) == bytes.fromhex("38 00 0C 00")
        printer.clear_faults()
        assert read_exactly(sock, 4) == bytes.fromhex("10 00 00 00")


@pytest.mark.parametrize("fault, expected", [
    ("paper-near-end", "10 00 03 00"),
    ("cutter-error", "18 08 00 00"),
    ("unrecoverable-error", "18 20 00 00"),
    ("drawer-open", "14 00 00 00"),
])
def test_asb_bytes_per_fault(printer, fault, expected):
    printer.set_fault(fault)
    assert ask(printer.port, b"\x1da\x0f", 4) == bytes.fromhex(expected)


def test_asb_is_sent_only_when_an_enabled_item_changes_and_carries_all_bits(printer):
    with connect(printer.port) as sock:
        sock.sendall(b"\x1da\x01")  # drawer only
        assert read_exactly(sock, 4) == bytes.fromhex("10 00 00 00")
        printer.set_fault("paper-near-end")
        assert_silent(sock)
        printer.set_fault("drawer-open")
        assert read_exactly(sock, 4) == bytes.fromhex("14 00 03 00")


def test_gs_a_0_disables_asb(printer):
    with connect(printer.port) as sock:
        sock.sendall(b"\x1da\x0f\x1da\x00")
        assert read_exactly(sock, 4) == bytes.fromhex("10 00 00 00")
        printer.set_fault("cover-open")
        assert_silent(sock)


def test_dle_dc4_7_1_sends_the_asb_bytes_in_real_time(printer):
    printer.set_fault("cover-open")
    assert ask(printer.port, b"\x10\x14\x07\x01", 4) == bytes.fromhex("38 00 00 00")


# --- recovery and buffer clears


def test_dle_enq_1_recovers_from_a_cutter_error_and_prints_what_waited(printer):
    printer.set_fault("cutter-error")
    send_job(printer.port, b"receipt\x1dVA\x03")
    assert printer.wait_jobs(1)[0].printed is False
    send_job(printer.port, b"\x10\x05\x01")
    printer.wait_until(lambda sim: sim.jobs[0].printed)
    assert printer.faults() == {}
    assert len(printer.jobs()) == 1  # the recovery request itself is no job


def test_dle_enq_does_not_recover_an_unrecoverable_error(printer):
    printer.set_fault("unrecoverable-error")
    assert ask(printer.port, b"\x10\x05\x01" + DLE_EOT_ALL[:3], 1) == b"\x1a"
    assert printer.faults() == {"unrecoverable-error": True}


def test_dle_dc4_8_clears_the_buffers_and_answers(printer):
    printer.set_fault("paper-out")
    send_job(printer.port, b"receipt\x1dV\x00")
    printer.wait_jobs(1)
    assert ask(printer.port, bytes.fromhex("10 14 08 01 03 14 01 06 02 08"), 3) == b"\x37\x25\x00"
    printer.clear_faults()
    job = printer.jobs()[0]
    assert (job.canceled, job.printed) == (True, False)


# --- jobs


def test_job_data_is_every_byte_received_status_queries_included(printer):
    job = b"\x1b@hello\n" + DLE_EOT_ALL + b"\x1dV\x00"
    with connect(printer.port) as sock:
        sock.sendall(job)
        assert read_exactly(sock, 4) == bytes.fromhex("12 12 12 12")
    assert printer.wait_jobs(1)[0].data == job


def test_a_connection_of_status_queries_only_records_no_job(printer):
    ask(printer.port, DLE_EOT_ALL + b"\x1dIC\x1dr\x01\x1da\x00", 4 + 11 + 1)
    send_job(printer.port, b"\x1b@")
    assert [j.data for j in printer.wait_jobs(1)] == [b"\x1b@"]


def test_a_receipt_sent_at_paper_end_prints_when_paper_is_loaded(printer):
    printer.set_fault("paper-out")
    send_job(printer.port, b"one\n\x1dVA\x03two\n\x1dV\x01")
    assert printer.wait_jobs(1)[0].printed is False
    assert printer.state()["counters"]["receipts_printed"] == 0
    printer.clear_fault("paper-out")
    assert printer.jobs()[0].printed
    assert printer.state()["counters"] == {"jobs_printed": 1, "receipts_printed": 2,
                                         "lines_fed": 0}


def test_paper_near_end_and_drawer_open_do_not_stop_printing(printer):
    printer.set_fault("paper-near-end")
    printer.set_fault("drawer-open")
    send_job(printer.port, b"x\x1dV\x00")
    assert printer.wait_jobs(1)[0].printed


# --- the parsers on their own


STREAM = (b"\x1b@\x1b!\x1dhello\n"  # ESC ! takes 0x1D as its parameter, not as GS
          + b"\x1dv0\x00\x02\x00\x02\x00\x1dV\x00\x10\x04"  # a cut inside the image
          + b"\x1d(k\x04\x001A2\x00" + b"\x1dk\x02123456789012\x00"
          + b"\x1b*\x21\x02\x00" + b"\x1dV\x00\x1dIB" + b"\x1dVA\x03"
          + b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08" + b"\x1bi")


def test_cuts_are_counted_without_looking_inside_payloads():
    assert count_cuts(STREAM) == 2


def test_the_command_parser_gives_the_same_commands_however_the_stream_is_split():
    whole = CommandParser().feed(STREAM)
    for size in (1, 2, 3, 7):
        parser = CommandParser()
        pieces = [parser.feed(STREAM[i:i + size]) for i in range(0, len(STREAM), size)]
        split = [command for piece in pieces for command in piece]
        # Text runs may come in several pieces; commands must not.
        assert [c for c in split if c.key] == [c for c in whole if c.key]
        assert not parser.pending


def test_the_realtime_scanner_finds_sequences_split_anywhere():
    stream = b"ab\x10\x04\x01\x10\x10\x04\x04\x10\x14\x07\x01cd\x10\x05\x02"
    expected = [b"\x10\x04\x01", b"\x10\x04\x04", b"\x10\x14\x07\x01", b"\x10\x05\x02"]
    for size in (1, 2, 5, len(stream)):
        scanner = RealtimeScanner()
        found = [seq for i in range(0, len(stream), size)
                 for seq in scanner.feed(stream[i:i + size])]
        assert found == expected


def test_spec_lists_generic_and_device_faults():
    assert SPEC.name == "escpos" and SPEC.language == "escpos"
    assert SPEC.faults == (*GENERIC_FAULT_NAMES, "paper-out", "paper-near-end", "cover-open",
                           "cutter-error", "unrecoverable-error", "drawer-open")
