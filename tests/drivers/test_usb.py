"""USB printers: labeld's UsbTransport, unchanged, against a pyusb backend that emulates
printer-class devices in front of labeld's simulated printers (tests/drivers/usb_printer.py).

Only the pyusb backend is emulated (what libusb would do with a real device); the transport,
the printer, the scheduler and the daemon are the real ones."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from labeld.config import Config, DeliveryConfig, PrinterConfig
from labeld.contracts import Timeouts, TransportError
from labeld.drivers.transports.usb import UsbTransport, decode_port_status, parse
from labeld.hookspecs import hookimpl
from labeld.pluginmanager import PluginManager, default_manager
from labeld.delivery.printers import build_printers
from labeld.intake.render import png_to_raster, raster_to_bits
from tests.conftest import run, wait_job
from tests.drivers.usb_printer import EmulatedBackend, UsbPrinter

ZEBRA_VID, ZEBRA_PID = 0x0A5F, 0x0027
EPSON_VID, EPSON_PID = 0x04B8, 0x0E15
TIMEOUTS = Timeouts(connect=1.0, write=0.5, read=0.5)


def emulated(*printers: UsbPrinter) -> type[UsbTransport]:
    """UsbTransport on the emulated backend, under its own scheme so that it sits beside the
    real one in the same plugin manager."""
    backend = EmulatedBackend(*printers)

    class EmulatedUsb(UsbTransport):
        scheme = "usb-emulated"

    EmulatedUsb.backend = backend
    return EmulatedUsb


def plugin_manager(transport: type[UsbTransport]) -> PluginManager:
    pm = default_manager()

    class EmulatedUsbPlugin:
        @hookimpl
        def labeld_transports(self):
            return [transport]

        @hookimpl
        def labeld_discover(self, models):
            return transport.discover(models)

    pm.register(EmulatedUsbPlugin(), "usb-emulated")
    return pm


@pytest.fixture
def zebra(plugins) -> UsbPrinter:
    return UsbPrinter(plugins.simulators()["zpl"].factory(), ZEBRA_VID, ZEBRA_PID)


@pytest.fixture
def epson(plugins) -> UsbPrinter:
    return UsbPrinter(plugins.simulators()["escpos"].factory(), EPSON_VID, EPSON_PID,
                      manufacturer="EPSON")


def transport(cls: type[UsbTransport], vid: int = ZEBRA_VID, pid: int = ZEBRA_PID,
              query: str = "") -> UsbTransport:
    return cls(f"{cls.scheme}://{vid:04x}:{pid:04x}{query}", TIMEOUTS)


async def send(t: UsbTransport, data: bytes) -> None:
    async with t:
        await t.write(data)
        await t.finish()


# -- addresses ---------------------------------------------------------------------------------


def test_usb_uris_name_vendor_product_and_optionally_serial():
    assert parse("usb://0a5f:0027") == (0x0A5F, 0x0027, None)
    assert parse("usb://0A5F:00D1?serial=ZD421-1234") == (0x0A5F, 0x00D1, "ZD421-1234")
    for bad in ("usb://0a5f", "usb://zebra:0027", "usb://0a5f:27", "socket://0a5f:0027",
                "usb://0a5f:0027?port=1", "usb://0a5f:0027/lp0"):
        with pytest.raises(ValueError):
            UsbTransport.validate_uri(bad)


def test_the_usb_transport_is_a_builtin_plugin(plugins):
    assert plugins.transports()["usb"] is UsbTransport


def test_the_real_libusb_loads_and_finds_no_such_printer_here():
    # The shipped route, no emulation: libusb from the libusb-package wheel. This machine has
    # no USB printer (and maybe no USB bus), which must read as "not connected", not a crash.
    with pytest.raises(TransportError) as e:
        run(send(UsbTransport("usb://0a5f:0027", TIMEOUTS), b"^XA^XZ"))
    assert e.value.code == "usb-not-found" and e.value.retryable


# -- printing ------------------------------------------------------------------------------------


def test_a_job_reaches_the_printer_whole_and_the_kernel_driver_comes_back(zebra):
    job = b"^XA^FO20,20^A0N,30,30^FDUSB ok^FS^XZ" * 2000  # 72 kB: several bulk transfers
    run(send(transport(emulated(zebra)), job))
    assert [j.data for j in zebra.jobs] == [job]
    # usblp was detached to claim the interface, then given /dev/usb/lpN back
    assert (zebra.detaches, zebra.attaches, zebra.kernel_driver, zebra.claimed) == (1, 1, True,
                                                                                 False)


def test_each_open_is_one_job_as_each_tcp_connection_is(zebra):
    cls = emulated(zebra)
    for n in range(3):
        run(send(transport(cls), b"^XA^FD%d^FS^XZ" % n))
    assert [j.data for j in zebra.jobs] == [b"^XA^FD%d^FS^XZ" % n for n in range(3)]


def test_the_serial_number_picks_one_of_two_identical_printers(plugins):
    a = UsbPrinter(plugins.simulators()["zpl"].factory(), ZEBRA_VID, ZEBRA_PID, serial="A-1")
    b = UsbPrinter(plugins.simulators()["zpl"].factory(), ZEBRA_VID, ZEBRA_PID, serial="B-2")
    cls = emulated(a, b)
    run(send(transport(cls, query="?serial=B-2"), b"^XA^FDfor b^FS^XZ"))
    assert (len(a.jobs), len(b.jobs)) == (0, 1)
    with pytest.raises(TransportError) as e:
        run(send(transport(cls, query="?serial=C-3"), b"^XA^XZ"))
    assert e.value.code == "usb-not-found"


# -- the back channel ----------------------------------------------------------------------------


def test_status_comes_back_on_bulk_in_and_decodes_like_tcp(zebra):
    printer = usb_printer(zebra)
    status = run(printer.query_status())
    assert status.answered and not status.reasons
    zebra.device.set_fault("paper-out")
    status = run(printer.query_status())
    assert status.answered and [r.code for r in status.reasons] == ["paper-out"]


def test_escpos_dle_eot_over_usb(epson):
    printer = usb_printer(epson, "usb-emulated://04b8:0e15", "escpos-generic-80")
    epson.device.set_fault("cover-open")
    status = run(printer.query_status())
    assert status.answered and "cover-open" in [r.code for r in status.reasons]


def test_a_print_only_interface_prints_and_reports_its_port_status(zebra):
    zebra.protocol = 1  # unidirectional: bulk OUT only, no ~HS answer possible
    printer = usb_printer(zebra)
    run(send(printer.transport(), b"^XA^FDone way^FS^XZ"))
    assert len(zebra.jobs) == 1
    healthy = run(printer.query_status())
    # nothing wrong, but nothing confirmed either: the printer did not answer in ZPL
    assert not healthy.answered and healthy.reasons == [] and not healthy.settled
    assert healthy.fields["port_status"] == "0x18"
    zebra.device.set_fault("paper-out")
    assert [r.code for r in run(printer.query_status()).reasons] == ["paper-out"]
    zebra.device.clear_faults()
    zebra.device.set_fault("paused")
    assert [r.code for r in run(printer.query_status()).reasons] == ["printer-offline"]
    assert zebra.received == len(b"^XA^FDone way^FS^XZ")  # and no ~HS was written to it


@pytest.mark.parametrize("byte, codes", [
    (0x18, []),  # selected, no error: the healthy value
    (0x38, ["paper-out"]),
    (0x30, ["paper-out"]),  # paper out pulls the error line too: one reason, the specific one
    (0x08, ["printer-offline"]),
    (0x28, ["paper-out", "printer-offline"]),
    (0x10, ["printer-error"]),  # an error the byte cannot name
])
def test_port_status_bits(byte, codes):
    report = decode_port_status(byte)
    assert [r.code for r in report.reasons] == codes and not report.answered
    assert report.reply == bytes([byte])


def test_a_vendor_class_interface_is_used_when_there_is_no_printer_class(epson):
    epson.interface_class = 0xFF
    run(send(transport(emulated(epson), EPSON_VID, EPSON_PID), b"\x1b@hello\n"))
    assert epson.jobs[0].data == b"\x1b@hello\n"


# -- faults ----------------------------------------------------------------------------------------


def test_an_unplugged_printer_is_not_found_and_retryable(zebra):
    zebra.plugged = False
    with pytest.raises(TransportError) as e:
        run(send(transport(emulated(zebra)), b"^XA^XZ"))
    assert e.value.code == "usb-not-found" and e.value.retryable
    assert "not connected" in e.value.message


def test_a_stalled_printer_times_out_with_nothing_sent(zebra):
    zebra.stalled = True
    with pytest.raises(TransportError) as e:
        run(send(transport(emulated(zebra)), b"^XA" + b"x" * 50_000 + b"^XZ"))
    assert (e.value.code, e.value.sent) == ("write-timeout", 0)
    assert not zebra.claimed  # the interface was given back all the same


def test_a_cable_pulled_mid_job_says_how_much_had_left(zebra):
    zebra.unplug_after = 20_000
    with pytest.raises(TransportError) as e:
        run(send(transport(emulated(zebra)), b"^XA" + b"x" * 50_000 + b"^XZ"))
    assert e.value.code == "usb-not-found" and e.value.sent == 16 * 1024  # whole chunks only


def test_a_printer_held_by_another_program_is_busy(zebra):
    zebra.kernel_driver = False
    zebra.claimed = True  # e.g. a vendor utility has it open
    with pytest.raises(TransportError) as e:
        run(send(transport(emulated(zebra)), b"^XA^XZ"))
    assert e.value.code == "usb-busy" and "another program" in e.value.message


def test_a_failed_claim_gives_usblp_back(zebra):
    # usblp is detached to claim the interface; when the claim then fails, /dev/usb/lp0 must
    # not stay gone for the other programs
    zebra.claimed = True  # a vendor utility got the interface in between
    with pytest.raises(TransportError) as e:
        run(send(transport(emulated(zebra)), b"^XA^XZ"))
    assert e.value.code == "usb-busy"
    assert (zebra.detaches, zebra.attaches, zebra.kernel_driver) == (1, 1, True)


def test_a_status_question_during_a_job_waits_its_turn_instead_of_failing(zebra):
    # The interface takes one claim at a time: the printer serialises its own opens, and a
    # status query while a job holds the printer reports the last answer.
    printer = usb_printer(zebra)

    async def both():
        await printer.query_status()  # a first answer to fall back on
        job = asyncio.create_task(send_through(printer, b"^XA" + b"y" * 200_000 + b"^XZ"))
        await asyncio.sleep(0)
        status = await printer.query_status()
        await job
        return status

    status = run(both())
    assert status.answered and len(zebra.jobs) == 1


async def send_through(printer, data: bytes) -> None:
    async with printer.connect() as t:
        await t.write(data)
        await t.finish()


def usb_printer(usb: UsbPrinter, uri: str = "usb-emulated://0a5f:0027",
                model: str = "zebra-generic-203"):
    cls = emulated(usb)
    config = Config(printers=[PrinterConfig(id="p", uri=uri, model=model)],
                    delivery=DeliveryConfig(connect_timeout_s=1.0, write_timeout_s=1.0,
                                            status_timeout_s=0.5))
    return build_printers(config, plugin_manager(cls))["p"]


# -- end to end ----------------------------------------------------------------------------


def test_a_label_posted_to_the_daemon_prints_on_the_usb_printer_and_scans(zebra, tmp_path,
                                                                           daemon_with):
    zxingcpp = pytest.importorskip("zxingcpp")
    client = daemon_with(emulated(zebra), [PrinterConfig(id="usb-zebra",
                                                         uri="usb-emulated://0a5f:0027",
                                                         model="zebra-generic-203")])
    label = {"width_mm": 50, "height_mm": 30, "elements": [
        {"type": "text", "x_mm": 3, "y_mm": 2, "text": "Árvíztűrő USB", "size_pt": 10},
        {"type": "barcode", "symbology": "code128", "data": "USB-0001", "x_mm": 4, "y_mm": 10,
         "height_mm": 12}]}
    job = client.post("/v1/jobs", json={"printer": "usb-zebra", "label": label}).json()
    done = wait_job(client, job["id"])
    assert done["state"] == "completed" and done["delivery"] == "confirmed"
    (printed,) = zebra.device.render(zebra.jobs[0])  # what the printer would print
    bits = raster_to_bits(png_to_raster(printed))
    image = np.where(bits, 0, 255).astype(np.uint8)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["USB-0001"]
    preview = client.get(f"/v1/jobs/{job['id']}/preview.png").content
    assert np.array_equal(raster_to_bits(png_to_raster(preview)), bits)
    status = client.get("/v1/printers/usb-zebra").json()
    assert status["state"] == "idle"


@pytest.fixture
def daemon_with(tmp_path):
    from labeld.config import ServerConfig
    from labeld.security import Role
    from labeld.server import ServerThread
    from tests.conftest import FAST_DELIVERY
    import httpx

    started = []

    def start(cls: type[UsbTransport], printers: list[PrinterConfig]) -> httpx.Client:
        config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"),
                                            log_level="warning"),
                        printers=printers, delivery=FAST_DELIVERY)
        server = ServerThread(config, plugins=plugin_manager(cls)).start()
        secret, _ = server.app.state.daemon.token_store.create_sync("usb-test", Role.ADMIN)
        client = httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {secret}"})
        started.append((server, client))
        return client

    yield start
    for server, client in started:
        client.close()
        server.stop()



# -- discovery -----------------------------------------------------------------------------


def test_discovery_lists_printers_with_their_uri_and_known_model(plugins):
    zebra = UsbPrinter(plugins.simulators()["zpl"].factory(), ZEBRA_VID, ZEBRA_PID,
                       serial="D2J/123 45")
    tsc = UsbPrinter(plugins.simulators()["tspl"].factory(), 0x1203, 0x0140, serial="T1",
                     manufacturer="TSC", interface_class=0xFF)  # vendor class, known ids
    mouse = UsbPrinter(plugins.simulators()["zpl"].factory(), 0x046D, 0xC077, serial="M",
                       manufacturer="Logitech", interface_class=0xFF)  # neither: not listed
    cls = emulated(zebra, tsc, mouse)
    found = cls.discover(list(plugins.models().values()))
    assert [(d.uri, d.model) for d in found] == [
        ("usb-emulated://0a5f:0027?serial=D2J%2F123%2045", None),  # printer class, model unknown
        ("usb-emulated://1203:0140?serial=T1", "tsc-generic-203"),
    ]
    assert found[0].description == "Zebra Technologies emulated printer"
    # the URI it proposes reaches that very printer
    run(send(cls(found[0].uri, TIMEOUTS), b"^XA^FDfound^FS^XZ"))
    assert [j.data for j in zebra.jobs] == [b"^XA^FDfound^FS^XZ"] and not tsc.jobs


def test_discovery_through_the_api_marks_what_is_configured(zebra, daemon_with):
    cls = emulated(zebra)
    client = daemon_with(cls, [PrinterConfig(id="usb-zebra", uri="usb-emulated://0a5f:0027",
                                             model="zebra-generic-203")])
    devices = client.get("/v1/discover").json()["devices"]
    assert [(d["uri"], d["configured"]) for d in devices] == [
        ("usb-emulated://0a5f:0027?serial=SIM0001", None)]  # configured without the serial


def test_a_discovery_plugin_that_fails_is_reported_and_the_others_answer(zebra):
    pm = plugin_manager(emulated(zebra))

    class Broken:
        @hookimpl
        def labeld_discover(self, models):
            raise OSError("bus on fire")

    pm.register(Broken(), "broken-discovery")
    assert [d.uri for d in pm.discover()] == ["usb-emulated://0a5f:0027?serial=SIM0001"]
    info = next(i for i in pm.infos() if i.name == "broken-discovery")
    assert "bus on fire" in info.errors[0]
