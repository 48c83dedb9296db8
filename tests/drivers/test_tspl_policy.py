"""TSPL's raw-command policy (drivers/tspl/policy.py): a corpus that must be refused, a real
label that must pass.

Copies and job boundaries, for every language, are in tests/intake/test_policy_boundaries.py.
"""

from __future__ import annotations

import pytest
from labeld.drivers.tspl.language import TsplLanguage

from labeld.contracts import Role
from tests.drivers.policy_checks import policy_checks

POS, TECH, ADMIN = Role.POS, Role.TECH, Role.ADMIN
TSPL = TsplLanguage()

refused, passes = policy_checks(TSPL)


def tspl_page(bitmap: bytes, row_bytes: int = 8) -> bytes:
    # The shape drivers/tspl sends: SIZE, GAP, CLS, BITMAP (binary rows), PRINT.
    return (b"SIZE 50 mm,30 mm\r\nGAP 2 mm,0\r\nCLS\r\n"
            + b"BITMAP 0,0,%d,%d,0," % (row_bytes, len(bitmap) // row_bytes) + bitmap
            + b"\r\nPRINT 1,1\r\n")


@pytest.mark.parametrize("data, named", [
    (b"SIZE 50 mm,30 mm\r\nSET CUTTER ON\r\nPRINT 1\r\n", "SET CUTTER ON"),
    (b"set peel on\r\n", "set peel on"),
    (b'DOWNLOAD F,"AUTO.BAS",10,PRINT 1\r\n', "DOWNLOAD"),
    (b'KILL "*"\r\n', "KILL"),
    (b'MOVE\r\n', "MOVE"),
    (b"INITIALPRINTER\r\n", "INITIALPRINTER"),
    (b"CLS\rNET IP \"1.2.3.4\"\r", "NET"),  # CR alone ends a line too
    (b"SELFTEST\r\n", "SELFTEST"),
    (b"CLS\r\n\x1b!R", "<ESC>!R"),
])
def test_the_tspl_corpus_is_refused_to_pos(data, named):
    err = refused(data)
    assert err.code == "forbidden-command" and named in err.message


def test_a_tspl_job_may_not_end_in_a_command_word_the_next_job_would_complete():
    err = refused(b"CLS\r\nPRINT 1\r\nSE")  # + "T CUTTER ON"
    assert err.code == "incomplete-command" and "SE..." in err.message


def test_a_tspl_label_passes_even_with_commands_in_its_bitmap():
    rows = (b"\r\nSET CUTTER ON\r\nKILL \"*\"\r\n" * 10)[:8 * 30]
    passes(tspl_page(rows))
    passes(b'CLS\r\nTEXT 10,10,"3",0,1,1,"SET KILL"\r\nPRINT 1\r\n')
    # A bitmap that declares fewer bytes than it holds: the rest are lines again.
    refused(b"CLS\r\nBITMAP 0,0,1,1,0," + rows + b"\r\nPRINT 1\r\n")
    passes(b"SELFTEST\r\n", TECH)
    refused(b"SET CUTTER ON\r\n", TECH)
    passes(b"SET CUTTER ON\r\n", ADMIN)


def test_the_languages_sanitizer_keeps_a_quoted_string_closed():
    assert TSPL.sanitize_text('5" \r\nSET CUTTER ON') == b"5? ??SET CUTTER ON"
