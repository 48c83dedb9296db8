"""Raw TCP ("socket://host:port", port 9100 by default): AppSocket/JetDirect printing.

The job is the byte stream and status replies come back on the same connection; there is no
framing, so reads end when the language says the reply is whole, or at a timeout.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import socket
import struct
import termios
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from labeld.contracts import Timeouts, Transport, TransportError
from labeld.hookspecs import hookimpl

log = logging.getLogger(__name__)
DEFAULT_PORT = 9100
# Written in slices so that a slow or stalled printer is noticed within the write timeout and
# the count of bytes that left is known when a connection drops mid-job.
CHUNK = 64 * 1024
EOF_POLL_S = 0.25  # how often finish() looks whether a slow printer is still taking the job
# What a stream raises when the peer resets or the link breaks. uvloop adds RuntimeError
# ("unable to perform operation on <TCPTransport closed=True ...>; the handler is closed") for
# a write or write_eof after a reset, where asyncio's own loop raises ConnectionResetError.
LINK_ERRORS: tuple[type[Exception], ...] = (OSError, RuntimeError)


def _why(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def parse(uri: str) -> tuple[str, int]:
    parts = urlsplit(uri)
    if parts.scheme != "socket" or not parts.hostname:
        raise ValueError(f"expected socket://HOST[:PORT], got {uri!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"bad port in {uri!r}") from None
    return parts.hostname, port


class SocketTransport(Transport):
    scheme = "socket"

    def __init__(self, uri: str, timeouts: Timeouts):
        super().__init__(uri, timeouts)
        self.host, self.port = parse(uri)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.connect_ms: float | None = None
        self._cut = False  # a write failed: the printer holds part of a job

    @classmethod
    def validate_uri(cls, uri: str) -> None:
        parse(uri)

    async def open(self) -> None:
        t0 = time.perf_counter()
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeouts.connect)
        except TimeoutError:
            raise TransportError("connect-timeout",
                                 f"No answer from {self.host}:{self.port} within "
                                 f"{self.timeouts.connect:g} s.") from None
        except ConnectionRefusedError:
            raise TransportError("connection-refused",
                                 f"{self.host}:{self.port} refused the connection.") from None
        except OSError as exc:
            raise TransportError(
                "connect-failed", f"Cannot reach {self.host}:{self.port}: {exc.strerror or exc}."
            ) from None
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connect_ms = (time.perf_counter() - t0) * 1000

    async def write(self, data: bytes) -> None:
        if self._writer is None:
            raise TransportError("not-open", "write before open", retryable=True)
        sent = 0
        view = memoryview(data)
        try:
            while sent < len(data):
                chunk = view[sent:sent + CHUNK]
                self._writer.write(chunk)
                await asyncio.wait_for(self._writer.drain(), self.timeouts.write)
                sent += len(chunk)
        except TimeoutError:
            self._cut = True
            raise TransportError(
                "write-timeout",
                f"The printer stopped taking data for {self.timeouts.write:g} s "
                f"after {sent} of {len(data)} bytes.", sent=sent) from None
        except LINK_ERRORS as exc:
            self._cut = True
            raise TransportError(
                "connection-lost",
                f"The connection dropped after {sent} of {len(data)} bytes: {_why(exc)}.",
                sent=sent) from None

    async def finish(self) -> bool:
        """Half-close and wait for the printer to close its side, like CUPS' socket backend
        (waiteof): a printer that hung up early resets the connection instead, and a job the
        kernel merely buffered is not mistaken for a delivered one.

        False when the printer kept the connection open: the bytes may sit unread in its
        socket buffer (a half-open printer), so the caller must not count the job as taken."""
        if self._writer is None or self._reader is None:
            raise TransportError("not-open", "finish before open")
        try:
            if self._writer.can_write_eof():
                self._writer.write_eof()
            await asyncio.wait_for(self._writer.drain(), self.timeouts.write)
            # Like the write timeout, the wait is for a printer that stopped taking data: while
            # it still acknowledges bytes (a slow printer working through a long job), it is
            # given another write timeout.
            unacked = self._unacknowledged()
            deadline = time.monotonic() + self.timeouts.write
            while (left := deadline - time.monotonic()) > 0:
                try:
                    # Back-channel bytes (status a printer pushes by itself) are not ours to keep.
                    if not await asyncio.wait_for(self._reader.read(4096), min(left, EOF_POLL_S)):
                        return True
                except TimeoutError:
                    now_unacked = self._unacknowledged()
                    if now_unacked is not None and unacked is not None and now_unacked < unacked:
                        deadline = time.monotonic() + self.timeouts.write
                    unacked = now_unacked
        except TimeoutError:
            pass
        except LINK_ERRORS as exc:
            raise TransportError("connection-lost",
                                 "The printer dropped the connection before taking the whole job: "
                                 f"{_why(exc)}.") from None
        log.info("%s:%s did not close the connection within %g s of the job's end",
                 self.host, self.port, self.timeouts.write)
        return False

    def _unacknowledged(self) -> int | None:
        """Bytes of ours the printer's TCP stack has not acknowledged yet (Linux SIOCOUTQ), or
        None where the platform cannot tell."""
        sock = self._writer.get_extra_info("socket") if self._writer else None
        if sock is None or not hasattr(termios, "TIOCOUTQ"):
            return None
        try:
            return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]
        except (OSError, ValueError):  # ValueError: uvloop's socket after a reset has fileno -1
            return None

    async def read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        if self._reader is None:
            raise TransportError("not-open", "read before open")
        buf = b""
        deadline = time.monotonic() + timeout
        while not complete(buf):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(self._reader.read(4096), left)
            except TimeoutError:
                break
            except LINK_ERRORS:
                break
            if not chunk:
                break
            buf += chunk
        return buf

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is None:
            return
        if self._cut:
            # Part of a job is in the printer: a reset (RST), not an orderly end, so that the
            # printer drops the fragment instead of printing it as a job of its own.
            writer.transport.abort()
            return
        try:
            # Half-close first so the printer sees a clean end of job, then wait briefly for the
            # close to finish; a printer that never acknowledges must not hang the worker.
            if writer.can_write_eof():
                writer.write_eof()
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 2)
        except (TimeoutError, *LINK_ERRORS):
            writer.transport.abort()


@hookimpl
def labeld_transports() -> list[type[Transport]]:
    return [SocketTransport]
