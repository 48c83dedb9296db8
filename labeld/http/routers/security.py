"""Who may do what: the raw-command policy, API tokens and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from labeld.http.deps import ADMIN, POS, DaemonDep
from labeld.http.schemas import TokenRequest
from labeld.security import Role

router = APIRouter(tags=["security"])


@router.get("/v1/policy/{language}", dependencies=[POS])
async def raw_policy(language: str, daemon: DaemonDep) -> dict[str, Any]:
    """Which raw printer commands need which role (the data the 403s come from)."""
    return {"language": language, "rules": await daemon.policy(language)}


@router.get("/v1/tokens", dependencies=[ADMIN])
async def list_tokens(daemon: DaemonDep) -> dict[str, Any]:
    return {"tokens": [t.as_dict() for t in await daemon.tokens()]}


@router.post("/v1/tokens", status_code=201, dependencies=[ADMIN])
async def create_token(body: TokenRequest, daemon: DaemonDep) -> dict[str, Any]:
    """The token's secret is in this answer only: labeld keeps just its hash."""
    made = await daemon.create_token(body.name, Role(body.role))
    return {**made.info.as_dict(), "token": made.secret}


@router.delete("/v1/tokens/{name}", dependencies=[ADMIN])
async def revoke_token(name: str, daemon: DaemonDep) -> dict[str, Any]:
    return (await daemon.revoke_token(name)).as_dict()


@router.get("/v1/audit", dependencies=[ADMIN])
async def audit_log(daemon: DaemonDep, limit: int = Query(default=100, ge=1, le=1000),
                    who: str | None = None) -> dict[str, Any]:
    return {"entries": [e.as_dict() for e in await daemon.audit(limit=limit, who=who)]}
