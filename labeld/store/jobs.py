"""The job queue: jobs, their attempts and rendered pages, and the printers a person paused.

A job's life is a small state machine. `TRANSITIONS` is the whole of it: for each operation, the
states it may take a job from and the states it may take it to. `_move` is the only code that
writes a job's `state`, and it writes only moves the table allows; operations that must tell a
caller why they refused (cancel, release, restart) ask `check_move` first. In short: a job is
born pending; claim makes it processing; an attempt's end (finish) leaves it processing while
the printer has its bytes unconfirmed ("sent"), or moves it on; settle completes a sent job,
unsend and crash recovery queue or hold it again; printer faults hold pending jobs and release
them; a person cancels, releases and restarts.

Every operation runs on the Database's executor thread as one function of the connection, so
it reads and writes inside one transaction: what it checked is still true when it writes.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import json
import sqlite3
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from labeld.contracts import Outcome, Raster
from labeld.errors import Conflict, Invalid, LabeldError, NotFound
from labeld.store.database import Database, Schema

IDEMPOTENCY_WINDOW_S = 24 * 3600


class JobState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELED = "canceled"
    ABORTED = "aborted"


FINISHED = (JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED)
UNFINISHED = (JobState.PENDING, JobState.HELD, JobState.PROCESSING)
# Finished jobs that POST /v1/jobs/ID/retry may queue again (a completed job printed).
RESTARTABLE = (JobState.CANCELED, JobState.ABORTED)


class Delivery(StrEnum):
    """Where a job's bytes are, once they left labeld (NULL before that)."""

    SENT = "sent"  # the printer took them; awaiting its confirmation (the job stays processing)
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"


class Evidence(StrEnum):
    """What a job's `delivery` rests on."""

    COUNTER = "counter"  # the printer's label counter moved by the job's labels
    STATUS = "status"  # the printer closed the job's connection, then reported no error and
    # nothing of ours waiting
    NONE = "none"  # nothing: the printer took the bytes but could not say more (`unconfirmed`)


# Kinds whose bytes are kept in raw_data and sent as they are: a client's raw job, and a
# maintenance action a plugin declared (its payload names the action).
RAW_KINDS = ("raw", "maintenance")
# Kinds with rendered pages (their preview) that may also carry bytes made at intake: a receipt
# encoded as text for its printer (raw_data); without them its pages print as rasters.
TEXT_KINDS = ("receipt",)
# A maintenance action runs before the printer's other waiting jobs: someone stands at the
# printer waiting for it (calibrating before the labels that need it). Never before the job in
# progress: the worker claims the next job only once the current one is sent.
MAINTENANCE = "maintenance"

# jobs.hold_kind of a job held because its printer has a fault: released by itself when the
# fault clears. NULL: held for a person (crash recovery's `hold`, an unprovable delivery).
HOLD_KIND_PRINTER = "printer"
# Attempt outcomes recorded here (the others come from the scheduler's Finish.outcome).
INTERRUPTED = "interrupted"  # labeld stopped while the attempt was sending


# -- the state machine ---------------------------------------------------------------------


class Op(StrEnum):
    """The operations that move a job; named as in TRANSITIONS and in refusals."""

    CLAIM = "claim"
    FINISH = "finish"
    CANCEL = "cancel"
    RELEASE = "release"
    RESTART = "restart"
    RECOVER = "recover"
    HOLD_PRINTER = "hold-printer"
    RELEASE_PRINTER = "release-printer"
    SETTLE = "settle"
    UNSEND = "unsend"


def _table(moves: Mapping[JobState, Iterable[JobState]]) -> Mapping[JobState, frozenset[JobState]]:
    return MappingProxyType({k: frozenset(v) for k, v in moves.items()})


PENDING, HELD, PROCESSING = JobState.PENDING, JobState.HELD, JobState.PROCESSING
COMPLETED, CANCELED, ABORTED = JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED

