"""TSC TSPL / TSPL2: which commands a raw job may carry, by role.

The language's `RawPolicy` (see labeld.contracts; labeld.intake.policy applies it): the TSPL
table and the scanner that finds its commands in bytes.

Decisions worth knowing:

* `SET ...` needs `admin` (reference 3: persistent). TSC's Windows driver puts `SET TEAR` /
  `SET CUTTER` lines in its jobs; those jobs need cleaning like ZPL designer headers.

How the scanner reads the data:

* One command per line (CR or LF ends a line); the command word at the start of a line is
  checked, case-insensitively. `BITMAP` rows are skipped by their declared size, only for the
  exact header form labeld's driver sends. Immediate commands (`<ESC>!R`) count anywhere.
* A job must end on a command boundary (see labeld.intake.policy): not in a `BITMAP` or
  `<ESC>!`, or a last line that is the start of a rule's command word. Not a boundary problem:
  a last line without its newline (`PRINT 1`): the next job's first line is glued to it, which
  only spoils that line; a job's first line is checked as a line start anyway.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from labeld.contracts import Finding, Role, Rule
from labeld.langkit import INCOMPLETE, RulePolicy, prefixes, printable

ADMIN, TECH = Role.ADMIN, Role.TECH


# -- the table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TsplRule(Rule):
    """A TSPL command word at the start of a line (`SET`), or an immediate command (`seq`),
    which the printer acts on wherever it appears."""

    seq: bytes = b""

    def row(self) -> dict[str, Any]:
        return {**super().row(), "bytes": self.seq.hex(" ")} if self.seq else super().row()


# Reference 3: "do not pass through: SET (persistent), DOWNLOAD/KILL/MOVE (file system),
# <ESC>!R reset, factory-reset/self-test commands".
TSPL_RULES: tuple[TsplRule, ...] = (
    TsplRule("SET", "changes a printer setting that persists (cutter, peel, tear, ribbon, ...)",
             ADMIN),
    TsplRule("DOWNLOAD", "stores a file or program in printer memory", ADMIN),
    TsplRule("KILL", "deletes files from printer memory", ADMIN),
    TsplRule("MOVE", "moves files between printer memories", ADMIN),
    TsplRule("RUN", "runs a program stored in the printer", ADMIN),
    TsplRule("INITIALPRINTER", "restores factory defaults", ADMIN),
    TsplRule("NET", "changes the printer's network settings", ADMIN),
    TsplRule("WLAN", "changes the printer's wireless settings", ADMIN),
    TsplRule("SELFTEST", "prints a self-test page", TECH),
    TsplRule("GAPDETECT", "calibrates the gap sensor (feeds labels)", TECH),
    TsplRule("BLINEDETECT", "calibrates the black-mark sensor (feeds labels)", TECH),
    TsplRule("AUTODETECT", "calibrates the media sensor (feeds labels)", TECH),
    TsplRule("<ESC>!R", "resets the printer", TECH, seq=b"\x1b!R"),
    TsplRule("<ESC>!P", "pauses the printer", TECH, seq=b"\x1b!P"),
)


# -- the scanner ---------------------------------------------------------------------------
# One command per line. BITMAP carries raw binary rows after its header; they are skipped by the
# declared size, but only for the exact header form labeld's own driver sends.

_TSPL_BITMAP = re.compile(rb"BITMAP (\d{1,5}),(\d{1,5}),(\d{1,5}),(\d{1,5}),([0-2]),")
# Any BITMAP header the printer might accept: not trusted for skipping, only to notice a job
# that ends inside the rows it declares.
_TSPL_BITMAP_ANY = re.compile(rb"BITMAP[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,"
                              rb"[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,", re.I)
_TSPL_BITMAP_OPEN = re.compile(rb"[ \t]*(?:BITMAP[ \t\d,]*|" + prefixes(b"BITMA") + rb")\Z",
                               re.I)
_TSPL_WORD = re.compile(rb"[ \t]*([A-Za-z]+)")
_TSPL_WORDS = frozenset(r.command for r in TSPL_RULES if not r.seq)
# "<ESC>", "<ESC>!": the start of an immediate command (<ESC>!R) the next job would complete.
_TSPL_IMMEDIATE_STARTS = frozenset(r.seq[:k] for r in TSPL_RULES for k in range(1, len(r.seq)))


@dataclass(frozen=True)
class _TsplScan:
    words: Mapping[str, TsplRule]
    immediate: tuple[TsplRule, ...]
    search: re.Pattern[bytes]

    @classmethod
    def build(cls, rules: tuple[Rule, ...]) -> _TsplScan:
        tspl = [r for r in rules if isinstance(r, TsplRule)]
        words = {r.command: r for r in tspl if not r.seq}
        line_words = b"|".join(re.escape(w.encode()) for w in [*words, "BITMAP"])
        return cls(MappingProxyType(words), tuple(r for r in tspl if r.seq),
                   # CR alone may end a line too on some firmware: count both as line breaks.
                   re.compile(rb"(?:^|[\r\n])[ \t]*(" + line_words + rb")\b", re.I | re.M))

    def _word_at(self, data: bytes, i: int) -> Finding | None:
        m = _TSPL_WORD.match(data, i)
        rule = self.words.get(m.group(1).decode("latin-1").upper()) if m else None
        if m is None or rule is None:
            return None
        line = re.split(rb"[\r\n]", data[m.start(1):m.start(1) + 40], maxsplit=1)[0]
        return Finding(rule.command, printable(line), m.start(1), rule.why, rule.min_role)

    def __call__(self, data: bytes) -> Iterator[Finding]:
        n = len(data)
        for rule in self.immediate:
            if (at := data.find(rule.seq)) >= 0:
                yield Finding(rule.command, printable(rule.seq), at, rule.why, rule.min_role)
        i = 0
        skipped_to = 0  # end of the last bitmap's rows
        cut: int | None = None  # a BITMAP whose rows run past the end of the job
        while (m := self.search.search(data, i)) is not None:
            start = m.start(1)
            if (bm := _TSPL_BITMAP.match(data, start)) is not None:
                end = bm.end() + int(bm.group(3)) * int(bm.group(4))
                if end <= n:
                    # The rows are image bytes; a command may follow them without a newline.
                    if (f := self._word_at(data, end)) is not None:
                        yield f
                    i = skipped_to = end
                    continue
            elif (f := self._word_at(data, start)) is not None:
                yield f
            if cut is None and (bm := _TSPL_BITMAP_ANY.match(data, start)) is not None \
                    and bm.end() + int(bm.group(3)) * int(bm.group(4)) > n:
                cut = start
            i = m.end()
        # A last line without its newline is completed by the next job: "SE" + "T ...".
        last = max(data.rfind(b"\n"), data.rfind(b"\r"), skipped_to - 1) + 1
        if (m := _TSPL_WORD.match(data, last)) is not None and m.end() == n:
            partial = m.group(1).decode("latin-1").upper()
            if any(w.startswith(partial) and w != partial for w in _TSPL_WORDS):
                yield Finding.cut(f"{partial}...", printable(data[m.start(1):]), m.start(1),
                                  INCOMPLETE)
        for k in (2, 1):
            if n >= k and data[n - k:] in _TSPL_IMMEDIATE_STARTS:
                yield Finding.cut(f"<ESC>{data[n - k + 1:].decode('latin-1')}...",
                                  printable(data[n - k:]), n - k, INCOMPLETE)
                break
        if cut is None and (m := _TSPL_BITMAP_OPEN.match(data, last)) is not None:
            cut = last + len(m.group()) - len(m.group().lstrip(b" \t"))
        if cut is not None:
            yield Finding.cut("BITMAP", printable(data[cut:cut + 30]), cut,
                              "it declares more rows than the job holds, or its header is cut")


# -- the policy ----------------------------------------------------------------------------

TSPL_POLICY = RulePolicy(
    rules=TSPL_RULES,
    boundary_hint="Send BITMAP rows as many as declared and leave no ESC or partial command "
                  "word at the end (a last line without its newline is fine).",
    build=_TsplScan.build,
)
