"""Running the API under uvicorn: in the foreground (`labeld serve`) or in a thread (demo, tests)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import uvicorn

from labeld.api.app import create_app
from labeld.config import LOOPBACK_HOSTS, Config, check_listen
from labeld.pluginmanager import PluginManager

log = logging.getLogger("labeld")


def uvicorn_config(config: Config, listen: str | None = None,
                   plugins: PluginManager | None = None) -> uvicorn.Config:
    host, port = check_listen(config, listen)
    sec = config.security
    if host not in LOOPBACK_HOSTS and not sec.tls_cert:
        log.warning("SECURITY: labeld listens on %s WITHOUT TLS (allow_insecure_remote = true): "
                    "API tokens cross the network in clear text.", host)
    app = create_app(config, plugins)
    return uvicorn.Config(app, host=host, port=port, log_level=config.server.log_level,
                          access_log=False, lifespan="on", timeout_graceful_shutdown=5,
                          ssl_certfile=sec.tls_cert, ssl_keyfile=sec.tls_key)


def serve(config: Config, listen: str | None = None) -> None:
    uvicorn.Server(uvicorn_config(config, listen)).run()


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
