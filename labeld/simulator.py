"""The engine behind `labeld simulate`: a raw-TCP (port 9100 style) printer on loopback.

The engine knows no printer language. A language plugin supplies a `Device` (faults, job
buffer, counters) whose `Session`s turn the bytes of one connection into status replies and
print-job data. The engine supplies what every networked printer shares:

* one TCP connection = one job (the CUPS socket-backend model the daemon follows). A job is
  recorded when the connection ends; a connection that carried only status queries records
  none. If a fault that stops printing is active, the job stays buffered and prints, in order,
  once the faults clear.
* transport faults that any printer can suffer: `offline` (nothing listens), `refuse-for` N
  (nothing listens for N seconds, then it is back by itself), `drop-after` N (close the
  connection after N bytes), `reset-mid-job` N (reset it after N bytes), `reset-on-status`
  (reset a connection instead of answering its status query), `half-open` (accept, then never
  read nor close), `slow` (read at N bytes/s so the sender feels backpressure), `silent` (never
  reply), `garbage` (reply with nonsense). See GENERIC_FAULTS for the details of each.
* a count of the connections it accepted and of those that only asked for status, with their
  times, so a test can tell a poller that asks every few seconds from one that busy-loops.
* a small HTTP control interface (`GET /state`, `PUT /faults/{name}`, `GET /jobs`, ...) and
  the same operations as Python methods, plus `SimulatorThread` for synchronous callers.

A reset is a real TCP RST (SO_LINGER on with a zero timeout, then close): the sender's next
read or write fails with ECONNRESET, not with a clean end of stream. A cut connection's job is
recorded with complete=False and never prints.

`half-open` is the link whose far end vanished: the connection stays established, nobody reads
it, no FIN or RST ever comes. Its receive buffer is shrunk to a few KiB so that a large job
stalls the sender (write timeout) while a small one fits in the kernel buffers and the
sender's write succeeds although nothing took the job. Connections open when the fault is set
stop being read too. Nothing sent on them is recorded. When the fault is cleared they are
reset, like a printer that rebooted and knows nothing of them, and still record nothing.

Sockets are driven with `loop.sock_recv` rather than asyncio streams: a stream transport
reads eagerly into its own buffer, which would hide the `slow` and `half-open` backpressure.
"""

from __future__ import annotations

import abc
import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import signal
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from labeld.contracts import SimulatorSpec
from labeld.errors import Invalid, LabeldError, NotFound

log = logging.getLogger("labeld.simulator")

FaultValue = bool | int
T = TypeVar("T")

GARBAGE_REPLY = b"\xff\x00garbage"
# Small enough that a stalled reader pushes back on a sender within a few KiB (Linux doubles
# it and keeps a floor), so `slow` and `half-open` are felt as backpressure, not absorbed.
SMALL_RECEIVE_BUFFER = 4096
WINDOW_FAULTS = ("slow", "half-open")  # the faults that listen with SMALL_RECEIVE_BUFFER
# Connection times kept for rate questions: enough for minutes of polling at a sane rate, and
# a busy-polling client overflows it, which is an answer in itself.
RECENT_CONNECTIONS = 1000


# --------------------------------------------------------------------------------------------
# Faults


@dataclass(frozen=True)
class FaultSpec:
    """One injectable fault. A `flag` is on or off; a `count` carries a number >= minimum."""

    name: str
    description: str
    kind: Literal["flag", "count"] = "flag"
    minimum: int = 0
    stops_printing: bool = False

    def coerce(self, value: object) -> FaultValue | None:
        """The value to store, None for "clear it", or Invalid if `value` does not fit."""
        if self.kind == "flag":
            # 0/1 are accepted because `curl -d '{"value": 1}'` is a natural thing to type.
            if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
                return True if value else None
            raise Invalid("bad-fault-value", f"Fault {self.name!r} is on or off, not {value!r}.",
                          'Send {"value": true} or {"value": false}, or no body at all.')
        if isinstance(value, bool) or not isinstance(value, int):
            raise Invalid("bad-fault-value", f"Fault {self.name!r} needs a whole number.",
                          f'Send {{"value": N}} with N >= {self.minimum}.')
        if value < self.minimum:
            raise Invalid("bad-fault-value",
                          f"Fault {self.name!r} needs a number >= {self.minimum}, not {value}.",
                          f'Send {{"value": N}} with N >= {self.minimum}.')
        return value


