"""systemd integration: readiness, status lines and the watchdog, over the sd_notify protocol.

Under `Type=notify` systemd names a unix datagram socket in $NOTIFY_SOCKET; every message is one
datagram of newline-separated KEY=VALUE lines (READY=1, STATUS=..., WATCHDOG=1, STOPPING=1). The
protocol is this small, so it is spoken here rather than through a dependency. Outside systemd
(no $NOTIFY_SOCKET) every call is a no-op, so `labeld serve` in a terminal behaves the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from types import TracebackType

log = logging.getLogger(__name__)


def _address(value: str) -> str | None:
    """The socket address to send to, or None if this is not a unix socket we can reach."""
    if value.startswith("@"):
        return "\0" + value[1:]  # Linux abstract namespace: no file, a leading NUL byte
    if value.startswith("/"):
        return value
    # Newer systemd also offers vsock: addresses (VMs); labeld runs on the host, so it ignores them.
    log.warning("NOTIFY_SOCKET=%s is not a unix socket address; systemd will not hear from labeld",
                value)
    return None


def watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    """How often to ping the watchdog (seconds), or None if systemd does not watch us.

    Half of $WATCHDOG_USEC, as sd_watchdog_enabled(3) advises, so one late ping is not yet a
    restart. $WATCHDOG_PID, when set, names the process that is watched: a child that inherited
    the environment must stay quiet."""
    watched = environ.get("WATCHDOG_PID", "")
    if watched and watched != str(pid):
        return None
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    return int(usec) / 2_000_000


class Notifier:
    """Talks to the service manager; `with Notifier.from_environ() as n: n.ready("serving")`."""

    def __init__(self, address: str | None, watchdog_s: float | None = None) -> None:
        self.address = _address(address) if address else None
        self.watchdog_s = watchdog_s if self.address else None
        self._sock: socket.socket | None = None
        if self.address:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            # Never wait on systemd: a full queue must not stall the event loop that sends the
            # pings. A dropped datagram costs nothing; the next ping follows within half the
            # watchdog interval.
            self._sock.setblocking(False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET") or None, watchdog_interval(environ, os.getpid()))

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *assignments: str) -> bool:
        """Send KEY=VALUE lines as one message; True if it left. Failures are logged, not raised:
        losing systemd is no reason to stop printing."""
        if self._sock is None or self.address is None:
            return False
        message = "\n".join(a.replace("\n", " ") for a in assignments).encode()
        try:
            self._sock.sendto(message, self.address)
        except BlockingIOError:
            return False
        except OSError as exc:
            # Pings repeat every few seconds: a broken socket would flood the log at warning.
            level = logging.DEBUG if assignments == ("WATCHDOG=1",) else logging.WARNING
            log.log(level, "cannot notify systemd at %s: %s", self.address.replace("\0", "@"), exc)
            return False
        return True

    def status(self, text: str) -> bool:
        """The line `systemctl status labeld` shows under the unit."""
        return self.notify(f"STATUS={text}")

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}")

    def stopping(self, status: str) -> bool:
        return self.notify("STOPPING=1", f"STATUS={status}")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


async def feed_watchdog(notifier: Notifier, interval_s: float) -> None:
    """Ping the watchdog every interval_s, until cancelled.

    This is a coroutine on the serving event loop on purpose, not a thread: a thread would go on
    pinging while the loop is stuck (a blocking call in a handler, a deadlock), hiding exactly
    the hang the watchdog is there to catch. Here a blocked loop stops the pings, and systemd
    restarts labeld after WatchdogSec."""
    while True:
        notifier.ping()
        await asyncio.sleep(interval_s)