# operation -> {from-state -> to-states}. A (operation, from, to) not listed here never happens.
TRANSITIONS: Mapping[Op, Mapping[JobState, frozenset[JobState]]] = MappingProxyType({
    # The worker takes the oldest pending job of its printer.
    Op.CLAIM: _table({PENDING: {PROCESSING}}),
    # An attempt ended: sent (stays processing, awaiting confirmation), printed without
    # confirmation, failed for now (pending, with retry_at: backing off; or held), or hopeless.
    # Not canceled: a cancel is a person's, and a job canceled while sending keeps its cancel.
    Op.FINISH: _table({PROCESSING: {PENDING, HELD, PROCESSING, COMPLETED, ABORTED}}),
    Op.CANCEL: _table({PENDING: {CANCELED}, HELD: {CANCELED}, PROCESSING: {CANCELED}}),
    Op.RELEASE: _table({HELD: {PENDING}}),
    # POST /v1/jobs/ID/retry. A completed job printed: it is submitted anew, not restarted.
    Op.RESTART: _table({CANCELED: {PENDING}, ABORTED: {PENDING}}),
    # After a crash, a processing job whose bytes the printer took completes unconfirmed; one
    # whose bytes may not have left is sent again or held for a person (the printer's policy).
    Op.RECOVER: _table({PROCESSING: {PENDING, HELD, COMPLETED}}),
    # A printer fault holds its pending jobs; holding again refreshes the fault they wait for.
    Op.HOLD_PRINTER: _table({PENDING: {HELD}, HELD: {HELD}}),
    Op.RELEASE_PRINTER: _table({HELD: {PENDING}}),
    # The printer confirmed (or could not confirm) a job whose bytes it took.
    Op.SETTLE: _table({PROCESSING: {COMPLETED}}),
    # A job thought sent that provably did not print: queued again, or held for a person.
    Op.UNSEND: _table({PROCESSING: {PENDING, HELD}}),
})
del PENDING, HELD, PROCESSING, COMPLETED, CANCELED, ABORTED  # only for the table's legibility


class JobStateConflict(Conflict):
    """An operation asked for a move TRANSITIONS does not allow (409)."""

    def __init__(self, op: Op, job_id: str, current: JobState, to: JobState, code: str,
                 message: str, hint: str):
        super().__init__(code, message, hint)
        self.op, self.job_id, self.current, self.to = op, job_id, current, to


def allowed(op: Op, current: JobState, to: JobState) -> bool:
    return to in TRANSITIONS[op].get(current, frozenset())


def sources(op: Op, to: JobState) -> frozenset[JobState]:
    """The states `op` may take a job from to `to`."""
    return frozenset(s for s, targets in TRANSITIONS[op].items() if to in targets)


def check_move(op: Op, job_id: str, current: JobState | str, to: JobState) -> None:
    """Raise JobStateConflict unless TRANSITIONS lets `op` move the job from `current` to `to`.

    The refusals callers already rely on (error codes and hints of the API) are kept; any
    other refused move names the operation and both states."""
    current = JobState(current)
    if allowed(op, current, to):
        return
    if op is Op.CANCEL:
        code, message = "job-finished", f"Job {job_id} is already {current}."
        hint = "Only pending, held or processing jobs can be canceled."
    elif op is Op.RELEASE:
        code, message, hint = "job-not-held", f"Job {job_id} is {current}, not held.", ""
    elif op is Op.RESTART:
        code = "job-not-restartable"
        message = f"Job {job_id} is {current}; only aborted or canceled jobs can be retried."
        hint = ("A completed job printed: submit it again to print it once more."
                if current is JobState.COMPLETED else
                "It is still in the queue: wait, release or cancel it.")
    else:
        code = "job-state"
        message = f"{op} cannot move job {job_id} from {current} to {to}."
        froms = sorted(sources(op, to))
        hint = (f"{op} moves a job to {to} only from: {', '.join(froms)}." if froms else
                f"{op} never moves a job to {to}.")
    raise JobStateConflict(op, job_id, current, to, code, message, hint)


def _move(conn: sqlite3.Connection, op: Op, to: JobState, where: str, args: Sequence[object],
          now: float, **columns: object) -> int:
    """Move the jobs matching `where` to `to`; the only writer of jobs.state. Returns how many
    moved.

    Only jobs in a state TRANSITIONS lets `op` take to `to` are touched: the others are left as
    they are (the bulk operations rely on it; a caller that must refuse calls check_move
    first). Writes updated_at, and finished_at (now when `to` is finished, else NULL: a job
    leaving a finished state is unfinished again); `columns` are the operation's own."""
    froms = sources(op, to)
    if not froms:
        raise ValueError(f"{op} never moves a job to {to}")  # a bug in this module
    values: dict[str, object] = {"state": to, "updated_at": now,
                                 "finished_at": now if to in FINISHED else None, **columns}
    assignments = ", ".join(f"{name}=?" for name in values)
    marks = ",".join("?" * len(froms))
    return conn.execute(
        f"UPDATE jobs SET {assignments} WHERE state IN ({marks}) AND ({where})",
        (*values.values(), *sorted(froms), *args)).rowcount