GENERIC_FAULTS: tuple[FaultSpec, ...] = (
    FaultSpec("offline", "stop listening: connections are refused until cleared"),
    FaultSpec("refuse-for", "stop listening for N seconds, then listen again by itself "
              "(a printer switched off for a while)", "count", 1),
    FaultSpec("drop-after", "close each connection after it has delivered N bytes", "count", 0),
    FaultSpec("reset-mid-job", "reset (TCP RST) each connection after it has delivered N bytes; "
              "the partial job is recorded incomplete and never prints", "count", 0),
    FaultSpec("reset-on-status", "reset (TCP RST) a connection when it asks for status, instead "
              "of answering; job data it carried is recorded incomplete"),
    FaultSpec("half-open", "accept connections but never read or close them; nothing sent on "
              "them is recorded; clearing the fault resets them"),
    FaultSpec("slow", "read each connection at N bytes per second", "count", 1),
    FaultSpec("silent", "never answer status queries"),
    FaultSpec("garbage", "answer status queries with bytes no printer would send"),
)
GENERIC_FAULT_NAMES: tuple[str, ...] = tuple(f.name for f in GENERIC_FAULTS)


def spec_faults(device_class: type[Device]) -> tuple[str, ...]:
    """All fault names a simulator built on `device_class` accepts, for SimulatorSpec.faults."""
    return GENERIC_FAULT_NAMES + tuple(f.name for f in device_class.FAULTS)


def _unknown_fault(name: str, known: Iterable[str]) -> NotFound:
    return NotFound("unknown-fault", f"This simulator has no fault named {name!r}.",
                    f"Available: {', '.join(known)}.")


# --------------------------------------------------------------------------------------------
# Device and session: the part a language plugin writes


@dataclass
class SimJob:
    """The non-query bytes of one TCP connection, as the printer received them."""

    index: int
    data: bytes
    complete: bool  # False: the simulator cut the connection short (drop-after, a reset, stop)
    printed: bool
    canceled: bool
    received_at: float  # time.time() when the connection ended
    connection: int

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "size": len(self.data), "complete": self.complete,
                "printed": self.printed, "canceled": self.canceled,
                "received_at": self.received_at, "connection": self.connection,
                "data_b64": base64.b64encode(self.data).decode("ascii")}


class Session(abc.ABC):
    """The parser for one TCP connection. Must be incremental: a command may be split across
    any two reads."""

    @abc.abstractmethod
    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        """Consume received bytes; return (reply to send now, bytes that belong to the job)."""

    def finish(self) -> bytes:
        """The connection ended: return held-back bytes that turned out to be job data."""
        return b""

    def is_job(self, data: bytes) -> bool:
        """Whether the connection's job data amounts to a print job at all."""
        return bool(data)

    def state_changed(self) -> bytes:
        """The device state changed: return unsolicited bytes to send (ESC/POS ASB)."""
        return b""


