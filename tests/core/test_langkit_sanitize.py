"""Text that reaches a printer as text cannot carry commands: the language-neutral part.

Each language's own sanitizer is tested with its driver (tests/drivers/test_*_policy.py)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.langkit import BIDI_CONTROLS, strip_controls

FRAGMENTS = ["^", "~", "_", "_5E", "_7e", "^XZ^XA^JUF^XZ", "~JR", "! U1 setvar ", "{}{", "\r\n",
             "\n", "\t", "\x00", "\x1b=\x00", "\x10\x04\x01", "\x1dV", "\x7f", "\x85", "\u202e",
             "\u2066", "\u200f", "\u2028", "\U0001F600", "ő", "ű", "€", "o\u030b"]
texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.characters()), max_size=80).map("".join),
)


# -- strip_controls --------------------------------------------------------------------------

def test_strip_controls_removes_c0_c1_del_and_bidi():
    assert strip_controls("a\x00b\x1bc\x7fd\x85e\u202ef\u2066g\u200eh\n") == "abcdefgh"
    assert strip_controls("line 1\nline 2\r\n", keep="\n") == "line 1\nline 2\n"
    assert not any(c in strip_controls("".join(BIDI_CONTROLS) + "x") for c in BIDI_CONTROLS)
    assert strip_controls("Árvíztűrő tükörfúrógép 1 200 Ft") == "Árvíztűrő tükörfúrógép 1 200 Ft"


@given(texts, st.sampled_from(["", "\n"]))
@settings(max_examples=300, deadline=None)
def test_strip_controls_leaves_no_control_or_bidi_character(text, keep):
    out = strip_controls(text, keep=keep)
    assert not any((ord(c) < 0x20 and c not in keep) or 0x7F <= ord(c) <= 0x9F
                   or c in BIDI_CONTROLS or c in "\u2028\u2029" for c in out)
