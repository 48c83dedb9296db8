"""The durable store: one SQLite file (WAL, synchronous=FULL), in rooms.

* `database.Database`: the executor. One thread, group commit, a savepoint per operation, the
  schema registry and the added-columns migration. Knows no table.
* `jobs.JobQueue`: jobs, attempts, pages, paused printers; the job state machine
  (`jobs.TRANSITIONS`).
* `events.EventLog`: the event log.
* Tokens and audit (labeld.security) are rooms too: they take the Database and register their
  own tables.

`Spool` is a transitional door: the object the rest of labeld was written against (one class
with every operation). It builds the rooms over one Database and hands the old method names on
to them, so that callers can move to `spool.db`, `spool.jobs` and `spool.event_log` one at a
time. New code should take the room it needs, not the Spool.
"""

from __future__ import annotations

from pathlib import Path

from labeld.store.database import Database, Schema
from labeld.store.events import EVENTS_KEPT, Event, EventLog
from labeld.store.jobs import (ADDED_COLUMNS, FINISHED, IDEMPOTENCY_WINDOW_S, RESTARTABLE,
                               Attempt, Evidence, Finish, Job, JobQueue, JobState, NewJob,
                               SubmitResult)


class Spool:
    """Database + JobQueue + EventLog over one file, under the old method names.

    The job room is `.jobs` and the event room `.event_log` (not `.events`: `events(...)` is one
    of the old method names, still called by the API and the support bundle)."""

    def __init__(self, path: str | Path):
        self.db = Database(path)
        self.jobs = JobQueue(self.db)
        self.event_log = EventLog(self.db)
        # The old method names, for callers that have not moved to the rooms yet.
        self.open = self.db.open
        self.close = self.db.close
        self.run = self.db.run
        self.run_sync = self.db.run_sync
        self.submit = self.jobs.submit
        self.get = self.jobs.get
        self.list = self.jobs.list
        self.set_paused = self.jobs.set_paused
        self.paused_printers = self.jobs.paused_printers
        self.queued_counts = self.jobs.queued_counts
        self.claim_next = self.jobs.claim_next
        self.finish_attempt = self.jobs.finish_attempt
        self.pages = self.jobs.pages
        self.cancel = self.jobs.cancel
        self.release = self.jobs.release
        self.restart = self.jobs.restart
        self.recover = self.jobs.recover
        self.hold_printer = self.jobs.hold_printer
        self.release_printer = self.jobs.release_printer
        self.settle = self.jobs.settle
        self.unsend = self.jobs.unsend
        self.add_event = self.event_log.add
        self.events = self.event_log.list

    @property
    def path(self) -> str:
        return self.db.path

    @property
    def commits(self) -> int:
        return self.db.commits

    def add_schema(self, statements: tuple[str, ...]) -> None:
        """Tables of another room, in the same file (see Database.register_schema)."""
        self.db.register_schema(Schema("other", tuple(statements)))

    async def prune(self, older_than_s: float) -> int:
        """Finished jobs older than `older_than_s` and all but the newest events; returns how
        many jobs went. Two transactions now (one per room): nothing needs them together."""
        removed = await self.jobs.prune(older_than_s)
        await self.event_log.prune()
        return removed


__all__ = ["ADDED_COLUMNS", "EVENTS_KEPT", "FINISHED", "IDEMPOTENCY_WINDOW_S", "RESTARTABLE",
           "Attempt", "Database", "Event", "EventLog", "Evidence", "Finish", "Job", "JobQueue",
           "JobState", "NewJob", "Schema", "Spool", "SubmitResult"]