class Device(abc.ABC):
    """The language-specific printer: faults, the job buffer and counters.

    Subclasses declare FAULTS and implement new_session(); they may override on_printed()
    to keep odometers. All methods run on the simulator's event loop thread.
    """

    FAULTS: ClassVar[tuple[FaultSpec, ...]] = ()

    def __init__(self) -> None:
        self.faults: dict[str, FaultValue] = {}
        self.jobs: list[SimJob] = []
        self._listeners: list[Callable[[], None]] = []

    @abc.abstractmethod
    def new_session(self) -> Session: ...

    def counters(self) -> dict[str, int]:
        """Odometers and the like, reported by GET /state."""
        return {"jobs_printed": sum(1 for j in self.jobs if j.printed)}

    def on_printed(self, job: SimJob) -> None:
        """A job left the buffer and was printed: advance odometers."""

    def render(self, job: SimJob) -> list[bytes] | None:
        """PNG images of what the printer would print for `job`, one per page or label (see
        mono_png), served by GET /jobs/N/pages and /jobs/N/page/K.png; None if this device
        does not render."""
        return None

    # -- faults

    def fault_spec(self, name: str) -> FaultSpec | None:
        return next((f for f in self.FAULTS if f.name == name), None)

    def set_fault(self, name: str, value: object = True) -> None:
        spec = self.fault_spec(name)
        if spec is None:
            raise _unknown_fault(name, (f.name for f in self.FAULTS))
        coerced = spec.coerce(value)
        if coerced is None:
            self.faults.pop(name, None)
        else:
            self.faults[name] = coerced
        self.state_changed()

    def clear_fault(self, name: str) -> None:
        if self.fault_spec(name) is None:
            raise _unknown_fault(name, (f.name for f in self.FAULTS))
        self.faults.pop(name, None)
        self.state_changed()

    def clear_faults(self) -> None:
        self.faults.clear()
        self.state_changed()

    def has(self, name: str) -> bool:
        return name in self.faults

    @property
    def stopped(self) -> bool:
        """True while a fault that stops printing is active: jobs wait in the buffer."""
        return any(spec.stops_printing and spec.name in self.faults for spec in self.FAULTS)

    # -- jobs

    @property
    def buffered(self) -> list[SimJob]:
        return [j for j in self.jobs if j.complete and not j.printed and not j.canceled]

    def record(self, data: bytes, complete: bool, connection: int) -> SimJob:
        job = SimJob(index=len(self.jobs), data=data, complete=complete, printed=False,
                     canceled=False, received_at=time.time(), connection=connection)
        # Connections are numbered in accept order. A sender that closes one connection and
        # opens the next at once can see the second one's end handled first; the job still
        # belongs after the earlier one, as with a printer that serves connections in turn.
        position = len(self.jobs)
        while position and self.jobs[position - 1].connection > connection:
            position -= 1
        self.jobs.insert(position, job)
        for index in range(position, len(self.jobs)):
            self.jobs[index].index = index
        self.state_changed()
        return job

    def cancel_buffered(self) -> int:
        """Drop every job still waiting in the buffer (ZPL ~JA, ESC/POS buffer clears)."""
        waiting = self.buffered
        for job in waiting:
            job.canceled = True
        if waiting:
            self.state_changed()
        return len(waiting)

    def clear_jobs(self) -> None:
        self.jobs.clear()
        self.state_changed()

    def state_changed(self) -> None:
        """Call after any change of faults or jobs: prints what can be printed, then tells the
        engine (which wakes waiters and lets sessions send unsolicited status)."""
        self._release()
        for listener in list(self._listeners):
            listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def _release(self) -> None:
        if self.stopped:
            return
        # Incomplete jobs never print: a dropped connection leaves no whole format to print.
        for job in self.buffered:
            job.printed = True
            self.on_printed(job)


def mono_png(width: int, height: int, rows: bytes) -> bytes:
    """A 1-bit greyscale PNG of packed rows (ceil(width / 8) bytes each, MSB = left-most dot,
    1 = black, as printers take them). PNG's 1-bit greyscale has 1 = white, so bytes are
    inverted; padding bits past `width` are ignored by PNG readers."""
    row_bytes = (width + 7) // 8
    if width <= 0 or height <= 0 or len(rows) != row_bytes * height:
        raise ValueError(f"{width}x{height} needs {row_bytes * height} bytes, got {len(rows)}")
    inverted = rows.translate(_PNG_INVERT)
    raw = b"".join(b"\x00" + inverted[i:i + row_bytes]  # filter type 0 on every row
                   for i in range(0, len(inverted), row_bytes))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


_PNG_INVERT = bytes(255 - b for b in range(256))


# --------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Connection:
    id: int
    sock: socket.socket
    session: Session
    accepted_at: float  # time.time()
    write_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The pending read, so that `half-open` can stop it without ending the connection.
    reading: asyncio.Task[bytes] | None = None
    held: bool = False  # half-open: never read again, never recorded


@dataclass
class ConnectionLog:
    """The connections a simulator accepted, and which of them only asked for status.

    A status connection carried at least one query the device answered (or would have: `silent`
    and `reset-on-status` still count) and no job data. It is counted when it ends, with the
    time it was accepted. Times are time.time() values; only the last RECENT_CONNECTIONS of
    each kind are kept, so `*_since` answers saturate there.
    """

    total: int = 0
    status: int = 0
    accepted_times: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_CONNECTIONS))
    status_times: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_CONNECTIONS))

    def accepted(self, at: float) -> None:
        self.total += 1
        self.accepted_times.append(at)

    def status_only(self, accepted_at: float) -> None:
        self.status += 1
        self.status_times.append(accepted_at)

    def since(self, t: float) -> int:
        return sum(1 for at in self.accepted_times if at >= t)

    def status_since(self, t: float) -> int:
        return sum(1 for at in self.status_times if at >= t)


