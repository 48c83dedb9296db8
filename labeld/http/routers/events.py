"""Events: a printer's past status changes and job outcomes, and all of them live (SSE)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from labeld.events import CLOSED
from labeld.http.deps import TECH, DaemonDep
from labeld.store import Event
from labeld.views import event_json

SSE_KEEPALIVE_S = 15.0

router = APIRouter()


def sse(event: Event | str) -> bytes:
    """One Server-Sent Event: a stored event, or a marker (`gap`) with an empty body."""
    if isinstance(event, str):
        return f"event: {event}\ndata: {{}}\n\n".encode()
    return (f"id: {event.seq}\nevent: {event.kind}\n"
            f"data: {json.dumps(event_json(event), ensure_ascii=False)}\n\n").encode()


@router.get("/v1/printers/{printer_id}/events", tags=["printers"], dependencies=[TECH])
async def printer_events(printer_id: str, daemon: DaemonDep,
                         limit: int = Query(default=100, ge=1, le=1000),
                         after: int = Query(default=0, ge=0)) -> dict[str, Any]:
    """Status changes and job outcomes of one printer, newest first."""
    return {"events": [event_json(e) for e in
                       await daemon.events(printer_id, limit=limit, after=after)]}


@router.get("/v1/events", tags=["service"], dependencies=[TECH])
async def live_events(request: Request, daemon: DaemonDep,
                      printer: str | None = None) -> StreamingResponse:
    """Server-Sent Events: every status change and job outcome as it happens."""
    queue = daemon.subscribe(printer)

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b": labeld events\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                if item == CLOSED:
                    return
                if isinstance(item, str) or printer is None or item.printer == printer:
                    yield sse(item)
        finally:
            daemon.unsubscribe(queue)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
