"""What a printer language builds its raw-command policy and its text sanitizer from.

The policy kit: `RulePolicy` (a rule table and a scanner builder, see labeld.contracts.RawPolicy),
`prefixes`, `printable` and `INCOMPLETE` for scanners. The core applies a policy
(labeld.intake.policy); only the language knows its commands.

Text that reaches a printer as text must never become commands: the generic part.

A price field holding `^XZ^XA^JUF^XZ` ends the label and restores a Zebra's factory defaults; a
receipt line holding `ESC =` `NUL` deselects an Epson until someone power-cycles it. What makes
text safe depends on the language, so each language brings its own sanitizer,
`Language.sanitize_text(text) -> bytes` (see labeld.contracts; the built-in ones are in
`labeld.drivers.<language>.policy`: ZPL `zpl_field`, ESC/POS `escpos_text`). What every
language needs is here:

* `strip_controls(text)` -> the text without C0/C1 controls, DEL, bidirectional formatting
  characters (which can make `0.99` display as `99.0`) and line/paragraph separators.

Nothing in production calls the sanitizers yet: label documents are rendered to raster images,
which carry no text commands, and raw jobs are checked by labeld.intake.policy instead.
Receipts sent as text (a later issue) will put client text through `Language.sanitize_text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from labeld.contracts import Finding, RawPolicy, Role, Rule

Scanner = Callable[[bytes], Iterator[Finding]]

# Bidi embedding/override/isolate controls and marks, U+061C (Arabic letter mark) included.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")
# C0 (U+0000-001F), DEL, C1 (U+0080-009F), line/paragraph separators, lone surrogates (they
# cannot be encoded at all) and the bidi controls above.
_DROP = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
                   + "".join(sorted(BIDI_CONTROLS)) + "]")


def strip_controls(text: str, keep: str = "") -> str:
    """`text` without control and bidi formatting characters, except those listed in `keep`
    (e.g. keep="\\n" for a multi-line receipt text)."""
    if keep:
        return "".join(c for c in text if c in keep or not _DROP.match(c))
    return _DROP.sub("", text)


# -- the policy kit --------------------------------------------------------------------------

INCOMPLETE = "only the start of the command is there"  # the why of a command cut at its name


def printable(raw: bytes) -> str:
    """Bytes as a Finding shows them: printable ASCII as is, anything else as `<1B>`."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>" for b in raw)


def prefixes(word: bytes) -> bytes:
    """A regex group matching any non-empty prefix of `word` (longest first): what a job may
    not end in when `word` starts a command."""
    return b"(?:" + b"|".join(re.escape(word[:k]) for k in range(len(word), 0, -1)) + b")"


@dataclass(frozen=True)
class RulePolicy(RawPolicy):
    """A RawPolicy made of a rule table and `build(rules) -> scanner`, a function that makes a
    scanner finding the commands of just those rules (and, always, the commands a job ends
    inside). The built-in languages use it; a plugin may.

    A scanner is built per role at construction, over only the rules that role may not send,
    so a scan searches for nothing the role may send: a 16 MiB admin job is searched for the
    few commands nobody may send, not for every rule."""

    rules: tuple[Rule, ...]
    boundary_hint: str
    build: Callable[[tuple[Rule, ...]], Scanner]
    _scanners: Mapping[Role | None, Scanner] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        scanners = {None: self.build(self.rules)}
        scanners.update({role: self.build(tuple(r for r in self.rules if not r.allows(role)))
                         for role in Role})
        object.__setattr__(self, "_scanners", MappingProxyType(scanners))  # frozen: set once

    def scan(self, data: bytes, role: Role | None = None) -> Iterator[Finding]:
        return self._scanners[None if role is None else Role(role)](data)


# -- maintenance actions -----------------------------------------------------------------------

def sends(data: bytes) -> Callable[[int | None], bytes]:
    """The `command` of a MaintenanceAction without a parameter: the same bytes every time."""

    def command(value: int | None) -> bytes:
        return data

    return command
