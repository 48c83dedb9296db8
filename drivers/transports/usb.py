"""USB printers ("usb://VID:PID", "usb://VID:PID?serial=SN") through pyusb and libusb.

A USB printer exposes a printer-class interface (class 7, subclass 1): protocol 1 has one bulk
OUT endpoint (print only), protocol 2 a bulk IN endpoint too, on which a Zebra answers `~HS`
and an ESC/POS printer answers `DLE EOT` exactly as on TCP. Some receipt printers use a
vendor-class interface (0xFF) with the same bulk pair instead. Endpoints are read from the
interface's descriptors, never assumed.

A print-only interface cannot answer in the printer's language; its GET_PORT_STATUS byte
(paper empty, selected, error) is read instead (`line_status`), so paper out and offline still
show, though such a printer can never confirm a job.

Unlike TCP there is no connection: "open" finds the device, detaches the kernel's usblp driver
if it holds the interface, and claims it; "close" gives it back (and re-attaches usblp, so
/dev/usb/lpN comes back for other programs). The interface is exclusive, so a printer's
opens are serialised by the Printer (`exclusive` below). pyusb blocks, so every call runs in
a worker thread and the event loop never waits on USB.

The pyusb backend is libusb from the `libusb-package` wheel (a fresh machine has no libusb),
else the system's. A subclass may set `backend` to any pyusb backend object: the tests use one
that emulates a printer-class device in front of labeld's own printer simulators.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote, urlsplit

from labeld.contracts import (FoundDevice, Model, Reason, Severity, StatusReport, Timeouts,
                              Transport, TransportError)
from labeld.drivers.transports.threaded import ThreadedTransport
from labeld.hookspecs import hookimpl

log = logging.getLogger(__name__)

PRINTER_CLASS, VENDOR_CLASS = 7, 0xFF
# Written in slices so that a stalled printer is noticed within the write timeout and the count
# of bytes that left is known when it is unplugged mid-job.
CHUNK = 16 * 1024
# A bulk IN read waits at most this long at a time, so read_until keeps to its own deadline.
READ_SLICE_MS = 100

_ID = re.compile(r"^[0-9A-Fa-f]{4}$")

# GET_PORT_STATUS (printer class request 1): a Centronics-style byte (reference 5.1).
GET_PORT_STATUS = 1
PAPER_EMPTY, SELECTED, NOT_ERROR = 0x20, 0x10, 0x08
PAPER_OUT = Reason("media-empty", "paper-out", Severity.ERROR)
NOT_SELECTED = Reason("offline-report", "printer-offline", Severity.ERROR)
PORT_ERROR = Reason("other", "printer-error", Severity.ERROR)


def decode_port_status(byte: int) -> StatusReport:
    """The port status byte as reasons. Not an answer from the printer in its own language, so
    `answered` stays False and nothing is confirmed by it; but paper out and offline show."""
    reasons = []
    if byte & PAPER_EMPTY:
        reasons.append(PAPER_OUT)
    if not byte & SELECTED:
        reasons.append(NOT_SELECTED)
    if not byte & NOT_ERROR and not reasons:  # the error line also covers the two above
        reasons.append(PORT_ERROR)
    return StatusReport(answered=False, reasons=reasons, reply=bytes([byte]), fields={
        "port_status": f"0x{byte:02x}", "paper_empty": bool(byte & PAPER_EMPTY),
        "selected": bool(byte & SELECTED), "error": not byte & NOT_ERROR})


def parse(uri: str, scheme: str = "usb") -> tuple[int, int, str | None]:
    """(vendor id, product id, serial number or None) of a usb:// URI."""
    parts = urlsplit(uri)
    ids = parts.netloc.split(":")
    if parts.scheme != scheme or len(ids) != 2 or not all(_ID.match(i) for i in ids):
        raise ValueError(f"expected {scheme}://VID:PID with 4 hex digits each (e.g. "
                         f"{scheme}://0a5f:0027), got {uri!r}")
    query = parse_qs(parts.query)
    unknown = set(query) - {"serial"}
    if unknown or parts.path not in ("", "/"):
        raise ValueError(f"{scheme}:// takes only ?serial=SN, got {uri!r}")
    serial = query.get("serial", [None])[0]
    return int(ids[0], 16), int(ids[1], 16), serial


