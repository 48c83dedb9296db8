"""The job queue on a real SQLite file in the test's folder."""

import pytest

from labeld.store import Database, JobQueue


@pytest.fixture
def jobs(tmp_path):
    db = Database(tmp_path / "spool.db")
    queue = JobQueue(db)
    db.open()
    yield queue
    db.close()
