"""The spool is a real SQLite file: what the job queue accepted is on disk, in order, once.

These run the store's rooms as the daemon builds them: a JobQueue on the Database."""

import asyncio
import sqlite3

import pytest

from labeld.errors import Conflict, Invalid
from labeld.store import Database, Finish, JobQueue, JobState, NewJob
from tests.conftest import run


@pytest.fixture
def queue(db) -> JobQueue:
    return JobQueue(db)


def raw(printer="p1", data="^XA^XZ", key=None):
    return NewJob(printer=printer, kind="raw", payload={"data": data, "encoding": "utf-8"},
                  idem_key=key)


def test_a_submitted_job_is_on_disk_when_submit_returns(queue, tmp_path):
    job = run(queue.submit(raw())).job
    # A second, independent connection sees it: it was committed, not just cached.
    conn = sqlite3.connect(tmp_path / "spool.db")
    assert conn.execute("SELECT state FROM jobs WHERE id=?", (job.id,)).fetchone() == ("pending",)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_jobs_are_claimed_in_order_per_printer(queue):
    ids = [run(queue.submit(raw(data=str(i)))).job.id for i in range(3)]
    run(queue.submit(raw(printer="p2")))
    claimed = []
    while (job := run(queue.claim_next("p1"))) is not None:
        claimed.append(job.id)
        assert job.state is JobState.PROCESSING and job.attempts == 1
        run(queue.finish_attempt(Finish(job.id, JobState.COMPLETED, "ok")))
    assert claimed == ids


def test_a_job_backing_off_keeps_its_place(queue):
    first = run(queue.submit(raw(data="1"))).job
    run(queue.submit(raw(data="2")))
    job = run(queue.claim_next("p1"))
    import time
    run(queue.finish_attempt(Finish(job.id, JobState.PENDING, "retry",
                                    error={"code": "connection-refused", "message": "m"},
                                    retry_at=time.time() + 60)))
    wait = run(queue.claim_next("p1"))
    assert isinstance(wait, float)  # nothing overtakes the job at the head
    got = run(queue.get(first.id, with_attempts=True))
    assert got.error["code"] == "connection-refused"
    assert [a.outcome for a in got.attempt_log] == ["retry"]


def test_idempotency_key_returns_the_first_job(queue):
    a = run(queue.submit(raw(key="k1")))
    b = run(queue.submit(raw(key="k1")))
    assert a.created and not b.created and a.job.id == b.job.id
    with pytest.raises(Invalid) as err:
        run(queue.submit(raw(data="other", key="k1")))
    assert err.value.code == "idempotency-key-reused"
    assert len(run(queue.list())) == 1


def test_cancel_and_release_follow_the_state_rules(queue):
    job = run(queue.submit(raw())).job
    assert run(queue.cancel(job.id)).state is JobState.CANCELED
    with pytest.raises(Conflict):
        run(queue.cancel(job.id))
    with pytest.raises(Conflict):
        run(queue.release(job.id))


def test_recovery_retries_labels_and_holds_receipts(queue):
    label = run(queue.submit(raw(printer="lab"))).job
    receipt = run(queue.submit(raw(printer="rcp"))).job
    run(queue.claim_next("lab"))
    run(queue.claim_next("rcp"))
    counts = run(queue.recover({"lab": "retry", "rcp": "hold"}))
    assert counts == {"retried": 1, "held": 1, "unconfirmed": 0}
    assert run(queue.get(label.id)).state is JobState.PENDING
    held = run(queue.get(receipt.id))
    assert held.state is JobState.HELD and held.error["code"] == "interrupted"


def test_prune_deletes_only_old_finished_jobs(queue):
    done = run(queue.submit(raw())).job
    run(queue.claim_next("p1"))
    run(queue.finish_attempt(Finish(done.id, JobState.COMPLETED, "ok")))
    waiting = run(queue.submit(raw())).job
    assert run(queue.prune(3600)) == 0
    assert run(queue.prune(-1)) == 1
    assert [j.id for j in run(queue.list())] == [waiting.id]


def test_many_concurrent_submits_share_commits(queue):
    async def many():
        return await asyncio.gather(*(queue.submit(raw(data=str(i))) for i in range(200)))

    before = queue.db.commits
    results = run(many())
    assert len({r.job.id for r in results}) == 200
    assert queue.db.commits - before < 200  # group commit: fewer fsyncs than jobs


def test_a_failing_operation_does_not_undo_its_batch_neighbours(queue):
    async def mixed():
        return await asyncio.gather(queue.submit(raw(key="x")),
                                    queue.submit(raw(data="y", key="x")),
                                    queue.submit(raw(data="z")), return_exceptions=True)

    results = run(mixed())
    assert isinstance(results[1], Invalid)
    assert len(run(queue.list())) == 2


def test_pages_come_back_with_their_dots_and_ink_box(queue):
    from labeld.contracts import Raster

    rows = bytes([0, 0, 0x18, 0, 0, 0])
    pages = [Raster(16, 3, rows, 203, ink=(3, 1, 5, 2)), Raster(8, 1, b"\x00", 203)]
    job = run(queue.submit(NewJob("p1", "label", {}, pages=pages))).job
    back = run(queue.pages(job.id))
    assert back == pages  # the dots
    assert [p.ink for p in back] == [(3, 1, 5, 2), None]  # and what the renderer knew


def test_a_spool_from_before_the_ink_column_opens_and_reads_it_as_unknown(tmp_path):
    import zlib

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE pages (job_id TEXT NOT NULL, n INTEGER NOT NULL, width INTEGER NOT "
                "NULL, height INTEGER NOT NULL, dpi INTEGER NOT NULL, rows BLOB NOT NULL, "
                "PRIMARY KEY (job_id, n))")
    old.execute("INSERT INTO pages VALUES ('j1', 0, 8, 1, 203, ?)", (zlib.compress(b"\x80"),))
    old.commit()
    old.close()
    db = Database(path)
    jobs = JobQueue(db)
    db.open()
    try:
        (page,) = run(jobs.pages("j1"))
        assert page.rows == b"\x80" and page.ink is None
    finally:
        db.close()


def test_a_spool_from_before_delivery_tracking_opens_and_keeps_its_jobs(tmp_path):
    # the jobs table as the first labeld wrote it: no hold_kind, no delivery
    from labeld.store.jobs import ADDED_COLUMNS, SCHEMA

    path = tmp_path / "first.db"
    old = sqlite3.connect(path)

    (first,) = [s for s in SCHEMA.statements if s.startswith("CREATE TABLE IF NOT EXISTS jobs")]
    lines = [ln for ln in first.splitlines()
             if ln.split()[:1] not in ([c] for c in ADDED_COLUMNS["jobs"])]
    first = "\n".join(lines).replace("error_hint    TEXT,", "error_hint    TEXT")
    assert "delivery" not in first and "hold_kind" not in first and "evidence" not in first
    old.executescript(first)
    old.execute("INSERT INTO jobs (id, printer, state, kind, payload, copies, created_at,"
                " updated_at, attempts) VALUES ('j1', 'p1', 'pending', 'raw', '{}', 1, 0, 0, 0)")
    old.commit()
    old.close()
    db = Database(path)
    jobs = JobQueue(db)
    db.open()
    try:
        job = run(jobs.get("j1"))
        assert job.state is JobState.PENDING and job.delivery is None
    finally:
        db.close()
