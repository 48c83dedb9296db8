"""The simulators act on the maintenance commands the model plugins declare, so that a test can
see a printer change, not only receive bytes: a Zebra calibrates (feeds labels, and the label
length it reports becomes that of the labels loaded), prints its configuration label, feeds,
takes a new darkness and drops its buffer on ~JA; a TSC runs GAPDETECT and SELFTEST; an ESC/POS
printer counts the lines it feeds and its cuts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from labeld.drivers.escpos.simulator import SPEC as ESCPOS
from labeld.drivers.tspl.simulator import SPEC as TSPL
from labeld.drivers.zpl.simulator import CALIBRATION_FEED, SPEC as ZPL
from labeld.sim import SimulatorThread
from tests.conftest import ask, connect, send_job

HS = b"~HS"


def query(port: int, data: bytes, frames: int) -> bytes:
    """A status question on its own connection; the reply read until its `frames` ETXs."""
    with connect(port) as sock:
        sock.sendall(data)
        reply = b""
        while reply.count(b"\x03") < frames:
            chunk = sock.recv(4096)
            assert chunk, f"the printer closed after {reply!r}"
            reply += chunk
    return reply


@pytest.fixture
def zebra() -> Iterator[SimulatorThread]:
    """A Zebra loaded with 2-inch labels (406 dots at 203 dpi), last calibrated for the
    default 1245-dot ones."""
    with SimulatorThread(ZPL, options={"media_length": 406}) as sim:
        yield sim


def label_length(sim: SimulatorThread) -> int:
    return int(query(sim.port, HS, 3).split(b"\x02")[1].split(b",")[3])


def config_dump(sim: SimulatorThread) -> bytes:
    return query(sim.port, b"^XA^HH^XZ", 1)


def test_calibration_feeds_labels_and_measures_the_labels_loaded(zebra):
    assert label_length(zebra) == 1245  # what it measured before the new roll went in
    send_job(zebra.port, b"~JC")
    zebra.wait_until(lambda s: s.device.counters()["calibrations"] == 1)
    state = zebra.state()
    assert state["settings"]["measured_length_dots"] == 406
    assert state["counters"]["labels_fed"] == CALIBRATION_FEED
    assert label_length(zebra) == 406
    assert b"406" in config_dump(zebra) and b"LABEL LENGTH" in config_dump(zebra)


def test_darkness_shows_in_the_configuration_dump(zebra):
    assert b"+15.0               DARKNESS" in config_dump(zebra)
    send_job(zebra.port, b"~SD22")
    zebra.wait_until(lambda s: s.device.settings()["darkness"] == 22)
    assert b"+22.0               DARKNESS" in config_dump(zebra)


def test_the_configuration_label_and_a_feed_move_the_label_counter(zebra):
    send_job(zebra.port, b"~WC")
    zebra.wait_until(lambda s: s.device.counters()["config_labels"] == 1)
    send_job(zebra.port, b"~PH")
    zebra.wait_until(lambda s: s.device.counters()["labels_fed"] == 1)
    counters = zebra.state()["counters"]
    assert counters["labels_printed"] == 2  # a configuration label, a blank one
    assert ask(zebra.port, b'! U1 getvar "odometer.total_label_count"\r\n', 3) == b'"2"'


def test_maintenance_commands_wait_in_the_buffer_like_labels(zebra):
    zebra.set_fault("busy")
    send_job(zebra.port, b"~JC")
    zebra.wait_jobs(1)
    assert zebra.state()["counters"]["calibrations"] == 0
    zebra.clear_fault("busy")
    assert zebra.state()["counters"]["calibrations"] == 1


def test_cancel_all_empties_the_buffer_of_a_busy_printer(zebra):
    zebra.set_fault("busy")  # a long batch: what arrives waits, and ~HS shows no error
    send_job(zebra.port, b"^XA^FO10,10^GB100,100,100^FS^XZ")
    send_job(zebra.port, b"^XA^FO10,10^GB100,100,100^FS^XZ")
    zebra.wait_jobs(2)
    status = query(zebra.port, HS, 3).split(b"\x02")[1].split(b",")
    assert status[1:3] == [b"0", b"0"] and int(status[4]) == 2  # no error, 2 formats waiting
    assert zebra.state()["buffered"] == 2
    send_job(zebra.port, b"~JA")
    zebra.wait_until(lambda s: not s.device.buffered)
    state = zebra.state()
    assert state["buffered"] == 0 and state["counters"]["buffer_cancels"] == 1
    assert state["settings"]["control_commands"][-1] == "~JA"
    zebra.clear_fault("busy")
    assert [j.canceled for j in zebra.jobs()] == [True, True]
    assert zebra.state()["counters"]["labels_printed"] == 0


def test_a_tsc_calibrates_its_gap_sensor_and_prints_its_self_test():
    with SimulatorThread(TSPL) as tsc:
        send_job(tsc.port, b"GAPDETECT\r\n")
        send_job(tsc.port, b"SELFTEST\r\n")
        tsc.wait_until(lambda s: s.device.counters()["self_tests"] == 1)
        counters = tsc.state()["counters"]
        assert counters["gap_calibrations"] == 1 and counters["labels_fed"] == 2
        assert counters["labels_printed"] == 1  # the self-test page


def test_a_receipt_printer_counts_lines_fed_and_cuts():
    with SimulatorThread(ESCPOS) as till:
        send_job(till.port, b"\x1bd\x05\x1dV\x00")
        till.wait_until(lambda s: s.device.counters()["receipts_printed"] == 1)
        assert till.state()["counters"]["lines_fed"] == 5
