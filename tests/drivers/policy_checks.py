"""What every language's policy tests ask: is this raw job refused (and how), or does it pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from labeld.contracts import Language
from labeld.security.policy import check_raw
from labeld.security.roles import Forbidden, Role


def policy_checks(language: Language) -> tuple[Callable[..., Forbidden], Callable[..., None]]:
    """`refused(data, role=POS)` -> the 403 it raises (with a hint); `passes(data, role=POS)`."""

    def refused(data: bytes, role: Role = Role.POS) -> Forbidden:
        with pytest.raises(Forbidden) as e:
            check_raw(language, data, role)
        assert e.value.status == 403 and e.value.hint
        return e.value

    def passes(data: bytes, role: Role = Role.POS) -> None:
        check_raw(language, data, role)

    return refused, passes
