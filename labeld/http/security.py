"""Security at the edges of labeld: who may call it, from where, and what may reach a printer.

* `roles`: the `pos` < `staff` < `tech` < `admin` roles, `Unauthorized` (401) and `Forbidden`
  (403).
* `tokens`: API tokens, stored hashed in the spool's SQLite file.
* `audit`: the audit log of technician and administrator actions, and its middleware.
* `middleware`: Host allowlist (DNS rebinding), Origin policy (CORS, Private Network Access),
  JSON-only state changes (no simple-request CSRF), body size limit, rate limiter.
* `policy`: the engine that applies a language's raw-command policy (`Language.policy`: which
  raw printer commands each role may send) to a job.
* `sanitize`: the language-neutral part of making text unable to carry commands (each language
  brings its own `Language.sanitize_text`).

This module ties them together for the app: `Guard` (the role check as a FastAPI dependency),
`require` (the same for routes defined before there is a Guard: module-level routers, which
use the Guard of the app serving the request, `app.state.guard`), `AuthGate` (the same check
as middleware, before anything else looks at the request), `install_middleware` (the
middleware in the right order) and `error_response`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from labeld.errors import LabeldError
from labeld.security.audit import AuditLog, AuditTrail, mark
from labeld.config import SecurityConfig
from labeld.http.middleware import (
    BodyLimit,
    BodyLimitConfig,
    HostAllowlist,
    HostConfig,
    JsonOnly,
    JsonOnlyConfig,
    OriginConfig,
    OriginPolicy,
    RateConfig,
    RateLimiter,
    TooManyRequests,
    refuse,
)
from labeld.contracts import Role
from labeld.security.roles import Forbidden, Unauthorized, role_required
from labeld.security.session import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, csrf_ok
from labeld.security.tokens import TokenInfo, TokenStore

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # an older FastAPI copies an included router's routes into the app's list
    iter_route_contexts = None  # type: ignore[assignment]

__all__ = [
    "AuditLog", "AuditTrail", "AuthGate", "BodyLimit", "BodyLimitConfig", "Forbidden", "Guard",
    "HostAllowlist", "HostConfig", "JsonOnly", "JsonOnlyConfig", "OriginConfig", "OriginPolicy",
    "RateConfig", "RateLimiter", "Requirement", "Role", "TokenInfo",
    "TokenStore", "TooManyRequests", "Unauthorized", "error_response", "install_middleware",
    "rate_limiter", "require", "wrap",
]

# Declares bearer auth in the OpenAPI document (the "Authorize" button of /docs). auto_error is
# off so that a missing token is answered in labeld's JSON error format, not FastAPI's.
_BEARER = HTTPBearer(auto_error=False, description="A labeld API token (`lbd_...`).")

# Where AuthGate leaves the token it verified (request.state.labeld_token), so that the route's
# own Guard dependency neither looks it up again nor charges the rate limiter twice.
_VERIFIED_KEY = "labeld_token"


@dataclass(frozen=True)
class _Verified:
    guard: Guard
    token: str
    info: TokenInfo


@dataclass(frozen=True)
class Guard:
    """The role check: `Depends(guard.require(Role.TECH))` on a route.

    In order: the bearer token must be valid (401), the token within its rate (429), the role
    high enough (403). Routes that need `audit_from` or more are marked for the audit log,
    refusals included. With `AuthGate` installed the check runs before the request body is
    read; the dependency then finds the gate's verdict and only repeats the role test."""

    tokens: TokenStore
    limiter: RateLimiter | None = None
    # What shop staff do alone (release, cancel, a maintenance action) is what the morning
    # report tells the technician, so it is audited like a technician's actions.
    audit_from: Role | None = Role.STAFF

    def require(self, role: Role) -> Callable[..., Awaitable[TokenInfo]]:
        # A bound method of a Requirement, so that AuthGate can read the role off the route.
        return Requirement(role, self).dependency

    async def authorize(self, request: Request, role: Role, token: str | None) -> TokenInfo:
        done = request.scope.get("state", {}).get(_VERIFIED_KEY)
        if isinstance(done, _Verified) and done.guard is self and done.token == token:
            info = done.info
        else:
            info = await self._authenticate(request, token)
        if self.audit_from is not None and role >= self.audit_from:
            mark(request.scope, info.name, info.role)
        if not info.role.covers(role):
            raise role_required(role, info.role, f"{request.method} {request.url.path}")
        return info

    async def _authenticate(self, request: Request, token: str | None) -> TokenInfo:
        info = await self.tokens.verify(token)
        if info is None:
            if self.limiter is not None:
                # Unknown tokens cost a database lookup each: bound them per client address.
                client = request.client.host if request.client else "unknown"
                self.limiter.check(f"addr:{client}")
            if token is None:
                raise Unauthorized("token-required", "This request needs an API token.",
                                   "Send Authorization: Bearer <token>; an administrator creates "
                                   "tokens with `labeld token create --name NAME --role ROLE "
                                   "--config /etc/labeld/labeld.toml`.")
            raise Unauthorized("token-invalid", "The API token is not valid (unknown or revoked).",
                               "Check the token, or ask an administrator for a new one.")
        if self.limiter is not None:
            self.limiter.check(f"token:{info.id}")
        if token is not None:
            request.scope.setdefault("state", {})[_VERIFIED_KEY] = _Verified(self, token, info)
        return info