# -- rows and records ----------------------------------------------------------------------


SCHEMA = Schema(
    room="jobs",
    statements=(
        """CREATE TABLE IF NOT EXISTS jobs (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    printer       TEXT NOT NULL,
    state         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    copies        INTEGER NOT NULL DEFAULT 1,
    idem_key      TEXT,
    body_hash     TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL,
    updated_at    REAL NOT NULL,
    finished_at   REAL,
    retry_at      REAL,
    error_code    TEXT,
    error_message TEXT,
    error_hint    TEXT,
    hold_kind     TEXT,  -- 'printer': held while the printer has a fault, released by itself
    delivery      TEXT,  -- NULL, 'sent' (awaiting the printer), 'confirmed', 'unconfirmed'
    evidence      TEXT,  -- what settled `delivery`: 'counter', 'status', 'none' (see Evidence)
    restarted_at  REAL,  -- when POST /v1/jobs/ID/retry gave the job a new retry budget
    owner         TEXT,  -- the name of the token that submitted it (NULL: none, or before owners)
    warnings      TEXT   -- JSON list of {code, message, hint}: what the printer would misprint
)""",
        "CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(idem_key) WHERE idem_key IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(printer, state, seq)",
        "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner, seq) WHERE owner IS NOT NULL",
        ("CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at)"
         " WHERE finished_at IS NOT NULL"),
        """CREATE TABLE IF NOT EXISTS attempts (
    job_id     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at   REAL,
    outcome    TEXT,
    error_code TEXT,
    error_message TEXT,
    bytes_sent INTEGER,
    PRIMARY KEY (job_id, n)
)""",
        """CREATE TABLE IF NOT EXISTS pages (
    job_id TEXT NOT NULL,
    n      INTEGER NOT NULL,
    width  INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dpi    INTEGER NOT NULL,
    rows   BLOB NOT NULL,  -- zlib of Raster.rows: a 4x6 label is ~5 kB instead of 124 kB
    ink    TEXT,           -- Raster.ink as "left,top,right,bottom", NULL when unknown
    PRIMARY KEY (job_id, n)
)""",
        # A raw job's bytes, decoded once at intake and kept apart from `jobs` so that listing
        # jobs never reads up to 16 MiB per row; loaded when the job is claimed.
        """CREATE TABLE IF NOT EXISTS raw_data (
    job_id TEXT PRIMARY KEY,
    data   BLOB NOT NULL
)""",
        # Printers a technician paused: they stay paused across restarts until resumed.
        """CREATE TABLE IF NOT EXISTS paused_printers (
    printer   TEXT PRIMARY KEY,
    paused_at REAL NOT NULL
)""",
    ),
    # Columns added after spool files with these tables were written (see Schema).
    added_columns=MappingProxyType({
        "jobs": MappingProxyType({"hold_kind": "TEXT", "delivery": "TEXT", "evidence": "TEXT",
                                  "restarted_at": "REAL", "owner": "TEXT", "warnings": "TEXT"}),
        "pages": MappingProxyType({"ink": "TEXT"}),
    }),
)
ADDED_COLUMNS = SCHEMA.added_columns


