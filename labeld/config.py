"""The TOML configuration: parsed once at start, validated, then read-only.

A bad file stops labeld before it listens, with the key that is wrong and why, because a daemon
that starts with half a config prints on the wrong printer later.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from labeld.errors import ConfigError

DEFAULT_LISTEN = "127.0.0.1:8631"
DEFAULT_SPOOL = "/var/lib/labeld/spool.db"


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


class PrinterConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    uri: str
    model: str
    name: str = ""
    # None: the model's policy (labels retry, receipts hold); see the README, "After a crash".
    crash_policy: Literal["retry", "hold"] | None = None
    max_queue: int = Field(default=10000, ge=1)

    @field_validator("uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        scheme, sep, rest = v.partition(":")
        if not sep or not scheme.isalpha() or not rest:
            raise ValueError(f"expected a device URI like socket://HOST:PORT, got {v!r}")
        return v


class Config(_Strict):
    server: ServerConfig = ServerConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    printers: list[PrinterConfig] = []

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
        raise ConfigError("config-not-toml", f"{p}: {exc}", "The file must be valid TOML.") from None
    return from_dict(data, str(p))
