"""Serial printers: labeld's SerialTransport on a real tty (a pseudo-terminal) with one of
labeld's simulated printers on the other end (tests/drivers/serial_printer.py)."""

from __future__ import annotations

import numpy as np
import pytest

from labeld.config import Config, DeliveryConfig, PrinterConfig
from labeld.contracts import Timeouts, TransportError
from labeld.drivers.transports.serial_port import CHUNK, SerialTransport, parse
from labeld.delivery.printers import build_printers
from labeld.intake.render import png_to_raster, raster_to_bits
from tests.conftest import run, wait_for, wait_job
from tests.drivers.serial_printer import PtyPrinter

TIMEOUTS = Timeouts(connect=1.0, write=0.5, read=0.5)


@pytest.fixture
def pty_printer(plugins):
    started = []

    def start(simulator: str = "zpl") -> PtyPrinter:
        p = PtyPrinter(plugins.simulators()[simulator].factory())
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def line(p: PtyPrinter, query: str = "?flow=none") -> SerialTransport:
    return SerialTransport(f"serial://{p.path}{query}", TIMEOUTS)


async def send(t: SerialTransport, data: bytes) -> None:
    async with t:
        await t.write(data)
        await t.finish()


def serial_printer(p: PtyPrinter, plugins, model: str = "zebra-generic-203"):
    config = Config(printers=[PrinterConfig(id="s", uri=f"serial://{p.path}?flow=none",
                                            model=model)],
                    delivery=DeliveryConfig(connect_timeout_s=1.0, write_timeout_s=1.0,
                                            status_timeout_s=0.5))
    return build_printers(config, plugins)["s"]


# -- addresses ---------------------------------------------------------------------------------


def test_serial_uris_name_the_device_speed_and_flow_control():
    assert parse("serial:///dev/ttyUSB0") == ("/dev/ttyUSB0", 9600, "rtscts")
    assert parse("serial:///dev/ttyACM1?baud=115200&flow=none") == ("/dev/ttyACM1", 115200,
                                                                    "none")
    for bad in ("serial://ttyUSB0", "serial:///dev/ttyUSB0?baud=9601",
                "serial:///dev/ttyUSB0?flow=dtr", "serial:///dev/ttyUSB0?parity=E",
                "usb:///dev/ttyUSB0"):
        with pytest.raises(ValueError):
            SerialTransport.validate_uri(bad)


def test_the_serial_transport_is_a_builtin_plugin(plugins):
    assert plugins.transports()["serial"] is SerialTransport


# -- printing and asking -------------------------------------------------------------------------


def test_a_job_goes_down_the_line_whole(pty_printer):
    p = pty_printer()
    job = b"^XA^FO20,20^A0N,30,30^FDserial^FS^XZ" * 3000  # ~100 kB, many chunks
    run(send(line(p), job))
    assert wait_for(lambda: p.jobs)[0].data == job


def test_status_comes_back_on_the_same_line(pty_printer, plugins):
    p = pty_printer()
    printer = serial_printer(p, plugins)
    assert run(printer.query_status()).answered
    p.device.set_fault("head-open")
    status = run(printer.query_status())
    assert status.answered and [r.code for r in status.reasons] == ["head-open"]


def test_escpos_dle_eot_on_a_serial_line(pty_printer, plugins):
    p = pty_printer("escpos")
    p.device.set_fault("paper-out")
    status = run(serial_printer(p, plugins, "escpos-generic-80").query_status())
    assert status.answered and "paper-out" in [r.code for r in status.reasons]


# -- faults ----------------------------------------------------------------------------------------


def test_a_missing_device_is_not_found_and_retryable():
    with pytest.raises(TransportError) as e:
        run(send(SerialTransport("serial:///dev/ttyUSB97?flow=none", TIMEOUTS), b"x"))
    assert e.value.code == "serial-not-found" and e.value.retryable
    assert "unplugged" in e.value.message


def test_the_line_is_opened_exclusively(pty_printer):
    p = pty_printer()

    async def two():
        async with line(p):
            with pytest.raises(TransportError) as e:
                async with line(p):
                    pass
            return e.value

    assert run(two()).code == "serial-busy"


def test_a_printer_that_stops_taking_data_times_out_and_says_how_much_left(pty_printer):
    p = pty_printer()
    p.reading.clear()  # its buffer is full: the tty's buffers fill, then writes block
    job = b"^XA" + b"z" * 2_000_000 + b"^XZ"
    with pytest.raises(TransportError) as e:
        run(send(line(p), job))
    assert e.value.code == "write-timeout"
    assert 0 < e.value.sent < len(job) and e.value.sent % CHUNK == 0


# -- end to end ----------------------------------------------------------------------------


def test_a_label_posted_to_the_daemon_prints_on_the_serial_printer_and_scans(pty_printer,
                                                                              daemon):
    zxingcpp = pytest.importorskip("zxingcpp")
    p = pty_printer()
    client = daemon([PrinterConfig(id="till-zebra", uri=f"serial://{p.path}?flow=none",
                                   model="zebra-generic-203")])
    label = {"width_mm": 50, "height_mm": 25, "elements": [
        {"type": "barcode", "symbology": "ean13", "data": "5901234123457", "x_mm": 6,
         "y_mm": 2, "height_mm": 12, "human_readable": True}]}
    job = client.post("/v1/jobs", json={"printer": "till-zebra", "label": label}).json()
    done = wait_job(client, job["id"])
    assert done["state"] == "completed" and done["delivery"] == "confirmed"
    (printed,) = p.device.render(wait_for(lambda: p.jobs)[0])
    image = np.where(raster_to_bits(png_to_raster(printed)), 0, 255).astype(np.uint8)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["5901234123457"]
