"""The event log: status changes and job outcomes, kept so that a client can catch up
(GET /v1/printers/ID/events, the support bundle) and fanned out live by labeld.events.EventHub.

Only the newest EVENTS_KEPT are kept: a shop PC runs for years."""

from __future__ import annotations

import builtins
import json
import sqlite3
import time
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
    def __init__(self, db: Database):
        self.db = db
        db.register_schema(SCHEMA)

    async def add(self, kind: str, *, printer: str | None = None, job_id: str | None = None,
                  code: str | None = None, message: str | None = None,
                  data: dict[str, Any] | None = None) -> Event:
        def op(conn: sqlite3.Connection) -> Event:
            now = time.time()
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
            return [Event(r["seq"], r["at"], r["printer"], r["job_id"], r["kind"], r["code"],
                          r["message"], json.loads(r["data"] or "{}")) for r in rows]

        return await self.db.run(op)

    async def prune(self, keep: int = EVENTS_KEPT) -> int:
        """Delete all but the newest `keep` events; returns how many went."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?",
                                (keep,)).rowcount

        return await self.db.run(op)
