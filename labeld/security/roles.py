"""The errors that refuse a caller, by role.

The roles themselves (`Role`: pos < staff < tech < admin) are part of the plugin contract, in
labeld.contracts: a language's raw-command rules name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from labeld.contracts import Role
from labeld.errors import LabeldError


class Unauthorized(LabeldError):
    """No usable credentials: the caller is unknown (401)."""

    status = 401
    # RFC 6750: a 401 names the scheme the client should use.
    headers: Mapping[str, str] = MappingProxyType({"WWW-Authenticate": 'Bearer realm="labeld"'})


class Forbidden(LabeldError):
    """The caller is known but may not do this (403)."""

    status = 403
    headers: Mapping[str, str] = MappingProxyType({})


def role_required(needed: Role, have: Role, what: str) -> Forbidden:
    """The 403 for a caller whose role is below `needed`."""
    return Forbidden("insufficient-role",
                     f"{what} needs the {needed.value} role; this token has {have.value}.",
                     "Use a token with that role; an administrator creates them with `labeld "
                     "token create --name NAME --role ROLE --config /etc/labeld/labeld.toml`.")
