"""Serial printers ("serial:///dev/ttyUSB0?baud=9600&flow=rtscts") through pyserial.

RS-232 receipt and label printers, and the many USB printers that enumerate as a virtual COM
port (CDC-ACM, /dev/ttyACM0). The line is 8N1 at `baud` (9600 by default, the usual factory
setting), with hardware (`rtscts`, the default: a printer whose buffer is full drops CTS
instead of dropping bytes), software (`xonxoff`) or no flow control (`none`).

A serial line has no connection and no end of job: "open" opens the port exclusively (so two
jobs never interleave), "finish" waits until the last byte has left the UART, and a printer
that stops taking data (paper out with hardware flow control, or no printer at all on a line
with flow control) shows as a write timeout. Replies to status queries come back on the same
line. pyserial blocks, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from labeld.contracts import Timeouts, Transport, TransportError
from labeld.drivers.transports.threaded import ThreadedTransport
from labeld.hookspecs import hookimpl

log = logging.getLogger(__name__)

DEFAULT_BAUD = 9600
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
FLOW_CONTROL = ("rtscts", "xonxoff", "none")
# Written in slices so that the bytes that left are known when the printer stops taking data.
CHUNK = 4096
# One blocking read waits at most this long, so read_until keeps to its own deadline.
READ_SLICE_S = 0.05


def parse(uri: str, scheme: str = "serial") -> tuple[str, int, str]:
    """(device path, baud rate, flow control) of a serial:// URI."""
    parts = urlsplit(uri)
    if parts.scheme != scheme or parts.netloc or not parts.path.startswith("/"):
        raise ValueError(f"expected {scheme}:///dev/NAME[?baud=N&flow=rtscts|xonxoff|none], "
                         f"got {uri!r}")
    query = parse_qs(parts.query)
    unknown = set(query) - {"baud", "flow"}
    if unknown:
        raise ValueError(f"{scheme}:// takes baud and flow, not {', '.join(sorted(unknown))}")
    try:
        baud = int(query.get("baud", [DEFAULT_BAUD])[0])
    except ValueError:
        raise ValueError(f"baud must be a number, got {query['baud'][0]!r}") from None
    if baud not in BAUD_RATES:
        raise ValueError(f"baud must be one of {', '.join(map(str, BAUD_RATES))}, got {baud}")
    flow = query.get("flow", ["rtscts"])[0]
    if flow not in FLOW_CONTROL:
        raise ValueError(f"flow must be one of {', '.join(FLOW_CONTROL)}, got {flow!r}")
    return parts.path, baud, flow


class SerialTransport(ThreadedTransport):
    scheme = "serial"  # opened exclusively: bytes of two jobs on one line would interleave

    def __init__(self, uri: str, timeouts: Timeouts):
        super().__init__(uri, timeouts)
        self.path, self.baud, self.flow = parse(uri, self.scheme)
        self._port: Any = None

    @property
    def label(self) -> str:
        return self.path

    @property
    def is_open(self) -> bool:
        return self._port is not None

    @classmethod
    def validate_uri(cls, uri: str) -> None:
        parse(uri, cls.scheme)

    def _open(self) -> None:
        import serial

        try:
            self._port = serial.Serial(
                self.path, self.baud, bytesize=serial.EIGHTBITS, parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE, rtscts=self.flow == "rtscts",
                xonxoff=self.flow == "xonxoff", timeout=READ_SLICE_S,
                write_timeout=self.timeouts.write, exclusive=True)
        except serial.SerialException as exc:
            raise _serial_error(exc, self.path) from None

    def _write(self, data: bytes) -> None:
        import serial

        sent = 0
        view = memoryview(data)
        try:
            while sent < len(data):
                chunk = view[sent:sent + CHUNK]
                self._port.write(chunk)
                sent += len(chunk)
        except serial.SerialTimeoutException:
            raise TransportError(
                "write-timeout", f"The printer stopped taking data for {self.timeouts.write:g} s "
                f"after {sent} of {len(data)} bytes (paper out, or flow control waiting for a "
                "printer that is off).", sent=sent) from None
        except serial.SerialException as exc:
            raise _serial_error(exc, self.path, sent) from None

    async def finish(self) -> bool:
        """Wait until the output buffer is empty: the job has left this machine. A serial line
        cannot tell more (the printer may still hold it in its own buffer)."""
        self._require_open("finish")
        await asyncio.to_thread(self._drain)
        return True

    def _drain(self) -> None:
        import serial

        deadline = time.monotonic() + self.timeouts.write
        try:
            while self._port.out_waiting:
                if time.monotonic() > deadline:
                    raise TransportError("write-timeout", f"{self._port.out_waiting} bytes still "
                                         f"waiting to leave {self.path} after "
                                         f"{self.timeouts.write:g} s.")
                time.sleep(0.005)
        except serial.SerialException as exc:
            raise _serial_error(exc, self.path) from None

    def _read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        import serial

        buf = b""
        deadline = time.monotonic() + timeout
        try:
            while not complete(buf) and time.monotonic() < deadline:
                buf += self._port.read(max(1, self._port.in_waiting))
        except serial.SerialException:
            pass  # the line went away: what arrived is the answer
        return buf

    def _close(self) -> None:
        port, self._port = self._port, None
        port.close()


def _serial_error(exc: Any, path: str, sent: int = 0) -> TransportError:
    """A pyserial error in words a technician can act on."""
    number = exc.errno if isinstance(exc.errno, int) else None
    text = str(exc)
    if number in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        return TransportError("serial-not-found", f"{path} does not exist: the printer's "
                              "USB-serial cable is unplugged, or the device name is wrong.",
                              sent=sent)
    if number == errno.EACCES or "Permission denied" in text:
        return TransportError("serial-permission", f"No permission to open {path}: the service "
                              "user must be in the device's group, usually dialout (the shipped "
                              "unit adds it).", sent=sent)
    if number in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "lock" in text.lower():
        return TransportError("serial-busy", f"{path} is open in another program.", sent=sent)
    return TransportError("serial-error", f"{path}: {text}.", sent=sent)


@hookimpl
def labeld_transports() -> list[type[Transport]]:
    return [SerialTransport]
