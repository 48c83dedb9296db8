"""The part USB and serial transports share: a blocking library (pyusb, pyserial) driven from
worker threads, so the event loop never waits on a device, and a device that only one handle
may hold at a time."""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Callable
from typing import ClassVar

from labeld.contracts import Transport, TransportError


class ThreadedTransport(Transport):
    # One open at a time per printer (see Printer.connect): a claimed USB interface or an
    # exclusively opened serial port cannot be opened again until it is closed.
    exclusive: ClassVar[bool] = True
    connect_ms: float | None = None

    @property
    @abc.abstractmethod
    def label(self) -> str:
        """The device, as messages name it."""

    @property
    @abc.abstractmethod
    def is_open(self) -> bool: ...

    async def open(self) -> None:
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.to_thread(self._open), self.timeouts.connect)
        except TimeoutError:
            raise TransportError("connect-timeout", f"{self.label} did not open within "
                                 f"{self.timeouts.connect:g} s.") from None
        self.connect_ms = (time.perf_counter() - t0) * 1000

    async def write(self, data: bytes) -> None:
        self._require_open("write")
        await asyncio.to_thread(self._write, data)

    async def finish(self) -> bool:
        """A blocking write returns once the device or file has taken every byte: nothing more
        to wait for, unless the transport knows better (serial drains its UART)."""
        self._require_open("finish")
        return True

    async def read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        self._require_open("read")
        return await asyncio.to_thread(self._read_until, complete, timeout)

    async def close(self) -> None:
        if self.is_open:
            await asyncio.to_thread(self._close)

    def _require_open(self, what: str) -> None:
        if not self.is_open:
            raise TransportError("not-open", f"{what} before open")

    # -- in the worker thread

    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _write(self, data: bytes) -> None:
        """Write all of `data` or raise TransportError(sent=bytes known to have left)."""

    @abc.abstractmethod
    def _read_until(self, complete: Callable[[bytes], bool], timeout: float) -> bytes: ...

    @abc.abstractmethod
    def _close(self) -> None: ...
