"""The old import path of the simulator engine, now the package labeld.sim.

Kept so that third-party language plugins written against `from labeld.simulator import Device,
Session, ...` keep working; new code imports from labeld.sim. Nothing is defined here.
"""

from labeld.sim import (GARBAGE_REPLY, GENERIC_FAULT_NAMES, GENERIC_FAULTS, RECENT_CONNECTIONS,
                        SMALL_RECEIVE_BUFFER, WINDOW_FAULTS, ConnectionLog, Device, FaultSpec,
                        FaultValue, Session, SimJob, Simulator, SimulatorThread, mono_png, run,
                        spec_faults)

__all__ = [
    "GARBAGE_REPLY", "GENERIC_FAULTS", "GENERIC_FAULT_NAMES", "RECENT_CONNECTIONS",
    "SMALL_RECEIVE_BUFFER", "WINDOW_FAULTS",
    "ConnectionLog", "Device", "FaultSpec", "FaultValue", "Session", "SimJob", "Simulator",
    "SimulatorThread",
    "mono_png", "run", "spec_faults",
]
