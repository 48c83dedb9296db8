"""The HTTP edge: Host allowlist, Origin policy with CORS and PNA, JSON only, body limit, rate."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from labeld.http.app import install_error_handlers
from labeld.config import SecurityConfig
from labeld.http.security import install_middleware, wrap
from labeld.http.middleware import (
    BodyLimit,
    BodyLimitConfig,
    HostAllowlist,
    HostConfig,
    JsonOnly,
    OriginConfig,
    OriginPolicy,
    RateConfig,
    RateLimiter,
    TooManyRequests,
    normalize_origin,
    split_host,
)
from tests.http.streaming import Source

POS_ORIGIN = "https://pos.example.com"


class Echo:
    """A tiny ASGI app: reads the whole body, answers 200 with its size."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            return
        self.calls += 1
        size = 0
        while True:
            message = await receive()
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = json.dumps({"received": size}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def request(app, method="GET", path="/v1/jobs", headers=None, content=None, host="127.0.0.1:8631"):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=f"http://{host}") as c:
            return await c.request(method, path, headers=headers, content=content)
    return asyncio.run(go())


def assert_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    err = r.json()["error"]
    assert err["code"] == code and err["message"] and err["hint"]


# -- Host ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["localhost", "localhost:8631", "LocalHost:8631", "127.0.0.1",
                                  "127.0.0.1:8631", "[::1]", "[::1]:8631"])
def test_loopback_host_names_are_answered(host):
    app = Echo()
    assert request(HostAllowlist(app), headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8631", "localhost.evil",
                                  "localhost.evil:8631", "127.0.0.1.nip.io", "127.0.0.2:8631",
                                  "0.0.0.0:8631", "::1", "[::1", "127.0.0.1:", "127.0.0.1:99999",
                                  "localhost:8631:1", "localhost:abc", "[::1]x"])
def test_other_host_names_get_421(host):
    app = Echo()
    r = request(HostAllowlist(app), headers={"Host": host})
    assert_error(r, 421, "host-not-allowed")
    assert app.calls == 0


def test_a_request_without_or_with_two_host_headers_is_refused():
    app = HostAllowlist(Echo())

    async def go(headers):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        await app({"type": "http", "method": "GET", "path": "/", "headers": headers}, receive, send)
        return sent[0]["status"]

    assert asyncio.run(go([])) == 421
    assert asyncio.run(go([(b"host", b"localhost"), (b"host", b"evil.example")])) == 421


def test_host_entries_with_a_port_allow_only_that_port():
    config = HostConfig(allowed_hosts=("shop-pc.lan:8631", "::1"))
    assert config.allows("shop-pc.lan:8631") and config.allows("SHOP-PC.LAN:8631")
    assert not config.allows("shop-pc.lan") and not config.allows("shop-pc.lan:9100")
    assert config.allows("[::1]:1234")
    assert split_host("[::1]:8631") == ("[::1]", 8631) and split_host("a:b") is None
    with pytest.raises(ValueError):
        HostConfig(allowed_hosts=("http://localhost",))


# -- Origin --------------------------------------------------------------------------------

def origin_app():
    inner = Echo()
    return OriginPolicy(inner, OriginConfig(allowed_origins=(POS_ORIGIN + "/",
                                                             "http://localhost:3000"))), inner


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://pos.example.com",
                                    "https://pos.example.com.evil.example",
                                    "https://pos.example.com:8443", "not an origin"])
def test_a_disallowed_origin_is_refused(origin):
    app, inner = origin_app()
    for method in ("GET", "POST"):
        r = request(app, method, headers={"Origin": origin, "Content-Type": "application/json"},
                    content=b"{}")
        assert_error(r, 403, "origin-not-allowed")
        assert "access-control-allow-origin" not in r.headers
    assert inner.calls == 0


def test_a_disallowed_origin_gets_no_preflight_approval():
    app, _ = origin_app()
    r = request(app, "OPTIONS", headers={"Origin": "https://evil.example",
                                         "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Private-Network": "true"})
    assert_error(r, 403, "origin-not-allowed")
    assert "access-control-allow-private-network" not in r.headers


