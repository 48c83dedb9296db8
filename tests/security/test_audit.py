"""The audit log: every technician and administrator action, who, what, when and how it ended."""

from __future__ import annotations

import sqlite3

import httpx
from fastapi import Depends, FastAPI, Request

from labeld.http.app import install_error_handlers
from labeld.errors import LabeldError, NotFound
from labeld.http.security import Guard, error_response
from labeld.security.audit import STATE_KEY, AuditLog, AuditTrail
from labeld.contracts import Role
from labeld.security.tokens import TokenStore
from labeld.store import Database
from tests.conftest import run


def test_entries_are_listed_newest_first_with_a_limit(db):
    clock = iter(range(100, 200))
    audit = AuditLog(db, clock=lambda: float(next(clock)))
    for i in range(5):
        run(audit.record(who=f"t{i}", role=Role.TECH, method="POST",
                         path=f"/v1/printers/p{i}/pause", target=f"printer_id=p{i}", status=200))
    entries = run(audit.list(limit=3))
    assert [e.who for e in entries] == ["t4", "t3", "t2"]
    assert entries[0].at == 104.0 and entries[0].role == "tech" and entries[0].status == 200
    assert entries[0].as_dict()["path"] == "/v1/printers/p4/pause"
    assert [e.who for e in audit.list_sync(limit=10, who="t1")] == ["t1"]
    # The clock's next reading is 105: older than 3 s means the entries at 100 and 101.
    assert run(audit.prune(older_than_s=3)) == 2
    assert len(run(audit.list())) == 3


def test_the_cli_records_without_a_daemon_and_entries_survive_a_restart(tmp_path):
    db = Database(tmp_path / "spool.db")
    db.open()
    AuditLog(db).record_sync(who="cli:root", role=Role.ADMIN, method="CLI",
                             path="token create", target="till-1", status=0)
    db.close()
    db = Database(tmp_path / "spool.db")
    db.open()
    try:
        [e] = AuditLog(db).list_sync()
        assert (e.who, e.method, e.path, e.target) == ("cli:root", "CLI", "token create", "till-1")
    finally:
        db.close()


def audited_app(db):
    tokens = TokenStore(db)
    audit = AuditLog(db)
    guard = Guard(tokens)
    app = FastAPI()
    install_error_handlers(app)

    @app.exception_handler(LabeldError)
    async def _labeld(_, exc: LabeldError):
        return error_response(exc)

    pos, tech = Depends(guard.require(Role.POS)), Depends(guard.require(Role.TECH))

    @app.get("/v1/jobs")
    async def jobs(_=pos):
        return {"jobs": []}

    @app.post("/v1/printers/{printer_id}/pause")
    async def pause(printer_id: str, _=tech):
        if printer_id == "nope":
            raise NotFound("unknown-printer", "no such printer")
        if printer_id == "boom":
            raise RuntimeError("bug")
        return {"paused": printer_id}

    @app.delete("/v1/jobs/{job_id}")
    async def cancel(job_id: str, request: Request, _=tech):
        getattr(request.state, STATE_KEY).target = f"job={job_id} printer=shelf"
        return {"canceled": job_id}

    app.add_middleware(AuditTrail, audit=audit)
    return app, tokens, audit


def call(app, method, path, token):
    async def go():
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.request(method, path, headers={"Authorization": f"Bearer {token}"})
    return run(go())


def test_tech_and_admin_actions_are_audited_with_their_outcome(db, tmp_path):
    app, tokens, audit = audited_app(db)
    pos, _ = run(tokens.create("till-1", Role.POS))
    tech, _ = run(tokens.create("tech-anna", Role.TECH))
    admin, _ = run(tokens.create("admin", Role.ADMIN))

    assert call(app, "GET", "/v1/jobs", pos).status_code == 200  # a pos action: not audited
    assert call(app, "GET", "/v1/jobs", tech).status_code == 200  # a pos-level route: neither
    assert call(app, "POST", "/v1/printers/shelf/pause", tech).status_code == 200
    assert call(app, "POST", "/v1/printers/shelf/pause", pos).status_code == 403
    assert call(app, "POST", "/v1/printers/nope/pause", admin).status_code == 404
    assert call(app, "POST", "/v1/printers/boom/pause", admin).status_code == 500
    assert call(app, "DELETE", "/v1/jobs/abc", tech).status_code == 200
    assert call(app, "POST", "/v1/printers/shelf/pause", "lbd_" + "x" * 43).status_code == 401

    entries = run(audit.list())
    got = [(e.who, e.role, e.method, e.path, e.target, e.status) for e in entries]
    assert got == [
        ("tech-anna", "tech", "DELETE", "/v1/jobs/abc", "job=abc printer=shelf", 200),
        ("admin", "admin", "POST", "/v1/printers/boom/pause", "printer_id=boom", 500),
        ("admin", "admin", "POST", "/v1/printers/nope/pause", "printer_id=nope", 404),
        ("till-1", "pos", "POST", "/v1/printers/shelf/pause", "printer_id=shelf", 403),
        ("tech-anna", "tech", "POST", "/v1/printers/shelf/pause", "printer_id=shelf", 200),
    ]
    assert all(e.at > 0 for e in entries)
    # Stored in the spool's own SQLite file.
    conn = sqlite3.connect(tmp_path / "spool.db")
    assert conn.execute("SELECT count(*) FROM audit").fetchone() == (5,)
