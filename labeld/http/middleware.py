"""Browser and network safety at the HTTP edge: pure ASGI middleware and a rate limiter.

A print daemon on a shop PC is reachable by every web page the shop's browser opens:

* DNS rebinding: a page on `evil.example` re-points its own name to 127.0.0.1 and then talks to
  labeld as "same origin". The browser still sends `Host: evil.example`, so `HostAllowlist`
  answers only to the names labeld is known by (421 otherwise).
* Cross-site requests: `OriginPolicy` lets only the configured POS web origins in, answers their
  CORS preflights (including Private Network Access), and refuses any other `Origin` (403).
* "Simple" requests skip the preflight. They can only carry `text/plain`, form or no content
  types, so `JsonOnly` refuses state-changing requests that are not `application/json` (415).
* `BodyLimit` counts the body while it streams in and stops at the limit (413); nothing is
  buffered here, so a huge upload costs at most the limit.

Each middleware runs outside FastAPI's exception handlers, so each writes its own JSON error in
the API's format (`labeld.errors.error_body`): `{"error": {"code", "message", "hint"}}`.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labeld.config import (DEFAULT_ALLOWED_HOSTS, DEFAULT_BURST, DEFAULT_MAX_BODY_BYTES,
                           DEFAULT_RATE_PER_SECOND)
from labeld.errors import LabeldError, error_body

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- helpers -------------------------------------------------------------------------------

def _headers(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]


def _header(scope: Scope, name: bytes) -> str | None:
    values = _headers(scope, name)
    return values[0] if values else None


async def send_json_error(send: Send, status: int, code: str, message: str, hint: str = "",
                          headers: Iterable[tuple[str, str]] = ()) -> None:
    body = json.dumps(error_body(code, message, hint)).encode()
    raw_headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


async def refuse(scope: Scope, send: Send, status: int, code: str, message: str,
                  hint: str = "", headers: Iterable[tuple[str, str]] = ()) -> None:
    if scope["type"] == "websocket":
        # Closing before accepting makes the server answer the handshake with 403.
        await send({"type": "websocket.close", "code": 1008, "reason": code})
    else:
        await send_json_error(send, status, code, message, hint, headers)


# -- Host allowlist (DNS rebinding) --------------------------------------------------------

def split_host(value: str) -> tuple[str, int | None] | None:
    """`Host` header -> (lower-case host, port or None); None when it is not a valid Host."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[:end + 1], value[end + 1:]
    else:
        host, sep, port = value.rpartition(":")
        if not sep:
            host, rest = value, ""
        else:
            rest = ":" + port
        if ":" in host:  # a bare IPv6 address is not a valid Host header
            return None
    if not rest:
        return host, None
    if rest[0] != ":" or not rest[1:].isdigit() or len(rest) > 6 or int(rest[1:]) > 65535:
        return None
    return host, int(rest[1:])


