"""What the routes depend on: the daemon of the app serving the request, and role checks.

Routers are written once, at import time, for whichever app includes them; each request finds
its daemon and its Guard on that app (`app.state.daemon`, `app.state.guard`, set by
labeld.http.app.create_app). The role checks are `labeld.http.security.Requirement`s, which is
how AuthGate reads a route's role and answers 401/403 before the body is read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from labeld.daemon import Daemon
from labeld.http.security import require
from labeld.security import Role


# async: FastAPI runs a plain `def` dependency in a worker thread, a thread hop on every
# request for one attribute read (bench_raw: ~8% of the daemon's CPU at full load).
async def get_daemon(request: Request) -> Daemon:
    daemon: Daemon = request.app.state.daemon
    return daemon


DaemonDep = Annotated[Daemon, Depends(get_daemon)]

# For `dependencies=[...]` of a route, or a parameter whose value (the caller's TokenInfo) the
# route needs, e.g. `token: TokenInfo = POS`.
POS = Depends(require(Role.POS))
STAFF = Depends(require(Role.STAFF))
TECH = Depends(require(Role.TECH))
ADMIN = Depends(require(Role.ADMIN))
