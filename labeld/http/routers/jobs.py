"""/v1/jobs: submit, list, read, preview, cancel, retry and release print jobs.

Who may act on a job: any token submits and reads jobs; a pos token cancels and follows (GET
/v1/jobs?mine=true, the events) only the jobs it submitted, its `owner`; shop staff cancel and
release every job of the shop (a till's held receipt is the shop's, not the till's); tech and
admin also retry and reprint. The daemon decides ownership (`Daemon.cancel(job_id, caller)`);
the route's role is the least any caller needs, which AuthGate checks before the body is
read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from labeld.daemon import DocumentInput, JobInput, RawInput
from labeld.http.deps import POS, STAFF, TECH, DaemonDep
from labeld.http.schemas import (BAD_CHECK_DIGIT, FORBIDDEN_COMMAND, INCOMPLETE_COMMAND,
                                 JOB_EXAMPLES, JOB_FINISHED, NOT_YOUR_JOB, UNKNOWN_JOB,
                                 UNKNOWN_PRINTER, Job, JobList, JobRequest, documented)
from labeld.security import TokenInfo
from labeld.security.audit import mark
from labeld.store import JobState
from labeld.views import job_json

router = APIRouter(tags=["jobs"])

JobBody = Annotated[JobRequest, Body(openapi_examples=JOB_EXAMPLES)]
# The refusals a job body can meet at submit (and preview): the raw-command policy (403), the
# printer (404), the render layer (422 with its codes) and the queue (503).
SUBMIT_REFUSALS = {
    403: {"forbidden-command": FORBIDDEN_COMMAND, "incomplete-command": INCOMPLETE_COMMAND},
    404: {"unknown-printer": UNKNOWN_PRINTER},
    422: {"bad-check-digit": BAD_CHECK_DIGIT},
}
ONE_JOB = {404: {"unknown-job": UNKNOWN_JOB}}


def job_input(body: JobRequest) -> JobInput:
    """The request as the daemon takes it: pydantic stays at the edge."""
    raw, doc = body.raw, body.document
    return JobInput(
        printer=body.printer, copies=body.copies,
        raw=RawInput(raw.content) if raw is not None else None,
        label=body.label, template=body.template, data=body.data,
        document=(DocumentInput(doc.content_type, doc.data, doc.dither)
                  if doc is not None else None),
        receipt=body.receipt)


@router.post("/v1/jobs", **documented(
    Job, 403, 404, 413, 415, 422, 503, status=202, examples=SUBMIT_REFUSALS,
    description="The job, stored before this answer (Location: /v1/jobs/{id}). A raw job "
                "the printer would misprint is accepted with `warnings`.",
    also={200: "The first job with this Idempotency-Key (within a day): nothing new."}))
async def submit(body: JobBody, daemon: DaemonDep,
                 idempotency_key: str | None = Header(default=None, max_length=200),
                 token: TokenInfo = POS) -> JSONResponse:
    """Submit a job: checked (raw-command policy) or rendered now, stored, then printed by the
    printer's worker. The job's `owner` is this token's name."""
    result = await daemon.submit(job_input(body), token.role, idempotency_key, owner=token.name)
    return JSONResponse(job_json(result.job, daemon.catalogues),
                        status_code=202 if result.created else 200,
                        headers={"Location": f"/v1/jobs/{result.job.id}"})


@router.get("/v1/jobs", **documented(JobList, 404, 422, examples={
    404: {"unknown-printer": UNKNOWN_PRINTER}}))
async def list_jobs(daemon: DaemonDep, printer: str | None = None, state: JobState | None = None,
                    limit: int = Query(default=100, ge=1, le=1000),
                    mine: bool = Query(default=False,
                                       description="Only the jobs this token submitted."),
                    token: TokenInfo = POS) -> dict[str, Any]:
    """Jobs, newest first; every token sees every job, `mine=true` only its own."""
    owner = token.name if mine else None
    jobs = await daemon.jobs(printer, state, limit, owner)
    return {"jobs": [job_json(j, daemon.catalogues) for j in jobs]}


@router.get("/v1/jobs/{job_id}", dependencies=[POS], **documented(Job, 404, 422,
                                                                  examples=ONE_JOB))
