"""Who may do what: the raw-command policy, API tokens and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from labeld.http.deps import ADMIN, POS, DaemonDep
from labeld.http.schemas import (AuditLog, NewToken, Policy, Token, TokenList, TokenRequest,
                                 documented)
from labeld.security import Role

router = APIRouter(tags=["security"])

UNKNOWN_TOKEN = {404: {"unknown-token": {"summary": "unknown-token", "value": {"error": {
    "code": "unknown-token", "message": "There is no token 'till-9'.",
    "hint": "List tokens with `labeld token list` (names and ids)."}}}}}


@router.get("/v1/policy/{language}", dependencies=[POS], **documented(Policy, 404, 422, examples={
    404: {"unknown-language": {"summary": "unknown-language", "value": {"error": {
        "code": "unknown-language", "message": "No language 'epl'.",
        "hint": "Known: escpos, tspl, zpl."}}}}}))
async def raw_policy(language: str, daemon: DaemonDep) -> dict[str, Any]:
    """Which raw printer commands need which role (the data the 403s come from)."""
    return {"language": language, "rules": await daemon.policy(language)}


@router.get("/v1/tokens", dependencies=[ADMIN], **documented(TokenList, 403))
async def list_tokens(daemon: DaemonDep) -> dict[str, Any]:
    """API tokens, without their secrets."""
    return {"tokens": [t.as_dict() for t in await daemon.tokens()]}


@router.post("/v1/tokens", dependencies=[ADMIN], **documented(
    NewToken, 403, 409, 413, 415, 422, status=201, examples={409: {"token-name-taken": {
        "summary": "token-name-taken", "value": {"error": {
            "code": "token-name-taken", "message": "There is already a token named 'till-1'.",
            "hint": "Pick another name, or revoke the old token first."}}}}}))
async def create_token(body: TokenRequest, daemon: DaemonDep) -> dict[str, Any]:
    """The token's secret is in this answer only: labeld keeps just its hash."""
    made = await daemon.create_token(body.name, Role(body.role))
    return {**made.info.as_dict(), "token": made.secret}


@router.delete("/v1/tokens/{name}", dependencies=[ADMIN],
               **documented(Token, 403, 404, 422, examples=UNKNOWN_TOKEN,
                            description="The revoked token: it stops working at once."))
async def revoke_token(name: str, daemon: DaemonDep) -> dict[str, Any]:
    """Revoke a token by name or id."""
    return (await daemon.revoke_token(name)).as_dict()


@router.get("/v1/audit", dependencies=[ADMIN], **documented(AuditLog, 403, 422))
async def audit_log(daemon: DaemonDep, limit: int = Query(default=100, ge=1, le=1000),
                    who: str | None = None) -> dict[str, Any]:
    """Technician and administrator actions (and every job cancel), newest first."""
    return {"entries": [e.as_dict() for e in await daemon.audit(limit=limit, who=who)]}
