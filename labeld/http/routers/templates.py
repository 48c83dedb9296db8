"""/v1/templates: stored label documents with placeholders that jobs fill."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from labeld.http.deps import ADMIN, POS, DaemonDep

router = APIRouter(tags=["templates"])


@router.get("/v1/templates", dependencies=[POS])
async def list_templates(daemon: DaemonDep) -> dict[str, Any]:
    return {"templates": await daemon.templates()}


@router.get("/v1/templates/{name}", dependencies=[POS])
async def get_template(name: str, daemon: DaemonDep) -> dict[str, Any]:
    return asdict(await daemon.template(name))


@router.put("/v1/templates/{name}", dependencies=[ADMIN])
async def put_template(name: str, document: dict[str, Any], daemon: DaemonDep) -> JSONResponse:
    saved = await daemon.put_template(name, document)
    return JSONResponse({"name": saved.name, "fields": saved.fields},
                        status_code=201 if saved.created else 200)


@router.delete("/v1/templates/{name}", dependencies=[ADMIN])
async def delete_template(name: str, daemon: DaemonDep) -> dict[str, Any]:
    await daemon.delete_template(name)
    return {"name": name, "deleted": True}
