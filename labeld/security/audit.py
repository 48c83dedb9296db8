"""The audit log: who did which technician or administrator action, when, and how it ended.

Entries live in the store's SQLite file (table `audit`), so they survive restarts and travel with
a support bundle. `AuditTrail` is the ASGI middleware that writes them: the role check
(`labeld.security.Guard`) marks a request as auditable, and the middleware records it once the
response status is known, including refusals (403) and failures (500).
"""

from __future__ import annotations

import builtins
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labeld.contracts import Role
from labeld.store.database import Database, Schema

log = logging.getLogger(__name__)

SCHEMA = Schema("audit", (
    """CREATE TABLE IF NOT EXISTS audit (
        seq    INTEGER PRIMARY KEY AUTOINCREMENT,
        at     REAL NOT NULL,
        who    TEXT NOT NULL,
        role   TEXT NOT NULL,
        method TEXT NOT NULL,
        path   TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit(at)",
))

# The key under the ASGI scope's "state" (Starlette's request.state) where Guard leaves its mark.
STATE_KEY = "labeld_audit"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float  # Unix time
    who: str  # the token's name
    role: str
    method: str
    path: str
    target: str  # what the action was about, e.g. "printer_id=shelf-zebra"
    status: int  # the HTTP status of the answer: the outcome

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "who": self.who, "role": self.role,
                "method": self.method, "path": self.path, "target": self.target,
                "status": self.status}


class AuditLog:
    """The audit log, a room of the store: its table in the store's Database."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time):
        self.db = db
        self._clock = clock
        self.db.register_schema(SCHEMA)

    def _op_record(self, who: str, role: str, method: str, path: str, target: str,
                   status: int) -> Callable[[sqlite3.Connection], AuditEntry]:
        at = self._clock()

        def op(conn: sqlite3.Connection) -> AuditEntry:
            cur = conn.execute(
                "INSERT INTO audit (at, who, role, method, path, target, status)"
                " VALUES (?,?,?,?,?,?,?)", (at, who, str(role), method, path, target, status))
            return AuditEntry(int(cur.lastrowid or 0), at, who, str(role), method, path, target,
                              status)

        return op

    def _op_list(self, limit: int,
                 who: str | None) -> Callable[[sqlite3.Connection], list[AuditEntry]]:
        def op(conn: sqlite3.Connection) -> list[AuditEntry]:
            sql = "SELECT * FROM audit"
            args: list[object] = []
            if who is not None:
                sql += " WHERE who=?"
                args.append(who)
            sql += " ORDER BY seq DESC LIMIT ?"
            args.append(max(0, limit))
            return [AuditEntry(r["seq"], r["at"], r["who"], r["role"], r["method"], r["path"],
                               r["target"], r["status"]) for r in conn.execute(sql, args)]

        return op

    def _op_prune(self, older_than_s: float) -> Callable[[sqlite3.Connection], int]:
        cutoff = self._clock() - older_than_s

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute("DELETE FROM audit WHERE at < ?", (cutoff,)).rowcount

        return op

    async def record(self, *, who: str, role: Role | str, method: str, path: str,
                     target: str = "", status: int) -> AuditEntry:
        return await self.db.run(self._op_record(who, str(role), method, path, target, status))

    def record_sync(self, *, who: str, role: Role | str, method: str, path: str,
                    target: str = "", status: int) -> AuditEntry:
        """For actions taken without the daemon, e.g. `labeld token create` (method "CLI")."""
        return self.db.run_sync(self._op_record(who, str(role), method, path, target, status))

    async def list(self, limit: int = 100, who: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        return await self.db.run(self._op_list(limit, who))

    def list_sync(self, limit: int = 100,
                  who: str | None = None) -> builtins.list[AuditEntry]:  # `list`: the method
        return self.db.run_sync(self._op_list(limit, who))

    async def between(self, since: float, until: float) -> builtins.list[AuditEntry]:
        """Entries from `since` to `until` (Unix times), oldest first (the morning report's
        who-did-what where an event does not say)."""

        def op(conn: sqlite3.Connection) -> builtins.list[AuditEntry]:
            rows = conn.execute("SELECT * FROM audit WHERE at >= ? AND at <= ? ORDER BY seq",
                                (since, until))
            return [AuditEntry(r["seq"], r["at"], r["who"], r["role"], r["method"], r["path"],
                               r["target"], r["status"]) for r in rows]

        return await self.db.run(op)

    async def prune(self, older_than_s: float) -> int:
        """Delete entries older than this; the log of a shop PC must not grow for ever."""
        return await self.db.run(self._op_prune(older_than_s))


@dataclass
class AuditMark:
    """Left on the request by the role check; the middleware turns it into an entry.

    Mutable on purpose: a route may fill in `target` when the path alone does not say what the
    action touched (e.g. the printer of a canceled job)."""

    who: str
    role: Role
    target: str | None = None


def mark(scope: Scope, who: str, role: Role) -> AuditMark:
    m = AuditMark(who=who, role=role)
    scope.setdefault("state", {})[STATE_KEY] = m
    return m


def _target(scope: Scope, m: AuditMark) -> str:
    if m.target is not None:
        return m.target
    params = scope.get("path_params") or {}
    return ",".join(f"{k}={v}" for k, v in params.items())


class AuditTrail:
    """ASGI middleware: records every request the role check marked, with its final status.

    Place it inside the other security middleware (closest to the app) so it sees the status the
    app's own error handlers produced. The entry is written after the response went out; a
    failing write is logged and never turns a done action into an error."""

    def __init__(self, app: ASGIApp, audit: AuditLog):
        self.app = app
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Create the state dict here: Starlette's request.state writes into this very dict,
        # which is how the mark made deep inside the app reaches this middleware.
        state = scope.setdefault("state", {})
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            m = state.get(STATE_KEY)
            if isinstance(m, AuditMark):
                try:
                    await self.audit.record(who=m.who, role=m.role, method=scope["method"],
                                            path=scope["path"], target=_target(scope, m),
                                            status=status)
                except Exception:
                    log.exception("could not write the audit entry for %s %s by %s",
                                  scope["method"], scope["path"], m.who)
