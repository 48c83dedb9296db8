"""Who may do what: roles, API tokens and the audit log (rooms of the core).

* `Role`: the `pos` < `staff` < `tech` < `admin` roles; defined in labeld.contracts (a language's
  raw-command rules name them), exported here too for the front doors and the daemon.
* `roles`: `Unauthorized` (401), `Forbidden` (403) and `role_required`.
* `tokens`: API tokens, stored hashed in the store's SQLite file.
* `audit`: the audit log of technician and administrator actions.

How HTTP requests are checked against them (the auth gate, browser safety, rate limits) is the
HTTP layer's business: labeld.http.security.
"""

from labeld.contracts import Role
from labeld.security.audit import AuditLog
from labeld.security.roles import Forbidden, Unauthorized
from labeld.security.tokens import TokenInfo, TokenStore

__all__ = ["AuditLog", "Forbidden", "Role", "TokenInfo", "TokenStore", "Unauthorized"]