def require(role: Role) -> Callable[..., Awaitable[TokenInfo]]:
    """`Depends(require(Role.TECH))`: the role check with the Guard of the app that serves the
    request (`app.state.guard`), for routes written before any app exists."""
    return Requirement(role).dependency


@dataclass(frozen=True)
class Requirement:
    """A route's need: a valid token with at least `role`, checked by `guard` (None: by the
    serving app's `app.state.guard`). `dependency` is what FastAPI runs for the route;
    AuthGate finds the Requirement on the route and checks it before the body is read."""

    role: Role
    guard: Guard | None = None

    def guard_for(self, app: Any) -> Guard:
        if self.guard is not None:
            return self.guard
        guard = getattr(getattr(app, "state", None), "guard", None)
        if not isinstance(guard, Guard):
            # A setup mistake, never a request's: fail closed, loudly.
            raise RuntimeError("a route requires a role but its app has no Guard at "
                               "app.state.guard")
        return guard

    async def dependency(self, request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(_BEARER),
                         ) -> TokenInfo:
        return await self.guard_for(request.app).authorize(
            request, self.role,
            credentials.credentials if credentials else request_token(request.scope))


def _requirements(dependant: Dependant | None) -> Iterator[Requirement]:
    stack = [dependant] if dependant is not None else []
    while stack:
        d = stack.pop()
        if isinstance(owner := getattr(d.call, "__self__", None), Requirement):
            yield owner
        stack.extend(d.dependencies)


