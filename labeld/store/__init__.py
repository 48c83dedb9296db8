"""The durable store: one SQLite file (WAL, synchronous=FULL), in rooms.

* `database.Database`: the executor. One thread, group commit, a savepoint per operation, the
  schema registry and the added-columns migration. Knows no table.
* `jobs.JobQueue`: jobs, attempts, pages, paused printers; the job state machine
  (`jobs.TRANSITIONS`).
* `events.EventLog`: the event log.
* Tokens and audit (labeld.security) are rooms too: they take the Database and register their
  own tables.

Build the Database, the rooms you need over it (each registers its tables), then `open()` it.
Each caller takes the room it needs, not the whole store; labeld.daemon.Daemon holds them all.
"""

from __future__ import annotations

from labeld.store.database import Database, Schema
from labeld.store.events import EVENTS_KEPT, Event, EventLog
from labeld.store.jobs import (ADDED_COLUMNS, FINISHED, IDEMPOTENCY_WINDOW_S, MAINTENANCE,
                               RESTARTABLE, Attempt, Evidence, Finish, Job, JobQueue, JobState,
                               NewJob, SubmitResult)

__all__ = ["ADDED_COLUMNS", "EVENTS_KEPT", "FINISHED", "IDEMPOTENCY_WINDOW_S", "MAINTENANCE",
           "RESTARTABLE",
           "Attempt", "Database", "Event", "EventLog", "Evidence", "Finish", "Job", "JobQueue",
           "JobState", "NewJob", "Schema", "SubmitResult"]
