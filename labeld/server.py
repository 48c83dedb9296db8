"""Running the API under uvicorn: in the foreground (`labeld serve`) or in a thread (demo,
tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time

import uvicorn

from labeld.http.app import create_app
from labeld.config import LOOPBACK_HOSTS, Config, check_listen
from labeld.i18n import N_
from labeld.pluginmanager import PluginManager
from labeld.service import Notifier, feed_watchdog

log = logging.getLogger("labeld")


def uvicorn_config(config: Config, listen: str | None = None,
                   plugins: PluginManager | None = None) -> uvicorn.Config:
    host, port = check_listen(config, listen)
    sec = config.security
    if host not in LOOPBACK_HOSTS and not sec.tls_cert:
        log.warning(N_("SECURITY: labeld listens on {host} WITHOUT TLS (allow_insecure_remote = "
                       "true): API tokens cross the network in clear text.", host=host))
    app = create_app(config, plugins)
    # log_config=None: uvicorn installs no handler and no format of its own; its lines reach the
    # root logger, where labeld.logs.setup_logging gives them labeld's format.
    return uvicorn.Config(app, host=host, port=port, log_level=config.server.log_level,
                          log_config=None, access_log=False, lifespan="on",
                          timeout_graceful_shutdown=5,
                          ssl_certfile=sec.tls_cert, ssl_keyfile=sec.tls_key)


class NotifyingServer(uvicorn.Server):
    """uvicorn's server, telling systemd what it does (see labeld.service): READY=1 once startup
    is complete, STOPPING=1 when shutdown begins, WATCHDOG=1 from its own event loop."""

    def __init__(self, config: uvicorn.Config, notifier: Notifier, printers: int) -> None:
        super().__init__(config)
        self.notifier = notifier
        self.printers = printers

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        # Started before startup, so a startup that hangs the loop is caught too.
        feeder = (asyncio.create_task(feed_watchdog(self.notifier, self.notifier.watchdog_s),
                                      name="labeld-watchdog")
                  if self.notifier.watchdog_s else None)
        try:
            await super().serve(sockets)
        finally:
            if not self.started:
                self.notifier.status("failed to start; the log says why")
            # Fed until shutdown is over: finishing a send may take a while, and systemd
            # watches that too.
            if feeder is not None:
                feeder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeder

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.status("starting: opening the spool")
        # uvicorn's startup runs the app lifespan (spool open, scheduler running) and then binds
        # the sockets: when it returns with started set, the API answers.
        await super().startup(sockets)
        if self.started:
            self.notifier.ready(self._serving())

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.notifier.stopping("stopping: finishing requests and jobs in flight")
        await super().shutdown(sockets)

    def _serving(self) -> str:
        """e.g. "serving on 127.0.0.1:8631, 3 printers": the address really bound (port 0
        becomes a number)."""
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        scheme = "https://" if self.config.ssl else ""
        return (f"serving on {scheme}{where}, {self.printers} "
                f"printer{'' if self.printers == 1 else 's'}")


def serve(config: Config, listen: str | None = None) -> None:
    """Run the daemon in the foreground until SIGTERM or SIGINT; under systemd, notify it."""
    with Notifier.from_environ() as notifier:
        NotifyingServer(uvicorn_config(config, listen), notifier, len(config.printers)).run()


class ServerThread:
    """The daemon in a background thread on a real socket; `with ServerThread(cfg) as s: s.url`."""

    def __init__(self, config: Config, listen: str = "127.0.0.1:0",
                 plugins: PluginManager | None = None):
        self.server = uvicorn.Server(uvicorn_config(config, listen, plugins))
        self.server.install_signal_handlers = lambda: None  # signals belong to the main thread
        self.thread = threading.Thread(target=self._run, name="labeld-server", daemon=True)
        self.url = ""

    @property
    def app(self):
        return self.server.config.app

    def _run(self) -> None:
        # The event loop `labeld serve` gets (uvicorn picks uvloop where it is installed): faults
        # look different on it (a write after a reset raises RuntimeError under uvloop), so the
        # tests must meet them on the same loop.
        with asyncio.Runner(loop_factory=self.server.config.get_loop_factory()) as runner:
            runner.run(self.server.serve())

    def start(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("labeld server did not start")
            time.sleep(0.01)
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
