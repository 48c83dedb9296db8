"""The systemd unit and udev rules ship what the README promises, and `labeld serve` speaks
sd_notify (READY, STATUS, WATCHDOG, STOPPING) to a real socket, as systemd would hear it."""

import asyncio
import configparser
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from labeld.service import Notifier, feed_watchdog, watchdog_interval
from tests.conftest import free_port

ROOT = Path(__file__).parent.parent


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read(ROOT / "systemd" / "labeld.service")
    return parser


def test_the_unit_runs_the_daemon_as_a_dedicated_user_and_restarts_it():
    service = unit()["Service"]
    assert service["ExecStart"].endswith("labeld serve --config /etc/labeld/labeld.toml")
    assert service["Restart"] == "on-failure"
    assert service["User"] == "labeld" and service["StateDirectory"] == "labeld"
    sysusers = (ROOT / "systemd" / "labeld.sysusers").read_text()
    assert "u labeld" in sysusers


def test_the_unit_is_hardened():
    service = unit()["Service"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "DevicePolicy": "closed"}.items():
        assert service[key] == value, key


def test_udev_rules_give_printer_devices_to_labelds_group():
    rules = (ROOT / "systemd" / "70-labeld-printers.rules").read_text()
    assert 'GROUP="lp"' in rules and "0701" in rules
    unit = (ROOT / "systemd" / "labeld.service").read_text()
    assert "SupplementaryGroups=lp dialout" in unit  # USB printers; serial ones (ttyUSB, ttyACM)
    assert "DeviceAllow=char-ttyUSB rw" in unit and "DeviceAllow=char-ttyACM rw" in unit