@dataclass
class NewJob:
    printer: str
    kind: str
    payload: dict[str, Any]
    copies: int = 1
    idem_key: str | None = None
    pages: list[Raster] = field(default_factory=list)  # rendered at submit, for raster jobs
    raw: bytes | None = None  # a raw job's bytes, decoded once at intake
    owner: str | None = None  # the submitting token's name
    warnings: list[dict[str, str]] = field(default_factory=list)  # {code, message, hint}

    def body_hash(self) -> str:
        raw = hashlib.sha256(self.raw).hexdigest() if self.raw is not None else None
        body = json.dumps([self.printer, self.kind, self.payload, self.copies, raw],
                          sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class Attempt:
    n: int
    started_at: float
    ended_at: float | None
    outcome: str | None
    error_code: str | None
    error_message: str | None
    bytes_sent: int | None


@dataclass
class Job:
    id: str
    seq: int
    printer: str
    state: JobState
    kind: str
    payload: dict[str, Any]
    copies: int
    attempts: int
    created_at: float
    updated_at: float
    finished_at: float | None
    retry_at: float | None
    error: dict[str, str] | None
    idem_key: str | None = None
    delivery: str | None = None
    evidence: str | None = None
    failures: int = 0  # attempts that failed and count towards max_attempts (this one included)
    owner: str | None = None  # the name of the token that submitted it; None for jobs without
    warnings: list[dict[str, str]] = field(default_factory=list)  # {code, message, hint}
    attempt_log: list[Attempt] = field(default_factory=list)
    pages: list[Raster] = field(default_factory=list)  # loaded when the job is claimed
    raw: bytes | None = None  # a raw job's bytes, loaded when the job is claimed

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> Job:
        error = None
        if r["error_code"]:
            error = {"code": r["error_code"], "message": r["error_message"] or "",
                     "hint": r["error_hint"] or ""}
        return cls(
            id=r["id"], seq=r["seq"], printer=r["printer"], state=JobState(r["state"]),
            kind=r["kind"], payload=json.loads(r["payload"]), copies=r["copies"],
            attempts=r["attempts"], created_at=r["created_at"], updated_at=r["updated_at"],
            finished_at=r["finished_at"], retry_at=r["retry_at"], error=error,
            idem_key=r["idem_key"], delivery=r["delivery"], evidence=r["evidence"],
            owner=r["owner"], warnings=json.loads(r["warnings"]) if r["warnings"] else [],
        )


@dataclass(frozen=True)
class SubmitResult:
    job: Job
    created: bool  # False: an earlier job with the same Idempotency-Key was returned


@dataclass(frozen=True)
class Finish:
    """How a delivery attempt ended: the job's next state and what to record about it."""

    job_id: str
    state: JobState
    outcome: str
    error: dict[str, str] | None = None
    bytes_sent: int | None = None
    retry_at: float | None = None
    delivery: str | None = None


# -- the queue -----------------------------------------------------------------------------


class JobQueue:
    """The job operations of the scheduler and the API; each is one transaction."""

    def __init__(self, db: Database):
        self.db = db
        db.register_schema(SCHEMA)

    async def submit(self, new: NewJob, max_queue: int | None = None) -> SubmitResult:
        """Commit a new job (or find the one its Idempotency-Key names). A printer whose queue
        already holds `max_queue` unfinished jobs refuses more (503): nothing is dropped
        silently, the client learns it must wait."""
        body_hash = new.body_hash()

        def op(conn: sqlite3.Connection) -> SubmitResult:
            now = time.time()
            if new.idem_key:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE idem_key=? AND created_at>?",
                    (new.idem_key, now - IDEMPOTENCY_WINDOW_S)).fetchone()
                if row is not None:
                    if row["owner"] is not None and new.owner is not None and \
                            row["owner"] != new.owner:
                        # Another token's job: never hand it (and its cancel) to this caller.
                        raise Invalid(
                            "idempotency-key-reused",
                            "This Idempotency-Key was already used by another token's job.",
                            "Make keys unique per client (e.g. prefix the till's name).")
                    if row["body_hash"] != body_hash:
                        raise Invalid(
                            "idempotency-key-reused",
                            "This Idempotency-Key was already used with a different job body.",
                            "Use a new key for a new job; repeat a key only to retry the same "
                            "request.")
                    return SubmitResult(Job.from_row(row), created=False)
                # An expired key may be reused: free it so the unique index allows the new job.
                conn.execute("UPDATE jobs SET idem_key=NULL WHERE idem_key=?", (new.idem_key,))
            if max_queue is not None:
                queued = conn.execute(
                    "SELECT count(*) FROM jobs WHERE printer=? AND state IN (?,?,?)",
                    (new.printer, *UNFINISHED)).fetchone()[0]
                if queued >= max_queue:
                    raise LabeldError(
                        "queue-full", f"Printer {new.printer} already has {queued} jobs waiting.",
                        "Try again later; check the printer (GET /v1/printers/ID).", status=503)
            job_id = uuid.uuid4().hex
            # A new job is born pending: the one state no operation moves a job into from
            # nothing, hence not in TRANSITIONS.
            seq = conn.execute(
                "INSERT INTO jobs (id, printer, state, kind, payload, copies, idem_key, body_hash,"
                " created_at, updated_at, owner, warnings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (job_id, new.printer, JobState.PENDING, new.kind, json.dumps(new.payload),
                 new.copies, new.idem_key, body_hash, now, now, new.owner,
                 json.dumps(new.warnings) if new.warnings else None)).lastrowid
            conn.executemany(
                "INSERT INTO pages (job_id, n, width, height, dpi, rows, ink)"
                " VALUES (?,?,?,?,?,?,?)",
                [(job_id, i, r.width, r.height, r.dpi, zlib.compress(r.rows, 1),
                  None if r.ink is None else ",".join(map(str, r.ink)))
                 for i, r in enumerate(new.pages)])
            if new.raw is not None:
                conn.execute("INSERT INTO raw_data (job_id, data) VALUES (?,?)",
                             (job_id, new.raw))
            job = Job(id=job_id, seq=seq, printer=new.printer, state=JobState.PENDING,
                      kind=new.kind, payload=new.payload, copies=new.copies, attempts=0,
                      created_at=now, updated_at=now, finished_at=None, retry_at=None,
                      error=None, idem_key=new.idem_key, owner=new.owner,
                      warnings=list(new.warnings))
            return SubmitResult(job, created=True)

        return await self.db.run(op)

    async def get(self, job_id: str, with_attempts: bool = False) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            row = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("unknown-job", f"There is no job {job_id!r}.",
                               "List jobs with GET /v1/jobs; finished jobs are pruned after a "
                               "while.")
            job = Job.from_row(row)
            if with_attempts:
                rows = conn.execute("SELECT * FROM attempts WHERE job_id=? ORDER BY n", (job_id,))
                # dict(row): iterating a sqlite3.Row gives its values, not its column names
                job.attempt_log = [Attempt(**{k: v for k, v in dict(a).items() if k != "job_id"})
                                   for a in rows]
            return job

        return await self.db.run(op)

    async def list(self, printer: str | None = None, state: str | None = None,
                   limit: int = 100, owner: str | None = None,
                   ) -> builtins.list[Job]:  # `list` is this method here
        """Newest first; `owner`: only the jobs that token (by name) submitted."""

        def op(conn: sqlite3.Connection) -> builtins.list[Job]:
            sql, args = "SELECT * FROM jobs WHERE 1=1", []
            if printer:
                sql += " AND printer=?"
                args.append(printer)
            if state:
                sql += " AND state=?"
                args.append(state)
            if owner is not None:
                sql += " AND owner=?"
                args.append(owner)
            sql += " ORDER BY seq DESC LIMIT ?"
            args.append(limit)
            return [Job.from_row(r) for r in conn.execute(sql, args)]

        return await self.db.run(op)

    async def owner(self, job_id: str) -> str | None:
        """The name of the token that submitted the job; None for a job without one or a job
        that is not there (pruned)."""

        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT owner FROM jobs WHERE id=?", (job_id,)).fetchone()
            return row["owner"] if row is not None else None

        return await self.db.run(op)

    async def set_paused(self, printer: str, paused: bool) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if paused:
                conn.execute("INSERT OR IGNORE INTO paused_printers VALUES (?, ?)",
                             (printer, time.time()))
            else:
                conn.execute("DELETE FROM paused_printers WHERE printer=?", (printer,))

        await self.db.run(op)

    async def paused_printers(self) -> set[str]:
        return await self.db.run(lambda conn: {r[0] for r in conn.execute(
            "SELECT printer FROM paused_printers")})

    async def queued_counts(self) -> dict[str, int]:
        """Unfinished jobs per printer (printers without any are absent)."""

        def op(conn: sqlite3.Connection) -> dict[str, int]:
            return {r[0]: r[1] for r in conn.execute(
                "SELECT printer, count(*) FROM jobs WHERE state IN (?,?,?) GROUP BY printer",
                UNFINISHED)}

        return await self.db.run(op)

    async def counts_by_printer_and_state(self) -> builtins.list[tuple[str, JobState, int]]:
        """How many jobs each printer has in each state (only combinations that occur); for
        /metrics."""

        def op(conn: sqlite3.Connection) -> builtins.list[tuple[str, JobState, int]]:
            return [(r[0], JobState(r[1]), r[2]) for r in conn.execute(
                "SELECT printer, state, count(*) FROM jobs GROUP BY printer, state")]

        return await self.db.run(op)

    async def claim_next(self, printer: str) -> Job | float | None:
        """Take the printer's oldest pending job and mark it processing, with a new attempt.

        Returns None when nothing is pending, and the time to come back when the oldest job is
        still backing off (it keeps its place: later jobs do not overtake it). The previous
        attempt is not folded into this transaction: its `sent` must be on disk as soon as the
        printer took the job (finish_attempt), not when the next job is claimed."""

        def op(conn: sqlite3.Connection) -> Job | float | None:
            row = conn.execute(
                "SELECT * FROM jobs WHERE printer=? AND state=? ORDER BY kind=? DESC, seq"
                " LIMIT 1", (printer, JobState.PENDING, MAINTENANCE)).fetchone()
            if row is None:
                return None
            now = time.time()
            if row["retry_at"] and row["retry_at"] > now:
                return float(row["retry_at"])
            n = row["attempts"] + 1
            _move(conn, Op.CLAIM, JobState.PROCESSING, "id=?", (row["id"],), now,
                  attempts=n, retry_at=None)
            conn.execute("INSERT INTO attempts (job_id, n, started_at) VALUES (?,?,?)",
                         (row["id"], n, now))
            job = Job.from_row(row)
            job.state, job.attempts = JobState.PROCESSING, n
            if job.kind in RAW_KINDS:
                job.raw = _load_raw(conn, job)
            else:
                job.pages = _load_pages(conn, job.id)
                if job.kind in TEXT_KINDS:
                    job.raw = _stored_raw(conn, job.id)
            # Holds for a printer fault are not failures of the job: only retries count, and
            # only since the job was last restarted by hand.
            job.failures = 1 + conn.execute(
                "SELECT count(*) FROM attempts WHERE job_id=? AND outcome IN (?,?)"
                " AND started_at >= ?",
                (row["id"], Outcome.RETRY, INTERRUPTED, row["restarted_at"] or 0)).fetchone()[0]
            return job

        return await self.db.run(op)

    async def finish_attempt(self, finish: Finish) -> None:
        await self.db.run(lambda conn: _finish(conn, finish))

    async def pages(self, job_id: str) -> builtins.list[Raster]:
        return await self.db.run(lambda conn: _load_pages(conn, job_id))

    async def cancel(self, job_id: str) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            check_move(Op.CANCEL, job_id, _state(conn, job_id), JobState.CANCELED)
            _move(conn, Op.CANCEL, JobState.CANCELED, "id=?", (job_id,), time.time(),
                  retry_at=None)
            return _job(conn, job_id)

        return await self.db.run(op)

    async def release(self, job_id: str) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            check_move(Op.RELEASE, job_id, _state(conn, job_id), JobState.PENDING)
            _move(conn, Op.RELEASE, JobState.PENDING, "id=?", (job_id,), time.time(),
                  hold_kind=None, error_code=None, error_message=None, error_hint=None)
            return _job(conn, job_id)

        return await self.db.run(op)

    async def restart(self, job_id: str) -> Job:
        """Queue an aborted or canceled job again, under its own id, in its original place, with
        a fresh retry budget (its attempts so far stay in its log)."""

        def op(conn: sqlite3.Connection) -> Job:
            check_move(Op.RESTART, job_id, _state(conn, job_id), JobState.PENDING)
            now = time.time()
            _move(conn, Op.RESTART, JobState.PENDING, "id=?", (job_id,), now,
                  retry_at=None, error_code=None, error_message=None, error_hint=None,
                  hold_kind=None, delivery=None, evidence=None, restarted_at=now)
            return _job(conn, job_id)

        return await self.db.run(op)

    async def reprint(self, job_id: str, owner: str | None = None) -> Job:
        """A new job with what a finished one printed: same printer, payload, copies, pages or
        raw bytes (and their warnings), at the end of the queue. The original keeps its id and
        history (a reprint is a new print, unlike `restart`). `owner` submits the new job (None:
        the original's owner)."""

        def op(conn: sqlite3.Connection) -> Job:
            state = _state(conn, job_id)
            if state not in FINISHED:
                raise Conflict("job-not-finished", f"Job {job_id} is {state}: it has not printed "
                               "yet, so there is nothing to print again.",
                               "Wait until it is finished, or cancel it first.")
            if conn.execute("SELECT kind FROM jobs WHERE id=?", (job_id,)).fetchone()[0] \
                    == MAINTENANCE:
                # Its bytes passed no raw-command policy: only running the action again (with
                # its role check and audit) may send them.
                raise Conflict("job-not-reprintable", f"Job {job_id} is a maintenance action, "
                               "not a print.", "Run the action again (POST "
                               "/v1/printers/ID/actions/ACTION).")
            new_id, now = uuid.uuid4().hex, time.time()
            conn.execute(
                "INSERT INTO jobs (id, printer, state, kind, payload, copies, created_at,"
                " updated_at, owner, warnings) SELECT ?, printer, ?, kind, payload, copies, ?, ?,"
                " coalesce(?, owner), warnings FROM jobs WHERE id=?",
                (new_id, JobState.PENDING, now, now, owner, job_id))
            conn.execute("INSERT INTO pages (job_id, n, width, height, dpi, rows, ink)"
                         " SELECT ?, n, width, height, dpi, rows, ink FROM pages WHERE job_id=?",
                         (new_id, job_id))
            conn.execute("INSERT INTO raw_data (job_id, data) SELECT ?, data FROM raw_data"
                         " WHERE job_id=?", (new_id, job_id))
            return _job(conn, new_id)

        return await self.db.run(op)

    async def recover(self, policies: dict[str, str], printer: str | None = None) -> dict[str, int]:
        """Resolve jobs a crash left `processing`: their bytes may or may not have reached the
        printer. Per printer policy: `retry` sends them again, `hold` waits for a person.

        With `printer`, only that printer's jobs whose bytes were not yet taken: its worker is
        restarting inside a running daemon, which still knows which jobs the printer took."""

        def op(conn: sqlite3.Connection) -> dict[str, int]:
            now = time.time()
            counts = {"retried": 0, "held": 0, "unconfirmed": 0}
            where: str
            args: builtins.list[object]
            if printer is not None:
                where, args = "delivery IS NULL AND printer=?", [printer]
            else:
                where, args = "1=1", []
                # Bytes the printer accepted are never sent again: such a job only lacked its
                # confirmation, so it completes as unconfirmed.
                counts["unconfirmed"] = _move(
                    conn, Op.RECOVER, JobState.COMPLETED, "delivery=?", (Delivery.SENT,), now,
                    delivery=Delivery.UNCONFIRMED, evidence=Evidence.NONE)
            for row in conn.execute(f"SELECT id, printer, attempts FROM jobs WHERE state=?"
                                    f" AND {where}", (JobState.PROCESSING, *args)).fetchall():
                policy = policies.get(row["printer"], "retry")
                conn.execute("UPDATE attempts SET ended_at=?, outcome=? WHERE job_id=?"
                             " AND n=? AND ended_at IS NULL",
                             (now, INTERRUPTED, row["id"], row["attempts"]))
                if policy == "hold":
                    _move(conn, Op.RECOVER, JobState.HELD, "id=?", (row["id"],), now,
                          error_code=INTERRUPTED,
                          error_message="labeld stopped while this job was being sent; it may "
                                        "have printed.",
                          error_hint="Check the printer; release the job (POST /v1/jobs/ID/"
                                     "release) to print it again, or cancel it.")
                    counts["held"] += 1
                else:
                    _move(conn, Op.RECOVER, JobState.PENDING, "id=?", (row["id"],), now)
                    counts["retried"] += 1
            return counts

        return await self.db.run(op)

    async def hold_printer(self, printer: str, error: dict[str, str]) -> int:
        """Hold the printer's pending jobs while it has a fault; returns how many were held.
        Jobs it already holds for a fault are counted again and get the new fault; jobs held
        for a person are left alone."""

        def op(conn: sqlite3.Connection) -> int:
            return _move(conn, Op.HOLD_PRINTER, JobState.HELD,
                         "printer=? AND (state=? OR hold_kind=?)",
                         (printer, JobState.PENDING, HOLD_KIND_PRINTER), time.time(),
                         hold_kind=HOLD_KIND_PRINTER, error_code=error.get("code"),
                         error_message=error.get("message"), error_hint=error.get("hint"))

        return await self.db.run(op)

    async def release_printer(self, printer: str) -> int:
        """The fault cleared: jobs held for it go back to pending, in their original order."""

        def op(conn: sqlite3.Connection) -> int:
            return _move(conn, Op.RELEASE_PRINTER, JobState.PENDING, "printer=? AND hold_kind=?",
                         (printer, HOLD_KIND_PRINTER), time.time(), hold_kind=None,
                         error_code=None, error_message=None, error_hint=None)

        return await self.db.run(op)

    async def settle(self, job_ids: builtins.list[str], delivery: str, evidence: Evidence) -> int:
        """Jobs whose bytes the printer took are completed, `confirmed` or `unconfirmed`, with
        the evidence that says so. Jobs canceled meanwhile, or not sent, are left alone."""

        def op(conn: sqlite3.Connection) -> int:
            now = time.time()
            return sum(_move(conn, Op.SETTLE, JobState.COMPLETED, "id=? AND delivery=?",
                             (jid, Delivery.SENT), now, delivery=delivery, evidence=evidence)
                       for jid in job_ids)

        return await self.db.run(op)

    async def unsend(self, job_id: str, error: dict[str, str], *, hold: bool) -> bool:
        """A job thought sent that the printer provably did not print (its label counter did
        not move) goes back to the head of the queue, its attempt counted as a failed one; with
        `hold`, where nothing proves either way, it waits for a person instead."""

        def op(conn: sqlite3.Connection) -> bool:
            now = time.time()
            row = conn.execute("SELECT attempts FROM jobs WHERE id=? AND state=? AND delivery=?",
                               (job_id, JobState.PROCESSING, Delivery.SENT)).fetchone()
            if row is None:
                return False  # canceled meanwhile
            conn.execute("UPDATE attempts SET outcome=?, error_code=?, error_message=?"
                         " WHERE job_id=? AND n=?",
                         (Outcome.HOLD if hold else Outcome.RETRY, error.get("code"),
                          error.get("message"), job_id, row["attempts"]))
            _move(conn, Op.UNSEND, JobState.HELD if hold else JobState.PENDING, "id=?",
                  (job_id,), now, delivery=None, error_code=error.get("code"),
                  error_message=error.get("message"), error_hint=error.get("hint"))
            return True

        return await self.db.run(op)

    async def prune(self, older_than_s: float) -> int:
        """Delete jobs finished more than `older_than_s` ago, with their attempts and pages;
        returns how many jobs."""

        def op(conn: sqlite3.Connection) -> int:
            cutoff = time.time() - older_than_s
            for table in ("attempts", "pages", "raw_data"):
                conn.execute(f"DELETE FROM {table} WHERE job_id IN (SELECT id FROM jobs WHERE"
                             " finished_at IS NOT NULL AND finished_at < ?)", (cutoff,))
            return conn.execute("DELETE FROM jobs WHERE finished_at IS NOT NULL"
                                " AND finished_at < ?", (cutoff,)).rowcount

        return await self.db.run(op)


