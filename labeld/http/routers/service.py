"""The service itself: liveness, plugins, discovery, the morning report, the support bundle and
/metrics."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Response

from labeld.diagnostics.metrics import METRICS_CONTENT_TYPE
from labeld.http.deps import TECH, DaemonDep
from labeld.http.schemas import DiscoverList, Health, PluginsInfo, Report, documented

router = APIRouter()


@router.get("/healthz", tags=["service"], **documented(Health, guarded=False))
async def healthz() -> dict[str, str]:
    """Liveness; needs no token."""
    return {"status": "ok"}


@router.get("/v1/support-bundle", tags=["service"], dependencies=[TECH],
            response_class=Response, **documented(
                None, 403, media_type="application/zip",
                description="labeld-support-<time>.zip (Content-Disposition: attachment)."))
async def bundle(daemon: DaemonDep) -> Response:
    """A zip for offline diagnosis: versions, plugins, redacted config, printers with live
    status and self-test, recent jobs with previews, events and log lines."""
    data = await daemon.support_bundle()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="labeld-support-{stamp}.zip"'})


@router.get("/v1/report", tags=["service"], dependencies=[TECH], **documented(
    Report, 403, 422, examples={422: {"invalid-range": {
        "summary": "invalid-range", "value": {"error": {
            "code": "invalid-range", "message": "The report's start (2026-03-14T10:00:00+01:00) "
            "is not before its end (2026-03-14T09:00:00+01:00).",
            "hint": "Give since= earlier than until=."}}}}}))
async def morning_report(
        daemon: DaemonDep,
        since: datetime | None = Query(default=None, description="ISO 8601; default: when the "
                                       "support desk last closed ([support])."),
        until: datetime | None = Query(default=None, description="ISO 8601; default: now."),
) -> dict[str, Any]:
    """The morning report: per printer, the faults in the range (when, how long), what people
    did about them and who (guides followed, maintenance actions, jobs released or canceled),
    and what is still wrong or held now. Every text in every language; a time without a zone
    is the shop's wall clock. For the technician (tech): it names the staff and what each
    did, as the audit log does."""
    return (await daemon.report(since, until)).as_json()


@router.get("/v1/discover", tags=["printers"], dependencies=[TECH], **documented(
    DiscoverList, 403, 504, examples={504: {"discovery-timeout": {
        "summary": "discovery-timeout", "value": {"error": {
            "code": "discovery-timeout", "message": "Scanning the buses took too long.",
            "hint": "Try again; if it keeps happening, see the labeld log."}}}}}))
async def discover(daemon: DaemonDep) -> dict[str, Any]:
    """Printers connected to this machine now (USB), with the URI to configure and the
    model that matches; `configured` says which printer entry already uses the URI."""
    return {"devices": [asdict(d) for d in await daemon.discover()]}


@router.get("/v1/plugins", tags=["service"], dependencies=[TECH],
            **documented(PluginsInfo, 403))
async def plugins_info(daemon: DaemonDep) -> dict[str, Any]:
    """Loaded plugins (with their errors), models, languages and transports."""
    return await daemon.plugins_info()


# GET /metrics, added by create_app with or without the tech role check: whether a scrape
# needs a token is configuration (`security.metrics_open`). METRICS_DOC declares its answers
# for the app's add_api_route (as `**documented(...)` does for the routes above).
async def metrics(daemon: DaemonDep) -> Response:
    """Prometheus text format: printers' state and queues, jobs by state."""
    return Response(await daemon.metrics(), media_type=METRICS_CONTENT_TYPE)


METRICS_DOC = documented(None, 403, media_type=METRICS_CONTENT_TYPE,
                         description="Prometheus text exposition format.")
