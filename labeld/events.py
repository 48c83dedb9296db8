"""Status changes and job outcomes: stored in the event log and fanned out live.

Subscribers get a bounded queue each; a client too slow to keep up loses the oldest events and
is told so (a `gap` marker), rather than making the daemon hold memory for it. How a subscriber
shows them (Server-Sent Events over HTTP, later others) is its front door's business.
"""

from __future__ import annotations

import asyncio
from typing import Any

from labeld.store import Event, EventLog

SUBSCRIBER_QUEUE = 1000
GAP, CLOSED = "gap", "closed"  # in-queue markers: events were dropped / the daemon stops

Subscription = asyncio.Queue[Event | str]


class EventHub:
    def __init__(self, log: EventLog):
        self.log = log
        self._subscribers: set[Subscription] = set()

    async def emit(self, kind: str, *, printer: str | None = None, job_id: str | None = None,
                   code: str | None = None, message: str | None = None,
                   data: dict[str, Any] | None = None) -> Event:
        event = await self.log.add(kind, printer=printer, job_id=job_id, code=code,
                                   message=message, data=data)
        for q in list(self._subscribers):
            if q.full():
                q.get_nowait()
                q.get_nowait()
                q.put_nowait(GAP)
            q.put_nowait(event)
        return event

    def subscribe(self) -> Subscription:
        q: Subscription = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: Subscription) -> None:
        self._subscribers.discard(q)

    def close(self) -> None:
        for q in list(self._subscribers):
            if q.full():
                q.get_nowait()
            q.put_nowait(CLOSED)
        self._subscribers.clear()
