"""Security at the edges of labeld: who may call it, from where, and what may reach a printer.

* `roles`: the `pos` < `tech` < `admin` roles, `Unauthorized` (401) and `Forbidden` (403).
* `tokens`: API tokens, stored hashed in the spool's SQLite file.
* `audit`: the audit log of technician and administrator actions, and its middleware.
* `middleware`: Host allowlist (DNS rebinding), Origin policy (CORS, Private Network Access),
  JSON-only state changes (no simple-request CSRF), body size limit, rate limiter.
* `policy`: which raw printer commands each role may send.
* `sanitize`: text that goes to a printer as text, made unable to carry commands.

This module ties them together for the app: `Guard` (the role check as a FastAPI dependency),
`install_middleware` (the middleware in the right order) and `error_response`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp

from labeld.errors import LabeldError
from labeld.security.audit import AuditLog, AuditTrail, mark
from labeld.security.middleware import (
    DEFAULT_ALLOWED_HOSTS,
    DEFAULT_MAX_BODY_BYTES,
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
)
from labeld.security.policy import check_raw
from labeld.security.roles import Forbidden, Role, Unauthorized, role_required
from labeld.security.tokens import TokenInfo, TokenStore

__all__ = [
    "AuditLog", "AuditTrail", "BodyLimit", "BodyLimitConfig", "Forbidden", "Guard",
    "HostAllowlist", "HostConfig", "JsonOnly", "JsonOnlyConfig", "OriginConfig", "OriginPolicy",
    "RateConfig", "RateLimiter", "Role", "SecuritySettings", "TokenInfo", "TokenStore",
    "TooManyRequests", "Unauthorized", "check_raw", "error_response", "install_middleware",
    "wrap",
]

# Declares bearer auth in the OpenAPI document (the "Authorize" button of /docs). auto_error is
# off so that a missing token is answered in labeld's JSON error format, not FastAPI's.
_BEARER = HTTPBearer(auto_error=False, description="A labeld API token (`lbd_...`).")

# Where Guard leaves the verified token for the route: request.state.labeld_token.


@dataclass(frozen=True)
class Guard:
    """The role check: `Depends(guard.require(Role.TECH))` on a route.

    In order: the bearer token must be valid (401), the token within its rate (429), the role
    high enough (403). Routes that need `audit_from` or more are marked for the audit log,
    refusals included."""

    tokens: TokenStore
    limiter: RateLimiter | None = None
    audit_from: Role | None = Role.TECH

    def require(self, role: Role) -> Callable[..., Awaitable[TokenInfo]]:
        async def dependency(request: Request,
                             credentials: HTTPAuthorizationCredentials | None = Depends(_BEARER),
                             ) -> TokenInfo:
            return await self.authorize(request, role,
                                        credentials.credentials if credentials else None)

        dependency.__name__ = f"require_{role.value}"
        return dependency

    async def authorize(self, request: Request, role: Role, token: str | None) -> TokenInfo:
        info = await self.tokens.verify(token)
        if info is None:
            if self.limiter is not None:
                # Unknown tokens cost a database lookup each: bound them per client address.
                client = request.client.host if request.client else "unknown"
                self.limiter.check(f"addr:{client}")
            if token is None:
                raise Unauthorized("token-required", "This request needs an API token.",
                                   "Send Authorization: Bearer <token>; an administrator creates "
                                   "tokens with `labeld token create NAME --role ROLE`.")
            raise Unauthorized("token-invalid", "The API token is not valid (unknown or revoked).",
                               "Check the token, or ask an administrator for a new one.")
        if self.limiter is not None:
            self.limiter.check(f"token:{info.id}")
        if self.audit_from is not None and role >= self.audit_from:
            mark(request.scope, info.name, info.role)
        if not info.role.covers(role):
            raise role_required(role, info.role, f"{request.method} {request.url.path}")
        return info


def error_response(exc: LabeldError) -> JSONResponse:
    """The API's JSON error for a LabeldError, with its headers (WWW-Authenticate on 401,
    Retry-After on 429). Use it in the app's LabeldError exception handler."""
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status,
                        headers=getattr(exc, "headers", None) or None)


@dataclass(frozen=True)
class SecuritySettings:
    """The `[security]` configuration section."""

    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    rate_per_second: float = 20.0
    burst: float = 40.0

    def rate_limiter(self) -> RateLimiter:
        return RateLimiter(RateConfig(rate_per_second=self.rate_per_second, burst=self.burst))


def _layers(settings: SecuritySettings, audit: AuditLog | None
            ) -> list[tuple[type, dict[str, object]]]:
    """Outermost first. The Host check comes before everything (a rebound page gets nothing,
    not even a CORS answer); the Origin policy answers preflights before the body rules; the
    audit trail sits closest to the app so it sees the status the app's handlers chose."""
    layers: list[tuple[type, dict[str, object]]] = [
        (HostAllowlist, {"config": HostConfig(allowed_hosts=tuple(settings.allowed_hosts))}),
        (OriginPolicy, {"config": OriginConfig(allowed_origins=tuple(settings.allowed_origins))}),
        (JsonOnly, {"config": JsonOnlyConfig()}),
        (BodyLimit, {"config": BodyLimitConfig(max_bytes=settings.max_body_bytes)}),
    ]
    if audit is not None:
        layers.append((AuditTrail, {"audit": audit}))
    return layers


def install_middleware(app: ASGIApp, settings: SecuritySettings,
                       audit: AuditLog | None = None) -> None:
    """Add the security middleware to a Starlette/FastAPI app, in the right order."""
    # add_middleware puts each new layer outside the previous ones: add innermost first.
    for cls, kwargs in reversed(_layers(settings, audit)):
        app.add_middleware(cls, **kwargs)  # type: ignore[attr-defined]


def wrap(app: ASGIApp, settings: SecuritySettings, audit: AuditLog | None = None) -> ASGIApp:
    """The same layers around any ASGI app."""
    for cls, kwargs in reversed(_layers(settings, audit)):
        app = cls(app, **kwargs)
    return app
