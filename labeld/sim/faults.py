"""Faults a simulated printer can be told to suffer.

GENERIC_FAULTS are the transport faults every networked printer can suffer, handled by the
engine (labeld.sim.printer); a language plugin's Device declares its own (paper out, head open,
...) in Device.FAULTS. Both are set and cleared by name, through the control interface or the
Python methods, and checked with FaultSpec.coerce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from labeld.errors import Invalid, NotFound

FaultValue = bool | int


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


def unknown_fault(name: str, known: Iterable[str]) -> NotFound:
    return NotFound("unknown-fault", f"This simulator has no fault named {name!r}.",
                    f"Available: {', '.join(known)}.")