def test_an_allowed_origin_preflight_is_answered_with_cors_and_private_network_access():
    app, inner = origin_app()
    r = request(app, "OPTIONS", headers={
        "Origin": POS_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
        "Access-Control-Request-Private-Network": "true"})
    assert r.status_code == 204 and inner.calls == 0
    assert r.headers["access-control-allow-origin"] == POS_ORIGIN
    assert r.headers["access-control-allow-private-network"] == "true"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "Origin" in r.headers["vary"] and int(r.headers["access-control-max-age"]) > 0
    # Without the PNA request header, no PNA answer.
    r = request(app, "OPTIONS", headers={"Origin": POS_ORIGIN,
                                         "Access-Control-Request-Method": "GET"})
    assert r.status_code == 204 and "access-control-allow-private-network" not in r.headers


def test_an_allowed_origin_gets_cors_headers_on_the_real_request():
    app, inner = origin_app()
    r = request(app, "POST", headers={"Origin": "http://LOCALHOST:3000",
                                      "Content-Type": "application/json"}, content=b"{}")
    assert r.status_code == 200 and inner.calls == 1
    assert r.headers["access-control-allow-origin"] == "http://LOCALHOST:3000"
    assert "location" in r.headers["access-control-expose-headers"]
    assert r.headers["vary"] == "Origin"


def test_no_origin_and_same_origin_pass():
    app, inner = origin_app()
    assert request(app).status_code == 200  # curl, a POS program
    # labeld's own /docs page posting to labeld
    r = request(app, "POST", headers={"Origin": "http://127.0.0.1:8631",
                                      "Content-Type": "application/json"}, content=b"{}")
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert inner.calls == 2


def test_origin_config_is_validated():
    assert normalize_origin("HTTPS://Pos.Example.com:443/") == "https://pos.example.com"
    assert normalize_origin("http://[::1]:80") == "http://[::1]"
    assert normalize_origin("https://pos.example.com/app") is None
    for bad in ("null", "pos.example.com", "ftp://x", "https://x/path"):
        with pytest.raises(ValueError):
            OriginConfig(allowed_origins=(bad,))


# -- JSON only -----------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/jsonp", "text/json", ""])
def test_state_changing_requests_must_be_json(content_type):
    app = Echo()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        headers = {"Content-Type": content_type} if content_type else {}
        r = request(JsonOnly(app), method, headers=headers, content=b'{"printer": "p1"}')
        assert_error(r, 415, "unsupported-media-type")
    assert app.calls == 0


def test_json_passes_and_bodiless_requests_need_no_content_type():
    app = Echo()
    ok = [("POST", {"Content-Type": "application/json"}, b"{}"),
          ("POST", {"Content-Type": "Application/JSON; charset=utf-8"}, b"{}"),
          ("DELETE", {}, None),
          ("POST", {}, None),  # POST /v1/printers/ID/pause
          ("POST", {"Content-Length": "0"}, b""),
          ("GET", {"Content-Type": "text/plain"}, None)]  # not state-changing
    for method, headers, content in ok:
        assert request(JsonOnly(app), method, headers=headers, content=content).status_code == 200


def test_a_streamed_body_without_a_content_type_is_refused():
    async def body():
        yield b"{}"
    app = Echo()
    assert_error(request(JsonOnly(app), "POST", content=body()), 415, "unsupported-media-type")


# -- body limit ----------------------------------------------------------------------------

def test_a_declared_length_over_the_limit_is_refused_before_reading():
    app = Echo()
    r = request(BodyLimit(app, BodyLimitConfig(max_bytes=1000)), "POST",
                headers={"Content-Type": "application/json"}, content=b"x" * 1001)
    assert_error(r, 413, "too-large")
    assert app.calls == 0


