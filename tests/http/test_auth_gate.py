"""401 before anything else: the token and role check runs before the body is read.

FastAPI parses a route's JSON body before it runs the route's dependencies, so the role check as
a dependency alone answered a request without a token but with a broken body 422. `AuthGate`
reads the role off the route's Guard dependency and decides first: no valid token is 401, too
low a role 403, whatever the body (malformed, huge, not JSON). These tests build a small app
with the real middleware stack (`install_middleware`); tests/http/test_api_security.py runs the
same cases against the daemon on a real socket.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from labeld.http.app import install_error_handlers
from labeld.config import SecurityConfig
from labeld.http.security import (Guard, RateConfig, RateLimiter,
                                  install_middleware, require)
from labeld.security.audit import STATE_KEY, AuditLog
from labeld.contracts import Role
from labeld.security.tokens import TokenStore
from tests.conftest import run
from tests.http.streaming import Source


class Body(BaseModel):
    printer: str


def gated_app(db, rate: RateConfig | None = None) -> tuple[FastAPI, TokenStore, AuditLog]:
    tokens = TokenStore(db)
    audit = AuditLog(db)
    guard = Guard(tokens, RateLimiter(rate or RateConfig(rate_per_second=100, burst=100)))
    app = FastAPI()
    install_error_handlers(app)
    install_middleware(app, SecurityConfig(max_body_bytes=4096), audit)
    pos, tech, admin = (Depends(guard.require(r)) for r in (Role.POS, Role.TECH, Role.ADMIN))

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/jobs")
    async def submit(body: Body, token=pos) -> dict[str, str]:
        return {"printer": body.printer, "who": token.name}

    @app.post("/v1/printers/{printer_id}/pause", dependencies=[tech])
    async def pause(printer_id: str, request: Request, body: Body | None = None) -> dict[str, str]:
        getattr(request.state, STATE_KEY).target = f"printer={printer_id}"
        return {"paused": printer_id}

    @app.post("/v1/tokens", dependencies=[admin])
    async def create_token(body: Body) -> dict[str, str]:
        return {"created": body.printer}

    @app.get("/v1/forgotten")  # a route someone added without a role check
    async def forgotten() -> dict[str, str]:
        return {"open": "no"}

    return app, tokens, audit


def call(app, method: str, path: str, token: str | None = None, content: Any = None,
         content_type: str | None = "application/json", **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        h = {**headers}
        if token:
            h["Authorization"] = f"Bearer {token}"
        if content_type:
            h["Content-Type"] = content_type
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, headers=h, content=content)
    return run(go())


@pytest.fixture
def env(db):
    app, tokens, audit = gated_app(db)
    made = {r: run(tokens.create(f"t-{r.value}", r))[0] for r in Role}
    return app, made, audit


BROKEN = [b"{not json", b'{"printer": 1, "extra": [', b"\xff\xfe", b""]


@pytest.mark.parametrize("body", BROKEN)
def test_no_token_with_a_malformed_body_is_401_not_422(env, body):
    app, *_ = env
    r = call(app, "POST", "/v1/jobs", content=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token-required"
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("body", BROKEN)
def test_a_wrong_token_with_a_malformed_body_is_401(env, body):
    app, *_ = env
    r = call(app, "POST", "/v1/jobs", token="lbd_" + "x" * 43, content=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token-invalid"


def test_no_token_with_a_huge_body_is_401_and_the_body_is_never_read(env):
    app, *_ = env
    source = Source(chunks=1000)  # 1 MB on offer, the limit is 4 KiB
    r = call(app, "POST", "/v1/jobs", content=source)
    assert r.status_code == 401
    assert source.taken == 0
    r = call(app, "POST", "/v1/jobs", content=b"x" * 5000)  # declared too large, too
    assert r.status_code == 401


@pytest.mark.parametrize("content_type", ["text/plain", None, "multipart/form-data; boundary=x"])
def test_no_token_with_a_body_that_is_not_json_is_401(env, content_type):
    app, *_ = env
    r = call(app, "POST", "/v1/jobs", content=b"printer=shelf", content_type=content_type)
    assert r.status_code == 401


def test_too_low_a_role_is_403_before_the_body_is_read(env):
    app, made, _ = env
    source = Source(chunks=1000)
    r = call(app, "POST", "/v1/tokens", token=made[Role.POS], content=source)
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient-role"
    assert source.taken == 0
    r = call(app, "POST", "/v1/tokens", token=made[Role.TECH], content=b"{not json")
    assert r.status_code == 403


def test_with_the_right_token_the_body_rules_follow(env):
    app, made, _ = env
    pos = made[Role.POS]
    assert call(app, "POST", "/v1/jobs", pos, b"{not json").json()["error"]["code"] == \
        "invalid-json"
    assert call(app, "POST", "/v1/jobs", pos, b'{"printer": 1}').status_code == 422
    assert call(app, "POST", "/v1/jobs", pos, b"x" * 5000).status_code == 413
    assert call(app, "POST", "/v1/jobs", pos, b"hi", "text/plain").status_code == 415
    r = call(app, "POST", "/v1/jobs", pos, b'{"printer": "shelf"}')
    assert r.status_code == 200 and r.json() == {"printer": "shelf", "who": "t-pos"}


def test_a_path_without_a_route_needs_a_token_too(env):
    app, made, _ = env
    assert call(app, "GET", "/v1/nothing-here").status_code == 401
    assert call(app, "PUT", "/v1/jobs", content=b"{").status_code == 401  # method not allowed
    assert call(app, "GET", "/v1/nothing-here", made[Role.POS]).status_code == 404


def test_open_routes_are_only_the_ones_meant_to_be(env):
    app, made, _ = env
    assert call(app, "GET", "/healthz").status_code == 200
    for path in ("/openapi.json", "/docs", "/redoc"):  # the API description: see the README
        assert call(app, "GET", path).status_code == 200, path
    # A route without a Guard that is not on the public list is taken for a forgotten check.
    assert call(app, "GET", "/v1/forgotten").status_code == 401
    assert call(app, "GET", "/v1/forgotten", made[Role.TECH]).status_code == 403
    assert call(app, "GET", "/v1/forgotten", made[Role.ADMIN]).status_code == 200


def test_the_rate_limiter_is_charged_once_per_request(db):
    app, tokens, _ = gated_app(db, RateConfig(rate_per_second=0.001, burst=3))
    pos, _ = run(tokens.create("till-1", Role.POS))
    # The gate and the route's own Guard dependency both see the request; one token each.
    codes = [call(app, "POST", "/v1/jobs", pos, b'{"printer": "p"}').status_code
             for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_refusals_by_the_gate_are_audited_with_their_target(env):
    app, made, audit = env
    assert call(app, "POST", "/v1/printers/shelf/pause", made[Role.POS]).status_code == 403
    assert call(app, "POST", "/v1/printers/shelf/pause", made[Role.TECH]).status_code == 200
    got = [(e.who, e.path, e.target, e.status) for e in run(audit.list())]
    assert got == [("t-tech", "/v1/printers/shelf/pause", "printer=shelf", 200),
                   ("t-pos", "/v1/printers/shelf/pause", "printer_id=shelf", 403)]


def routed_app(db) -> tuple[FastAPI, TokenStore]:
    """Routes written on an APIRouter before any app (as labeld/http/routers/ are), with the
    role checks of `require` (the serving app's Guard) and one from the include itself."""
    tokens = TokenStore(db)
    router, admin_only = APIRouter(), APIRouter()
    pos = Depends(require(Role.POS))  # as labeld.http.deps.POS

    @router.post("/v1/jobs")
    async def submit(body: Body, token=pos) -> dict[str, str]:
        return {"printer": body.printer, "who": token.name}

    @admin_only.post("/v1/tokens")
    async def create_token(body: Body) -> dict[str, str]:
        return {"created": body.printer}

    app = FastAPI()
    app.state.guard = Guard(tokens)
    install_error_handlers(app)
    install_middleware(app, SecurityConfig(max_body_bytes=4096))
    app.include_router(router)
    app.include_router(admin_only, dependencies=[Depends(require(Role.ADMIN))])
    return app, tokens


def test_routes_of_included_routers_are_gated_before_the_body_is_read(db):
    app, tokens = routed_app(db)
    pos, _ = run(tokens.create("till-1", Role.POS))
    source = Source(chunks=1000)
    r = call(app, "POST", "/v1/jobs", content=source)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token-required"
    assert source.taken == 0
    assert call(app, "POST", "/v1/jobs", content=b"{not json").status_code == 401
    # The include's own dependency counts as the route's: 403 before the broken body.
    r = call(app, "POST", "/v1/tokens", pos, b"{not json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "insufficient-role"
    r = call(app, "POST", "/v1/jobs", pos, b'{"printer": "shelf"}')
    assert r.status_code == 200 and r.json() == {"printer": "shelf", "who": "till-1"}
