"""Status changes and job outcomes: stored in the spool and fanned out live (Server-Sent Events).

Subscribers get a bounded queue each; a client too slow to keep up loses the oldest events and
is told so (a `gap` event), rather than making the daemon hold memory for it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from labeld.http.schemas import iso
from labeld.store import Event, Spool

SUBSCRIBER_QUEUE = 1000
GAP, CLOSED = "gap", "closed"  # in-queue markers: events were dropped / the daemon stops


def event_json(e: Event) -> dict[str, Any]:
    return {"seq": e.seq, "at": iso(e.at), "printer": e.printer, "job": e.job_id, "kind": e.kind,
            "code": e.code, "message": e.message, "data": e.data}


class EventHub:
    def __init__(self, spool: Spool):
        self.spool = spool
        self._subscribers: set[asyncio.Queue[Event | str]] = set()

    async def emit(self, kind: str, *, printer: str | None = None, job_id: str | None = None,
                   code: str | None = None, message: str | None = None,
                   data: dict[str, Any] | None = None) -> Event:
        event = await self.spool.add_event(kind, printer=printer, job_id=job_id, code=code,
                                           message=message, data=data)
        for q in list(self._subscribers):
            if q.full():
                q.get_nowait()
                q.get_nowait()
                q.put_nowait(GAP)
            q.put_nowait(event)
        return event

    def subscribe(self) -> asyncio.Queue[Event | str]:
        q: asyncio.Queue[Event | str] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Event | str]) -> None:
        self._subscribers.discard(q)

    def close(self) -> None:
        for q in list(self._subscribers):
            if q.full():
                q.get_nowait()
            q.put_nowait(CLOSED)
        self._subscribers.clear()


def sse(event: Event | str) -> bytes:
    if isinstance(event, str):
        return f"event: {event}\ndata: {{}}\n\n".encode()
    return (f"id: {event.seq}\nevent: {event.kind}\n"
            f"data: {json.dumps(event_json(event), ensure_ascii=False)}\n\n").encode()