def _state(conn: sqlite3.Connection, job_id: str) -> JobState:
    row = conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
    if row is None:
        raise NotFound("unknown-job", f"There is no job {job_id!r}.", "")
    return JobState(row["state"])


def _job(conn: sqlite3.Connection, job_id: str) -> Job:
    return Job.from_row(conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())


def _finish(conn: sqlite3.Connection, f: Finish) -> None:
    """Close the job's current attempt and move the job to its next state."""
    now = time.time()
    row = conn.execute("SELECT state, attempts FROM jobs WHERE id=?", (f.job_id,)).fetchone()
    if row is None:
        return
    e = f.error or {}
    conn.execute(
        "UPDATE attempts SET ended_at=?, outcome=?, error_code=?, error_message=?, bytes_sent=?"
        " WHERE job_id=? AND n=?",
        (now, f.outcome, e.get("code"), e.get("message"), f.bytes_sent, f.job_id, row["attempts"]))
    if JobState(row["state"]) not in TRANSITIONS[Op.FINISH]:
        return  # canceled while we were sending: keep the cancel
    check_move(Op.FINISH, f.job_id, row["state"], f.state)  # a Finish the table forbids: a bug
    _move(conn, Op.FINISH, f.state, "id=?", (f.job_id,), now, retry_at=f.retry_at,
          error_code=e.get("code"), error_message=e.get("message"), error_hint=e.get("hint"),
          delivery=f.delivery)


