"""Tokens: shown once, stored hashed in the spool file, revocable at once; the role check."""

from __future__ import annotations

import hashlib
import sqlite3

import httpx
import pytest
from fastapi import Depends, FastAPI

from labeld.http.app import install_error_handlers
from labeld.errors import Conflict, Invalid, LabeldError, NotFound
from labeld.http.security import Guard, RateConfig, RateLimiter, error_response
from labeld.contracts import Role
from labeld.security.tokens import TOKEN_PREFIX, TokenStore
from labeld.store import Database
from tests.conftest import run



class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- roles ---------------------------------------------------------------------------------

def test_roles_are_ordered_by_power_not_alphabet():
    assert Role.POS < Role.TECH < Role.ADMIN
    assert max(Role) is Role.ADMIN and sorted([Role.ADMIN, Role.POS]) == [Role.POS, Role.ADMIN]
    assert Role.ADMIN.covers(Role.TECH) and Role.TECH.covers(Role.POS)
    assert not Role.POS.covers(Role.TECH) and not Role.TECH.covers(Role.ADMIN)
    assert Role.POS == "pos" and Role.parse(" Admin ") is Role.ADMIN
    with pytest.raises(Invalid):
        Role.parse("root")


# -- the store -----------------------------------------------------------------------------

def test_a_token_is_shown_once_and_stored_only_as_its_hash(db, tmp_path):
    store = TokenStore(db)
    plaintext, info = run(store.create("till-1", Role.POS))
    assert plaintext.startswith(TOKEN_PREFIX) and len(plaintext) == len(TOKEN_PREFIX) + 43
    assert info.name == "till-1" and info.role is Role.POS and info.hint == plaintext[:8]
    conn = sqlite3.connect(tmp_path / "spool.db")
    rows = conn.execute("SELECT * FROM tokens").fetchall()
    assert len(rows) == 1 and plaintext not in repr(rows)
    assert conn.execute("SELECT hash FROM tokens").fetchone()[0] == \
        hashlib.sha256(plaintext.encode()).hexdigest()
    # The plaintext is nowhere in the database file, not even in the WAL.
    for f in tmp_path.iterdir():
        assert plaintext.encode() not in f.read_bytes()


