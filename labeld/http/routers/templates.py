"""/v1/templates: stored label documents with placeholders that jobs fill."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from labeld.http.deps import ADMIN, POS, DaemonDep
from labeld.http.schemas import (TEMPLATE_EXAMPLES, UNKNOWN_TEMPLATE, DeletedTemplate,
                                 SavedTemplate, Template, TemplateList, documented)

router = APIRouter(tags=["templates"])

ONE_TEMPLATE = {404: {"unknown-template": UNKNOWN_TEMPLATE}}
TemplateBody = Annotated[dict[str, Any], Body(
    description="A label document (see LabelDocument) in which a string may hold "
                "`{{ field }}` placeholders; a string that is exactly \"{{ field }}\" may stand "
                "for a number. At most 256 KiB.", openapi_examples=TEMPLATE_EXAMPLES)]


@router.get("/v1/templates", dependencies=[POS], **documented(TemplateList))
async def list_templates(daemon: DaemonDep) -> dict[str, Any]:
    """Built-in and stored templates, with the fields a job's `data` fills."""
    return {"templates": await daemon.templates()}


@router.get("/v1/templates/{name}", dependencies=[POS],
            **documented(Template, 404, 422, examples=ONE_TEMPLATE))
async def get_template(name: str, daemon: DaemonDep) -> dict[str, Any]:
    """One template: its document, fields and sample data (built-in templates)."""
    return asdict(await daemon.template(name))


@router.put("/v1/templates/{name}", dependencies=[ADMIN], **documented(
    SavedTemplate, 403, 413, 415, 422, status=201, description="Stored, new.",
    also={200: "Stored, replacing a template of that name."}))
async def put_template(name: str, document: TemplateBody, daemon: DaemonDep) -> JSONResponse:
    """Store an operator template (a built-in of that name is overridden, not changed)."""
    saved = await daemon.put_template(name, document)
    return JSONResponse({"name": saved.name, "fields": saved.fields},
                        status_code=201 if saved.created else 200)


@router.delete("/v1/templates/{name}", dependencies=[ADMIN],
               **documented(DeletedTemplate, 403, 404, 409, 422, examples=ONE_TEMPLATE))
async def delete_template(name: str, daemon: DaemonDep) -> dict[str, Any]:
    """Delete an operator template; a built-in cannot be deleted, only overridden."""
    await daemon.delete_template(name)
    return {"name": name, "deleted": True}