@dataclass(frozen=True)
class HostConfig:
    """Names labeld answers to. An entry without a port allows any port; `name:port` only that
    port. Add the shop PC's LAN name or address only when remote access is wanted."""

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    _parsed: tuple[tuple[str, int | None], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = []
        for entry in self.allowed_hosts:
            e = entry.strip().lower()
            if e.count(":") > 1 and not e.startswith("["):
                e = f"[{e}]"  # "::1" in a config file means "[::1]"
            p = split_host(e)
            if p is None:
                raise ValueError(f"not a host name or HOST:PORT: {entry!r}")
            parsed.append(p)
        object.__setattr__(self, "_parsed", tuple(parsed))

    def allows(self, host_header: str) -> bool:
        p = split_host(host_header)
        if p is None:
            return False
        host, port = p
        return any(h == host and (hp is None or hp == port) for h, hp in self._parsed)


class HostAllowlist:
    """421 Misdirected Request for any Host that is not on the list (and for none or several)."""

    def __init__(self, app: ASGIApp, config: HostConfig | None = None):
        self.app = app
        self.config = config or HostConfig()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        hosts = _headers(scope, b"host")
        if len(hosts) == 1 and self.config.allows(hosts[0]):
            await self.app(scope, receive, send)
            return
        shown = hosts[0] if hosts else "(none)"
        await refuse(scope, send, 421, "host-not-allowed",
                      f"labeld does not answer to the host name {shown[:100]!r}.",
                      "Use http://127.0.0.1:PORT or http://localhost:PORT; to reach labeld by "
                      "another name, add it to [security] allowed_hosts.")


# -- Origin policy (CORS + Private Network Access) -----------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(value: str) -> str | None:
    """`scheme://host[:port]` in the form browsers send it; None when it is not an origin."""
    value = value.strip()
    if value == "null":
        return "null"
    try:
        u = urlsplit(value)
        port = u.port
    except ValueError:
        return None
    if u.scheme.lower() not in _DEFAULT_PORTS or not u.hostname or u.path not in ("", "/") \
            or u.query or u.fragment or u.username or u.password:
        return None
    scheme = u.scheme.lower()
    host = u.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class OriginConfig:
    """Web origins of POS web apps allowed to call labeld from a browser."""

    allowed_origins: tuple[str, ...] = ()
    # Pages labeld serves itself (/docs) call it with their own origin; that is safe only
    # because HostAllowlist has already vetted the Host header, so keep both installed.
    allow_same_origin: bool = True
    allow_methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")
    allow_headers: tuple[str, ...] = ("authorization", "content-type", "idempotency-key")
    expose_headers: tuple[str, ...] = ("location", "retry-after")
    max_age_s: int = 600
    _normalized: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        normalized = set()
        for entry in self.allowed_origins:
            n = normalize_origin(entry)
            if n is None:
                raise ValueError(f"not a web origin (scheme://host[:port]): {entry!r}")
            if n == "null":
                # Every sandboxed iframe and file:// page sends "null": allowing it allows anyone.
                raise ValueError("the origin 'null' cannot be allowed: any page can send it")
            normalized.add(n)
        object.__setattr__(self, "_normalized", frozenset(normalized))

    def listed(self, origin: str) -> bool:
        n = normalize_origin(origin)
        return n is not None and n in self._normalized


class OriginPolicy:
    """CORS for the configured origins only; any other Origin is refused with 403.

    Requests without an Origin header (curl, POS programs, same-origin GETs) pass: they are not
    made by a browser on behalf of another site. A preflight from an allowed origin is answered
    here (204) and never reaches the app; when it asks for Private Network Access
    (`Access-Control-Request-Private-Network: true`, Chrome's check before a public page may
    reach a loopback/LAN address) the answer allows it."""

    def __init__(self, app: ASGIApp, config: OriginConfig | None = None):
        self.app = app
        self.config = config or OriginConfig()

    def _same_origin(self, scope: Scope, origin: str) -> bool:
        host = _header(scope, b"host")
        if not self.config.allow_same_origin or host is None:
            return False
        own = normalize_origin(f"{scope.get('scheme', 'http')}://{host}")
        return own is not None and own == normalize_origin(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        origins = _headers(scope, b"origin")
        if not origins:
            await self.app(scope, receive, send)
            return
        origin = origins[0]
        listed = len(origins) == 1 and self.config.listed(origin)
        same = len(origins) == 1 and self._same_origin(scope, origin)
        if not (listed or same):
            await refuse(scope, send, 403, "origin-not-allowed",
                          f"Requests from the web origin {origin[:200]!r} are not allowed.",
                          "Add the POS web app's origin (scheme://host:port) to "
                          "[security] allowed_origins.")
            return
        method = scope.get("method", "")
        if method == "OPTIONS" and _header(scope, b"access-control-request-method") is not None:
            await self._preflight(scope, send, origin)
            return
        if not listed or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin")]
        if self.config.expose_headers:
            cors.append((b"access-control-expose-headers",
                         ", ".join(self.config.expose_headers).encode()))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *cors]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, send: Send, origin: str) -> None:
        c = self.config
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", ", ".join(c.allow_methods).encode()),
            (b"access-control-allow-headers", ", ".join(c.allow_headers).encode()),
            (b"access-control-max-age", str(c.max_age_s).encode()),
            (b"vary", (b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
                       b"Access-Control-Request-Private-Network")),
            (b"content-length", b"0"),
        ]
        pna = _header(scope, b"access-control-request-private-network")
        if pna is not None and pna.strip().lower() == "true":
            headers.append((b"access-control-allow-private-network", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


# -- JSON only for state-changing requests (no "simple request" CSRF) ----------------------

@dataclass(frozen=True)
class JsonOnlyConfig:
    methods: frozenset[str] = STATE_CHANGING
    media_types: tuple[str, ...] = ("application/json",)


class JsonOnly:
    """415 for a state-changing request whose body is not declared as JSON.

    A cross-site page can send `text/plain`, `application/x-www-form-urlencoded`,
    `multipart/form-data` or an untyped body without a CORS preflight; JSON cannot be sent
    that way. A request with no body at all (DELETE, POST .../pause) needs no content type."""

    def __init__(self, app: ASGIApp, config: JsonOnlyConfig | None = None):
        self.app = app
        self.config = config or JsonOnlyConfig()

    def _ok(self, scope: Scope) -> bool:
        types = _headers(scope, b"content-type")
        if not types:
            lengths = _headers(scope, b"content-length")
            chunked = bool(_headers(scope, b"transfer-encoding"))
            return not chunked and all(v.strip() == "0" for v in lengths)
        if len(types) > 1:
            return False
        media = types[0].split(";", 1)[0].strip().lower()
        return media in self.config.media_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.config.methods or self._ok(scope):
            await self.app(scope, receive, send)
            return
        got = _header(scope, b"content-type") or "none, with a body"
        await send_json_error(send, 415, "unsupported-media-type",
                              f"{scope['method']} requests must send JSON; the content type "
                              f"was {got[:100]!r}.",
                              "Send Content-Type: application/json with a JSON body.")


# -- body size limit -----------------------------------------------------------------------

class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes the limit.

    An HTTPException, so that inside FastAPI the app's own handler answers 413 (FastAPI turns
    other exceptions raised while reading a body into a 400); outside it, `BodyLimit` answers."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.limit = limit


@dataclass(frozen=True)
class BodyLimitConfig:
    max_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError("max_bytes must not be negative")


class BodyLimit:
    """413 past `max_bytes`: at once when Content-Length says so, otherwise as soon as the
    streamed body crosses the limit. The rest of the body is never read."""

    def __init__(self, app: ASGIApp, config: BodyLimitConfig | None = None):
        self.app = app
        self.config = config or BodyLimitConfig()

    async def _too_large(self, send: Send) -> None:
        await send_json_error(send, 413, "too-large",
                              f"The request body is larger than {self.config.max_bytes} bytes.",
                              "Send a smaller job; split long print runs into several jobs.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.config.max_bytes
        for value in _headers(scope, b"content-length"):
            if value.strip().isdigit() and int(value) > limit:
                await self._too_large(send)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)
            # Otherwise the app had already answered; the server closes the connection.


# -- rate limiting -------------------------------------------------------------------------

class TooManyRequests(LabeldError):
    status = 429

    def __init__(self, retry_after_s: float):
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__("rate-limited", f"Too many requests; try again in {seconds} s.",
                         "Slow down, or ask the administrator to raise [security] "
                         "rate_per_second / burst for this shop.")
        self.headers: Mapping[str, str] = {"Retry-After": str(seconds)}


@dataclass(frozen=True)
class RateConfig:
    """Token bucket: `burst` requests at once, refilled at `rate_per_second`."""

    rate_per_second: float = DEFAULT_RATE_PER_SECOND
    burst: float = DEFAULT_BURST
    max_keys: int = 10_000  # buckets kept in memory; the least recently used go first

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.burst < 1 or self.max_keys < 1:
            raise ValueError("rate_per_second must be > 0, burst >= 1, max_keys >= 1")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by whatever the caller chooses (the token's name; the client address
    for requests without a valid token). Thread-safe; the clock is injectable for tests."""

    def __init__(self, config: RateConfig | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.config = config or RateConfig()
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, key: str, cost: float = 1.0) -> float:
        """Take `cost` from the key's bucket: 0.0 when allowed, else seconds until it would be."""
        c = self.config
        now = self._clock()
        with self._lock:
            b = self._buckets.get(key)
            if b is None:
                b = _Bucket(tokens=c.burst, updated=now)
                self._buckets[key] = b
                self._trim(now)
            else:
                b.tokens = min(c.burst, b.tokens + (now - b.updated) * c.rate_per_second)
                b.updated = now
                self._buckets.move_to_end(key)
            if b.tokens >= cost:
                b.tokens -= cost
                return 0.0
            return (cost - b.tokens) / c.rate_per_second

    def check(self, key: str, cost: float = 1.0) -> None:
        """Raise TooManyRequests (429 with Retry-After) when the key is over its rate."""
        wait = self.acquire(key, cost)
        if wait > 0:
            raise TooManyRequests(wait)

    def _trim(self, now: float) -> None:
        # The least recently used bucket has had the longest to refill, so forgetting it costs
        # nothing in practice; an active abuser's bucket is recent and stays.
        while len(self._buckets) > self.config.max_keys:
            self._buckets.popitem(last=False)
