"""Shared fixtures: simulated printers on free loopback ports and a real labeld server.

Nothing here patches labeld: the daemon runs under uvicorn on a real socket, the spool is a real
SQLite file, and printers are the simulators that `labeld simulate` ships.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from labeld.config import Config, DeliveryConfig, PrinterConfig, ServerConfig, SupportConfig
from labeld.pluginmanager import PluginManager, default_manager
from labeld.security import Role
from labeld.server import ServerThread
from labeld.sim import SimulatorThread
from labeld.store import Database

# Fast retries keep fault tests short; the production defaults are in examples/labeld.toml.
# The suite reads English words (CLI output, messages) unless a test asks for Hungarian: a
# developer's machine with LANG=hu_HU must not change what the tests see.
os.environ["LABELD_LANG"] = "en"

FAST_DELIVERY = DeliveryConfig(max_attempts=4, backoff_initial_s=0.05, backoff_max_s=0.2,
                               connect_timeout_s=1.0, write_timeout_s=1.0, status_timeout_s=1.0)
# A printer that is down long enough for a test to look at its waiting job: retried, never aborted.
PATIENT_DELIVERY = FAST_DELIVERY.model_copy(update={"max_attempts": 1000})


@pytest.fixture(scope="session")
def plugins() -> PluginManager:
    return default_manager()


@pytest.fixture
def simulator(plugins) -> Iterator[Callable[[str], SimulatorThread]]:
    """simulator("zpl") starts a simulated printer on a free port; stopped after the test."""
    started: list[SimulatorThread] = []

    def start(name: str) -> SimulatorThread:
        sim = SimulatorThread(plugins.simulators()[name])
        sim.__enter__()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.__exit__(None, None, None)


def printer(pid: str, sim: SimulatorThread | int, model: str, **extra) -> PrinterConfig:
    port = sim if isinstance(sim, int) else sim.port
    return PrinterConfig(id=pid, uri=f"socket://127.0.0.1:{port}", model=model, **extra)


@pytest.fixture
def daemon(tmp_path, plugins) -> Iterator[Callable[..., httpx.Client]]:
    """daemon(printers, delivery=..., support=..., **server options) starts labeld on a free
    port; returns an httpx client."""
    servers: list[ServerThread] = []
    clients: list[httpx.Client] = []

    def start(printers: list[PrinterConfig], delivery: DeliveryConfig = FAST_DELIVERY,
              spool: Path | None = None, support: SupportConfig | None = None,
              **server: object) -> httpx.Client:
        config = Config(server=ServerConfig(spool=str(spool or tmp_path / "spool.db"),
                                            log_level="warning", **server),
                        delivery=delivery, printers=printers, support=support or SupportConfig())
        server = ServerThread(config, plugins=plugins).start()
        servers.append(server)
        # Tests act as an administrator unless they ask for another role (see token()).
        secret, _ = server.app.state.daemon.token_store.create_sync("test-admin", Role.ADMIN)
        client = httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {secret}"})
        client.server = server
        clients.append(client)
        return client

    yield start
    for c in clients:
        c.close()
    for s in servers:
        s.stop()


@pytest.fixture
def zebra(simulator) -> SimulatorThread:
    return simulator("zpl")


@pytest.fixture
def till(simulator) -> SimulatorThread:
    return simulator("escpos")


@pytest.fixture
def client(daemon, zebra, till) -> httpx.Client:
    """A daemon with a Zebra label printer `shelf` and a receipt printer `till`, as admin."""
    return daemon([printer("shelf", zebra, "zebra-generic-203"),
                   printer("till", till, "escpos-generic-80")])


def token(client: httpx.Client, role: str, name: str | None = None) -> str:
    """A new token of `role` on the daemon behind `client`."""
    secret, _ = client.server.app.state.daemon.token_store.create_sync(
        name or f"test-{role}-{time.time_ns()}", Role(role))
    return secret


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    """The store's real SQLite file in the test's folder, open; rooms built on it (JobQueue,
    TokenStore...) register their tables at once."""
    d = Database(tmp_path / "spool.db")
    d.open()
    yield d
    d.close()


def run(coro):
    return asyncio.run(coro)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_exactly(sock: socket.socket, n: int, timeout: float = 2.0) -> bytes:
    """Up to n bytes: fewer only if the peer closes first."""
    sock.settimeout(timeout)
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def ask(port: int, query: bytes, reply_size: int) -> bytes:
    """One query on its own connection, as a status poller sends it."""
    with connect(port) as sock:
        sock.sendall(query)
        return read_exactly(sock, reply_size)


def send_job(port: int, data: bytes) -> None:
    """One job, one connection, as labeld sends it."""
    with connect(port) as sock:
        sock.sendall(data)


def send_and_read(port: int, data: bytes) -> bytes:
    """One job, as a raw-TCP (port 9100) client sends it: connect, write it all, half-close so
    the printer sees the end of the job; everything the printer answered until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        reply = bytearray()
        while chunk := sock.recv(4096):
            reply += chunk
    return bytes(reply)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02):
    """Poll until predicate() is truthy; return its value or fail with a clear message."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)


def wait_job(client: httpx.Client, job_id: str, states=("completed", "aborted", "canceled"),
             timeout: float = 10.0) -> dict:
    return wait_for(lambda: (j := client.get(f"/v1/jobs/{job_id}").json())["state"] in states and j,
                    timeout)


class DaemonProcess:
    """`labeld serve` as a separate OS process, for crash and CLI tests. An admin token is made
    first with `labeld token create`, as an operator would; `.client` carries it."""

    def __init__(self, config_file: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        made = subprocess.run(
            [sys.executable, "-m", "labeld", "token", "create", "--config", str(config_file),
             "--name", f"test-{self.port}", "--role", "admin"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})
        if made.returncode != 0:
            raise RuntimeError(f"labeld token create failed:\n{made.stderr}")
        self.token = made.stdout.strip()
        self.client = httpx.Client(base_url=self.url, timeout=10,
                                   headers={"Authorization": f"Bearer {self.token}"})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "labeld", "serve", "--config", str(config_file),
             "--listen", f"127.0.0.1:{self.port}"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out = self.proc.stdout.read() if self.proc.stdout else ""
                raise RuntimeError(f"labeld serve did not start:\n{out}")
            time.sleep(0.05)

    def kill(self) -> None:
        self.proc.kill()  # SIGKILL: no shutdown code runs, like a power cut for the process
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


ROLES = ("pos", "staff", "tech", "admin")


@contextmanager
def shop_of_every_role(spool_dir: Path, plugins: PluginManager
                       ) -> Iterator[tuple[httpx.Client, dict[str, str], str, SimulatorThread]]:
    """One daemon for a module's role tables (starting one per case would dominate the suite's
    time): a Zebra `shelf`, an admin client, a token of each role and a finished job of the
    admin's (so a pos token's own-jobs rule refuses it)."""
    with SimulatorThread(plugins.simulators()["zpl"]) as zebra:
        config = Config(server=ServerConfig(spool=str(spool_dir / "spool.db")),
                        delivery=FAST_DELIVERY, printers=[printer("shelf", zebra,
                                                                  "zebra-generic-203")])
        with ServerThread(config, plugins=plugins) as server:
            secret, _ = server.app.state.daemon.token_store.create_sync("matrix-admin",
                                                                        Role.ADMIN)
            admin = httpx.Client(base_url=server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {secret}"})
            admin.server = server
            job = admin.post("/v1/jobs", json={"printer": "shelf", "raw": {
                "data": "^XA^FO20,20^A0N,30,30^FDok^FS^XZ"}}).json()["id"]
            wait_job(admin, job)
            tokens = {role: token(admin, role) for role in ROLES}
            try:
                yield admin, tokens, job, zebra
            finally:
                admin.close()
