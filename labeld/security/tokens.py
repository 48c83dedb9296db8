"""API tokens: created once, shown once, stored only as a hash in the store's SQLite file.

A token is `lbd_` + 32 random bytes in URL-safe base64 (43 characters). Only its SHA-256 is
stored. A password needs a slow KDF because people choose guessable ones; a 256-bit random token
cannot be guessed or brute-forced from its hash, so a slow KDF would only make every request
slower without making a stolen database any less useless. For the same reason looking the hash up
through an index is fine: timing reveals nothing an attacker can use to build a matching token.

The store works from the daemon (async, `await store.verify(...)`) and from the command line
without a daemon (`store.create_sync(...)` on the store's Database opened from the config
file): both go through its one SQLite thread (labeld.store.database), so they never fight over
the file inside one process, and SQLite's locking handles the daemon and the CLI as two
processes.
"""

from __future__ import annotations

import builtins
import hashlib
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from labeld.contracts import Role
from labeld.errors import Conflict, Invalid, NotFound
from labeld.store.database import Database, Schema

TOKEN_PREFIX = "lbd_"
TOKEN_BYTES = 32
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

# One statement per entry: sqlite3's executescript() would COMMIT the store's open transaction.
SCHEMA = Schema("tokens", (
    """CREATE TABLE IF NOT EXISTS tokens (
        id         TEXT PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        role       TEXT NOT NULL,
        hash       TEXT NOT NULL UNIQUE,
        hint       TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
))


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token; never the token itself."""

    id: str
    name: str
    role: Role
    hint: str  # the first characters, so a person can tell which token is which
    created_at: float

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role.value, "hint": self.hint,
                "created_at": self.created_at}

    @classmethod
    def from_row(cls, r: sqlite3.Row) -> TokenInfo:
        return cls(id=r["id"], name=r["name"], role=Role(r["role"]), hint=r["hint"],
                   created_at=r["created_at"])


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def looks_like_token(value: str) -> bool:
    """Cheap shape check, so garbage never costs a database round trip."""
    return value.startswith(TOKEN_PREFIX) and 20 <= len(value) <= 200 and value.isascii()


@dataclass
class _Cached:
    info: TokenInfo | None  # None: known not to exist
    expires: float


class TokenStore:
    """Tokens, a room of the store: their table in the store's Database.

    `verify` keeps a small in-memory cache so that a request does not queue behind the store's
    commits. A revoke through this store drops the cache at once; a revoke made by another
    process (`labeld token revoke` while the daemon runs) takes effect when the entry expires,
    after `cache_ttl_s` at most.
    """

    def __init__(self, db: Database, *, cache_ttl_s: float = 30.0,
                 cache_size: int = 256, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.cache_ttl_s = cache_ttl_s
        self.cache_size = cache_size
        self._clock = clock
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._lock = threading.Lock()  # the CLI and tests call from other threads than the loop
        # Bumped by every revoke: a lookup that started before a revoke must not cache what it
        # read, or the revoked token would live on for a TTL.
        self._generation = 0
        self.db.register_schema(SCHEMA)

    # -- operations on a connection (run on the Database's thread) ------------------------

    def _op_create(self, name: str,
                   role: Role) -> Callable[[sqlite3.Connection], tuple[str, TokenInfo]]:
        if not NAME_PATTERN.match(name):
            raise Invalid("invalid-token-name", f"{name!r} is not a usable token name.",
                          "Use 1-64 letters, digits, '.', '_', '@' or '-', starting with a "
                          "letter or digit (for example the shop or the person: 'till-1').")
        plaintext = new_token()
        info = TokenInfo(id=uuid.uuid4().hex[:12], name=name, role=role,
                         hint=plaintext[:len(TOKEN_PREFIX) + 4], created_at=time.time())

        def op(conn: sqlite3.Connection) -> tuple[str, TokenInfo]:
            if conn.execute("SELECT 1 FROM tokens WHERE name=?", (name,)).fetchone():
                raise Conflict("token-name-taken", f"There is already a token named {name!r}.",
                               "Pick another name, or revoke the old token first.")
            conn.execute("INSERT INTO tokens (id, name, role, hash, hint, created_at)"
                         " VALUES (?,?,?,?,?,?)",
                         (info.id, info.name, info.role.value, hash_token(plaintext), info.hint,
                          info.created_at))
            return plaintext, info

        return op

    def _op_list(self, conn: sqlite3.Connection) -> list[TokenInfo]:
        return [TokenInfo.from_row(r)
                for r in conn.execute("SELECT * FROM tokens ORDER BY created_at, name")]

    def _op_revoke(self, name_or_id: str) -> Callable[[sqlite3.Connection], TokenInfo]:
        def op(conn: sqlite3.Connection) -> TokenInfo:
            row = conn.execute("SELECT * FROM tokens WHERE name=? OR id=?",
                               (name_or_id, name_or_id)).fetchone()
            if row is None:
                raise NotFound("unknown-token", f"There is no token {name_or_id!r}.",
                               "List tokens with `labeld token list` (names and ids).")
            conn.execute("DELETE FROM tokens WHERE id=?", (row["id"],))
            return TokenInfo.from_row(row)

        return op

    def _op_lookup(self, digest: str) -> Callable[[sqlite3.Connection], TokenInfo | None]:
        def op(conn: sqlite3.Connection) -> TokenInfo | None:
            row = conn.execute("SELECT * FROM tokens WHERE hash=?", (digest,)).fetchone()
            return TokenInfo.from_row(row) if row else None

        return op

    # -- cache -------------------------------------------------------------------------------

    def _cached(self, digest: str) -> _Cached | None:
        with self._lock:
            hit = self._cache.get(digest)
            if hit is None:
                return None
            if hit.expires <= self._clock():
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return hit

    def _remember(self, digest: str, info: TokenInfo | None, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._cache[digest] = _Cached(info, self._clock() + self.cache_ttl_s)
            self._cache.move_to_end(digest)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _forget_all(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def _generation_now(self) -> int:
        with self._lock:
            return self._generation

    # -- async API (the daemon) --------------------------------------------------------------

    async def create(self, name: str, role: Role) -> tuple[str, TokenInfo]:
        """A new token: (plaintext, info). The plaintext exists only in this return value."""
        result = await self.db.run(self._op_create(name, Role(role)))
        self._forget_all()  # a cached "no such token" must not outlive the token's creation
        return result

    async def list(self) -> list[TokenInfo]:
        return await self.db.run(self._op_list)

    async def revoke(self, name_or_id: str) -> TokenInfo:
        try:
            return await self.db.run(self._op_revoke(name_or_id))
        finally:
            self._forget_all()

    def _before_lookup(self, plaintext: str | None) -> _Cached | tuple[str, int] | None:
        """None for a token that cannot be valid, the cache entry when there is one, else what
        a lookup needs: the digest and the revoke generation it started in."""
        if not plaintext or not looks_like_token(plaintext):
            return None
        digest = hash_token(plaintext)
        return self._cached(digest) or (digest, self._generation_now())

    async def verify(self, plaintext: str | None) -> TokenInfo | None:
        """The token's info, or None for a missing, malformed, unknown or revoked token."""
        step = self._before_lookup(plaintext)
        if step is None or isinstance(step, _Cached):
            return step.info if step else None
        digest, generation = step
        info = await self.db.run(self._op_lookup(digest))
        self._remember(digest, info, generation)
        return info

    # -- sync API (the CLI, without a daemon) ------------------------------------------------

    def create_sync(self, name: str, role: Role) -> tuple[str, TokenInfo]:
        result = self.db.run_sync(self._op_create(name, Role(role)))
        self._forget_all()
        return result

    def list_sync(self) -> builtins.list[TokenInfo]:  # `list` is the method here
        return self.db.run_sync(self._op_list)

    def revoke_sync(self, name_or_id: str) -> TokenInfo:
        try:
            return self.db.run_sync(self._op_revoke(name_or_id))
        finally:
            self._forget_all()

    def verify_sync(self, plaintext: str | None) -> TokenInfo | None:
        step = self._before_lookup(plaintext)
        if step is None or isinstance(step, _Cached):
            return step.info if step else None
        digest, generation = step
        info = self.db.run_sync(self._op_lookup(digest))
        self._remember(digest, info, generation)
        return info
