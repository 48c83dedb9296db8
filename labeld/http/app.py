"""The HTTP API (FastAPI): a front door of the daemon (labeld.daemon.Daemon).

`create_app` builds the daemon, hangs it on the app (`app.state.daemon`) with the role check
(`app.state.guard`), installs the security middleware and the error handlers, and adds the
routers of labeld/http/routers/ (one per resource), the web console (labeld.console, at /ui/)
and the API docs from bundled assets. Routes stay thin: they read the request,
call one operation of the daemon, and shape JSON.

Every error leaves as `{"error": {"code", "message", "hint"}}` (labeld.errors.error_body); bad
input is a 4xx naming the field, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from importlib import resources
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from labeld import __version__
from labeld.config import Config
from labeld.console.pages import STATIC_DIR, Console
from labeld.daemon import Daemon
from labeld.errors import LabeldError, error_body
from labeld.fleet.channel import FleetChannel
from labeld.http.deps import TECH
from labeld.http.routers import (actions, events, guides, jobs, printers, security, service,
                                 templates)
from labeld.http.security import Guard, error_response, install_middleware, rate_limiter
from labeld.pluginmanager import PluginManager

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, hint: str = "", **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, hint, **extra), status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LabeldError)
    async def _labeld(_: Request, exc: LabeldError) -> JSONResponse:
        return error_response(exc)  # keeps WWW-Authenticate (401) and Retry-After (429)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _error(422, "invalid-json", "The request body is not valid JSON.",
                          "Send a JSON object with Content-Type: application/json.")
        fields = [{"field": _field(tuple(e.get("loc", ()))),
                   "problem": str(e.get("msg", "")).removeprefix("Value error, ")} for e in errors]
        message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
        return _error(422, "invalid-request", message, "See /docs for the request format.",
                      fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}
        return _error(exc.status_code, codes.get(exc.status_code, "http-error"), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return _error(500, "internal-error", "labeld failed to handle this request.",
                      "This is a bug; the labeld log has the details.")


def create_app(config: Config, plugins: PluginManager | None = None) -> FastAPI:
    daemon = Daemon.build(config, plugins)
    settings = config.security
    # The support channel's files (password, TLS) are read here: their errors stop labeld
    # before it listens, like any config error.
    channel = FleetChannel(daemon, config.support) if config.support.broker else None
    console = Console(daemon)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await daemon.start()
        await console.start()  # the fleet view, when [desk] is configured
        try:
            if channel is not None:
                await channel.start()  # returns at once: the broker may be away
            try:
                yield
            finally:
                if channel is not None:
                    await channel.stop()
        finally:
            await console.stop()
            await daemon.stop()

    # /docs and /redoc are served below from bundled assets: a shop PC has no internet.
    app = FastAPI(title="labeld", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None,
                  description="Local print-and-diagnostics service for label and receipt printers.")
    app.state.daemon = daemon
    app.state.fleet = channel
    app.state.guard = Guard(daemon.token_store, rate_limiter(settings))
    install_error_handlers(app)
    install_middleware(app, settings, daemon.audit_log)
    # The routers' routes go straight into the app's list: FastAPI keeps an included router as
    # one lazy entry that every request opens again (bench_raw: ~5% of the daemon's CPU).
    for module in (service, printers, guides, actions, jobs, templates, events, security):
        app.router.routes.extend(module.router.routes)
    app.add_api_route("/metrics", service.metrics, response_class=Response, tags=["service"],
                      dependencies=[] if config.security.metrics_open else [TECH])
    install_docs(app)
    app.router.routes.extend(console.router().routes)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    return app


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs and ReDoc at /redoc, their scripts from the fastapi-offline package
    (served at /docs-assets/) instead of a CDN the shop PC cannot reach."""
    assets = resources.files("fastapi_offline") / "static"
    app.mount("/docs-assets", StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger(_: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=openapi_url, title="labeld API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon.png")

    async def redoc(_: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url=openapi_url, title="labeld API",
                              redoc_js_url="/docs-assets/redoc.standalone.js",
                              redoc_favicon_url="/docs-assets/favicon.png", with_google_fonts=False)

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
