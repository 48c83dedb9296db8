"""/v1/printers/{id}/guides: guided fixes for someone standing at the printer, and "did it
work?" (labeld.diagnostics.guides). Shop staff and up: a till's pos token does not need them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from labeld.diagnostics.guides import outcome_json
from labeld.http.deps import STAFF, DaemonDep
from labeld.http.schemas import (NO_DRAWING, UNKNOWN_GUIDE, UNKNOWN_PRINTER, Guide,
                                 GuideCheckAnswer, GuideList, documented)
from labeld.security import TokenInfo

router = APIRouter(tags=["guides"])

ONE_GUIDE = {404: {"unknown-printer": UNKNOWN_PRINTER, "unknown-guide": UNKNOWN_GUIDE}}
# An SVG is a document that could carry script: served so that a browser opening it on its own
# runs nothing and never guesses another type (the drawings are a plugin's files, but still).
SVG_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                          "sandbox",
               "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


@router.get("/v1/printers/{printer_id}/guides", dependencies=[STAFF],
            **documented(GuideList, 403, 404, 422, examples={404: {
                "unknown-printer": UNKNOWN_PRINTER}}))
async def list_guides(printer_id: str, daemon: DaemonDep) -> dict[str, Any]:
    """A guide for each reason the printer reports (as last seen), and for its held jobs."""
    return {"guides": await daemon.guides(printer_id)}


@router.get("/v1/printers/{printer_id}/guides/{code}", dependencies=[STAFF],
            **documented(Guide, 403, 404, 422, examples=ONE_GUIDE))
async def get_guide(printer_id: str, code: str, daemon: DaemonDep) -> dict[str, Any]:
    """The guide for one code on this printer: its model's, its family's, labeld's, or one made
    from the reason's hint; every text in every language."""
    return await daemon.guide(printer_id, code)


@router.get("/v1/printers/{printer_id}/guides/{code}/drawing.svg", dependencies=[STAFF],
            response_class=Response,
            **documented(None, 403, 404, 422, media_type="image/svg+xml",
                         examples={404: {**ONE_GUIDE[404], "no-drawing": NO_DRAWING}},
                         description="The guide's drawing: where the latch, sensor or button "
                                     "is."))
async def guide_drawing(printer_id: str, code: str, daemon: DaemonDep) -> Response:
    """The SVG drawing the printer's plugin ships with the guide."""
    return Response(await daemon.guide_drawing(printer_id, code), media_type="image/svg+xml",
                    headers=SVG_HEADERS)


@router.post("/v1/printers/{printer_id}/guides/{code}/check",
             **documented(GuideCheckAnswer, 403, 404, 422, examples=ONE_GUIDE))
async def check_guide(printer_id: str, code: str, daemon: DaemonDep,
                      caller: TokenInfo = STAFF) -> dict[str, Any]:
    """Did it work? A `status` guide asks the printer now: `fixed` when the code is gone; a
    `queue` guide: when no job is held; `none`: null. Recorded as a `guide` event with who
    asked."""
    outcome = await daemon.check_guide(printer_id, code, caller)
    return outcome_json(outcome, daemon.catalogues)
