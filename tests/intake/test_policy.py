"""The raw-command policy engine (labeld/intake/policy.py): it applies whatever policy a
language brings, and a language without one is admin-only.

Each built-in language's corpus is with its driver (tests/drivers/test_*_policy.py); copies and
job boundaries are in test_policy_boundaries.py; a plugin's own language and policy in
tests/plugins/test_language_policy.py.
"""

from __future__ import annotations

import pytest

from labeld.contracts import Language, Role, StatusReport
from labeld.pluginmanager import default_manager
from labeld.intake.policy import check_raw, find_commands, policy_table
from labeld.security.roles import Forbidden

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN
LANGUAGES = default_manager().languages()


def refused(language: Language, data: bytes, role: Role = POS) -> Forbidden:
    with pytest.raises(Forbidden) as e:
        check_raw(language, data, role)
    assert e.value.status == 403 and e.value.hint
    return e.value


def passes(language: Language, data: bytes, role: Role = POS) -> None:
    check_raw(language, data, role)


class BrotherQl(Language):
    """A language without a policy (none yet for Brother QL)."""

    name = "brother-ql"

    def status_query(self) -> bytes:
        return b"\x1biS"

    def status_complete(self, reply: bytes) -> bool:
        return len(reply) >= 32

    def decode_status(self, reply: bytes) -> StatusReport:
        return StatusReport(answered=bool(reply))


def test_unknown_languages_are_admin_only():
    ql = BrotherQl()
    err = refused(ql, b"\x1b@\x1bia\x01")
    assert err.code == "raw-language-unchecked"
    refused(ql, b"\x1b@", TECH)
    passes(ql, b"\x1b@", ADMIN)
    [row] = policy_table(ql)  # the API says so too
    assert row["command"] == "*" and row["min_role"] == "admin" and row["why"]
    with pytest.raises(ValueError):
        find_commands(ql, b"\x1b@")


def test_the_tables_say_why_and_who_for_every_command():
    assert {name for name, lang in LANGUAGES.items() if lang.policy} >= {"zpl", "escpos", "tspl"}
    for language in LANGUAGES.values():
        for rule in language.policy.rules if language.policy else ():
            assert rule.why and rule.command
            assert rule.min_role in (None, TECH, ADMIN)  # nothing in a table is pos-level
    rows = policy_table(LANGUAGES["escpos"])
    assert {"command": "GS ( E", "bytes": "1d 28 45", "min_role": "admin"}.items() <= \
        next(r for r in rows if r["command"] == "GS ( E").items()
    zpl_rows = policy_table(LANGUAGES["zpl"])
    assert {"command": "^JU", "min_role": "admin"}.items() <= zpl_rows[0].items()


def test_a_scanner_that_ignores_the_role_hint_lets_nothing_more_through():
    # The role is a speed-up hint for the scanner: the engine judges every finding itself.
    zpl = LANGUAGES["zpl"]

    class Careless(type(zpl)):
        name = "zpl-careless"

    class NoHint(type(zpl.policy)):
        def scan(self, data, role=None):
            return super().scan(data)  # every finding, whatever the role

    careless = Careless()
    careless.policy = NoHint(zpl.policy.rules, zpl.policy.boundary_hint, zpl.policy.build)
    for data, role in ((b"^XA^JUS^XZ", TECH), (b"^XA^CC+^XZ", ADMIN), (b"~JA", POS)):
        assert refused(careless, data, role).code == refused(zpl, data, role).code
    passes(careless, b"~JA", TECH)


def gs_v_0(width_bytes: int, height: int, data: bytes) -> bytes:
    return b"\x1dv0\x00" + width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little") + data


def receipt(*parts: bytes) -> bytes:
    return b"\x1b@\x1bt\x12" + b"".join(parts)


@pytest.mark.timeout(60)  # a hang guard (a quadratic scan takes hours), not a speed target:
def test_large_jobs_are_checked_whole():  # bench/ measures speed
    zpl, escpos = LANGUAGES["zpl"], LANGUAGES["escpos"]
    label = b"^XA^FO10,10^A0N,30,30^FDHello world^FS^FO10,60^GFA,8,8,2,FF00FF00FF00FF00^FS^XZ\r\n"
    big_zpl = label * (16 * 1024 * 1024 // len(label))
    image = bytes(range(256)) * 256  # 64 KiB per image, full of 1B/1D/1C/10 bytes
    big_escpos = receipt(*[gs_v_0(64, 1024, image) + b"\n"] * 256)  # 16 MiB
    text_escpos = receipt(b"\x1b!\x00Line of text\n" * 800_000)  # ~14 MiB of small commands
    for language, data in ((zpl, big_zpl), (escpos, big_escpos), (escpos, text_escpos)):
        check_raw(language, data, POS)  # allowed for pos: raises if any command is refused
    # and a refused command at the very end of 16 MiB is still found
    with pytest.raises(Forbidden):
        check_raw(zpl, big_zpl + b"^XA^JUF^XZ", POS)
