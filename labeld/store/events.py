"""The event log: status changes and job outcomes, kept so that a client can catch up
(GET /v1/printers/ID/events, the support bundle) and fanned out live by labeld.events.EventHub.

Only the newest EVENTS_KEPT are kept: a shop PC runs for years."""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labeld.store.database import Database, Schema

EVENTS_KEPT = 50_000

SCHEMA = Schema(
    room="events",
    statements=(
        """CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    printer TEXT,
    job_id  TEXT,
    kind    TEXT NOT NULL,
    code    TEXT,
    message TEXT,
    data    TEXT
)""",
        "CREATE INDEX IF NOT EXISTS events_printer ON events(printer, seq)",
        # the morning report asks for a night's events by time
        "CREATE INDEX IF NOT EXISTS events_at ON events(at)",
    ),
)


@dataclass(frozen=True)
class Event:
    seq: int
    at: float
    printer: str | None
    job_id: str | None
    kind: str
    code: str | None
    message: str | None
    data: dict[str, Any]


class EventLog:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time):
        self.db = db
        # What stamps each event (as the audit log's): a test of the morning report sets it
        # to script an evening at its real hours.
        self._clock = clock
        db.register_schema(SCHEMA)

    async def add(self, kind: str, *, printer: str | None = None, job_id: str | None = None,
                  code: str | None = None, message: str | None = None,
                  data: dict[str, Any] | None = None) -> Event:
        now = self._clock()

        def op(conn: sqlite3.Connection) -> Event:
            cur = conn.execute(
                "INSERT INTO events (at, printer, job_id, kind, code, message, data)"
                " VALUES (?,?,?,?,?,?,?)",
                (now, printer, job_id, kind, code, message, json.dumps(data or {})))
            return Event(int(cur.lastrowid or 0), now, printer, job_id, kind, code, message,
                         data or {})

        return await self.db.run(op)

    async def list(self, printer: str | None = None, limit: int = 100,
                   after: int = 0) -> builtins.list[Event]:
        """Newest first: at most `limit` events with a seq above `after`."""

        def op(conn: sqlite3.Connection) -> builtins.list[Event]:
            sql, args = "SELECT * FROM events WHERE seq > ?", [after]
            if printer:
                sql += " AND printer=?"
                args.append(printer)
            rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
            return [_event(r) for r in rows]

        return await self.db.run(op)

    async def between(self, since: float, until: float) -> builtins.list[Event]:
        """Every event recorded from `since` to `until` (Unix times), oldest first."""

        def op(conn: sqlite3.Connection) -> builtins.list[Event]:
            rows = conn.execute("SELECT * FROM events WHERE at >= ? AND at <= ? ORDER BY seq",
                                (since, until)).fetchall()
            return [_event(r) for r in rows]

        return await self.db.run(op)

    async def last_before(self, at: float, kind: str) -> builtins.list[Event]:
        """Each printer's last event of `kind` before `at`: how things stood then."""

        def op(conn: sqlite3.Connection) -> builtins.list[Event]:
            rows = conn.execute(
                "SELECT * FROM events WHERE seq IN (SELECT max(seq) FROM events"
                " WHERE kind = ? AND at < ? GROUP BY printer) ORDER BY seq",
                (kind, at)).fetchall()
            return [_event(r) for r in rows]

        return await self.db.run(op)

    async def prune(self, keep: int = EVENTS_KEPT) -> int:
        """Delete all but the newest `keep` events; returns how many went."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?",
                                (keep,)).rowcount

        return await self.db.run(op)


def _event(row: sqlite3.Row) -> Event:
    return Event(row["seq"], row["at"], row["printer"], row["job_id"], row["kind"], row["code"],
                 row["message"], json.loads(row["data"] or "{}"))
