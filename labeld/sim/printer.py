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
* a small HTTP control interface (`GET /state`, `PUT /faults/{name}`, `GET /jobs`, ...; see
  labeld.sim.control) and the same operations as Python methods, plus `SimulatorThread`
  (labeld.sim.thread) for synchronous callers.

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

import asyncio
import contextlib
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labeld.contracts import SimulatorSpec
from labeld.sim.control import ControlServer
from labeld.sim.device import Device, Session, SimJob
from labeld.sim.faults import GENERIC_FAULT_NAMES, GENERIC_FAULTS, FaultValue, unknown_fault

log = logging.getLogger("labeld.sim")

GARBAGE_REPLY = b"\xff\x00garbage"
# Small enough that a stalled reader pushes back on a sender within a few KiB (Linux doubles
# it and keeps a floor), so `slow` and `half-open` are felt as backpressure, not absorbed.
SMALL_RECEIVE_BUFFER = 4096
WINDOW_FAULTS = ("slow", "half-open")  # the faults that listen with SMALL_RECEIVE_BUFFER
# Connection times kept for rate questions: enough for minutes of polling at a sane rate, and
# a busy-polling client overflows it, which is an answer in itself.
RECENT_CONNECTIONS = 1000


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
        device = spec.factory(**dict(options or {}))
        if not isinstance(device, Device):  # the contract's protocol names only a plugin's part
            raise TypeError(f"simulator {spec.name!r}: its factory made a "
                            f"{type(device).__name__}, not a labeld.sim.Device")
        self.device: Device = device
        self.device.add_listener(self._on_device_change)
        self._faults: dict[str, FaultValue] = {}  # the generic, transport-level ones
        self._listener: socket.socket | None = None
        self._accept_task: asyncio.Task[None] | None = None
        self._control = ControlServer(self)
        self._connections: dict[int, _Connection] = {}
        self.connection_log = ConnectionLog()
        self._refusal: asyncio.Task[None] | None = None  # ends `refuse-for`
        self._reserved: socket.socket | None = None  # the port, kept while nobody listens
        self._tasks: set[asyncio.Task[Any]] = set()
        self._next_connection = 1
        self._tick = asyncio.Event()
        self._closing = False

    # -- lifecycle

    async def start(self) -> None:
        await self._listen()
        try:
            self.control_port = await self._control.start(self.host, self.control_port)
        except BaseException:
            await self.stop()  # a simulator that failed to start holds no port and no task
            raise
        log.debug("simulator %s listening on %s:%d, control on %d", self.name, self.host,
                 self.port, self.control_port)

    async def stop(self) -> None:
        self._closing = True
        self._stop_listening()
        self._release_port()
        await self._control.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _reserve_port(self) -> None:
        """Keep the port while nobody listens: a socket bound to it without listening, so a
        connection is still refused (the kernel answers RST) but no other program, such as
        another simulator asking the system for a free port, can take the port meanwhile and
        answer in this printer's name. Bound without SO_REUSEADDR, so a free-port search skips
        it; `_listen` lets it go first."""
        if self._reserved is not None or self._closing:
            return
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET,
                             socket.SOCK_STREAM)
        try:
            sock.bind((self.host, self.port))
        except OSError:  # TIME_WAIT leftovers of the listener: nothing to keep, no harm
            sock.close()
            return
        self._reserved = sock

    def _release_port(self) -> None:
        reserved, self._reserved = self._reserved, None
        if reserved is not None:
            reserved.close()

    async def _listen(self) -> None:
        self._release_port()
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
                raise unknown_fault(name, self.available_faults)
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
            self._reserve_port()
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
                raise unknown_fault(name, self.available_faults)
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
                "settings": self.device.settings(),
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


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

