"""Who may do what: roles, API tokens and the audit log (rooms of the core).

* `roles`: the `pos` < `tech` < `admin` roles, `Unauthorized` (401) and `Forbidden` (403).
* `tokens`: API tokens, stored hashed in the store's SQLite file.
* `audit`: the audit log of technician and administrator actions.

How HTTP requests are checked against them (the auth gate, browser safety, rate limits) is the
HTTP layer's business: labeld.http.security.
"""

from labeld.security.audit import AuditLog
from labeld.security.roles import Forbidden, Role, Unauthorized
from labeld.security.tokens import TokenInfo, TokenStore

__all__ = ["AuditLog", "Forbidden", "Role", "TokenInfo", "TokenStore", "Unauthorized"]
