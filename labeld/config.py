"""The TOML configuration: parsed once at start, validated, then read-only.

A bad file stops labeld before it listens, with the key that is wrong and why, because a daemon
that starts with half a config prints on the wrong printer later.
"""

from __future__ import annotations

import re

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labeld.errors import ConfigError
from labeld.logs import LogFormat

DEFAULT_LISTEN = "127.0.0.1:8631"
DEFAULT_SPOOL = "/var/lib/labeld/spool.db"
# The security defaults, once: the [security] section below and the HTTP middleware's own
# defaults (labeld.http.middleware) both take them from here.
DEFAULT_ALLOWED_HOSTS = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_MAX_BODY_BYTES = 17 * 1024 * 1024  # the largest raw job (16 MiB of text) plus JSON
DEFAULT_RATE_PER_SECOND = 50.0  # per token: a busy POS prints a few labels a second
DEFAULT_BURST = 100.0  # a price-change batch sent at once


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not (0 <= int(port) <= 65535) or not host:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


class ServerConfig(_Strict):
    listen: str = DEFAULT_LISTEN
    spool: str = DEFAULT_SPOOL
    # Finished jobs (completed, canceled, aborted) older than this are deleted so the spool
    # stays bounded on a shop PC that runs for years.
    keep_finished_hours: float = Field(default=168.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # "auto": JSON lines when the output is not a terminal (journald), plain text in a terminal.
    log_format: LogFormat = "auto"
    # Operator templates (NAME.json); default: a "templates" folder beside the spool.
    templates_dir: str | None = None
    # Extra TrueType fonts for label text, looked up by file name; DejaVu Sans ships with labeld.
    font_dirs: list[str] = []
    # The language of words people read (console, CLI, diagnostic label) when the reader does
    # not ask for one (Accept-Language, ?lang=, --lang, LABELD_LANG).
    language: Literal["en", "hu"] = "en"

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        parse_listen(v)
        return v


class DeliveryConfig(_Strict):
    max_attempts: int = Field(default=8, ge=1, le=1000)
    backoff_initial_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    connect_timeout_s: float = Field(default=3.0, gt=0)
    write_timeout_s: float = Field(default=15.0, gt=0)
    status_timeout_s: float = Field(default=2.5, gt=0, le=30)
    # An idle printer is asked for its status this often, so that what the console, the API and
    # the events show stays true while nothing prints (paper running out, a lid opened,
    # switched off). 0: only when there is something to print.
    watch_idle_s: float = Field(default=10.0, ge=0, le=3600)
    # A job the printer took but never confirmed (it cannot answer status) completes as
    # "unconfirmed" after this long.
    confirm_window_s: float = Field(default=30.0, gt=0, le=3600)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class SecurityConfig(_Strict):
    # Host names the API answers to; anything else is a DNS-rebinding attempt (421).
    allowed_hosts: list[str] = list(DEFAULT_ALLOWED_HOSTS)
    # Web origins of POS pages allowed to call the API from a browser (CORS); none by default.
    allowed_origins: list[str] = []
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    rate_per_second: float = Field(default=DEFAULT_RATE_PER_SECOND, gt=0)
    burst: float = Field(default=DEFAULT_BURST, ge=1)
    audit_keep_days: float = Field(default=365.0, gt=0)
    # TLS for a daemon opened beyond loopback (remote support). Both or neither.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Listening beyond loopback without TLS sends tokens in clear text: only when written here.
    allow_insecure_remote: bool = False
    metrics_open: bool = False  # /metrics without a token (for a local Prometheus)

    @model_validator(mode="after")
    def _tls_pair(self) -> SecurityConfig:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together")
        return self


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
# One MQTT topic level (a shop id): the same rule as labeld.fleet.protocol.valid_level, which
# sits above the config and cannot be imported here (tests/fleet/test_channel_config.py keeps
# the two in step).
TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class SupportConfig(_Strict):
    """When the support desk works, and how the shop reaches it: the fleet support channel
    (labeld.fleet.channel), one outbound MQTT connection to the vendor's broker. Outside the
    desk's hours shop staff are alone with the printers, and the morning report
    (labeld.diagnostics.report) by default covers the time since the desk last closed."""

    hours: str = "08:00-16:00"
    days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    # An IANA zone name (Europe/Budapest); None: this machine's local zone, as the shop's
    # clock on the wall shows it.
    timezone: str | None = None
    # The fleet support channel: "" keeps it off. mqtts://HOST[:PORT] (TLS, port 8883 by
    # default); mqtt://HOST[:PORT] only to this machine or with allow_insecure.
    broker: str = ""
    shop_id: str = ""  # this shop's topic level, also its broker user name by convention
    shop_name: str = ""  # what the desk shows
    username: str = ""
    password: str = ""
    password_file: str | None = None  # the password in a file (mode 0600), not in the config
    ca_file: str | None = None  # the broker's CA; None: the system's CAs
    client_cert: str | None = None  # a client certificate instead of (or with) a password
    client_key: str | None = None
    topic_prefix: str = "labeld"
    allow_insecure: bool = False
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    # Requests a technician (one user name) may make per minute; more are refused unserved.
    requests_per_minute: int = Field(default=60, ge=1, le=6000)
    # The highest role a request is served with, whatever its topic says.
    max_role: Literal["staff", "tech"] = "tech"

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        match = _HOURS.match(v.strip())
        if not match or match.group(1, 2) >= match.group(3, 4):
            raise ValueError(f"expected HH:MM-HH:MM within one day, got {v!r}")
        return v.strip()

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("the support desk needs at least one day")
        return sorted(set(v), key=WEEKDAYS.index)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, v: str | None) -> str | None:
        if v is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"no time zone {v!r} (expected a name like "
                                 "Europe/Budapest)") from None
        return v

    @field_validator("broker")
    @classmethod
    def _broker(cls, v: str) -> str:
        v = v.strip()
        if v:
            broker_address(v)
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _PREFIX.match(v):
            raise ValueError(f"expected topic levels of letters, digits, _ . - joined by /, "
                             f"without wildcards, got {v!r}")
        return v

    @model_validator(mode="after")
    def _channel(self) -> SupportConfig:
        if not self.broker:
            return self
        if not TOPIC_LEVEL.match(self.shop_id):
            raise ValueError(f"shop_id {self.shop_id!r} must be one topic level: letters, "
                             "digits, _ . - (up to 63), starting with a letter or digit")
        tls, host, _ = broker_address(self.broker)
        if not tls and host not in LOOPBACK_HOSTS and not self.allow_insecure:
            raise ValueError(f"broker {self.broker!r} is mqtt:// (no TLS) to another machine: "
                             "use mqtts://, or set allow_insecure = true to accept the "
                             "password and the shop's data in clear text")
        if self.password and self.password_file:
            raise ValueError("give password or password_file, not both")
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key go together")
        if self.client_cert and not tls:
            raise ValueError("a client certificate needs mqtts://")
        return self

    @property
    def closes(self) -> tuple[int, int]:
        """The hour and minute the desk closes."""
        end = self.hours.split("-")[1]
        return int(end[:2]), int(end[3:])


