"""How one end of the fleet channel reaches the broker: address, TLS, user; and what a broker
that cannot be reached, or refuses, means in words.

Both ends use it: the desk's view (labeld.fleet.view) and the simulated shops of tests, the
benchmark and the demo (labeld.fleet.simshop). A refusal is a `FleetError` whose message and
hint are `Words` (labeld.i18n): English as a `str`, and said in the reader's language by the
CLI and the console.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeld.config import LOOPBACK_HOSTS, DeskConfig, parse_broker
from labeld.errors import ConfigError, LabeldError
from labeld.fleet import protocol
from labeld.i18n import N_

if TYPE_CHECKING:
    import aiomqtt

# Every MQTT message is small and someone waits for it: sent at once, not held back by Nagle's
# algorithm until the peer's delayed ACK (about 40 ms a hop on Linux; paho sets no option).
NODELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)

# MQTT 5 CONNACK reason codes (and MQTT 3's return codes) that mean "not you, not like this".
_REFUSED_CODES = {4, 5, 134, 135, 138}


class FleetError(LabeldError):
    """Something on the fleet channel that did not happen: the broker unreachable or refusing,
    a shop that did not answer, a shop's refusal (its code, message and hint as it sent them).
    `message` and `hint` may be `labeld.i18n.Words`, said in the reader's language."""

    status = 502


@dataclass(frozen=True)
class BrokerAccess:
    """Where the broker is and who this end is there."""

    host: str
    port: int
    username: str
    password: str | None = field(default=None, repr=False)
    tls: bool = True
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    prefix: str = protocol.DEFAULT_PREFIX

    @classmethod
    def from_url(cls, url: str, username: str, password: str | None = None,
                 **extra: Any) -> BrokerAccess:
        """`mqtts://HOST[:PORT]` (or `mqtt://` for a broker without TLS)."""
        scheme, host, port = parse_broker(url)
        return cls(host, port, username, password, tls=scheme == "mqtts", **extra)

    @classmethod
    def from_desk(cls, desk: DeskConfig) -> BrokerAccess:
        """The `[desk]` section of the configuration; the password file is read here."""
        password = desk.password
        if desk.password_file:
            try:
                password = Path(desk.password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError("config-unreadable",
                                  f"desk.password_file: {desk.password_file}: "
                                  f"{exc.strerror or exc}",
                                  "Check the path, and that labeld's user may read it.") from None
        return cls.from_url(desk.broker, desk.username, password, ca_file=desk.ca_file,
                            client_cert=desk.client_cert, client_key=desk.client_key,
                            prefix=desk.topic_prefix)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise FleetError("broker-tls-files",
                             N_("Cannot read the TLS files for the broker: {reason}.",
                                reason=getattr(exc, "strerror", None) or str(exc)),
                             N_("Check desk.ca_file, desk.client_cert and desk.client_key (or "
                                "--ca)."), status=500) from None
        return context

    def client(self, **options: Any) -> aiomqtt.Client:
        """An aiomqtt client (MQTT 5) for this access; `options` go to aiomqtt.Client (a last
        will, an identifier, a timeout)."""
        import aiomqtt

        options.setdefault("socket_options", NODELAY)
        return aiomqtt.Client(self.host, self.port, username=self.username,
                              password=self.password, tls_context=self.tls_context(),
                              protocol=aiomqtt.ProtocolVersion.V5, **options)


def connect_error(access: BrokerAccess, exc: Exception) -> FleetError:
    """A failed connection in words: refused (user, password, rights), or not reached."""
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    if isinstance(value, int) and value in _REFUSED_CODES:
        return FleetError("broker-refused",
                          N_("The broker at {url} refused the user {user}.", url=access.url,
                             user=access.username),
                          N_("Check the user name and password (desk.username, desk.password "
                             "or desk.password_file), and that the broker knows this user."),
                          status=502)
    reason = str(exc) or type(exc).__name__
    if "certificate" in reason.lower() or "ssl" in reason.lower():
        return FleetError("broker-tls",
                          N_("The TLS connection to the broker at {url} failed: {reason}.",
                             url=access.url, reason=reason),
                          N_("Check desk.ca_file (or --ca): it must be the CA that signed the "
                             "broker's certificate, and the broker's name must match it."),
                          status=502)
    return FleetError("broker-unreachable",
                      N_("Cannot reach the broker at {url}: {reason}.", url=access.url,
                         reason=reason),
                      N_("Check desk.broker (or --broker) and this computer's network; the "
                         "broker may be down."), status=503)
