"""SimulatorThread: a Simulator on its own event loop and daemon thread, for synchronous
callers (pytest fixtures, `labeld demo`, the benches)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from labeld.contracts import SimulatorSpec
from labeld.sim.device import SimJob
from labeld.sim.faults import FaultValue
from labeld.sim.printer import Simulator, url_host

T = TypeVar("T")


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
        return f"http://{url_host(self.simulator.host)}:{self.control_port}"

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