class Simulator:
    """A simulated printer on loopback: a raw TCP port plus a control HTTP port.

    `await start()` binds both (port 0 = any free port; read `.port` / `.control_port`
    afterwards) and `await stop()` closes everything. Every method must be called on the
    loop the simulator was started on; other threads use SimulatorThread.
    """

    def __init__(self, spec: SimulatorSpec, *, host: str = "127.0.0.1", port: int = 0,
                 control_port: int = 0, options: Mapping[str, Any] | None = None):
        self.spec = spec
        self.name = spec.name
        self.language = spec.language
        self.host = host
        self.port = port
        self.control_port = control_port
        self.device: Device = spec.factory(**dict(options or {}))
        self.device.add_listener(self._on_device_change)
        self._faults: dict[str, FaultValue] = {}  # the generic, transport-level ones
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._control: asyncio.Server | None = None
        self._connections: dict[int, _Connection] = {}
        self.connection_log = ConnectionLog()
        self._refusal: asyncio.Task[None] | None = None  # ends `refuse-for`
        self._tasks: set[asyncio.Task[Any]] = set()
        self._next_connection = 1
        self._tick = asyncio.Event()
        self._closing = False

    # -- lifecycle

    async def start(self) -> None:
        await self._listen()
        self._control = await asyncio.start_server(self._serve_http, self.host,
                                                   self.control_port)
        self.control_port = self._control.sockets[0].getsockname()[1]
        log.debug("simulator %s listening on %s:%d, control on %d", self.name, self.host,
                 self.port, self.control_port)

    async def stop(self) -> None:
        self._closing = True
        self._stop_listening()
        if self._control is not None:
            self._control.close()
            self._control = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _listen(self) -> None:
        infos = await asyncio.get_running_loop().getaddrinfo(self.host, self.port,
                                                             type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            # Coming back from `offline` must get the same port even with TIME_WAIT leftovers.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if any(f in self._faults for f in WINDOW_FAULTS):
                # Set before the handshake, where the window is agreed: set on an accepted
                # socket it comes too late, and the sender's first ~100 KiB are acknowledged at
                # once, so a slow printer looks as if it had taken the job already.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
            sock.bind(address)
            sock.listen(16)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._listener = sock
        self.port = sock.getsockname()[1]
        self._accept_task = self._spawn(self._accept_loop(sock))

    async def _relisten(self) -> None:
        """Listen anew, so that connections from now on get the receive window the faults ask
        for (the operating system's own, tuned as it likes, once they are cleared)."""
        if self._listener is not None and not self._closing:
            self._stop_listening()
            await self._listen()

    def _stop_listening(self) -> None:
        if self._accept_task is not None:
            self._accept_task.cancel()
            self._accept_task = None
        if self._listener is not None:
            # Unregister before closing: the cancelled accept would otherwise unregister its
            # file descriptor later, when the number may already belong to a new listener.
            asyncio.get_running_loop().remove_reader(self._listener.fileno())
            self._listener.close()
            self._listener = None

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- faults

    @property
    def available_faults(self) -> tuple[str, ...]:
        return GENERIC_FAULT_NAMES + tuple(f.name for f in self.device.FAULTS)

    @property
    def faults(self) -> dict[str, FaultValue]:
        return {**self._faults, **self.device.faults}

    async def set_fault(self, name: str, value: object = True) -> None:
        """Activate a fault (value False/0 for a flag clears it). Raises NotFound/Invalid."""
        generic = next((f for f in GENERIC_FAULTS if f.name == name), None)
        if generic is None:
            if self.device.fault_spec(name) is None:
                raise _unknown_fault(name, self.available_faults)
            self.device.set_fault(name, value)
            return
        coerced = generic.coerce(value)
        if coerced is None:
            await self.clear_fault(name)
            return
        self._faults[name] = coerced
        if name in ("offline", "refuse-for"):
            # Connections already open are left alone: `offline` is "nobody answers the door".
            self._stop_listening()
        if name == "refuse-for":
            # Setting it again restarts the clock, as switching a printer off again would.
            self._cancel_refusal()
            self._refusal = self._spawn(self._end_refusal(int(coerced)))
        if name == "half-open":
            for conn in self._connections.values():
                if conn.reading is not None:
                    conn.reading.cancel()  # the bytes stay in the kernel, unread
        if name in WINDOW_FAULTS:
            await self._relisten()
        self._on_device_change()

    async def clear_fault(self, name: str) -> None:
        if name not in GENERIC_FAULT_NAMES:
            if self.device.fault_spec(name) is None:
                raise _unknown_fault(name, self.available_faults)
            self.device.clear_fault(name)
            return
        self._faults.pop(name, None)
        if name == "refuse-for":
            self._cancel_refusal()
        if name in WINDOW_FAULTS:
            await self._relisten()
        if (self._listener is None and not self._closing
                and not any(f in self._faults for f in ("offline", "refuse-for"))):
            await self._listen()
        self._on_device_change()

    def _cancel_refusal(self) -> None:
        refusal, self._refusal = self._refusal, None
        if refusal is not None and refusal is not asyncio.current_task():
            refusal.cancel()

    async def _end_refusal(self, seconds: int) -> None:
        await asyncio.sleep(seconds)
        self._refusal = None
        try:
            await self.clear_fault("refuse-for")
        except OSError as exc:
            # The port was taken while nobody listened: say so rather than die silently.
            log.warning("simulator %s: cannot listen again on port %d: %s", self.name,
                        self.port, exc)

    async def clear_faults(self) -> None:
        for name in list(self._faults):
            await self.clear_fault(name)
        self.device.clear_faults()

    # -- jobs

    @property
    def jobs(self) -> list[SimJob]:
        return self.device.jobs

    def clear_jobs(self) -> None:
        self.device.clear_jobs()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until `predicate()` holds; it is re-checked after every state change."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"simulator {self.name}: condition not met in {timeout} s")
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining)

    async def wait_jobs(self, n: int, timeout: float = 5.0) -> list[SimJob]:
        """Wait until at least `n` jobs are recorded; return them all."""
        try:
            await self.wait_until(lambda: len(self.jobs) >= n, timeout)
        except TimeoutError:
            raise TimeoutError(f"simulator {self.name}: {len(self.jobs)} of {n} jobs arrived "
                               f"within {timeout} s") from None
        return list(self.jobs)

    def state(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "port": self.port,
                "control_port": self.control_port, "faults": self.faults,
                "available_faults": list(self.available_faults), "jobs": len(self.jobs),
                "buffered": len(self.device.buffered), "counters": self.device.counters(),
                **self.connection_counts()}

    # -- connections

    def connection_counts(self) -> dict[str, int]:
        """`connections`: accepted since start; `status_connections`: those that only asked
        for status (see ConnectionLog); `open_connections`: open now, of which
        `held_connections` are held by `half-open`."""
        return {"connections": self.connection_log.total,
                "status_connections": self.connection_log.status,
                "open_connections": len(self._connections),
                "held_connections": sum(1 for c in self._connections.values() if c.held)}

    def connections_since(self, t: float) -> int:
        """Connections accepted at or after time.time() value `t` (at most RECENT_CONNECTIONS)."""
        return self.connection_log.since(t)

    def status_connections_since(self, t: float) -> int:
        """Status-only connections accepted at or after `t` (at most RECENT_CONNECTIONS)."""
        return self.connection_log.status_since(t)

    def _wake(self) -> None:
        """Let wait_until re-check its condition (connection counts changed, for one)."""
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    def _on_device_change(self) -> None:
        self._wake()
        if self._closing:
            return
        for conn in list(self._connections.values()):
            unsolicited = conn.session.state_changed()
            if unsolicited:
                self._spawn(self._reply(conn, unsolicited))

    # -- the printer port

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listener)
            except OSError as exc:
                log.warning("simulator %s: accept failed: %s", self.name, exc)
                await asyncio.sleep(0.05)
                continue
            now = time.time()
            conn = _Connection(self._next_connection, sock, self.device.new_session(), now)
            self._next_connection += 1
            self.connection_log.accepted(now)
            self._spawn(self._serve(conn))
            self._wake()

    def _read_size(self, received: int) -> tuple[int, int | None, bool]:
        """How many bytes to ask for next (0: cut the connection now), the slow rate if reading
        is throttled, and whether that cut, when it comes, is a reset rather than a close."""
        size = 65536
        rate = self._faults.get("slow")
        if rate is not None:
            # Small reads keep the rate smooth: ~20 reads a second, at most 1 KiB each.
            size = max(1, min(1024, int(rate) // 20))
        reset = False
        for name in ("drop-after", "reset-mid-job"):
            limit = self._faults.get(name)
            if limit is not None and int(limit) - received <= size:
                # With both set, the nearer cut wins; at a tie the reset, the harsher of the two.
                size = max(int(limit) - received, 0)
                reset = name == "reset-mid-job"
        return size, None if rate is None else int(rate), reset

    async def _recv(self, conn: _Connection, size: int) -> bytes | None:
        """One read; None if `half-open` stopped it. Raises OSError if the peer reset."""
        reading = asyncio.ensure_future(asyncio.get_running_loop().sock_recv(conn.sock, size))
        conn.reading = reading
        try:
            # wait() rather than await: cancelling `reading` alone must not end this task.
            await asyncio.wait({reading})
        finally:
            conn.reading = None
            reading.cancel()  # a no-op once done; needed when this task itself is cancelled
        return None if reading.cancelled() else reading.result()

    async def _hold(self, conn: _Connection) -> None:
        """`half-open`: keep the connection established and unread until the fault clears."""
        conn.held = True
        with contextlib.suppress(OSError):
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
        self._wake()  # held_connections changed
        while "half-open" in self._faults:
            tick = self._tick
            await tick.wait()

    async def _serve(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        self._connections[conn.id] = conn
        if "slow" in self._faults or "half-open" in self._faults:
            # A small receive window passes the throttled rate back to the sender sooner. The
            # sender's own send buffer (megabytes on Linux loopback) still fills first.
            with contextlib.suppress(OSError):
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_RECEIVE_BUFFER)
        data = bytearray()
        received = 0
        complete = True
        reset = False  # end with an RST rather than a FIN
        queried = False  # the session answered (or would have answered) a query
        try:
            while True:
                if "half-open" in self._faults:
                    await self._hold(conn)
                    reset = True  # the "rebooted" printer knows nothing of this connection
                    break
                size, rate, cut_with_reset = self._read_size(received)
                if size == 0:
                    complete = False  # drop-after / reset-mid-job reached: cut the sender off
                    reset = cut_with_reset
                    break
                try:
                    chunk = await self._recv(conn, size)
                except OSError:
                    # Reset by the peer. Not "incomplete": a sender that closes without
                    # reading a reply to an embedded query causes a reset after a whole job.
                    break
                if chunk is None:
                    continue  # stopped by `half-open`: the loop's first test holds it
                if not chunk:
                    break
                received += len(chunk)
                try:
                    reply, job_data = conn.session.feed(chunk)
                except Exception:
                    # A device bug must not take the simulator down with it; the log says why
                    # the connection ended early.
                    log.exception("simulator %s: session failed", self.name)
                    complete = False
                    break
                data += job_data
                if reply:
                    queried = True
                    if "reset-on-status" in self._faults:
                        complete, reset = False, True
                        break
                    await self._reply(conn, reply)
                if rate:
                    await asyncio.sleep(len(chunk) / rate)
        except asyncio.CancelledError:
            complete = False
            raise
        finally:
            del self._connections[conn.id]
            data += conn.session.finish()
            # As for the listener: a cancelled recv must not unregister a reused descriptor.
            loop.remove_reader(conn.sock.fileno())
            loop.remove_writer(conn.sock.fileno())
            if reset:
                # Linger on with a zero timeout: close() discards what is unsent and sends RST.
                with contextlib.suppress(OSError):
                    conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                         struct.pack("ii", 1, 0))
            with contextlib.suppress(OSError):
                conn.sock.close()
            job = bytes(data)
            if not conn.held:  # a half-open connection records nothing: nobody read it
                if conn.session.is_job(job):
                    self.device.record(job, complete, conn.id)
                elif queried:
                    self.connection_log.status_only(conn.accepted_at)
            self._wake()  # open_connections changed

    async def _reply(self, conn: _Connection, reply: bytes) -> None:
        if "silent" in self._faults:
            return
        if "garbage" in self._faults:
            reply = GARBAGE_REPLY
        async with conn.write_lock:
            with contextlib.suppress(OSError):
                await asyncio.get_running_loop().sock_sendall(conn.sock, reply)

    # -- the control port: a deliberately tiny HTTP/1.1 server (one request per connection)

    async def _serve_http(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        try:
            status, body, content_type = await self._http_exchange(reader)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            writer.close()
            return
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        writer.close()

    async def _http_exchange(self, reader: asyncio.StreamReader) -> tuple[int, bytes, str]:
        request_line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readuntil(b"\r\n")).decode("latin-1").strip()
            if not line:
                break
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        parts = request_line.split()
        if len(parts) != 3:
            return _json_error(Invalid("bad-request", "Malformed HTTP request line."))
        method, target, _ = parts
        length = int(headers.get("content-length", "0") or 0)
        if length > 1 << 20:
            return _json_error(Invalid("body-too-large", "Request body over 1 MiB."))
        body = await reader.readexactly(length) if length else b""
        path = unquote(urlsplit(target).path).rstrip("/") or "/"
        try:
            return await self._route(method.upper(), path, body)
        except LabeldError as exc:
            return _json_error(exc)

    async def _route(self, method: str, path: str, body: bytes) -> tuple[int, bytes, str]:
        parts = path.strip("/").split("/")
        match method, parts:
            case "GET", ["state"]:
                return _json(self.state())
            case "PUT", ["faults", name]:
                await self.set_fault(name, _fault_value(body))
                return _json(self.state())
            case "DELETE", ["faults", name]:
                await self.clear_fault(name)
                return _json(self.state())
            case "DELETE", ["faults"]:
                await self.clear_faults()
                return _json(self.state())
            case "GET", ["jobs"]:
                return _json([job.as_json() for job in self.jobs])
            case "DELETE", ["jobs"]:
                self.clear_jobs()
                return _json(self.state())
            case "GET", ["jobs", index]:
                return _json(self._job(index).as_json())
            case "GET", ["jobs", index, "data"]:
                return 200, self._job(index).data, "application/octet-stream"
            case "GET", ["jobs", index, "pages"]:
                count = len(self._pages(index))
                return _json({"index": int(index), "pages": count})
            case "GET", ["jobs", index, "page", name] if name.endswith(".png"):
                return 200, self._page(index, name.removesuffix(".png")), "image/png"
        known = {("state",), ("faults",), ("jobs",)}
        if tuple(parts[:1]) in known:
            raise LabeldError("method-not-allowed", f"{method} is not supported on {path}.",
                              "See GET /state, PUT|DELETE /faults/NAME, GET|DELETE /jobs.",
                              status=405)
        raise NotFound("not-found", f"No such resource: {path}.",
                       "Try GET /state, PUT|DELETE /faults/NAME, GET /jobs, "
                       "GET /jobs/N/data, GET /jobs/N/pages, GET /jobs/N/page/K.png, "
                       "DELETE /jobs.")

    def _job(self, index: str) -> SimJob:
        if index.isdigit() and int(index) < len(self.jobs):
            return self.jobs[int(index)]
        raise NotFound("unknown-job", f"No job with index {index!r}.",
                       f"Indexes run from 0 to {len(self.jobs) - 1}." if self.jobs
                       else "No job has arrived yet.")

    def _pages(self, index: str) -> list[bytes]:
        job = self._job(index)
        try:
            pages = self.device.render(job)
        except Exception:
            # As for sessions: a device bug must not take the control interface down.
            log.exception("simulator %s: rendering job %s failed", self.name, index)
            raise LabeldError("render-failed", f"Rendering job {index} failed.",
                              "The simulator's log has the details.", status=500) from None
        if pages is None:
            raise NotFound("no-rendering", f"The {self.name} simulator does not render jobs.",
                           "Use GET /jobs/N/data for the bytes it received.")
        return pages

    def _page(self, index: str, number: str) -> bytes:
        pages = self._pages(index)
        if number.isdigit() and int(number) < len(pages):
            return pages[int(number)]
        raise NotFound("unknown-page", f"Job {index} has no page {number!r}.",
                       f"Pages run from 0 to {len(pages) - 1}." if pages
                       else "Nothing in this job was rendered (rasters only).")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            422: "Unprocessable Entity", 500: "Internal Server Error"}


