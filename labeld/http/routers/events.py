"""Events: a printer's past status changes and job outcomes, and all of them live (SSE)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from labeld.events import CLOSED
from labeld.http.deps import POS, STAFF, DaemonDep
from labeld.http.schemas import UNKNOWN_PRINTER, EventList, documented
from labeld.security import TokenInfo
from labeld.store import Event
from labeld.views import event_json

SSE_KEEPALIVE_S = 15.0

router = APIRouter()

ONE_PRINTER = {404: {"unknown-printer": UNKNOWN_PRINTER}}
SSE_EXAMPLE = (": labeld events\n\n"
               "id: 42\nevent: job\ndata: {\"seq\": 42, \"at\": \"2026-03-14T09:26:53.589+00:00\", "
               "\"printer\": \"zebra-1\", \"job\": \"4f1c2a9be0d84c7f9d1e6b3a5c7d9e01\", "
               "\"kind\": \"job\", \"code\": \"completed\", \"message\": \"completed "
               "(confirmed)\", \"data\": {\"delivery\": \"confirmed\", \"evidence\": "
               "\"counter\"}}\n\n: keep-alive\n\n")


def sse(event: Event | str) -> bytes:
    """One Server-Sent Event: a stored event, or a marker (`gap`) with an empty body."""
    if isinstance(event, str):
        return f"event: {event}\ndata: {{}}\n\n".encode()
    return (f"id: {event.seq}\nevent: {event.kind}\n"
            f"data: {json.dumps(event_json(event), ensure_ascii=False)}\n\n").encode()


@router.get("/v1/printers/{printer_id}/events", tags=["printers"], dependencies=[STAFF],
            **documented(EventList, 403, 404, 422, examples=ONE_PRINTER))
async def printer_events(printer_id: str, daemon: DaemonDep,
                         limit: int = Query(default=100, ge=1, le=1000),
                         after: int = Query(default=0, ge=0)) -> dict[str, Any]:
    """Status changes and job outcomes of one printer, newest first."""
    return {"events": [event_json(e) for e in
                       await daemon.events(printer_id, limit=limit, after=after)]}


@router.get("/v1/events", tags=["service"], response_class=StreamingResponse, responses={
    **documented(None, 404, 422, examples=ONE_PRINTER)["responses"],
    200: {"description": "An endless text/event-stream: `event: printer-status`, `job` or "
                         "`selftest` with the event as JSON (see Event) in `data`, `gap` when "
                         "this client was too slow and missed some, and comment lines to keep "
                         "the connection alive.",
          "content": {"text/event-stream": {"schema": {"type": "string"},
                                            "example": SSE_EXAMPLE}}}})
async def live_events(request: Request, daemon: DaemonDep, printer: str | None = None,
                      token: TokenInfo = POS) -> StreamingResponse:
    """Server-Sent Events: status changes and job outcomes as they happen. Staff, tech and
    admin tokens get every event; a pos token only those of the jobs it submitted."""
    feed = daemon.subscribe(printer, token)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": labeld events\n\n"
            while True:
                item = await feed.next(SSE_KEEPALIVE_S)
                if item is None:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                if item == CLOSED:
                    return
                yield sse(item)
        finally:
            daemon.unsubscribe(feed)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