def _bearer(scope: Scope) -> str | None:
    """The bearer token of the request, read as HTTPBearer reads it."""
    values = [v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"]
    scheme, credentials = get_authorization_scheme_param(values[0] if values else None)
    return credentials if scheme.lower() == "bearer" and credentials else None


def request_token(scope: Scope) -> str | None:
    """The caller's token: the bearer header, else the console's session cookie (see
    labeld.security.session). A state change on the cookie alone needs the session's CSRF
    token too (403 `csrf-token-invalid`): a cookie is sent by the browser, not by the page."""
    bearer = _bearer(scope)
    if bearer is not None:
        return bearer
    headers = Headers(scope=scope)
    session = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
    if not session:
        return None
    if scope.get("method", "GET") not in SAFE_METHODS and not csrf_ok(session,
                                                                        headers.get(CSRF_HEADER)):
        raise Forbidden("csrf-token-invalid", "This change came without the page's CSRF token.",
                        "Reload the console page and try again; scripts send an Authorization "
                        "header instead of the cookie.")
    return session


# Routes a FastAPI app may leave without a Guard and still be open: liveness, `/metrics` when
# `security.metrics_open` says so, and the API description (FastAPI's own routes, named by the
# app's openapi_url, docs_url...). It is no secret: the same for every labeld of a version, in
# the README and the source, holding no printer, job, template or token; /docs cannot even
# load in a browser otherwise (a page load carries no bearer token). Any other route without a
# Guard is taken for a forgotten one and needs an admin token.
PUBLIC_PATHS = ("/healthz", "/metrics", "/docs", "/redoc")
# The console is a door with its own sign-in: its login page must load without a token, each
# of its pages checks the session itself (a sign-in page, not a JSON 401), and its buttons
# call the /v1 routes, which the gate guards as for any caller.
PUBLIC_PREFIXES = ("/ui/", "/docs-assets/")
_DOCS_ATTRIBUTES = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")


class AuthGate:
    """ASGI middleware: who the caller is (401) and whether the role will do (403), first.

    FastAPI parses a route's body before it runs the route's dependencies, so the Guard
    dependency alone would answer a request with no token and a broken body 422, and the body
    size and content-type rules would answer before it too. The gate finds the route the
    request is for, reads the role its Guard dependency requires, and runs that check before
    the body is touched: no valid token is 401 whatever the body (malformed, huge, not JSON),
    too low a role 403. An app whose routes use no Guard at all is passed through."""

    def __init__(self, app: ASGIApp):
        self.app = app
        # The routes as requests meet them, opened once per app and list of routes: opening
        # included routers cost ~40 us on every request (measured with bench_raw's profile).
        self._routes: tuple[object, int, list[Any]] | None = None

    def _routes_of(self, target: object) -> list[Any]:
        declared = len(getattr(getattr(target, "router", None), "routes", ()))
        cached = self._routes
        if cached is None or cached[0] is not target or cached[1] != declared:
            cached = self._routes = (target, declared, _effective_routes(target))
        return cached[2]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = scope.get("app")
        routes = self._routes_of(target)
        if scope["type"] not in ("http", "websocket") or not routes:
            await self.app(scope, receive, send)
            return
        route, child = _route_for(routes, scope)
        needs = list(_requirements(getattr(route, "dependant", None)))
        guard: Guard | None
        if needs:
            guard, role = needs[0].guard_for(target), max(r.role for r in needs)
        else:
            guard = next((r.guard_for(target) for rt in routes
                          for r in _requirements(getattr(rt, "dependant", None))), None)
            if guard is None or (route is not None and _public(target, scope["path"])):
                await self.app(scope, receive, send)
                return
            # An unguarded route off the public list is a forgotten check: fail closed. A path
            # without a route (404, 405) tells nothing to a caller without a valid token.
            role = Role.ADMIN if route is not None else Role.POS
        try:
            await guard.authorize(Request(scope), role, request_token(scope))
        except LabeldError as exc:
            # The audit trail names what a refused action was about, as the router would.
            scope.setdefault("path_params", child.get("path_params", {}))
            await refuse(scope, send, exc.status, exc.code, exc.message, exc.hint,
                         tuple(getattr(exc, "headers", {}).items()))
            return
        await self.app(scope, receive, send)


def _effective_routes(app: object) -> list[Any]:
    """The app's routes as requests meet them, each with its own `matches` and its full
    `dependant`. FastAPI keeps a router included with `include_router` as one entry of the
    app's routes (its routes, with the include's prefix and dependencies, built on demand);
    `iter_route_contexts`, what FastAPI's OpenAPI generator walks, opens it into its routes.
    Without this the gate would see no role on any included route."""
    routes: list[BaseRoute] = list(getattr(getattr(app, "router", None), "routes", ()))
    return list(iter_route_contexts(routes)) if iter_route_contexts is not None else routes


def _route_for(routes: list[Any], scope: Scope) -> tuple[Any | None, Scope]:
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child
    return None, {}


def _public(app: object, path: str) -> bool:
    docs = {getattr(app, a, None) for a in _DOCS_ATTRIBUTES} - {None}
    return path in PUBLIC_PATHS or path in docs or path == "/ui" or path.startswith(PUBLIC_PREFIXES)


def error_response(exc: LabeldError) -> JSONResponse:
    """The API's JSON error for a LabeldError, with its headers (WWW-Authenticate on 401,
    Retry-After on 429). Use it in the app's LabeldError exception handler."""
    return JSONResponse(exc.body(), status_code=exc.status,
                        headers=getattr(exc, "headers", None) or None)


def rate_limiter(settings: SecurityConfig) -> RateLimiter:
    """The per-token (and per-address, for unknown tokens) limiter the `[security]` section
    asks for."""
    return RateLimiter(RateConfig(rate_per_second=settings.rate_per_second, burst=settings.burst))


def _layers(settings: SecurityConfig, audit: AuditLog | None
            ) -> list[tuple[type, dict[str, object]]]:
    """Outermost first. The Host check comes before everything (a rebound page gets nothing,
    not even a CORS answer); the Origin policy answers preflights (which never carry a token);
    then the audit trail, outside the token check so that its refusals are recorded too (it
    records whatever status the layers inside it or the app's handlers chose); then the token
    check, before any rule about the body; then the body rules."""
    layers: list[tuple[type, dict[str, object]]] = [
        (HostAllowlist, {"config": HostConfig(allowed_hosts=tuple(settings.allowed_hosts))}),
        (OriginPolicy, {"config": OriginConfig(allowed_origins=tuple(settings.allowed_origins))}),
    ]
    if audit is not None:
        layers.append((AuditTrail, {"audit": audit}))
    layers += [
        (AuthGate, {}),
        (JsonOnly, {"config": JsonOnlyConfig()}),
        (BodyLimit, {"config": BodyLimitConfig(max_bytes=settings.max_body_bytes)}),
    ]
    return layers


def install_middleware(app: ASGIApp, settings: SecurityConfig,
                       audit: AuditLog | None = None) -> None:
    """Add the security middleware to a Starlette/FastAPI app, in the right order."""
    # add_middleware puts each new layer outside the previous ones: add innermost first.
    for cls, kwargs in reversed(_layers(settings, audit)):
        app.add_middleware(cls, **kwargs)  # type: ignore[attr-defined]


def wrap(app: ASGIApp, settings: SecurityConfig, audit: AuditLog | None = None) -> ASGIApp:
    """The same layers around any ASGI app."""
    for cls, kwargs in reversed(_layers(settings, audit)):
        app = cls(app, **kwargs)
    return app
