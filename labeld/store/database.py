"""The SQLite executor under every room of the store: one file, one thread, group commit.

One thread owns the connection and runs every operation. Operations that arrive while a commit is
under way are run together in the next transaction and committed once (group commit), so many
clients pay for one fsync instead of one each. A caller's future resolves only after the commit
that holds its change, which is what lets the API answer 202 only for a job that is on disk.

The executor knows nothing about jobs, events, tokens or audit entries. Each of those rooms
registers its own tables (`register_schema`) and runs its own SQL through `run` / `run_sync`;
an operation is a function of the connection, called on the executor's thread inside the batch's
transaction, under a savepoint of its own.
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

T = TypeVar("T")

Operation = Callable[[sqlite3.Connection], T]

# Operations per transaction at most: a burst larger than this is split over several commits, so
# that the first callers of a huge burst do not wait for the last one's work.
MAX_BATCH = 512


@dataclass(frozen=True)
class Schema:
    """One room's tables.

    `statements` are run one by one (sqlite3's executescript() would COMMIT the executor's open
    transaction when a room registers while the file is open); each must be idempotent
    (CREATE ... IF NOT EXISTS). `added_columns` lists, per table, the columns added after files
    with that table were written: CREATE TABLE IF NOT EXISTS leaves an existing table as it is,
    so a file from an earlier labeld gets them by ALTER TABLE when opened, and its rows read them
    as NULL."""

    room: str
    statements: tuple[str, ...]
    added_columns: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}))


class _Stop:
    """Queued by close(): the executor finishes the batch it is in, then exits."""


class Database:
    """The store's SQLite file (WAL, synchronous=FULL); safe to call from any thread or loop.

    Lifecycle: construct, let the rooms register their schemas, `open()`, run operations,
    `close()`. A room may also register while the file is open: its tables are created at once.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._q: queue.SimpleQueue[tuple[Operation[Any], Future[Any]] | _Stop] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self._commits = 0
        self._schemas: list[Schema] = []

    @property
    def commits(self) -> int:
        """How many transactions were committed since this handle was opened: with group commit,
        fewer than operations. Read-only; shown on /metrics as labeld_spool_commits_total.
        Written only by the executor thread, so a plain int is enough (reads are atomic)."""
        return self._commits

    @property
    def is_open(self) -> bool:
        return self._thread is not None

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> None:
        if self._thread:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._ready.clear()
        self._open_error = None
        self._thread = threading.Thread(target=self._serve, name="labeld-spool", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._open_error:
            self._thread = None
            raise self._open_error

    def close(self) -> None:
        if self._thread:
            self._q.put(_Stop())
            self._thread.join(timeout=10)
            self._thread = None

    # -- schema ----------------------------------------------------------------------------

    def register_schema(self, schema: Schema) -> None:
        """Keep a room's tables in this file: created at open, or at once when already open."""
        self._schemas.append(schema)
        if self._thread:
            self.run_sync(lambda conn: _apply(conn, schema))

    # -- running operations ----------------------------------------------------------------

    def run_sync(self, fn: Operation[T]) -> T:
        """Run `fn(conn)` on the executor thread; returns once its transaction is committed."""
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return fut.result()

    async def run(self, fn: Operation[T]) -> T:
        """As run_sync, without blocking the event loop."""
        fut: Future[T] = Future()
        self._q.put((fn, fut))
        return await asyncio.wrap_future(fut)

    # -- the executor thread ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # an accepted job must survive a power cut
        conn.execute("PRAGMA busy_timeout=5000")
        for schema in self._schemas:
            _apply(conn, schema)
        return conn

    def _serve(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:  # noqa: BLE001 - open() waits for it and raises it there
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        stop = False
        while not stop:
            batch = [self._q.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._q.get_nowait())
                except queue.Empty:
                    break
            results: list[tuple[Future[Any], Any, BaseException | None]] = []
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
                except BaseException as exc:  # noqa: BLE001 - its caller gets it, the thread lives
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append((fut, None, exc))
            try:
                conn.execute("COMMIT")
                self._commits += 1
            except BaseException as exc:  # noqa: BLE001 - every caller in the batch gets it
                results = [(f, None, exc) for f, _, _ in results]
            for fut, value, exc in results:
                if exc is None:
                    fut.set_result(value)
                else:
                    fut.set_exception(exc)
        conn.close()


def _apply(conn: sqlite3.Connection, schema: Schema) -> None:
    # Existing tables get their missing columns first, then the statements run: an index on an
    # added column would otherwise fail on an old file. A table that does not exist yet is left
    # to its CREATE TABLE, which has every column.
    for table, columns in schema.added_columns.items():
        _add_missing_columns(conn, table, columns)
    for statement in schema.statements:
        conn.execute(statement)


def _add_missing_columns(conn: sqlite3.Connection, table: str, columns: Mapping[str, str]) -> None:
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
    if not have:
        return  # no such table yet
    for name, decl in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