def test_verify_accepts_the_token_and_nothing_else(db):
    store = TokenStore(db)
    plaintext, info = run(store.create("tech-anna", Role.TECH))
    assert run(store.verify(plaintext)) == info
    assert run(store.verify(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"))) is None
    assert run(store.verify(None)) is None
    assert run(store.verify("")) is None
    assert run(store.verify("Bearer " + plaintext)) is None
    assert run(store.verify("x" * 10_000)) is None


def test_names_are_unique_and_checked(db):
    store = TokenStore(db)
    run(store.create("till-1", Role.POS))
    with pytest.raises(Conflict) as e:
        run(store.create("till-1", Role.ADMIN))
    assert e.value.code == "token-name-taken"
    for bad in ("", " x", "a/b", "x" * 65, "-dash"):
        with pytest.raises(Invalid):
            run(store.create(bad, Role.POS))


def test_revoke_by_name_or_id_takes_effect_at_once_despite_the_cache(db):
    store = TokenStore(db)
    t1, i1 = run(store.create("till-1", Role.POS))
    t2, i2 = run(store.create("till-2", Role.POS))
    assert run(store.verify(t1)) and run(store.verify(t2))  # both cached now
    assert run(store.revoke("till-1")).id == i1.id
    assert run(store.verify(t1)) is None
    assert run(store.revoke(i2.id)).name == "till-2"
    assert run(store.verify(t2)) is None
    assert run(store.list()) == []
    with pytest.raises(NotFound):
        run(store.revoke("till-1"))


def test_a_failed_first_operation_does_not_lose_the_schema(db):
    store = TokenStore(db)
    with pytest.raises(NotFound):
        run(store.revoke("nobody"))  # the first operation on a fresh file, and it fails
    plaintext, info = run(store.create("till-1", Role.POS))
    assert run(store.verify(plaintext)) == info


def test_list_shows_names_roles_and_hints_never_tokens(db):
    store = TokenStore(db)
    plaintext, _ = run(store.create("admin", Role.ADMIN))
    run(store.create("till-1", Role.POS))
    listed = run(store.list())
    assert [(t.name, t.role) for t in listed] == [("admin", Role.ADMIN), ("till-1", Role.POS)]
    assert plaintext not in repr([t.as_dict() for t in listed])


def test_the_cli_path_works_without_a_daemon_and_the_daemon_sees_it(tmp_path):
    path = tmp_path / "spool.db"
    # `labeld token create` opens the spool file itself, synchronously.
    cli_db = Database(path)
    cli_db.open()
    cli = TokenStore(cli_db)
    plaintext, info = cli.create_sync("admin", Role.ADMIN)
    assert cli.verify_sync(plaintext) == info and [t.name for t in cli.list_sync()] == ["admin"]

    daemon_db = Database(path)  # the running daemon: another connection to the same file
    daemon_db.open()
    clock = Clock()
    daemon = TokenStore(daemon_db, cache_ttl_s=30, clock=clock)
    try:
        assert run(daemon.verify(plaintext)) == info
        # A revoke by another process reaches the daemon when its cache entry expires.
        cli.revoke_sync("admin")
        assert run(daemon.verify(plaintext)) == info
        clock.now += 31
        assert run(daemon.verify(plaintext)) is None
    finally:
        cli_db.close()
        daemon_db.close()


def test_a_lookup_racing_a_revoke_does_not_cache_the_revoked_token(db):
    store = TokenStore(db)
    plaintext, info = run(store.create("till-1", Role.POS))
    from labeld.security.tokens import hash_token
    generation = store._generation_now()  # a verify starts and reads the row...
    run(store.revoke("till-1"))  # ...a revoke lands meanwhile...
    store._remember(hash_token(plaintext), info, generation)  # ...and the verify finishes
    assert run(store.verify(plaintext)) is None


# -- the role check as a FastAPI dependency --------------------------------------------------

GENEROUS = RateConfig(rate_per_second=100, burst=100)


def guarded_app(db, clock=None, rate=GENEROUS):
    tokens = TokenStore(db)
    guard = Guard(tokens, RateLimiter(rate, clock=clock or Clock()))
    pos, tech, admin = (Depends(guard.require(role)) for role in (Role.POS, Role.TECH, Role.ADMIN))
    app = FastAPI()
    install_error_handlers(app)

    @app.exception_handler(LabeldError)  # what the lead's handler should become
    async def _labeld(_, exc: LabeldError):
        return error_response(exc)

    @app.get("/jobs")
    async def jobs(token=pos):
        return {"who": token.name}

    @app.post("/printers/{printer_id}/pause")
    async def pause(printer_id: str, token=tech):
        return {"who": token.name, "printer": printer_id}

    @app.get("/tokens")
    async def list_tokens(token=admin):
        return {"tokens": [t.as_dict() for t in await tokens.list()]}

    return app, tokens


def call(app, method, path, token=None, **kw):
    async def go():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1") as c:
            return await c.request(method, path, headers=headers, **kw)
    return run(go())


def test_no_token_401_wrong_role_403_right_role_200(db):
    app, tokens = guarded_app(db)
    pos, _ = run(tokens.create("till-1", Role.POS))
    tech, _ = run(tokens.create("tech-anna", Role.TECH))
    admin, _ = run(tokens.create("admin", Role.ADMIN))

    r = call(app, "GET", "/jobs")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token-required"
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = call(app, "GET", "/jobs", token="lbd_" + "A" * 43)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token-invalid"

    r = call(app, "POST", "/printers/p1/pause", token=pos)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "insufficient-role" and "tech" in err["message"] and err["hint"]

    # Hierarchical: each role can do what the roles below it can.
    for token, allowed in ((pos, {"/jobs"}), (tech, {"/jobs", "/printers/p1/pause"}),
                           (admin, {"/jobs", "/printers/p1/pause", "/tokens"})):
        for method, path in (("GET", "/jobs"), ("POST", "/printers/p1/pause"), ("GET", "/tokens")):
            status = call(app, method, path, token=token).status_code
            assert status == (200 if path in allowed else 403), (token[:8], path)


def test_a_token_over_its_rate_gets_429_with_retry_after(db):
    clock = Clock()
    app, tokens = guarded_app(db, clock, RateConfig(rate_per_second=0.5, burst=2))
    pos, _ = run(tokens.create("till-1", Role.POS))
    assert [call(app, "GET", "/jobs", token=pos).status_code for _ in range(2)] == [200, 200]
    r = call(app, "GET", "/jobs", token=pos)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate-limited"
    assert r.headers["retry-after"] == "2"
    clock.now += 2
    assert call(app, "GET", "/jobs", token=pos).status_code == 200
