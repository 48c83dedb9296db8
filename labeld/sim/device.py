"""The device contract: what a language plugin implements to simulate its printers.

A plugin subclasses Device (its faults, job buffer and counters) and Session (the parser of one
TCP connection: status replies out, job bytes kept); the engine (labeld.sim.printer) does the
sockets, the transport faults and the control interface. A plugin hands the engine its Device
class through a SimulatorSpec (labeld_simulators hook), with `spec_faults(DeviceClass)` as the
spec's fault list.
"""

from __future__ import annotations

import abc
import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from labeld.sim.faults import GENERIC_FAULT_NAMES, FaultSpec, FaultValue, unknown_fault


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
        # `number` names the job in the control port's paths: 1 is the first job, as labeld's
        # API numbers pages from 1; `index` is its place in Simulator.jobs (from 0).
        return {"index": self.index, "number": self.index + 1, "size": len(self.data),
                "complete": self.complete,
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

    def settings(self) -> dict[str, Any]:
        """What the printer is set to or has measured (darkness, label length...) and the
        commands it acted on, reported by GET /state: what a maintenance command changes."""
        return {}

    def on_printed(self, job: SimJob) -> None:
        """A job left the buffer and was printed: advance odometers."""

    def render(self, job: SimJob) -> list[bytes] | None:
        """PNG images of what the printer would print for `job`, one per page or label (see
        labeld.sim.mono_png), served by GET /jobs/N/pages and /jobs/N/page/K.png; None if this
        device does not render."""
        return None

    # -- faults

    def fault_spec(self, name: str) -> FaultSpec | None:
        return next((f for f in self.FAULTS if f.name == name), None)

    def set_fault(self, name: str, value: object = True) -> None:
        spec = self.fault_spec(name)
        if spec is None:
            raise unknown_fault(name, (f.name for f in self.FAULTS))
        coerced = spec.coerce(value)
        if coerced is None:
            self.faults.pop(name, None)
        else:
            self.faults[name] = coerced
        self.state_changed()

    def clear_fault(self, name: str) -> None:
        if self.fault_spec(name) is None:
            raise unknown_fault(name, (f.name for f in self.FAULTS))
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


def spec_faults(device_class: type[Device]) -> tuple[str, ...]:
    """All fault names a simulator built on `device_class` accepts, for SimulatorSpec.faults:
    the engine's generic ones, then the device's own."""
    return GENERIC_FAULT_NAMES + tuple(f.name for f in device_class.FAULTS)
