"""The event log: newest first, filtered by printer and position, pruned to the newest."""

import pytest

from labeld.store import JobQueue
from labeld.store.database import Database
from labeld.store.events import EventLog
from tests.conftest import run


@pytest.fixture
def log(tmp_path):
    db = Database(tmp_path / "spool.db")
    events = EventLog(db)
    db.open()
    yield events
    db.close()


def test_events_come_back_newest_first_with_their_data(log):
    a = run(log.add("state", printer="p1", code="ready", data={"n": 1}))
    b = run(log.add("job", printer="p2", job_id="j1", message="done"))
    c = run(log.add("state", printer="p1", code="paper-out"))
    assert [e.seq for e in run(log.list())] == [c.seq, b.seq, a.seq]
    assert [e.seq for e in run(log.list(printer="p1"))] == [c.seq, a.seq]
    assert [e.seq for e in run(log.list(after=a.seq, limit=1))] == [c.seq]
    assert run(log.list(printer="p1"))[-1].data == {"n": 1}
    assert run(log.list(printer="p2"))[0].data == {}


def test_prune_keeps_the_newest(log):
    added = [run(log.add("tick", data={"i": i})) for i in range(5)]
    assert run(log.prune(keep=2)) == 3
    assert [e.seq for e in run(log.list())] == [added[4].seq, added[3].seq]


def test_the_rooms_share_one_file_and_prune_apart(tmp_path):
    db = Database(tmp_path / "spool.db")
    jobs, events = JobQueue(db), EventLog(db)
    db.open()
    try:
        for _ in range(3):
            run(events.add("tick"))
        assert run(jobs.prune(3600)) == 0  # no finished jobs, and the events stay
        assert len(run(events.list())) == 3
        assert run(events.prune()) == 0  # the newest 50 000 are kept
        run(events.prune(keep=1))
        assert len(run(events.list())) == 1
    finally:
        db.close()
