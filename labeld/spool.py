"""Transitional door to labeld.store, where the spool now lives in rooms.

Everything the rest of labeld imported from here is re-exported unchanged, so that callers can
move to labeld.store (the Database, the JobQueue, the EventLog) one at a time. Import from
labeld.store in new code; this module goes once nothing imports it.
"""

from __future__ import annotations

from labeld.store import Spool
from labeld.store.events import EVENTS_KEPT, Event
from labeld.store.jobs import (ADDED_COLUMNS, FINISHED, IDEMPOTENCY_WINDOW_S, RESTARTABLE,
                               Attempt, Evidence, Finish, Job, JobState, NewJob, SubmitResult)

__all__ = ["ADDED_COLUMNS", "EVENTS_KEPT", "FINISHED", "IDEMPOTENCY_WINDOW_S", "RESTARTABLE",
           "Attempt", "Event", "Evidence", "Finish", "Job", "JobState", "NewJob", "Spool",
           "SubmitResult"]
