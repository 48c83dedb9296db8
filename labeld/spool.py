"""The durable spool: jobs and their attempts in SQLite (WAL, synchronous=FULL).

One thread owns the connection and runs every operation. Operations that arrive while a commit is
under way are run together in the next transaction and committed once (group commit), so many
clients pay for one fsync instead of one each. A caller's future resolves only after the commit
that holds its change, which is what lets the API answer 202 only for a job that is on disk.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import sqlite3
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from labeld.contracts import Raster
from labeld.errors import Conflict, Invalid, LabeldError, NotFound

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
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
    restarted_at  REAL   -- when POST /v1/jobs/ID/retry gave the job a new retry budget
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_idem ON jobs(idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(printer, state, seq);
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS attempts (
    job_id     TEXT NOT NULL,
    n          INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at   REAL,
    outcome    TEXT,
    error_code TEXT,
    error_message TEXT,
    bytes_sent INTEGER,
    PRIMARY KEY (job_id, n)
);
CREATE TABLE IF NOT EXISTS pages (
    job_id TEXT NOT NULL,
    n      INTEGER NOT NULL,
    width  INTEGER NOT NULL,
    height INTEGER NOT NULL,
    dpi    INTEGER NOT NULL,
    rows   BLOB NOT NULL,  -- zlib of Raster.rows: a 4x6 label is ~5 kB instead of 124 kB
    ink    TEXT,           -- Raster.ink as "left,top,right,bottom", NULL when unknown
    PRIMARY KEY (job_id, n)
);
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    printer TEXT,
    job_id  TEXT,
    kind    TEXT NOT NULL,
    code    TEXT,
    message TEXT,
    data    TEXT
);
CREATE INDEX IF NOT EXISTS events_printer ON events(printer, seq);
-- Printers a technician paused: they stay paused across restarts until resumed.
CREATE TABLE IF NOT EXISTS paused_printers (
    printer   TEXT PRIMARY KEY,
    paused_at REAL NOT NULL
);
"""
# Columns added to tables after spool files of that table were written: a file from an earlier
# labeld gets them when opened (CREATE TABLE IF NOT EXISTS leaves an existing table as it is).
ADDED_COLUMNS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    "jobs": {"hold_kind": "TEXT", "delivery": "TEXT", "evidence": "TEXT", "restarted_at": "REAL"},
    "pages": {"ink": "TEXT"},
})
EVENTS_KEPT = 50_000  # the newest events are kept; older ones are pruned with finished jobs

IDEMPOTENCY_WINDOW_S = 24 * 3600


class JobState(StrEnum):
    PENDING = "pending"
    HELD = "held"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELED = "canceled"
    ABORTED = "aborted"


FINISHED = (JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED)
# Finished jobs that POST /v1/jobs/ID/retry may queue again (a completed job printed).
RESTARTABLE = (JobState.CANCELED, JobState.ABORTED)


class Evidence(StrEnum):
    """What a job's `delivery` rests on."""

    COUNTER = "counter"  # the printer's label counter moved by the job's labels
    STATUS = "status"  # the printer closed the job's connection, then reported no error and
    # nothing of ours waiting
    NONE = "none"  # nothing: the printer took the bytes but could not say more (`unconfirmed`)


@dataclass
class NewJob:
    printer: str
    kind: str
    payload: dict[str, Any]
    copies: int = 1
    idem_key: str | None = None
    pages: list[Raster] = field(default_factory=list)  # rendered at submit, for raster jobs

    def body_hash(self) -> str:
        body = json.dumps([self.printer, self.kind, self.payload, self.copies], sort_keys=True)
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
    attempt_log: list[Attempt] = field(default_factory=list)
    pages: list[Raster] = field(default_factory=list)  # loaded when the job is claimed

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


class _Stop:
    pass


