"""A browser's sign-in: the API token in a cookie, and the CSRF token that goes with it.

The console sends the token typed once to `POST /ui/session`, which sets it as an `HttpOnly`,
`SameSite=Strict` cookie: page scripts cannot read it, and browsers do not send it with
requests another site starts. The API accepts it like a bearer token, but a state change made
with it must also carry the session's CSRF token in `X-CSRF-Token`: the console's pages hold
it, another site can neither read nor guess it. The CSRF token is derived from the session's
secret, so nothing is stored and nothing outlives the token.
"""

from __future__ import annotations

import hashlib
import hmac

SESSION_COOKIE = "labeld_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str) -> str:
    return hmac.new(session_token.encode(), b"labeld-console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_token: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token(session_token), presented or "")