class UsbTransport(ThreadedTransport):
    scheme = "usb"
    # A pyusb backend object; None = libusb (see the module docstring).
    backend: ClassVar[Any] = None

    def __init__(self, uri: str, timeouts: Timeouts):
        super().__init__(uri, timeouts)
        self.vid, self.pid, self.serial = parse(uri, self.scheme)
        self.name = f"USB {self.vid:04x}:{self.pid:04x}" + (f" ({self.serial})" if self.serial
                                                            else "")
        self._dev: Any = None
        self._interface: int | None = None
        self._out: Any = None
        self._in: Any = None
        self._detached = False

    @property
    def label(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self._dev is not None

    @classmethod
    def validate_uri(cls, uri: str) -> None:
        parse(uri, cls.scheme)

    @classmethod
    def usb_backend(cls) -> Any:
        if cls.backend is not None:
            return cls.backend
        import usb.backend.libusb1

        try:
            import libusb_package
        except ImportError:  # the system's libusb, if there is one
            return usb.backend.libusb1.get_backend()
        return usb.backend.libusb1.get_backend(find_library=libusb_package.find_library)

    @classmethod
    def discover(cls, models: Sequence[Model]) -> list[FoundDevice]:
        """USB printers connected now: devices with a printer-class interface, and devices
        whose ids a known model declares (vendor-class receipt printers). Blocking."""
        import usb.core

        backend = cls.usb_backend()
        if backend is None:
            return []
        known = {ids: m.id for m in models for ids in m.usb_ids}
        found = []
        for dev in usb.core.find(find_all=True, backend=backend):
            ids = (dev.idVendor, dev.idProduct)
            try:
                printer_class = any(i.bInterfaceClass == PRINTER_CLASS for c in dev for i in c)
            except usb.core.USBError:
                printer_class = False
            if not printer_class and ids not in known:
                continue
            maker, product, serial = (_string(dev, i) for i in (dev.iManufacturer, dev.iProduct,
                                                               dev.iSerialNumber))
            uri = f"{cls.scheme}://{ids[0]:04x}:{ids[1]:04x}"
            if serial:
                uri += f"?serial={quote(serial, safe='')}"
            found.append(FoundDevice(
                uri, " ".join(x for x in (maker, product) if x) or f"USB {ids[0]:04x}:{ids[1]:04x}",
                known.get(ids), {"vendor_id": f"{ids[0]:04x}", "product_id": f"{ids[1]:04x}",
                                 "serial": serial, "printer_class": printer_class}))
        return found

    # -- in the worker thread (see ThreadedTransport) ----------------------------------------

    def _open(self) -> None:
        import usb.core
        import usb.util

        backend = self.usb_backend()
        if backend is None:
            raise TransportError("usb-unavailable", "No USB library (libusb) was found.",
                                 retryable=False)
        try:
            dev = self._find(backend)
        except usb.core.USBError as exc:
            raise _usb_error(exc, f"Cannot look for {self.name}") from None
        number = None
        try:
            try:
                config = dev.get_active_configuration()
            except usb.core.USBError:  # not configured yet (no kernel driver took it)
                dev.set_configuration()
                config = dev.get_active_configuration()
            interface = _printer_interface(config)
            if interface is None:
                raise TransportError("usb-not-a-printer", f"{self.name} has no printer-class "
                                     "interface with a bulk OUT endpoint.", retryable=False)
            number = interface.bInterfaceNumber
            try:
                if dev.is_kernel_driver_active(number):
                    dev.detach_kernel_driver(number)
                    self._detached = True
            except NotImplementedError:  # platforms without kernel drivers to detach
                pass
            usb.util.claim_interface(dev, number)
        except (usb.core.USBError, TransportError) as exc:
            # whatever was taken before the failure goes back: usblp, the handle
            self._give_back(dev, number, claimed=False)
            if isinstance(exc, TransportError):
                raise
            raise _usb_error(exc, f"Cannot open {self.name}") from None
        self._dev, self._interface = dev, number
        self._out = _endpoint(interface, usb.util.ENDPOINT_OUT)
        # protocol 1 is print-only: no back channel even if an IN endpoint is listed
        self._in = (None if interface.bInterfaceProtocol == 1
                    and interface.bInterfaceClass == PRINTER_CLASS
                    else _endpoint(interface, usb.util.ENDPOINT_IN))

    def _find(self, backend: Any) -> Any:
        import usb.core

        for dev in usb.core.find(find_all=True, idVendor=self.vid, idProduct=self.pid,
                                 backend=backend):
            # a device whose serial cannot be read (no permission, none) is not the one asked for
            if self.serial is None or _string(dev, dev.iSerialNumber) == self.serial:
                return dev
        raise TransportError("usb-not-found", f"{self.name} is not connected (or is switched "
                             "off).")

    def _close(self) -> None:
        dev, self._dev = self._dev, None
        self._give_back(dev, self._interface, claimed=True)

    def _give_back(self, dev: Any, number: int | None, claimed: bool) -> None:
        """Release the interface, re-attach usblp if we detached it, close the handle."""
        import usb.core
        import usb.util

        try:
            if claimed and number is not None:
                usb.util.release_interface(dev, number)
            if self._detached and number is not None:
                dev.attach_kernel_driver(number)
                self._detached = False
        except (usb.core.USBError, NotImplementedError) as exc:
            log.info("%s: giving the interface back: %s", self.name, exc)
        finally:
            usb.util.dispose_resources(dev)

    def _write(self, data: bytes) -> None:
        # A bulk transfer completes only once the device has taken every byte: a written job
        # is a taken job, so finish() has nothing to wait for.
        import usb.core

        sent = 0
        timeout_ms = max(1, round(self.timeouts.write * 1000))
        view = memoryview(data)
        try:
            while sent < len(data):
                sent += self._out.write(view[sent:sent + CHUNK], timeout=timeout_ms)
        except usb.core.USBTimeoutError:
            raise TransportError(
                "write-timeout", f"The printer stopped taking data for {self.timeouts.write:g} s "
                f"after {sent} of {len(data)} bytes.", sent=sent) from None
        except usb.core.USBError as exc:
            raise _usb_error(exc, f"{self.name} failed after {sent} of {len(data)} bytes",
                             sent=sent) from None

    @property
    def can_answer(self) -> bool:
        return self._in is not None  # protocol 1 (print only) has no bulk IN

    async def line_status(self) -> StatusReport | None:
        """A print-only interface cannot answer `~HS` or `DLE EOT`; its port status byte still
        tells paper out, offline and error, as usblp and CUPS read it."""
        self._require_open("line status")
        return await asyncio.to_thread(self._port_status)

    def _port_status(self) -> StatusReport:
        import usb.core

        try:
            reply = self._dev.ctrl_transfer(0xA1, GET_PORT_STATUS, 0, self._interface, 1,
                                            timeout=max(1, round(self.timeouts.read * 1000)))
        except usb.core.USBError as exc:
            log.info("%s: GET_PORT_STATUS failed: %s", self.name, exc)
            return StatusReport(answered=False)
        if len(reply) != 1:
            return StatusReport(answered=False)
        return decode_port_status(reply[0])

    def _read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        import usb.core

        if self._in is None:
            return b""  # a print-only interface: the printer cannot answer
        buf = b""
        deadline = time.monotonic() + timeout
        size = max(64, self._in.wMaxPacketSize)
        while not complete(buf):
            left_ms = round((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                break
            try:
                buf += bytes(self._in.read(size, timeout=min(left_ms, READ_SLICE_MS)))
            except usb.core.USBTimeoutError:
                continue  # nothing yet; printers often answer a moment after the query
            except usb.core.USBError:
                break
        return buf


def _string(dev: Any, index: int) -> str | None:
    """A string descriptor, or None where the device has none or will not say (no permission
    to open it, as for a printer whose udev rule is missing)."""
    import usb.core
    import usb.util

    if not index:
        return None
    try:
        return usb.util.get_string(dev, index)
    except (usb.core.USBError, ValueError, NotImplementedError):
        return None


def _printer_interface(config: Any) -> Any:
    """The interface to print on: printer class, bidirectional (protocol 2) before print-only
    (1), as CUPS chooses; else a vendor-class interface with a bulk OUT endpoint."""
    import usb.util

    candidates = []
    for interface in config:
        if _endpoint(interface, usb.util.ENDPOINT_OUT) is None:
            continue
        if interface.bInterfaceClass == PRINTER_CLASS and interface.bInterfaceProtocol in (1, 2):
            candidates.append((0, -interface.bInterfaceProtocol, interface))
        elif interface.bInterfaceClass == VENDOR_CLASS:
            candidates.append((1, 0, interface))
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[:2])[2]


def _endpoint(interface: Any, direction: int) -> Any:
    import usb.util

    return usb.util.find_descriptor(
        interface, custom_match=lambda e: (
            usb.util.endpoint_direction(e.bEndpointAddress) == direction
            and usb.util.endpoint_type(e.bmAttributes) == usb.util.ENDPOINT_TYPE_BULK))


def _usb_error(exc: Any, what: str, sent: int = 0) -> TransportError:
    """A pyusb error in words a technician can act on."""
    if exc.errno == errno.EACCES:
        return TransportError("usb-permission", f"{what}: no permission. Install labeld's udev "
                              "rules (systemd/70-labeld-printers.rules) and add the service user "
                              "to the lp group.", sent=sent)
    if exc.errno == errno.EBUSY:
        return TransportError("usb-busy", f"{what}: another program holds the printer.",
                              sent=sent)
    if exc.errno in (errno.ENODEV, errno.ENOENT):
        return TransportError("usb-not-found", f"{what}: the printer was unplugged or switched "
                              "off.", sent=sent)
    return TransportError("usb-error", f"{what}: {exc.strerror or exc}.", sent=sent)


@hookimpl
def labeld_transports() -> list[type[Transport]]:
    return [UsbTransport]


@hookimpl
def labeld_discover(models: list[Model]) -> list[FoundDevice]:
    try:
        return UsbTransport.discover(models)
    except Exception as exc:  # noqa: BLE001 - libusb present, the bus unreadable: say why
        log.warning("USB discovery failed: %s", exc)
        return []