def _json(value: Any, status: int = 200) -> tuple[int, bytes, str]:
    return status, json.dumps(value).encode("utf-8"), "application/json"


def _json_error(exc: LabeldError) -> tuple[int, bytes, str]:
    return _json({"error": exc.as_dict()}, exc.status)


def _fault_value(body: bytes) -> object:
    if not body.strip():
        return True
    try:
        payload = json.loads(body)
    except ValueError:
        raise Invalid("invalid-json", "The request body is not JSON.",
                      'Send {"value": true} or {"value": N}, or no body.') from None
    if not isinstance(payload, dict) or set(payload) - {"value"}:
        raise Invalid("invalid-body", 'The body must be an object with one key, "value".',
                      'Send {"value": true} or {"value": N}, or no body.')
    return payload.get("value", True)


# --------------------------------------------------------------------------------------------
# Synchronous wrapper and the CLI entry point


class SimulatorThread:
    """A Simulator running in its own event loop on a daemon thread.

    For synchronous code (pytest fixtures, `labeld demo`): `with SimulatorThread(spec) as sim:`
    returns once both ports listen. Every method is thread-safe: it runs the operation on the
    simulator's loop and waits for it.
    """

    def __init__(self, spec: SimulatorSpec, *, host: str = "127.0.0.1", port: int = 0,
                 control_port: int = 0, options: Mapping[str, Any] | None = None):
        self.spec = spec
        self._host, self._port, self._control_port = host, port, control_port
        self._options = dict(options or {})
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sim: Simulator | None = None

    @property
    def simulator(self) -> Simulator:
        if self._sim is None:
            raise RuntimeError("simulator not started")
        return self._sim

    @property
    def port(self) -> int:
        return self.simulator.port

    @property
    def control_port(self) -> int:
        return self.simulator.control_port

    @property
    def control_url(self) -> str:
        return f"http://{_url_host(self.simulator.host)}:{self.control_port}"

    def start(self) -> SimulatorThread:
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._sim = Simulator(self.spec, host=self._host, port=self._port,
                                      control_port=self._control_port, options=self._options)
                loop.run_until_complete(self._sim.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name=f"simulator-{self.spec.name}",
                                        daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        self._loop = loop
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        with contextlib.suppress(Exception):
            self._run(self.simulator.stop(), timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = None

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("simulator not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _call(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return self._run(call())

    def set_fault(self, name: str, value: object = True) -> None:
        self._run(self.simulator.set_fault(name, value))

    def clear_fault(self, name: str) -> None:
        self._run(self.simulator.clear_fault(name))

    def clear_faults(self) -> None:
        self._run(self.simulator.clear_faults())

    def faults(self) -> dict[str, FaultValue]:
        return self._call(lambda: self.simulator.faults)

    def state(self) -> dict[str, Any]:
        return self._call(self.simulator.state)

    def connection_counts(self) -> dict[str, int]:
        """connections, status_connections, open_connections, held_connections (see
        Simulator.connection_counts)."""
        return self._call(self.simulator.connection_counts)

    def connections_since(self, t: float) -> int:
        """Connections accepted at or after time.time() value `t`."""
        return self._call(lambda: self.simulator.connections_since(t))

    def status_connections_since(self, t: float) -> int:
        """Connections accepted at or after time.time() value `t` that only asked for status:
        divide by the seconds since `t` for a polling rate."""
        return self._call(lambda: self.simulator.status_connections_since(t))

    def jobs(self) -> list[SimJob]:
        """A snapshot: later changes to the simulator do not show in the returned objects."""
        return self._call(lambda: [dataclasses.replace(j) for j in self.simulator.jobs])

    def clear_jobs(self) -> None:
        self._call(self.simulator.clear_jobs)

    def wait_jobs(self, n: int, timeout: float = 5.0) -> list[SimJob]:
        self._run(self.simulator.wait_jobs(n, timeout), timeout=timeout + 5)
        return self.jobs()

    def wait_until(self, predicate: Callable[[Simulator], bool], timeout: float = 5.0) -> None:
        """Wait until predicate(simulator) holds; it runs on the simulator's thread."""
        sim = self.simulator
        self._run(sim.wait_until(lambda: predicate(sim), timeout), timeout=timeout + 5)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def run(spec: SimulatorSpec, host: str, port: int, control_port: int,
        options: dict[str, Any]) -> None:
    """`labeld simulate NAME`: run until Ctrl-C or SIGTERM."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, done.set)
        async with Simulator(spec, host=host, port=port, control_port=control_port,
                             options=options) as sim:
            where = _url_host(host)
            print(f"labeld simulate {spec.name}: {spec.language} printer on {where}:{sim.port}; "
                  f"control interface at http://{where}:{sim.control_port}/state "
                  f"(faults: {', '.join(sim.available_faults)})", flush=True)
            await done.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
