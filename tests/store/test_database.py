"""The executor: group commit, a read-only commit counter, rooms registering their tables."""

import asyncio
import sqlite3

import pytest

from labeld.store.database import Database, Schema
from tests.conftest import run

NOTES = Schema("notes", ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)",))


def insert(text):
    return lambda conn: conn.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid


@pytest.fixture
def db(tmp_path):
    d = Database(tmp_path / "store.db")
    d.register_schema(NOTES)
    d.open()
    yield d
    d.close()


def test_concurrent_operations_share_commits_and_the_counter_says_so(db):
    before = db.commits
    assert run(db.run(insert("one"))) == 1
    assert db.commits == before + 1

    async def many():
        return await asyncio.gather(*(db.run(insert(str(i))) for i in range(200)))

    before = db.commits
    assert len(set(run(many()))) == 200
    assert 1 <= db.commits - before < 200


def test_the_commit_counter_is_read_only(db):
    with pytest.raises(AttributeError):
        db.commits = 0


def test_a_failing_operation_is_undone_alone(db):
    def boom(conn):
        conn.execute("INSERT INTO notes (text) VALUES ('lost')")
        raise ValueError("boom")

    async def mixed():
        return await asyncio.gather(db.run(insert("kept")), db.run(boom), db.run(insert("too")),
                                    return_exceptions=True)

    results = run(mixed())
    assert isinstance(results[1], ValueError)
    assert db.run_sync(lambda c: [r[0] for r in c.execute("SELECT text FROM notes")]) == [
        "kept", "too"]


def test_a_room_registered_while_open_gets_its_tables_at_once(db, tmp_path):
    db.register_schema(Schema("late", ("CREATE TABLE IF NOT EXISTS late (x INTEGER)",)))
    db.run_sync(lambda conn: conn.execute("INSERT INTO late VALUES (1)"))
    assert sqlite3.connect(tmp_path / "store.db").execute("SELECT x FROM late").fetchall() == [(1,)]


def test_added_columns_reach_an_old_file_and_an_index_on_them_works(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    old.execute("INSERT INTO things VALUES (7)")
    old.commit()
    old.close()
    schema = Schema("things", (
        "CREATE TABLE IF NOT EXISTS things (id INTEGER PRIMARY KEY, colour TEXT)",
        "CREATE INDEX IF NOT EXISTS things_colour ON things(colour)",  # on the added column
        "CREATE TABLE IF NOT EXISTS fresh (id INTEGER PRIMARY KEY, colour TEXT)",
    ), added_columns={"things": {"colour": "TEXT"}, "fresh": {"colour": "TEXT"}})
    d = Database(path)
    d.register_schema(schema)
    d.open()
    try:
        assert d.run_sync(lambda c: c.execute("SELECT id, colour FROM things").fetchall()[0][:]) \
            == (7, None)
        d.run_sync(lambda c: c.execute("INSERT INTO fresh (colour) VALUES ('red')"))
    finally:
        d.close()


def test_a_file_that_cannot_be_opened_says_so(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        Database(tmp_path / "dir.db").open()
