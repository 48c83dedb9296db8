"""/v1/jobs: submit, list, read, preview, cancel, retry and release print jobs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse

from labeld.daemon import DocumentInput, JobInput, RawInput
from labeld.http.deps import POS, TECH, DaemonDep
from labeld.http.schemas import JobRequest
from labeld.security import TokenInfo
from labeld.store import JobState
from labeld.views import job_json

router = APIRouter(tags=["jobs"])


def job_input(body: JobRequest) -> JobInput:
    """The request as the daemon takes it: pydantic stays at the edge."""
    raw, doc = body.raw, body.document
    return JobInput(
        printer=body.printer, copies=body.copies,
        raw=RawInput(raw.content) if raw is not None else None,
        label=body.label, template=body.template, data=body.data,
        document=(DocumentInput(doc.content_type, doc.data, doc.dither)
                  if doc is not None else None))


@router.post("/v1/jobs", status_code=202)
async def submit(body: JobRequest, daemon: DaemonDep,
                 idempotency_key: str | None = Header(default=None, max_length=200),
                 token: TokenInfo = POS) -> JSONResponse:
    result = await daemon.submit(job_input(body), token.role, idempotency_key)
    return JSONResponse(job_json(result.job), status_code=202 if result.created else 200,
                        headers={"Location": f"/v1/jobs/{result.job.id}"})


@router.get("/v1/jobs", dependencies=[POS])
async def list_jobs(daemon: DaemonDep, printer: str | None = None, state: JobState | None = None,
                    limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
    return {"jobs": [job_json(j) for j in await daemon.jobs(printer, state, limit)]}


@router.get("/v1/jobs/{job_id}", dependencies=[POS])
async def get_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    return job_json(await daemon.job(job_id))


@router.get("/v1/jobs/{job_id}/preview.png", dependencies=[POS], response_class=Response)
async def preview(job_id: str, daemon: DaemonDep, page: int = Query(default=1, ge=1)) -> Response:
    """The raster exactly as it is encoded for the printer (labels, templates, documents)."""
    shown = await daemon.preview(job_id, page)
    return Response(shown.png, media_type="image/png",
                    headers={"X-Labeld-Pages": str(shown.pages), "Cache-Control": "no-store"})


@router.delete("/v1/jobs/{job_id}", dependencies=[TECH])
async def cancel_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    return job_json(await daemon.cancel(job_id))


@router.post("/v1/jobs/{job_id}/retry", dependencies=[TECH])
async def retry_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """Queue an aborted or canceled job again: same id, its original place in the queue, a
    fresh retry budget; its earlier attempts stay in `attempt_log`."""
    return job_json(await daemon.retry(job_id))


@router.post("/v1/jobs/{job_id}/release", dependencies=[TECH])
async def release_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    return job_json(await daemon.release(job_id))


@router.post("/v1/jobs/{job_id}/reprint", status_code=202, dependencies=[TECH])
async def reprint_job(job_id: str, daemon: DaemonDep) -> JSONResponse:
    """Print a finished job again as a new job (same printer, pages or raw bytes, copies), at
    the end of the queue; the original keeps its history."""
    job = await daemon.reprint(job_id)
    return JSONResponse(job_json(job), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.post("/v1/preview", response_class=Response)
async def preview_request(body: JobRequest, daemon: DaemonDep,
                          page: int = Query(default=1, ge=1),
                          token: TokenInfo = POS) -> Response:
    """What a job would print, without printing it: the page as PNG, checked and rendered
    exactly as POST /v1/jobs would (labels, templates, documents)."""
    shown = await daemon.render(job_input(body), token.role, page)
    return Response(shown.png, media_type="image/png",
                    headers={"X-Labeld-Pages": str(shown.pages), "Cache-Control": "no-store"})