def test_a_streamed_body_is_cut_off_at_the_limit_without_reading_the_rest():
    app = Echo()
    source = Source(chunks=1000)  # 1 MB on offer, the limit is 10 KB
    r = request(BodyLimit(app, BodyLimitConfig(max_bytes=10 * 1024)), "POST",
                headers={"Content-Type": "application/json"}, content=source)
    assert_error(r, 413, "too-large")
    assert source.taken <= 11  # the chunk that crossed the limit, and nothing after it


def test_bodies_up_to_the_limit_pass():
    app = Echo()
    source = Source(chunks=10)
    r = request(BodyLimit(app, BodyLimitConfig(max_bytes=10 * 1024)), "POST",
                headers={"Content-Type": "application/json"}, content=source)
    assert r.status_code == 200 and r.json() == {"received": 10 * 1024}


def test_inside_fastapi_the_apps_own_handler_answers_413():
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/v1/jobs")
    async def submit(body: dict) -> dict:
        return {"ok": True}

    install_middleware(app, SecurityConfig(max_body_bytes=4096))
    source = Source(chunks=100)
    r = request(app, "POST", headers={"Content-Type": "application/json"}, content=source)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too-large"
    assert source.taken <= 5
    r = request(app, "POST", headers={"Content-Type": "application/json"}, content=b"{}")
    assert r.status_code == 200


# -- rate limiter --------------------------------------------------------------------------

def test_token_bucket_allows_the_burst_then_the_rate():
    now = [0.0]
    limiter = RateLimiter(RateConfig(rate_per_second=2, burst=3), clock=lambda: now[0])
    assert [limiter.acquire("till-1") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("till-1") == pytest.approx(0.5)
    assert limiter.acquire("till-2") == 0.0  # buckets are per key
    with pytest.raises(TooManyRequests) as e:
        limiter.check("till-1")
    assert e.value.status == 429 and e.value.headers == {"Retry-After": "1"}
    now[0] += 0.5
    assert limiter.acquire("till-1") == 0.0
    now[0] += 100
    assert [limiter.acquire("till-1") for _ in range(4)][-1] > 0  # refills only up to burst


def test_the_limiter_forgets_idle_keys_beyond_its_size():
    limiter = RateLimiter(RateConfig(rate_per_second=1, burst=1, max_keys=100),
                          clock=lambda: 0.0)
    for i in range(1000):
        limiter.acquire(f"addr:{i}")
    assert len(limiter._buckets) == 100
    assert limiter.acquire("addr:999") > 0  # the most recent are kept


# -- all together, on a real socket ----------------------------------------------------------

def test_the_stack_on_a_real_uvicorn_server():
    inner = Echo()
    app = wrap(inner, SecurityConfig(allowed_origins=[POS_ORIGIN], max_body_bytes=1024))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error",
                                           lifespan="off"))
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]

    def raw(lines: list[str], body: bytes = b"") -> tuple[int, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            data = b""
            while chunk := s.recv(4096):  # Connection: close, so read to the end
                data += chunk
        return int(data.split(b" ", 2)[1]), data

    try:
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert raw(["GET / HTTP/1.1", f"Host: {host}", "Connection: close"])[0] == 200
        for host in ("evil.example", f"localhost.evil:{port}", f"evil.example:{port}"):
            status, data = raw(["GET / HTTP/1.1", f"Host: {host}", "Connection: close"])
            assert status == 421 and b"host-not-allowed" in data
        status, _ = raw(["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}",
                         "Origin: https://evil.example", "Content-Type: application/json",
                         "Content-Length: 2", "Connection: close"], b"{}")
        assert status == 403
        status, _ = raw(["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: text/plain",
                         "Content-Length: 2", "Connection: close"], b"hi")
        assert status == 415
        # A gigabyte announced, nothing sent: answered at once, nothing read.
        status, _ = raw(["POST / HTTP/1.1", f"Host: 127.0.0.1:{port}",
                         "Content-Type: application/json", "Content-Length: 1000000000",
                         "Connection: close"])
        assert status == 413
        assert inner.calls == 3
    finally:
        server.should_exit = True
        thread.join(10)
