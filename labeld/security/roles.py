"""Roles and the errors that refuse a caller.

Roles are hierarchical: an admin may do everything a technician may, a technician everything a
point-of-sale client may. The order is explicit (`rank`), not the alphabetical order a StrEnum
would otherwise compare by.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from labeld.errors import Invalid, LabeldError


class Role(StrEnum):
    POS = "pos"      # point-of-sale software: submit jobs, read jobs
    TECH = "tech"    # support technician: + status, self-test, events, pause/resume, cancel
    ADMIN = "admin"  # + templates, plugin settings, printer-configuration raw jobs, tokens

    @property
    def rank(self) -> int:
        return _RANK[self]

    def covers(self, needed: Role) -> bool:
        """True when this role may do what `needed` may (admin covers tech covers pos)."""
        return self.rank >= needed.rank

    # str's comparison would order roles alphabetically ("admin" < "pos"); compare by rank.
    # (Only ordering is overridden: equality and hashing stay str's, so "pos" == Role.POS.)
    def __lt__(self, other: object) -> bool:
        return self.rank < other.rank if isinstance(other, Role) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= other.rank if isinstance(other, Role) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > other.rank if isinstance(other, Role) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= other.rank if isinstance(other, Role) else NotImplemented

    @classmethod
    def parse(cls, value: str) -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise Invalid("unknown-role", f"There is no role {value!r}.",
                          f"Roles: {', '.join(r.value for r in cls)}.") from None


_RANK = {Role.POS: 0, Role.TECH: 1, Role.ADMIN: 2}


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
                     "Use a token with that role; an administrator creates them with "
                     "`labeld token create NAME --role ROLE`.")
