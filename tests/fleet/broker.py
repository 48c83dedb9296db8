"""A real Mosquitto for the fleet channel's tests: started on free loopback ports with TLS (a
throwaway CA from trustme), user names and passwords, and an ACL file, the way a vendor's
broker is set up. Tests stop and start it to play a broker that goes away.

The ACL is the channel's security: a shop may publish only its own state and answers, a
technician only requests under their own name (labeld.fleet.protocol: identity is the topic).
"""

from __future__ import annotations

import getpass
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labeld.fleet.localbroker import fleet_acl as fleet_acl  # the tests' ACL is the demo's
from labeld.fleet.localbroker import (free_port, have_mosquitto, listening, mosquitto,
                                      mosquitto_passwd)

MOSQUITTO, MOSQUITTO_PASSWD = mosquitto(), mosquitto_passwd()
PREFIX = "labeld"


@dataclass
class Broker:
    """One Mosquitto process: `port` plain MQTT and `tls_port` MQTT over TLS, both on
    127.0.0.1; `ca_file` is the CA a client must trust for `tls_port`."""

    directory: Path
    users: Mapping[str, str]
    acl: str
    port: int = 0
    tls_port: int = 0
    ca_file: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        import trustme

        self.directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = self.directory / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        cert.cert_chain_pems[0].write_to_path(str(self.directory / "server.pem"))
        cert.private_key_pem.write_to_path(str(self.directory / "server.key"))
        passwd = self.directory / "passwd"
        passwd.write_text("".join(f"{user}:{password}\n" for user, password in self.users.items()))
        subprocess.run([MOSQUITTO_PASSWD, "-U", str(passwd)], check=True, capture_output=True)
        (self.directory / "acl").write_text(self.acl)
        self.port = self.port or free_port()
        self.tls_port = self.tls_port or free_port()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"

    def start(self) -> Broker:
        d = self.directory
        (d / "mosquitto.conf").write_text(
            # started as root, Mosquitto would drop to the `mosquitto` user, which cannot read
            # a test's temporary directory: it stays who started it
            f"user {getpass.getuser()}\n"
            "per_listener_settings false\nallow_anonymous false\npersistence false\n"
            f"password_file {d / 'passwd'}\nacl_file {d / 'acl'}\n"
            f"log_dest file {d / 'mosquitto.log'}\nlog_type all\n"
            f"listener {self.port} 127.0.0.1\n"
            f"listener {self.tls_port} 127.0.0.1\ncafile {self.ca_file}\n"
            f"certfile {d / 'server.pem'}\nkeyfile {d / 'server.key'}\n")
        self._proc = subprocess.Popen([MOSQUITTO, "-c", str(d / "mosquitto.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not (listening(self.port) and listening(self.tls_port)):
            if self._proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self._proc.stderr.read().decode()}"
                                   f"{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not listen within 10 s: {self.log()}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """The broker goes away (its clients see the connection drop)."""
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def broker(tmp_path):
    """broker(users, acl) starts a Mosquitto; stopped after the test."""
    if not have_mosquitto():
        pytest.fail("mosquitto is missing: apt-get install mosquitto (make test does it as root)")
    started: list[Broker] = []

    def start(users: Mapping[str, str], acl: str) -> Broker:
        b = Broker(tmp_path / f"broker{len(started)}", users, acl).start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()