def broker_address(url: str) -> tuple[bool, str, int]:
    """(TLS?, host, port) of a broker URL: mqtts://HOST[:PORT] (8883) or mqtt://HOST[:PORT]
    (1883); ValueError for anything else."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or parts.path not in ("", "/") \
            or parts.query or parts.username:
        raise ValueError(f"expected mqtts://HOST[:PORT] (or mqtt:// to this machine), got {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    tls = parts.scheme == "mqtts"
    return tls, parts.hostname, port or (8883 if tls else 1883)


class PrinterConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    uri: str
    model: str
    name: str = ""
    # None: the model's policy (labels retry, receipts hold); see the README, "After a crash".
    crash_policy: Literal["retry", "hold"] | None = None
    # A printer still unreachable after delivery.max_attempts: "hold" keeps its jobs until it
    # answers again (a printer switched off overnight); "abort" gives the head job up.
    offline_policy: Literal["hold", "abort"] = "hold"
    max_queue: int = Field(default=10000, ge=1)
    # The labels loaded, for the self-test's media check (printers that measure their media).
    media_height_mm: float | None = Field(default=None, gt=0)

    @field_validator("uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        scheme, sep, rest = v.partition(":")
        # RFC 3986 schemes: a plugin's transport may be "usb-ip" or "ipp+tls"
        if not sep or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) or not rest:
            raise ValueError(f"expected a device URI like socket://HOST:PORT, got {v!r}")
        return v


MQTT_PORTS = {"mqtt": 1883, "mqtts": 8883}
_BROKER = re.compile(r"^(mqtts?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?/?$")
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")  # one topic level (fleet.protocol)


def parse_broker(value: str) -> tuple[str, str, int]:
    """`mqtts://HOST[:PORT]` -> (scheme, host, port); the port defaults to 8883 (1883 plain)."""
    match = _BROKER.match(value.strip())
    if not match or (match.group(3) and not 0 < int(match.group(3)) <= 65535):
        raise ValueError(f"expected mqtts://HOST[:PORT] (or mqtt:// on this machine), "
                         f"got {value!r}")
    scheme, host, port = match.group(1), match.group(2).strip("[]"), match.group(3)
    return scheme, host, int(port) if port else MQTT_PORTS[scheme]


class DeskConfig(_Strict):
    """The support desk's side of the fleet channel (labeld.fleet.view): which broker to read
    every shop from, as which user. Present only on a desk's labeld; a shop leaves it out."""

    broker: str
    username: str
    password: str | None = None
    password_file: str | None = None
    # The CA that signed the broker's certificate; None: the system's trusted CAs.
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    topic_prefix: str = "labeld"
    # mqtt:// (no TLS) beyond this machine sends the password and every shop's state in clear.
    allow_insecure: bool = False

    @field_validator("broker")
    @classmethod
    def _broker(cls, v: str) -> str:
        parse_broker(v)
        return v.strip()

    @field_validator("username")
    @classmethod
    def _username(cls, v: str) -> str:
        if not _USER.match(v):
            raise ValueError(f"{v!r} cannot be a broker user name of the fleet channel "
                             "(letters, digits, _ . -; it is one topic level)")
        return v

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not _TOPIC_PREFIX.match(v):
            raise ValueError(f"{v!r} is not a topic prefix (letters, digits, _ . -, levels "
                             "joined by /, no wildcards)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> DeskConfig:
        if self.password is not None and self.password_file is not None:
            raise ValueError("password and password_file: give one of them, not both")
        if bool(self.client_cert) != bool(self.client_key):
            raise ValueError("client_cert and client_key go together")
        scheme, host, _port = parse_broker(self.broker)
        if scheme == "mqtt" and host not in LOOPBACK_HOSTS and not self.allow_insecure:
            raise ValueError(f"mqtt:// to {host} (beyond this machine) sends the password and "
                             "every shop's state in clear text: use mqtts://, or set "
                             "desk.allow_insecure = true if you accept that")
        return self

    @property
    def tls(self) -> bool:
        return parse_broker(self.broker)[0] == "mqtts"


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    security: SecurityConfig = SecurityConfig()
    support: SupportConfig = SupportConfig()
    printers: list[PrinterConfig] = []
    # The support desk's fleet view (README, "The fleet view"); None on a shop's labeld.
    desk: DeskConfig | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> Config:
        seen: set[str] = set()
        for i, p in enumerate(self.printers):
            if p.id in seen:
                raise ValueError(f"printers[{i}].id {p.id!r} is used twice")
            seen.add(p.id)
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def from_dict(data: dict, source: str = "config") -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_location(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise ConfigError("invalid-config", f"{source}: {problems}",
                          "Fix the key named above; see examples/labeld.toml.") from None


def load(path: str | Path) -> Config:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("config-unreadable", f"{p}: {exc.strerror or exc}",
                          "Check the path given to --config.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config-not-toml", f"{p}: {exc}",
                          "The file must be valid TOML.") from None
    return from_dict(data, str(p))


def check_listen(config: Config, listen: str | None = None) -> tuple[str, int]:
    """Where to listen, refusing a non-loopback address without TLS unless the operator wrote
    `allow_insecure_remote = true` (a shop network is not a safe place for tokens in clear)."""
    host, port = parse_listen(listen or config.server.listen)
    sec = config.security
    if host not in LOOPBACK_HOSTS and not sec.tls_cert and not sec.allow_insecure_remote:
        raise ConfigError(
            "insecure-listen",
            f"Listening on {host} (beyond this machine) needs TLS: set security.tls_cert and "
            "security.tls_key.",
            "Or set security.allow_insecure_remote = true if you accept tokens in clear text.")
    return host, port

