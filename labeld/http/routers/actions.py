"""/v1/printers/{id}/actions: the maintenance actions a printer's model declares, and running one.

Shop staff may list them and run those marked for staff (calibrate, feed, a test print); the
route needs STAFF, the daemon checks the action's own role (darkness needs a technician). A
caller names an action and at most gives its one value: the bytes are the plugin's, which is
why they pass no raw-command policy. Every run is audited, refusals included, with the printer,
the action and the value as its target."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from labeld.http.deps import STAFF, DaemonDep
from labeld.http.schemas import (ACTION_ROLE, UNKNOWN_ACTION, UNKNOWN_PRINTER,
                                 VALUE_OUT_OF_RANGE, ActionList, ActionRequest, Job, documented)
from labeld.security import TokenInfo
from labeld.security.audit import STATE_KEY, AuditMark
from labeld.views import action_json, job_json

router = APIRouter(tags=["printers"])

ONE_PRINTER = {404: {"unknown-printer": UNKNOWN_PRINTER}}


@router.get("/v1/printers/{printer_id}/actions", dependencies=[STAFF],
            **documented(ActionList, 403, 404, 422, examples=ONE_PRINTER))
async def list_actions(printer_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """The maintenance actions of the printer's model, each with the role it needs (a door
    shows a caller those its role reaches), whether it uses media, and its parameter."""
    return {"actions": [action_json(a, daemon.catalogues) for a in daemon.actions(printer_id)]}


@router.post("/v1/printers/{printer_id}/actions/{action_id}", **documented(
    Job, 403, 404, 422, status=202, examples={
        403: {"insufficient-role": ACTION_ROLE},
        404: {"unknown-printer": UNKNOWN_PRINTER, "unknown-action": UNKNOWN_ACTION},
        422: {"value-out-of-range": VALUE_OUT_OF_RANGE}},
    description="The maintenance job, queued to run before the printer's waiting jobs but "
                "after the one it is printing (Location: /v1/jobs/{id})."))
async def run_action(printer_id: str, action_id: str, request: Request, daemon: DaemonDep,
                     body: Annotated[ActionRequest | None, Body()] = None,
                     token: TokenInfo = STAFF) -> JSONResponse:
    """Run a declared maintenance action: 404 `unknown-action` for one the printer's model
    does not declare, 403 when the action needs a higher role than this token's, 422
    `value-out-of-range` outside its parameter's range; nothing reaches the printer then."""
    value = body.value if body is not None else None
    mark = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(mark, AuditMark):  # the action, not only the path, is what the audit names
        mark.target = (f"printer_id={printer_id},action_id={action_id}"
                       + (f",value={value}" if value is not None else ""))
    job = await daemon.run_action(printer_id, action_id, value, token)
    return JSONResponse(job_json(job, daemon.catalogues), status_code=202,
                        headers={"Location": f"/v1/jobs/{job.id}"})