def test_the_unit_waits_for_readiness_and_watches_the_daemon():
    service = unit()["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    # Restart=on-failure also restarts after a watchdog timeout.
    assert int(service["WatchdogSec"]) >= 10 and service["Restart"] == "on-failure"
    assert "AF_UNIX" in service["RestrictAddressFamilies"]  # the notify socket


# --- sd_notify, spoken to a real socket as systemd would listen on it ---------------------------

WATCHDOG_USEC = 400_000  # the daemon pings every 0.2 s


class NotifySocket:
    """The service manager's side: a unix datagram socket; each datagram is one message."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def until(self, line: str, timeout: float = 30) -> list[str]:
        """Messages up to and including the first that holds `line`."""
        deadline = time.monotonic() + timeout
        got: list[str] = []
        while not got or line not in got[-1].splitlines():
            left = deadline - time.monotonic()
            message = self.receive(left) if left > 0 else None
            if message is None:
                pytest.fail(f"no {line} within {timeout} s; got {got}")
            got.append(message)
        return got

    def during(self, seconds: float) -> list[tuple[float, str]]:
        """Every message that arrives in the next `seconds`, with its arrival time."""
        deadline = time.monotonic() + seconds
        got = []
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is not None:
                got.append((time.monotonic(), message))
        return got

    def drain(self) -> None:
        while self.receive(0.01) is not None:
            pass

    def close(self) -> None:
        self.sock.close()


def pings(messages: list[tuple[float, str]]) -> list[float]:
    return [t for t, m in messages if m == "WATCHDOG=1"]


@pytest.fixture
def notified(tmp_path, zebra):
    """`labeld serve` (a real process, one printer) under NOTIFY_SOCKET and WATCHDOG_USEC."""
    address = str(tmp_path / "notify.sock")
    listener = NotifySocket(address)
    config = tmp_path / "labeld.toml"
    config.write_text(f"""
[server]
spool = "{tmp_path / 'spool.db'}"

[[printers]]
id = "shelf"
uri = "socket://127.0.0.1:{zebra.port}"
model = "zebra-generic-203"
""")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "WATCHDOG_PID"}
    env.update(NOTIFY_SOCKET=address, WATCHDOG_USEC=str(WATCHDOG_USEC))
    with open(tmp_path / "labeld.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "labeld", "serve", "--config", str(config),
                                 "--listen", f"127.0.0.1:{port}"],
                                stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc, listener, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # in case a test stopped it
            proc.kill()
            proc.wait(10)
        listener.close()


def test_the_daemon_says_ready_once_its_api_answers_then_feeds_the_watchdog_and_says_stopping(
        notified, tmp_path):
    proc, notify, port = notified
    before = notify.until("READY=1")
    # The daemon logs (to a file, synchronously) that its lifespan ran and its socket is bound
    # before it may say READY=1: a READY sent any earlier finds these lines missing.
    log = (tmp_path / "labeld.log").read_text()
    assert "Application startup complete" in log and f"127.0.0.1:{port}" in log
    # And no retry: when systemd hears READY=1, the API answers.
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    assert f"STATUS=serving on 127.0.0.1:{port}, 1 printer" in before[-1].splitlines()
    assert "STATUS=starting: opening the spool" in before

    beats = pings(notify.during(2.0))
    gaps = sorted(b - a for a, b in pairwise(beats))
    assert 6 <= len(beats) <= 14, beats  # every 0.2 s, half of WATCHDOG_USEC
    assert 0.15 <= gaps[len(gaps) // 2] <= 0.3, gaps

    proc.send_signal(signal.SIGTERM)
    stopping = notify.until("STOPPING=1", timeout=10)[-1]
    assert "STATUS=stopping: finishing requests and jobs in flight" in stopping.splitlines()
    proc.wait(15)


def test_pings_come_from_the_live_process_only(notified):
    """A stopped process (SIGSTOP) sends nothing, so systemd would restart it; it pings again
    once it runs. That pings come from the event loop, not a thread, is the next test's."""
    proc, notify, _ = notified
    notify.until("READY=1")
    assert len(pings(notify.during(0.5))) >= 2

    proc.send_signal(signal.SIGSTOP)
    time.sleep(0.05)  # a ping sent just before the stop is already queued: not counted
    notify.drain()
    assert pings(notify.during(1.0)) == []

    proc.send_signal(signal.SIGCONT)
    assert len(pings(notify.during(1.0))) >= 3


def test_a_blocked_event_loop_stops_the_pings():
    """The feeder is a coroutine on the loop it watches: while that loop is stuck in a blocking
    call, no ping leaves. (A thread would keep pinging and hide the hang.)"""
    address = f"@labeld-test-{os.getpid()}-{time.monotonic_ns()}"  # abstract namespace
    listener = NotifySocket(address)
    received: list[float] = []
    receiver = threading.Thread(target=lambda: received.extend(pings(listener.during(1.5))))
    receiver.start()

    async def hang_for_a_while() -> tuple[float, float]:
        with Notifier(address) as notifier:
            feeder = asyncio.create_task(feed_watchdog(notifier, 0.05))
            await asyncio.sleep(0.4)
            start = time.monotonic()
            time.sleep(0.5)  # noqa: ASYNC251 - what a hung handler does to the loop
            end = time.monotonic()
            await asyncio.sleep(0.4)
            feeder.cancel()
            return start, end

    start, end = asyncio.run(hang_for_a_while())
    receiver.join()
    listener.close()
    assert len([t for t in received if t < start]) >= 4
    assert [t for t in received if start + 0.02 < t < end] == []
    assert len([t for t in received if t > end]) >= 4


def test_without_notify_socket_everything_is_a_no_op():
    notifier = Notifier.from_environ({})
    assert not notifier.enabled and notifier.watchdog_s is None
    assert not notifier.ready("serving") and not notifier.ping() and not notifier.stopping("bye")
    notifier.close()


def test_an_abstract_socket_address_is_reached():
    address = f"@labeld-test-{os.getpid()}-{time.monotonic_ns()}"
    listener = NotifySocket(address)
    try:
        with Notifier.from_environ({"NOTIFY_SOCKET": address}) as notifier:
            assert notifier.status("line one\nline two")
        assert listener.receive(2) == "STATUS=line one line two"  # one line per assignment
    finally:
        listener.close()


def test_watchdog_interval_is_half_of_watchdog_usec_for_the_watched_process_only():
    pid = os.getpid()
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, pid) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(pid)}, pid) == 0.2
    assert watchdog_interval({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": str(pid + 1)}, pid) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}, pid) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}, pid) is None
    assert watchdog_interval({}, pid) is None
    # No socket to send to, no watchdog; nor for an address that is not a unix socket.
    assert Notifier.from_environ({"WATCHDOG_USEC": "400000"}).watchdog_s is None
    vsock = Notifier.from_environ({"NOTIFY_SOCKET": "vsock:2:1234", "WATCHDOG_USEC": "400000"})
    assert not vsock.enabled and vsock.watchdog_s is None
