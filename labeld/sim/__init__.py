"""The simulator engine behind `labeld simulate`: simulated raw-TCP printers on loopback.

The engine knows no printer language; a language plugin supplies a Device and its Sessions
and gets the sockets, the transport faults, the connection log and the control interface:

* `faults.py`: FaultSpec and the generic transport faults (GENERIC_FAULTS);
* `device.py`: the device contract a plugin implements (Device, Session, SimJob) and
  spec_faults, a device's fault names for its SimulatorSpec;
* `png.py`: mono_png, the simulator's own 1-bit PNG writer for print-outs;
* `printer.py`: Simulator, the TCP printer engine, with its ConnectionLog;
* `control.py`: the control port, a Starlette app served by uvicorn on the simulator's loop;
* `thread.py`: SimulatorThread, a Simulator on its own thread for synchronous code;
* `cli.py`: run, the `labeld simulate NAME` entry point.
"""

from labeld.sim.cli import run
from labeld.sim.device import Device, Session, SimJob, spec_faults
from labeld.sim.faults import GENERIC_FAULT_NAMES, GENERIC_FAULTS, FaultSpec, FaultValue
from labeld.sim.png import mono_png
from labeld.sim.printer import (GARBAGE_REPLY, RECENT_CONNECTIONS, SMALL_RECEIVE_BUFFER,
                                WINDOW_FAULTS, ConnectionLog, Simulator)
from labeld.sim.thread import SimulatorThread

__all__ = [
    "GARBAGE_REPLY", "GENERIC_FAULTS", "GENERIC_FAULT_NAMES", "RECENT_CONNECTIONS",
    "SMALL_RECEIVE_BUFFER", "WINDOW_FAULTS",
    "ConnectionLog", "Device", "FaultSpec", "FaultValue", "Session", "SimJob", "Simulator",
    "SimulatorThread",
    "mono_png", "run", "spec_faults",
]