def _load_raw(conn: sqlite3.Connection, job: Job) -> bytes:
    row = conn.execute("SELECT data FROM raw_data WHERE job_id=?", (job.id,)).fetchone()
    if row is not None:
        return bytes(row["data"])
    # A job accepted by a labeld before raw_data existed kept its bytes in the payload as the
    # client sent them ({"data", "encoding"}); it still prints after the upgrade.
    data = job.payload.get("data", "")
    if job.payload.get("encoding") == "base64":
        return base64.b64decode(data)
    return str(data).encode("utf-8")


def _stored_raw(conn: sqlite3.Connection, job_id: str) -> bytes | None:
    row = conn.execute("SELECT data FROM raw_data WHERE job_id=?", (job_id,)).fetchone()
    return None if row is None else bytes(row["data"])


def _load_pages(conn: sqlite3.Connection, job_id: str) -> builtins.list[Raster]:
    return [Raster(width=r["width"], height=r["height"], rows=zlib.decompress(r["rows"]),
                   dpi=r["dpi"], ink=_ink_box(r["ink"]))
            for r in conn.execute("SELECT * FROM pages WHERE job_id=? ORDER BY n", (job_id,))]


def _ink_box(text: str | None) -> tuple[int, int, int, int] | None:
    if not text:
        return None
    left, top, right, bottom = (int(v) for v in text.split(","))
    return left, top, right, bottom
