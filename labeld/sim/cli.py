"""`labeld simulate NAME`: run one simulated printer in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from labeld.contracts import SimulatorSpec
from labeld.sim.printer import Simulator, url_host


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
            where = url_host(host)
            print(f"labeld simulate {spec.name}: {spec.language} printer on {where}:{sim.port}; "
                  f"control interface at http://{where}:{sim.control_port}/state "
                  f"(faults: {', '.join(sim.available_faults)})", flush=True)
            await done.wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