class Spool:
    """All spool operations; safe to call from any thread or event loop."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._q: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Future] | _Stop] = (
            queue.SimpleQueue())
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self.commits = 0  # how many transactions were committed; for the benchmark's report
        self._extra_schema: list[str] = []

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        if self._thread:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._serve, name="labeld-spool", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error:
            raise self._open_error

    def close(self) -> None:
        if self._thread:
            self._q.put(_Stop())
            self._thread.join(timeout=10)
            self._thread = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an accepted job must survive a power cut
        conn.execute("PRAGMA busy_timeout=5000")
        conn.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            _add_missing_columns(conn, table, columns)
        for statement in self._extra_schema:
            conn.execute(statement)
        return conn

    def add_schema(self, statements: tuple[str, ...]) -> None:
        """Tables of other parts (tokens, audit) kept in the same file: created at open, or at
        once when the spool is already open. Statements must be idempotent (IF NOT EXISTS)."""
        self._extra_schema.extend(statements)
        if self._thread:
            def op(conn: sqlite3.Connection) -> None:
                for statement in statements:
                    conn.execute(statement)

            self.run_sync(op)

    def _serve(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        stop = False
        while not stop:
            batch = [self._q.get()]
            while len(batch) < 512:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            results: list[tuple[Future, Any, BaseException | None]] = []
            conn.execute("BEGIN IMMEDIATE")
            for item in batch:
                if isinstance(item, _Stop):
                    stop = True
                    continue
                fn, fut = item
                if not fut.set_running_or_notify_cancel():
                    continue  # its caller gave up (a cancelled request): nothing to do
                # A savepoint per operation: one failing operation must not undo the others
                # that share its commit.
                conn.execute("SAVEPOINT op")
                try:
                    results.append((fut, fn(conn), None))
                    conn.execute("RELEASE op")
                except BaseException as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((fut, None, exc))
            try:
                conn.execute("COMMIT")
                self.commits += 1
            except BaseException as exc:
                results = [(f, None, exc) for f, _, _ in results]
            for fut, value, exc in results:
                if exc is None:
                    fut.set_result(value)
                else:
                    fut.set_exception(exc)
        conn.close()

    # -- running operations ----------------------------------------------------------------

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return fut.result()

    async def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return await asyncio.wrap_future(fut)

    # -- operations ------------------------------------------------------------------------

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
                    if row["body_hash"] != body_hash:
                        raise Invalid(
                            "idempotency-key-reused",
                            "This Idempotency-Key was already used with a different job body.",
                            "Use a new key for a new job; repeat a key only to retry the same request.")
                    return SubmitResult(Job.from_row(row), created=False)
                # An expired key may be reused: free it so the unique index allows the new job.
                conn.execute("UPDATE jobs SET idem_key=NULL WHERE idem_key=?", (new.idem_key,))
            if max_queue is not None:
                queued = conn.execute(
                    "SELECT count(*) FROM jobs WHERE printer=? AND state IN"
                    " ('pending','held','processing')", (new.printer,)).fetchone()[0]
                if queued >= max_queue:
                    raise LabeldError(
                        "queue-full", f"Printer {new.printer} already has {queued} jobs waiting.",
                        "Try again later; check the printer (GET /v1/printers/ID).", status=503)
            job_id = uuid.uuid4().hex
            seq = conn.execute(
                "INSERT INTO jobs (id, printer, state, kind, payload, copies, idem_key, body_hash,"
                " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (job_id, new.printer, JobState.PENDING, new.kind, json.dumps(new.payload),
                 new.copies, new.idem_key, body_hash, now, now)).lastrowid
            conn.executemany(
                "INSERT INTO pages (job_id, n, width, height, dpi, rows, ink)"
                " VALUES (?,?,?,?,?,?,?)",
                [(job_id, i, r.width, r.height, r.dpi, zlib.compress(r.rows, 1),
                  None if r.ink is None else ",".join(map(str, r.ink)))
                 for i, r in enumerate(new.pages)])
            job = Job(id=job_id, seq=seq, printer=new.printer, state=JobState.PENDING, kind=new.kind,
                      payload=new.payload, copies=new.copies, attempts=0, created_at=now,
                      updated_at=now, finished_at=None, retry_at=None, error=None,
                      idem_key=new.idem_key)
            return SubmitResult(job, created=True)

        return await self.run(op)

    async def get(self, job_id: str, with_attempts: bool = False) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            row = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("unknown-job", f"There is no job {job_id!r}.",
                               "List jobs with GET /v1/jobs; finished jobs are pruned after a while.")
            job = Job.from_row(row)
            if with_attempts:
                job.attempt_log = [Attempt(**{k: a[k] for k in a.keys() if k != "job_id"})
                                   for a in conn.execute(
                                       "SELECT * FROM attempts WHERE job_id=? ORDER BY n", (job_id,))]
            return job

        return await self.run(op)

    async def list(self, printer: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[Job]:
        def op(conn: sqlite3.Connection) -> list[Job]:
            sql, args = "SELECT * FROM jobs WHERE 1=1", []
            if printer:
                sql += " AND printer=?"
                args.append(printer)
            if state:
                sql += " AND state=?"
                args.append(state)
            sql += " ORDER BY seq DESC LIMIT ?"
            args.append(limit)
            return [Job.from_row(r) for r in conn.execute(sql, args)]

        return await self.run(op)

    async def set_paused(self, printer: str, paused: bool) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if paused:
                conn.execute("INSERT OR IGNORE INTO paused_printers VALUES (?, ?)",
                             (printer, time.time()))
            else:
                conn.execute("DELETE FROM paused_printers WHERE printer=?", (printer,))

        await self.run(op)

    async def paused_printers(self) -> set[str]:
        return await self.run(lambda conn: {r[0] for r in conn.execute(
            "SELECT printer FROM paused_printers")})

    async def queued_counts(self) -> dict[str, int]:
        def op(conn: sqlite3.Connection) -> dict[str, int]:
            return {r[0]: r[1] for r in conn.execute(
                "SELECT printer, count(*) FROM jobs WHERE state IN ('pending','held','processing')"
                " GROUP BY printer")}

        return await self.run(op)

    async def claim_next(self, printer: str, finish: Finish | None = None) -> Job | float | None:
        """Take the printer's oldest pending job and mark it processing, with a new attempt.

        `finish` closes the previous attempt in the same transaction: a busy printer pays one
        spool round trip per job instead of two.
        Returns None when nothing is pending, and the time to come back when the oldest job is
        still backing off (it keeps its place: later jobs do not overtake it)."""

        def op(conn: sqlite3.Connection) -> Job | float | None:
            if finish is not None:
                _finish(conn, finish)
            row = conn.execute(
                "SELECT * FROM jobs WHERE printer=? AND state='pending' ORDER BY seq LIMIT 1",
                (printer,)).fetchone()
            if row is None:
                return None
            now = time.time()
            if row["retry_at"] and row["retry_at"] > now:
                return float(row["retry_at"])
            n = row["attempts"] + 1
            conn.execute("UPDATE jobs SET state='processing', attempts=?, updated_at=?, retry_at=NULL"
                         " WHERE id=?", (n, now, row["id"]))
            conn.execute("INSERT INTO attempts (job_id, n, started_at) VALUES (?,?,?)",
                         (row["id"], n, now))
            job = Job.from_row(row)
            job.state, job.attempts = JobState.PROCESSING, n
            if job.kind != "raw":
                job.pages = _load_pages(conn, job.id)
            # Holds for a printer fault are not failures of the job: only retries count, and
            # only since the job was last restarted by hand.
            job.failures = 1 + conn.execute(
                "SELECT count(*) FROM attempts WHERE job_id=? AND outcome IN ('retry','interrupted')"
                " AND started_at >= ?", (row["id"], row["restarted_at"] or 0)).fetchone()[0]
            return job

        return await self.run(op)

    async def finish_attempt(self, finish: Finish) -> None:
        await self.run(lambda conn: _finish(conn, finish))

    async def pages(self, job_id: str) -> list[Raster]:
        return await self.run(lambda conn: _load_pages(conn, job_id))

    async def cancel(self, job_id: str) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            row = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("unknown-job", f"There is no job {job_id!r}.", "")
            if row["state"] in FINISHED:
                raise Conflict("job-finished", f"Job {job_id} is already {row['state']}.",
                               "Only pending, held or processing jobs can be canceled.")
            now = time.time()
            conn.execute("UPDATE jobs SET state='canceled', updated_at=?, finished_at=?, retry_at=NULL"
                         " WHERE id=?", (now, now, job_id))
            return Job.from_row(conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

        return await self.run(op)

    async def release(self, job_id: str) -> Job:
        def op(conn: sqlite3.Connection) -> Job:
            row = conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("unknown-job", f"There is no job {job_id!r}.", "")
            if row["state"] != JobState.HELD:
                raise Conflict("job-not-held", f"Job {job_id} is {row['state']}, not held.", "")
            conn.execute("UPDATE jobs SET state='pending', hold_kind=NULL, updated_at=?,"
                         " error_code=NULL, error_message=NULL, error_hint=NULL WHERE id=?",
                         (time.time(), job_id))
            return Job.from_row(conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

        return await self.run(op)

    async def restart(self, job_id: str) -> Job:
        """Queue an aborted or canceled job again, under its own id, in its original place, with
        a fresh retry budget (its attempts so far stay in its log)."""

        def op(conn: sqlite3.Connection) -> Job:
            row = conn.execute("SELECT state FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                raise NotFound("unknown-job", f"There is no job {job_id!r}.", "")
            if row["state"] not in RESTARTABLE:
                raise Conflict("job-not-restartable",
                               f"Job {job_id} is {row['state']}; only aborted or canceled jobs "
                               "can be retried.",
                               "A completed job printed: submit it again to print it once more."
                               if row["state"] == JobState.COMPLETED else
                               "It is still in the queue: wait, release or cancel it.")
            now = time.time()
            conn.execute("UPDATE jobs SET state='pending', updated_at=?, finished_at=NULL,"
                         " retry_at=NULL, error_code=NULL, error_message=NULL, error_hint=NULL,"
                         " hold_kind=NULL, delivery=NULL, evidence=NULL, restarted_at=?"
                         " WHERE id=?", (now, now, job_id))
            return Job.from_row(conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone())

        return await self.run(op)

    async def recover(self, policies: dict[str, str], printer: str | None = None) -> dict[str, int]:
        """Resolve jobs a crash left `processing`: their bytes may or may not have reached the
        printer. Per printer policy: `retry` sends them again, `hold` waits for a person.

        With `printer`, only that printer's jobs whose bytes were not yet taken: its worker is
        restarting inside a running daemon, which still knows which jobs the printer took."""

        def op(conn: sqlite3.Connection) -> dict[str, int]:
            now = time.time()
            counts = {"retried": 0, "held": 0, "unconfirmed": 0}
            where, args = "state='processing'", []
            if printer is not None:
                where, args = "state='processing' AND delivery IS NULL AND printer=?", [printer]
            else:
                # Bytes the printer accepted are never sent again: such a job only lacked its
                # confirmation, so it completes as unconfirmed.
                counts["unconfirmed"] = conn.execute(
                    "UPDATE jobs SET state='completed', delivery='unconfirmed', evidence='none',"
                    " updated_at=?, finished_at=? WHERE state='processing' AND delivery='sent'",
                    (now, now)).rowcount
            for row in conn.execute(f"SELECT id, printer, attempts FROM jobs WHERE {where}",
                                    args).fetchall():
                policy = policies.get(row["printer"], "retry")
                conn.execute("UPDATE attempts SET ended_at=?, outcome='interrupted' WHERE job_id=?"
                             " AND n=? AND ended_at IS NULL", (now, row["id"], row["attempts"]))
                if policy == "hold":
                    conn.execute(
                        "UPDATE jobs SET state='held', updated_at=?, error_code='interrupted',"
                        " error_message=?, error_hint=? WHERE id=?",
                        (now, "labeld stopped while this job was being sent; it may have printed.",
                         "Check the printer; release the job (POST /v1/jobs/ID/release) to print "
                         "it again, or cancel it.", row["id"]))
                    counts["held"] += 1
                else:
                    conn.execute("UPDATE jobs SET state='pending', updated_at=? WHERE id=?",
                                 (now, row["id"]))
                    counts["retried"] += 1
            return counts

        return await self.run(op)

    async def hold_printer(self, printer: str, error: dict[str, str]) -> int:
        """Hold the printer's pending jobs while it has a fault; returns how many were held."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE jobs SET state='held', hold_kind='printer', updated_at=?, error_code=?,"
                " error_message=?, error_hint=? WHERE printer=? AND (state='pending' OR"
                " (state='held' AND hold_kind='printer'))",
                (time.time(), error.get("code"), error.get("message"), error.get("hint"), printer)
            ).rowcount

        return await self.run(op)

    async def release_printer(self, printer: str) -> int:
        """The fault cleared: jobs held for it go back to pending, in their original order."""

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "UPDATE jobs SET state='pending', hold_kind=NULL, updated_at=?, error_code=NULL,"
                " error_message=NULL, error_hint=NULL WHERE printer=? AND state='held'"
                " AND hold_kind='printer'", (time.time(), printer)).rowcount

        return await self.run(op)

    async def settle(self, job_ids: list[str], delivery: str, evidence: Evidence) -> int:
        """Jobs whose bytes the printer took are completed, `confirmed` or `unconfirmed`, with
        the evidence that says so."""

        def op(conn: sqlite3.Connection) -> int:
            now = time.time()
            return sum(conn.execute(
                "UPDATE jobs SET state='completed', delivery=?, evidence=?, updated_at=?,"
                " finished_at=? WHERE id=? AND state='processing' AND delivery='sent'",
                (delivery, evidence, now, now, jid)).rowcount for jid in job_ids)

        return await self.run(op)

    async def unsend(self, job_id: str, error: dict[str, str], *, hold: bool) -> bool:
        """A job thought sent that the printer provably did not print (its label counter did
        not move) goes back to the head of the queue, its attempt counted as a failed one; with
        `hold`, where nothing proves either way, it waits for a person instead."""

        def op(conn: sqlite3.Connection) -> bool:
            now = time.time()
            row = conn.execute("SELECT attempts FROM jobs WHERE id=? AND state='processing'"
                               " AND delivery='sent'", (job_id,)).fetchone()
            if row is None:
                return False  # canceled meanwhile
            conn.execute("UPDATE attempts SET outcome=?, error_code=?, error_message=?"
                         " WHERE job_id=? AND n=?",
                         ("hold" if hold else "retry", error.get("code"), error.get("message"),
                          job_id, row["attempts"]))
            conn.execute("UPDATE jobs SET state=?, delivery=NULL, updated_at=?, error_code=?,"
                         " error_message=?, error_hint=? WHERE id=?",
                         ("held" if hold else "pending", now, error.get("code"),
                          error.get("message"), error.get("hint"), job_id))
            return True

        return await self.run(op)

    async def add_event(self, kind: str, *, printer: str | None = None, job_id: str | None = None,
                        code: str | None = None, message: str | None = None,
                        data: dict[str, Any] | None = None) -> Event:
        def op(conn: sqlite3.Connection) -> Event:
            now = time.time()
            cur = conn.execute(
                "INSERT INTO events (at, printer, job_id, kind, code, message, data)"
                " VALUES (?,?,?,?,?,?,?)",
                (now, printer, job_id, kind, code, message, json.dumps(data or {})))
            return Event(cur.lastrowid, now, printer, job_id, kind, code, message, data or {})

        return await self.run(op)

    async def events(self, printer: str | None = None, limit: int = 100,
                     after: int = 0) -> list[Event]:
        def op(conn: sqlite3.Connection) -> list[Event]:
            sql, args = "SELECT * FROM events WHERE seq > ?", [after]
            if printer:
                sql += " AND printer=?"
                args.append(printer)
            rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", (*args, limit)).fetchall()
            return [Event(r["seq"], r["at"], r["printer"], r["job_id"], r["kind"], r["code"],
                          r["message"], json.loads(r["data"] or "{}")) for r in rows]

        return await self.run(op)

    async def prune(self, older_than_s: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cutoff = time.time() - older_than_s
            for table in ("attempts", "pages"):
                conn.execute(f"DELETE FROM {table} WHERE job_id IN (SELECT id FROM jobs WHERE"
                             " finished_at IS NOT NULL AND finished_at < ?)", (cutoff,))
            conn.execute("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?",
                         (EVENTS_KEPT,))
            return conn.execute("DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?",
                                (cutoff,)).rowcount

        return await self.run(op)


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
    if row["state"] != JobState.PROCESSING:
        return  # canceled while we were sending: keep the cancel
    conn.execute(
        "UPDATE jobs SET state=?, updated_at=?, finished_at=?, retry_at=?, error_code=?,"
        " error_message=?, error_hint=?, delivery=? WHERE id=?",
        (f.state, now, now if f.state in FINISHED else None, f.retry_at, e.get("code"),
         e.get("message"), e.get("hint"), f.delivery, f.job_id))


def _load_pages(conn: sqlite3.Connection, job_id: str) -> list[Raster]:
    return [Raster(width=r["width"], height=r["height"], rows=zlib.decompress(r["rows"]),
                   dpi=r["dpi"], ink=_ink_box(r["ink"]))
            for r in conn.execute("SELECT * FROM pages WHERE job_id=? ORDER BY n", (job_id,))]


def _ink_box(text: str | None) -> tuple[int, int, int, int] | None:
    if not text:
        return None
    left, top, right, bottom = (int(v) for v in text.split(","))
    return left, top, right, bottom


def _add_missing_columns(conn: sqlite3.Connection, table: str, columns: Mapping[str, str]) -> None:
    """Columns added since a spool file was created (CREATE TABLE IF NOT EXISTS leaves an older
    table as it is): a spool written by an earlier labeld opens, and its rows read as NULL."""
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    for name, decl in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")

