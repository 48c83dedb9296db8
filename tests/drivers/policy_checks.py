"""What every language's policy tests ask: is this raw job refused (and how), or does it pass."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import strategies as st

from labeld.contracts import Language, Role
from labeld.intake.policy import check_raw
from labeld.security.roles import Forbidden


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


# Text a client might put in a field, command bytes of every language included: what a text
# sanitizer must make harmless.
TEXT_PIECES = ["^", "~", "_", "_5E", "_7e", "^XZ^XA^JUF^XZ", "~JR", "! U1 setvar ", "{}{", "\r\n",
               "\n", "\t", "\x00", "\x1b=\x00", "\x10\x04\x01", "\x1dV", "\x7f", "\x85", "\u202e",
               "\u2066", "\u200f", "\u2028", "\U0001F600", "ő", "ű", "€", "o\u030b"]
hostile_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(TEXT_PIECES), st.characters()), max_size=80).map("".join),
)
ENCODINGS = ["cp852", "cp437", "cp858", "cp1250", "iso8859-2", "utf-8", "ascii"]
