"""The HTTP API (FastAPI). Routes stay thin: they validate, call the daemon's parts, and shape JSON.

Every error leaves as `{"error": {"code", "message", "hint"}}`; bad input is a 4xx naming the
field, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labeld import __version__
from labeld.diagnostics.metrics import METRICS_CONTENT_TYPE, render_metrics
from labeld.http.schemas import JobRequest, TokenRequest, job_json, printer_json, reasons_json
from labeld.config import Config
from labeld.errors import LabeldError, NotFound
from labeld.diagnostics.selftest import LogRing, diagnostic_label, run_selftest, support_bundle
from labeld.events import CLOSED, EventHub, event_json, sse
from labeld.intake.prepare import Prepared, prepare, raw_bytes
from labeld.intake.render import FontBook, raster_to_png
from labeld.intake.templates import TemplateStore
from labeld.intake.placeholders import fields as template_fields
from labeld.http.security import Guard, SecuritySettings, error_response, install_middleware
from labeld.intake.policy import check_raw, policy_table
from labeld.security import AuditLog, Role, TokenInfo, TokenStore
from labeld.pluginmanager import PluginManager, default_manager
from labeld.delivery.printers import Printer, build_printers
from labeld.delivery.scheduler import Scheduler
from labeld.store import JobState, NewJob, Spool

log = logging.getLogger(__name__)
SSE_KEEPALIVE_S = 15.0
SEVERITY_ORDER = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}
PRUNE_EVERY_S = 3600.0
DISCOVERY_TIMEOUT_S = 10.0


@dataclass
class Daemon:
    """Everything one running labeld owns; hung on the app object, nowhere else."""

    config: Config
    plugins: PluginManager
    spool: Spool
    printers: dict[str, Printer]
    scheduler: Scheduler
    events: EventHub
    tokens: TokenStore
    audit: AuditLog
    guard: Guard
    fonts: FontBook
    templates: TemplateStore

    def printer(self, printer_id: str) -> Printer:
        try:
            return self.printers[printer_id]
        except KeyError:
            raise NotFound("unknown-printer", f"There is no printer {printer_id!r}.",
                           f"Configured printers: {', '.join(sorted(self.printers)) or 'none'}.") from None


def build_daemon(config: Config, plugins: PluginManager | None = None) -> Daemon:
    plugins = plugins or default_manager()
    printers = build_printers(config, plugins)  # config errors surface before anything listens
    spool = Spool(config.server.spool)
    events = EventHub(spool)
    scheduler = Scheduler(spool, printers, config.delivery, emit=events.emit)
    tokens = TokenStore(spool)
    limiter = security_settings(config).rate_limiter()
    templates_dir = config.server.templates_dir or str(Path(config.server.spool).parent / "templates")
    return Daemon(config, plugins, spool, printers, scheduler, events, tokens, AuditLog(spool),
                  Guard(tokens, limiter), FontBook(config.server.font_dirs),
                  TemplateStore(templates_dir, plugins.templates()))


async def prune_forever(daemon: Daemon) -> None:
    """Keep the spool bounded on a PC that runs for years: finished jobs, old events, old audit."""
    while True:
        removed = await daemon.spool.prune(daemon.config.server.keep_finished_hours * 3600)
        await daemon.audit.prune(daemon.config.security.audit_keep_days * 86400)
        if removed:
            log.info("pruned %d finished job(s)", removed)
        await asyncio.sleep(PRUNE_EVERY_S)


def security_settings(config: Config) -> SecuritySettings:
    sec = config.security
    return SecuritySettings(allowed_hosts=tuple(sec.allowed_hosts),
                            allowed_origins=tuple(sec.allowed_origins),
                            max_body_bytes=sec.max_body_bytes, rate_per_second=sec.rate_per_second,
                            burst=sec.burst)


def _error(status: int, code: str, message: str, hint: str = "", **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "hint": hint, **extra}},
                        status_code=status)


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
        log.exception("unhandled error")
        return _error(500, "internal-error", "labeld failed to handle this request.",
                      "This is a bug; the labeld log has the details.")


def create_app(config: Config, plugins: PluginManager | None = None) -> FastAPI:
    daemon = build_daemon(config, plugins)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        daemon.spool.open()
        await daemon.scheduler.start()
        pruning = asyncio.create_task(prune_forever(daemon), name="labeld-prune")
        try:
            yield
        finally:
            pruning.cancel()
            daemon.events.close()
            await daemon.scheduler.stop()
            daemon.spool.close()

    app = FastAPI(title="labeld", version=__version__, lifespan=lifespan,
                  description="Local print-and-diagnostics service for label and receipt printers.")
    app.state.daemon = daemon
    root = logging.getLogger()
    if not any(isinstance(h, LogRing) for h in root.handlers):
        root.addHandler(LogRing())  # recent log lines for the support bundle
    install_error_handlers(app)
    install_middleware(app, security_settings(config), daemon.audit)
    pos = Depends(daemon.guard.require(Role.POS))
    tech = Depends(daemon.guard.require(Role.TECH))
    admin = Depends(daemon.guard.require(Role.ADMIN))

    @app.get("/healthz", tags=["service"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/printers", tags=["printers"], dependencies=[pos])
    async def list_printers() -> dict[str, Any]:
        counts = await daemon.spool.queued_counts()
        return {"printers": [printer_json(p, counts.get(pid, 0)) for pid, p in daemon.printers.items()]}

    @app.get("/v1/printers/{printer_id}", tags=["printers"], dependencies=[pos])
    async def get_printer(printer_id: str) -> dict[str, Any]:
        p = daemon.printer(printer_id)
        counts = await daemon.spool.queued_counts()
        return printer_json(p, counts.get(printer_id, 0))

    @app.get("/v1/printers/{printer_id}/status", tags=["printers"], dependencies=[tech])
    async def printer_status(printer_id: str) -> dict[str, Any]:
        """Ask the device now; answers within the status timeout even if the printer is dead."""
        p = daemon.printer(printer_id)
        live = await p.query_status()
        return {"printer": p.id, "state": p.state, "answered": live.answered,
                "reasons": reasons_json(live.reasons), "fields": live.fields,
                "latency_ms": live.latency_ms, "reply_hex": live.reply.hex(" ")}

    @app.post("/v1/printers/{printer_id}/selftest", tags=["printers"], dependencies=[tech])
    async def selftest(printer_id: str, print: bool = False) -> dict[str, Any]:  # noqa: A002
        """Ordered checks (reachable, identification, status, latency, media, configuration,
        model plugins' checks, and with ?print=true a diagnostic label); each bounded."""
        p = daemon.printer(printer_id)
        t0 = time.perf_counter()
        checks = await run_selftest(
            p, print_label=print, extra=daemon.plugins.selftest_checks(p.model.id),
            label=lambda: diagnostic_label(p, daemon.fonts))
        worst = max((c.status for c in checks), key=lambda s: SEVERITY_ORDER[s], default="ok")
        await daemon.events.emit("selftest", printer=printer_id, code=worst,
                                 message=f"self-test: {worst}")
        return {"printer": printer_id, "result": worst,
                "duration_ms": round((time.perf_counter() - t0) * 1000, 1),
                "checks": [asdict(c) for c in checks]}

    @app.get("/v1/support-bundle", tags=["service"], dependencies=[tech],
             response_class=Response)
    async def bundle() -> Response:
        """A zip for offline diagnosis: versions, plugins, redacted config, printers with live
        status and self-test, recent jobs with previews, events and log lines."""
        data = await support_bundle(daemon)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="labeld-support-{stamp}.zip"'})

    @app.get("/v1/discover", tags=["printers"], dependencies=[tech])
    async def discover() -> dict[str, Any]:
        """Printers connected to this machine now (USB), with the URI to configure and the
        model that matches; `configured` says which printer entry already uses the URI."""
        try:
            found = await asyncio.wait_for(asyncio.to_thread(daemon.plugins.discover),
                                           DISCOVERY_TIMEOUT_S)
        except TimeoutError:
            raise LabeldError("discovery-timeout", "Scanning the buses took too long.",
                              "Try again; if it keeps happening, see the labeld log.",
                              status=504) from None
        uses = {p.config.uri: p.id for p in daemon.printers.values()}
        return {"devices": [{"uri": d.uri, "description": d.description, "model": d.model,
                             "configured": uses.get(d.uri), "details": d.details}
                            for d in found]}

    @app.post("/v1/printers/{printer_id}/pause", tags=["printers"], dependencies=[tech])
    async def pause(printer_id: str) -> dict[str, Any]:
        p = daemon.printer(printer_id)
        await daemon.spool.set_paused(printer_id, True)  # kept across restarts
        p.paused = True
        return printer_json(p, (await daemon.spool.queued_counts()).get(printer_id, 0))

    @app.post("/v1/printers/{printer_id}/resume", tags=["printers"], dependencies=[tech])
    async def resume(printer_id: str) -> dict[str, Any]:
        p = daemon.printer(printer_id)
        await daemon.spool.set_paused(printer_id, False)
        p.paused = False
        daemon.scheduler.wake(printer_id)
        return printer_json(p, (await daemon.spool.queued_counts()).get(printer_id, 0))

    @app.post("/v1/jobs", status_code=202, tags=["jobs"])
    async def submit(body: JobRequest,
                     idempotency_key: str | None = Header(default=None, max_length=200),
                     token: TokenInfo = Depends(daemon.guard.require(Role.POS))) -> JSONResponse:
        printer = daemon.printer(body.printer)

        def validate_and_render() -> Prepared:
            if body.raw is not None:
                # Raw bytes go to the printer as they are: the command policy decides what this
                # token's role may send (no factory resets from a price field).
                check_raw(printer.language, raw_bytes(body.raw.model_dump()), token.role,
                          copies=body.copies)
            return prepare(body.kind, body.model_dump(), printer, daemon.fonts, daemon.templates)

        # Scanning up to 16 MiB of raw commands or rendering is CPU work: off the event loop,
        # so status calls stay quick meanwhile.
        prepared = await asyncio.to_thread(validate_and_render)
        result = await daemon.spool.submit(NewJob(printer=body.printer, kind=prepared.kind,
                                                  payload=prepared.payload, copies=body.copies,
                                                  idem_key=idempotency_key, pages=prepared.pages),
                                           max_queue=printer.config.max_queue)
        if result.created:
            daemon.scheduler.wake(body.printer)
        return JSONResponse(job_json(result.job), status_code=202 if result.created else 200,
                            headers={"Location": f"/v1/jobs/{result.job.id}"})

    @app.get("/v1/jobs", tags=["jobs"], dependencies=[pos])
    async def list_jobs(printer: str | None = None, state: JobState | None = None,
                        limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
        if printer is not None:
            daemon.printer(printer)
        jobs = await daemon.spool.list(printer=printer, state=state.value if state else None,
                                       limit=limit)
        return {"jobs": [job_json(j) for j in jobs]}

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[pos])
    async def get_job(job_id: str) -> dict[str, Any]:
        return job_json(await daemon.spool.get(job_id, with_attempts=True))

    @app.get("/v1/jobs/{job_id}/preview.png", tags=["jobs"], dependencies=[pos],
             response_class=Response)
    async def preview(job_id: str, page: int = Query(default=1, ge=1)) -> Response:
        """The raster exactly as it is encoded for the printer (labels, templates, documents)."""
        job = await daemon.spool.get(job_id)
        pages = await daemon.spool.pages(job_id)
        if not pages:
            raise NotFound("no-preview", f"Job {job_id} is a {job.kind} job: its bytes go to the "
                           "printer as they are, there is no raster to show.", "")
        if page > len(pages):
            raise NotFound("unknown-page", f"Job {job_id} has {len(pages)} page(s).", "")
        png = await asyncio.to_thread(raster_to_png, pages[page - 1])
        return Response(png, media_type="image/png",
                        headers={"X-Labeld-Pages": str(len(pages)), "Cache-Control": "no-store"})

    @app.get("/v1/templates", tags=["templates"], dependencies=[pos])
    async def list_templates() -> dict[str, Any]:
        return {"templates": daemon.templates.names()}

    @app.get("/v1/templates/{name}", tags=["templates"], dependencies=[pos])
    async def get_template(name: str) -> dict[str, Any]:
        doc = daemon.templates.get(name)
        return {"name": name, "fields": sorted(template_fields(doc)), "document": doc}

    @app.put("/v1/templates/{name}", tags=["templates"], dependencies=[admin])
    async def put_template(name: str, document: dict[str, Any]) -> JSONResponse:
        created = daemon.templates.put(name, document)
        return JSONResponse({"name": name, "fields": sorted(template_fields(document))},
                            status_code=201 if created else 200)

    @app.delete("/v1/templates/{name}", tags=["templates"], dependencies=[admin])
    async def delete_template(name: str) -> dict[str, Any]:
        daemon.templates.delete(name)
        return {"name": name, "deleted": True}

    @app.delete("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[tech])
    async def cancel_job(job_id: str) -> dict[str, Any]:
        job = await daemon.spool.cancel(job_id)
        daemon.scheduler.wake(job.printer)  # a worker backing off on this job moves on
        return job_json(job)

    @app.post("/v1/jobs/{job_id}/retry", tags=["jobs"], dependencies=[tech])
    async def retry_job(job_id: str) -> dict[str, Any]:
        """Queue an aborted or canceled job again: same id, its original place in the queue, a
        fresh retry budget; its earlier attempts stay in `attempt_log`."""
        job = await daemon.spool.restart(job_id)
        daemon.scheduler.wake(job.printer)
        return job_json(job)

    @app.post("/v1/jobs/{job_id}/release", tags=["jobs"], dependencies=[tech])
    async def release_job(job_id: str) -> dict[str, Any]:
        job = await daemon.spool.release(job_id)
        daemon.scheduler.wake(job.printer)
        return job_json(job)

    @app.get("/v1/printers/{printer_id}/events", tags=["printers"], dependencies=[tech])
    async def printer_events(printer_id: str, limit: int = Query(default=100, ge=1, le=1000),
                             after: int = Query(default=0, ge=0)) -> dict[str, Any]:
        """Status changes and job outcomes of one printer, newest first."""
        daemon.printer(printer_id)
        return {"events": [event_json(e) for e in
                           await daemon.spool.events(printer_id, limit=limit, after=after)]}

    @app.get("/v1/events", tags=["service"], dependencies=[tech])
    async def live_events(request: Request, printer: str | None = None) -> StreamingResponse:
        """Server-Sent Events: every status change and job outcome as it happens."""
        if printer is not None:
            daemon.printer(printer)
        queue = daemon.events.subscribe()

        async def stream():
            try:
                yield b": labeld events\n\n"
                while True:
                    try:
                        item = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_S)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield b": keep-alive\n\n"
                        continue
                    if item == CLOSED:
                        return
                    if isinstance(item, str) or printer is None or item.printer == printer:
                        yield sse(item)
            finally:
                daemon.events.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/policy/{language}", tags=["security"], dependencies=[pos])
    async def raw_policy(language: str) -> dict[str, Any]:
        """Which raw printer commands need which role (the data the 403s come from)."""
        if language not in daemon.plugins.languages():
            raise NotFound("unknown-language", f"No language {language!r}.",
                           f"Known: {', '.join(sorted(daemon.plugins.languages()))}.")
        return {"language": language,
                "rules": policy_table(daemon.plugins.languages()[language])}

    @app.get("/v1/tokens", tags=["security"], dependencies=[admin])
    async def list_tokens() -> dict[str, Any]:
        return {"tokens": [t.as_dict() for t in await daemon.tokens.list()]}

    @app.post("/v1/tokens", tags=["security"], status_code=201, dependencies=[admin])
    async def create_token(body: TokenRequest) -> dict[str, Any]:
        """The token's secret is in this answer only: labeld keeps just its hash."""
        secret, info = await daemon.tokens.create(body.name, Role(body.role))
        return {**info.as_dict(), "token": secret}

    @app.delete("/v1/tokens/{name}", tags=["security"], dependencies=[admin])
    async def revoke_token(name: str) -> dict[str, Any]:
        return (await daemon.tokens.revoke(name)).as_dict()

    @app.get("/v1/audit", tags=["security"], dependencies=[admin])
    async def audit_log(limit: int = Query(default=100, ge=1, le=1000),
                        who: str | None = None) -> dict[str, Any]:
        return {"entries": [e.as_dict() for e in await daemon.audit.list(limit=limit, who=who)]}

    metrics_deps = [] if config.security.metrics_open else [tech]

    @app.get("/metrics", tags=["service"], dependencies=metrics_deps,
             response_class=Response)
    async def metrics() -> Response:
        """Prometheus text format: printers' state and queues, jobs by state."""
        return Response(await render_metrics(daemon), media_type=METRICS_CONTENT_TYPE)

    @app.get("/v1/plugins", tags=["service"], dependencies=[tech])
    async def plugins_info() -> dict[str, Any]:
        owners = daemon.plugins.model_owners()
        return {
            "plugins": [{"name": i.name, "module": i.module, "distribution": i.distribution,
                         "version": i.version, "hooks": i.hooks, "errors": i.errors,
                         "ok": not i.errors} for i in daemon.plugins.infos()],
            "models": [{"id": m.id, "name": m.name, "language": m.language, "dpi": m.dpi,
                        "print_width_dots": m.print_width_dots, "kind": m.kind,
                        "plugin": owners.get(m.id)} for m in daemon.plugins.models().values()],
            "languages": sorted(daemon.plugins.languages()),
            "transports": sorted(daemon.plugins.transports()),
        }

    return app
