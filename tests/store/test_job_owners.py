"""The jobs table keeps who submitted a job (`owner`) and what its printer would misprint
(`warnings`); spool files written before these columns open, and their jobs read as having
neither."""

import sqlite3

import pytest

from labeld.errors import Invalid
from labeld.store import Database, JobQueue, JobState, NewJob
from labeld.store.jobs import ADDED_COLUMNS, SCHEMA
from tests.conftest import run

WARNING = {"code": "zpl-utf8-without-ci28", "message": "Field data ...", "hint": "^CI28"}


def submit(jobs, owner=None, warnings=(), key=None, raw=b"^XA^XZ"):
    new = NewJob("p1", "raw", {"bytes": len(raw)}, raw=raw, owner=owner,
                 warnings=list(warnings), idem_key=key)
    return run(jobs.submit(new)).job


def test_owner_and_warnings_are_stored_and_read_back(jobs):
    made = submit(jobs, owner="till-1", warnings=[WARNING])
    assert (made.owner, made.warnings) == ("till-1", [WARNING])
    got = run(jobs.get(made.id))
    assert (got.owner, got.warnings) == ("till-1", [WARNING])
    plain = run(jobs.get(submit(jobs).id))
    assert (plain.owner, plain.warnings) == (None, [])


def test_listing_filters_by_owner(jobs):
    a, b, c = submit(jobs, "till-1"), submit(jobs, "till-2"), submit(jobs, "till-1")
    assert [j.id for j in run(jobs.list(owner="till-1"))] == [c.id, a.id]
    assert [j.id for j in run(jobs.list(owner="till-2", state="pending"))] == [b.id]
    assert run(jobs.list(owner="nobody")) == []
    assert len(run(jobs.list())) == 3


def test_owner_lookup(jobs):
    assert run(jobs.owner(submit(jobs, "till-1").id)) == "till-1"
    assert run(jobs.owner(submit(jobs).id)) is None
    assert run(jobs.owner("gone")) is None


def test_a_reprint_keeps_the_warnings_and_takes_a_new_owner_or_the_old_one(jobs):
    job = submit(jobs, "till-1", [WARNING])
    run(jobs.cancel(job.id))
    by_tech = run(jobs.reprint(job.id, "anna"))
    kept = run(jobs.reprint(job.id))
    assert (by_tech.owner, by_tech.warnings) == ("anna", [WARNING])
    assert (kept.owner, kept.warnings) == ("till-1", [WARNING])


def test_an_idempotency_key_answers_only_its_own_token(jobs):
    first = submit(jobs, "till-1", key="sale-1")
    assert submit(jobs, "till-1", key="sale-1").id == first.id
    with pytest.raises(Invalid) as err:
        submit(jobs, "till-2", key="sale-1")
    assert err.value.code == "idempotency-key-reused"
    # a job from before owners (no owner) is found as before
    old = submit(jobs, None, key="sale-2")
    assert submit(jobs, "till-1", key="sale-2").id == old.id


def test_a_spool_from_before_owners_opens_and_reads_its_jobs_as_unowned(tmp_path):
    path = tmp_path / "before.db"
    (create,) = [s for s in SCHEMA.statements if s.startswith("CREATE TABLE IF NOT EXISTS jobs")]
    # the jobs table as the previous labeld wrote it: every column but owner and warnings
    lines = [ln for ln in create.splitlines() if ln.split()[:1] not in (["owner"], ["warnings"])]
    old_create = "\n".join(lines).replace("restarted_at  REAL,", "restarted_at  REAL")
    assert "owner" not in old_create and "warnings" not in old_create
    assert {"owner", "warnings"} <= set(ADDED_COLUMNS["jobs"])
    old = sqlite3.connect(path)
    old.executescript(old_create)
    old.execute("INSERT INTO jobs (id, printer, state, kind, payload, copies, created_at,"
                " updated_at, attempts) VALUES ('j1', 'p1', 'pending', 'raw', '{}', 1, 0, 0, 0)")
    old.commit()
    old.close()

    db = Database(path)
    queue = JobQueue(db)
    db.open()
    try:
        job = run(queue.get("j1"))
        assert job.state is JobState.PENDING and job.owner is None and job.warnings == []
        assert run(queue.list(owner="till-1")) == []
        new = run(queue.submit(NewJob("p1", "raw", {}, raw=b"x", owner="till-1",
                                      warnings=[WARNING]))).job
        assert run(queue.get(new.id)).owner == "till-1"
    finally:
        db.close()
    columns = {r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(jobs)")}
    assert {"owner", "warnings"} <= columns