async def get_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """One job, with its attempt log (any token, whoever submitted it)."""
    return job_json(await daemon.job(job_id), daemon.catalogues)


@router.get("/v1/jobs/{job_id}/preview.png", dependencies=[POS], response_class=Response,
            **documented(None, 404, 422, media_type="image/png", examples={404: {
                **ONE_JOB, "no-preview": {"summary": "no-preview", "value": {"error": {
                    "code": "no-preview", "message": "Job ... is a raw job: its bytes go to the "
                    "printer as they are, there is no raster to show.", "hint": ""}}}}},
                description="The page as PNG; X-Labeld-Pages says how many pages."))
async def preview(job_id: str, daemon: DaemonDep, page: int = Query(default=1, ge=1)) -> Response:
    """The raster exactly as it is encoded for the printer (labels, templates, documents)."""
    shown = await daemon.preview(job_id, page)
    return Response(shown.png, media_type="image/png",
                    headers={"X-Labeld-Pages": str(shown.pages), "Cache-Control": "no-store"})


@router.delete("/v1/jobs/{job_id}", **documented(
    Job, 403, 404, 409, 422, description="The canceled job.", examples={
        403: {"not-your-job": NOT_YOUR_JOB}, **ONE_JOB, 409: {"job-finished": JOB_FINISHED}}))
async def cancel_job(job_id: str, request: Request, daemon: DaemonDep,
                     token: TokenInfo = POS) -> dict[str, Any]:
    """Cancel a job that has not finished. A pos token may cancel only the jobs it submitted
    (403 `not-your-job`); staff, tech and admin any job. Every cancel is audited, and recorded
    as an event naming who canceled it."""
    mark(request.scope, token.name, token.role)  # refusals included, as for tech routes
    return job_json(await daemon.cancel(job_id, token), daemon.catalogues)


@router.post("/v1/jobs/{job_id}/retry", dependencies=[TECH], **documented(
    Job, 403, 404, 409, 422, examples=ONE_JOB))
async def retry_job(job_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """Queue an aborted or canceled job again: same id, its original place in the queue, a
    fresh retry budget; its earlier attempts stay in `attempt_log`."""
    return job_json(await daemon.retry(job_id), daemon.catalogues)


@router.post("/v1/jobs/{job_id}/release", **documented(
    Job, 403, 404, 409, 422, examples=ONE_JOB))
async def release_job(job_id: str, daemon: DaemonDep,
                      token: TokenInfo = STAFF) -> dict[str, Any]:
    """Let a held job print (staff, tech, admin); recorded as an event naming who released
    it."""
    return job_json(await daemon.release(job_id, token), daemon.catalogues)


@router.post("/v1/jobs/{job_id}/reprint", **documented(
    Job, 403, 404, 409, 422, status=202, examples=ONE_JOB,
    description="The new job (Location: /v1/jobs/{id})."))
async def reprint_job(job_id: str, daemon: DaemonDep, token: TokenInfo = TECH) -> JSONResponse:
    """Print a finished job again as a new job (same printer, pages or raw bytes, copies), at
    the end of the queue, owned by this token; the original keeps its history."""
    job = await daemon.reprint(job_id, owner=token.name)
    return JSONResponse(job_json(job, daemon.catalogues), status_code=202,
                        headers={"Location": f"/v1/jobs/{job.id}"})


@router.post("/v1/preview", response_class=Response, **documented(
    None, 403, 404, 413, 415, 422, media_type="image/png", examples=SUBMIT_REFUSALS,
    description="The page as PNG; X-Labeld-Pages says how many pages."))
async def preview_request(body: JobBody, daemon: DaemonDep,
                          page: int = Query(default=1, ge=1),
                          token: TokenInfo = POS) -> Response:
    """What a job would print, without printing it: the page as PNG, checked and rendered
    exactly as POST /v1/jobs would (labels, templates, documents; a raw job is 422
    `no-preview`)."""
    shown = await daemon.render(job_input(body), token.role, page)
    return Response(shown.png, media_type="image/png",
                    headers={"X-Labeld-Pages": str(shown.pages), "Cache-Control": "no-store"})
