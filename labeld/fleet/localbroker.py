"""A Mosquitto on this machine for the fleet channel: `labeld demo --fleet` and the fleet
benchmark start one, the way a vendor's broker is set up but on loopback only.

It listens on 127.0.0.1 only, with plain MQTT (mqtt:// is allowed to this machine), user names
and passwords (a generated password file) and the fleet's ACL (`fleet_acl`, README's "Fleet
support channel": a shop may publish only its own state and answers, a technician only
requests under their own name). Everything lives in one directory the caller owns, usually a
temporary one.
"""

from __future__ import annotations

import contextlib
import ctypes
import getpass
import platform
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from labeld.errors import LabeldError
from labeld.fleet import protocol


def mosquitto() -> str:
    return shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def mosquitto_passwd() -> str:
    return shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def have_mosquitto() -> bool:
    return Path(mosquitto()).is_file() and Path(mosquitto_passwd()).is_file()


def fleet_acl(shops: Iterable[str], techs: Iterable[str] = (), staff: Iterable[str] = (),
              readers: Iterable[str] = (), prefix: str = protocol.DEFAULT_PREFIX) -> str:
    """The ACL of README's "Fleet support channel": a shop's user name is its shop id."""
    lines = []
    for shop in shops:
        lines += [f"user {shop}", f"topic readwrite {prefix}/v1/{shop}/#",
                  f"topic write {prefix}/v1/desk/+/responses", ""]
    for role, users in (("tech", techs), ("staff", staff)):
        for user in users:
            lines += [f"user {user}", f"topic read {prefix}/v1/#",
                      f"topic write {prefix}/v1/+/request/{role}/{user}",
                      f"topic read {prefix}/v1/desk/{user}/responses", ""]
    for user in readers:  # may watch the fleet, may not make any shop act
        lines += [f"user {user}", f"topic read {prefix}/v1/#", ""]
    return "\n".join(lines)


def _die_with_parent() -> None:
    """preexec_fn: Mosquitto ends with the labeld that started it, even one killed by SIGTERM
    or SIGKILL (Linux PR_SET_PDEATHSIG; best effort elsewhere)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class LocalBroker:
    """One Mosquitto process on 127.0.0.1:`port` (a free one when 0). `with LocalBroker(...)`
    starts it and stops it; `url` is what clients connect to."""

    def __init__(self, directory: Path, users: Mapping[str, str], acl: str, port: int = 0,
                 *, log_all: bool = False):
        if not have_mosquitto():
            raise LabeldError("mosquitto-missing", "Mosquitto is not installed: sudo apt-get "
                              "install mosquitto",
                              "The fleet demo and benchmark start a Mosquitto broker on this "
                              "machine.")
        self.directory = Path(directory)
        self.users = dict(users)
        self.acl = acl
        self.port = port or free_port()
        self.log_all = log_all
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, timeout: float = 10.0) -> LocalBroker:
        d = self.directory
        d.mkdir(parents=True, exist_ok=True)
        passwd = d / "passwd"
        passwd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        passwd.chmod(0o600)
        subprocess.run([mosquitto_passwd(), "-U", str(passwd)], check=True,
                       capture_output=True)
        (d / "acl").write_text(self.acl)
        (d / "mosquitto.conf").write_text(
            # started as root, Mosquitto would drop to the `mosquitto` user, which cannot read
            # a temporary directory: it stays who started it
            f"user {getpass.getuser()}\n"
            "per_listener_settings false\nallow_anonymous false\npersistence false\n"
            f"password_file {passwd}\nacl_file {d / 'acl'}\n"
            f"log_dest file {d / 'mosquitto.log'}\n"
            f"log_type {'all' if self.log_all else 'error'}\n"
            "max_queued_messages 10000\n"
            # small messages go out at once, not after the peer's delayed ACK (~40 ms a hop)
            "set_tcp_nodelay true\n"
            f"listener {self.port} 127.0.0.1\n")
        self._proc = subprocess.Popen([mosquitto(), "-c", str(d / "mosquitto.conf")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      start_new_session=True,
                                      preexec_fn=_die_with_parent
                                      if platform.system() == "Linux" else None)
        deadline = time.monotonic() + timeout
        while not listening(self.port):
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr \
                    else ""
                self._proc = None
                raise LabeldError("mosquitto-failed", f"Mosquitto exited at once: {err.strip()}"
                                  f" {self.log()}".strip(),
                                  f"Is port {self.port} free? Its configuration is in {d}.")
            if time.monotonic() > deadline:
                self.stop()
                raise LabeldError("mosquitto-failed",
                                  f"Mosquitto did not listen within {timeout:g} s.",
                                  f"Its log: {d / 'mosquitto.log'}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr:
            proc.stderr.close()

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
