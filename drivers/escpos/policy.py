"""ESC/POS (Epson TM and compatibles): which commands a raw job may carry, by role, and text made
safe for a receipt line.

The language's `RawPolicy` (see labeld.contracts; labeld.intake.policy applies it): the
ESC/POS table and the scanner that finds its commands in bytes.

Decisions worth knowing:

* `ESC p` (drawer kick), `DLE DC4 1` (real-time drawer pulse), `GS V` (cut) and the
  `DLE EOT`/`DLE ENQ` status and recovery commands are allowed to `pos`: opening the drawer and
  cutting the paper are what a till does with every sale, and status queries change nothing.

How the scanner reads the data:

* ESC/POS is binary: the scanner walks the bytes, checks every control byte (ESC, GS, FS, DLE,
  US) against the table, and skips the declared payloads of image and barcode commands (`GS v 0`,
  `ESC *`, `GS ( L`/`GS 8 L`, `GS ( k`, `GS k` function B, `GS *`, `ESC &`) only when their
  parameters are valid, so a receipt logo holding `1D 28 45` is not refused. Parameters of other
  commands are scanned too: that can only refuse more, never less. Real-time commands
  (`DLE DC4 ...`) act even inside image data, so they are looked for everywhere, payloads
  included.
* A job must end on a command boundary (see labeld.intake.policy): not in a command short of
  its parameters (a lone DLE, ESC, GS, FS or US, `ESC !` without its n, ...) or of its declared
  data (images, barcodes, `x ( fn pL pH` blocks, `GS k` without its NUL). A command labeld does
  not know is taken to be complete once its opcode is there. The end is read forward, as the
  printer reads it, from a place known to start a command within the last 128 KiB; a job whose
  end cannot be placed that way (megabytes of chained parameters) is refused as incomplete.

Text: `escpos_text(text, encoding)` makes bytes for a text line: no byte below 0x20 except LF,
no DEL, only characters of the chosen code page (others become `?`). It is
`EscposLanguage.sanitize_text` (code page cp852).
"""

from __future__ import annotations

import bisect
import codecs
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from labeld.contracts import Finding, Role, Rule
from labeld.langkit import RulePolicy
from labeld.langkit import strip_controls

ADMIN, TECH = Role.ADMIN, Role.TECH


# -- the table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class EscposRule(Rule):
    """An ESC/POS command; `command` as the Epson manual writes it: "GS ( E"."""

    seq: bytes  # the bytes the command starts with
    param_at: int | None = None  # offset of the byte that decides, when not the whole command
    only: frozenset[int] | None = None  # forbidden only for these values of that byte
    unless: frozenset[int] | None = None  # forbidden for every value except these
    realtime: bool = False  # acted on wherever it appears, image data included

    def row(self) -> dict[str, Any]:
        return {**super().row(), "bytes": self.seq.hex(" ")}


_NV_GRAPHICS = frozenset({65, 66, 67, 68})  # GS ( L / GS 8 L fn: delete all/one, define NV

ESCPOS_RULES: tuple[EscposRule, ...] = (
    EscposRule("DLE DC4 2 (power off)", "turns the printer off; someone has to switch it on "
               "again", ADMIN, seq=b"\x10\x14\x02\x01\x08", realtime=True),
    EscposRule("DLE DC4 8 (clear buffers)", "clears the printer's receive and print buffers: "
               "queued receipts are lost", TECH,
               seq=b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08", realtime=True),
    EscposRule("GS ( E", "user setup: changes memory switches and customized values stored in "
               "the printer", ADMIN, seq=b"\x1d(E"),
    EscposRule("GS ( M", "saves or restores the printer's customized settings", ADMIN,
               seq=b"\x1d(M"),
    EscposRule("GS ( D", "enables or disables real-time commands; disabled, labeld's status "
               "queries go unanswered", ADMIN, seq=b"\x1d(D"),
    EscposRule("ESC = (n != 1)", "deselects the printer: it ignores all data until selected "
               "again", ADMIN, seq=b"\x1b=", param_at=2, unless=frozenset({1})),
    EscposRule("ESC c 5", "enables or disables the panel buttons", ADMIN, seq=b"\x1bc5"),
    EscposRule("FS q", "defines NV bit images (writes flash, limited write cycles)", ADMIN,
               seq=b"\x1cq"),
    EscposRule("GS ( L (NV graphics)", "defines or deletes NV graphics (writes flash, limited "
               "write cycles)", ADMIN, seq=b"\x1d(L", param_at=6, only=_NV_GRAPHICS),
    EscposRule("GS 8 L (NV graphics)", "defines or deletes NV graphics (writes flash, limited "
               "write cycles)", ADMIN, seq=b"\x1d8L", param_at=8, only=_NV_GRAPHICS),
    EscposRule("GS ( C", "edits NV user memory (writes flash)", ADMIN, seq=b"\x1d(C"),
    EscposRule("FS g 1", "writes NV user memory (writes flash)", ADMIN, seq=b"\x1cg1"),
    EscposRule("GS ( A", "runs the printer's test print", TECH, seq=b"\x1d(A"),
    EscposRule("GS ( K", "changes the print control method, density or speed", ADMIN,
               seq=b"\x1d(K"),
    EscposRule("GS a", "switches Automatic Status Back, which changes the status replies "
               "labeld reads", ADMIN, seq=b"\x1da"),
    EscposRule("GS g 0", "resets the printer's maintenance counters", ADMIN, seq=b"\x1dg0"),
    EscposRule("US ESC US", "clone-printer setting commands (IP address, interface, defaults)",
               ADMIN, seq=b"\x1f\x1b\x1f"),
    EscposRule("ESC GS #", "Star: writes memory switches (persistent settings)", ADMIN,
               seq=b"\x1b\x1d#"),
)


# -- the scanner ---------------------------------------------------------------------------

_GS_L_FUNCTIONS = frozenset({48, 49, 50, 51, 52, 64, 65, 66, 67, 68, 69, 80, 81, 82, 83, 84, 85,
                             112, 113})
_GS_K_SYMBOLS = frozenset(range(48, 55))  # PDF417, QR, MaxiCode, DataBar, composite, ...
# Openers of the commands whose payload _payload_end knows how to skip.
_PAYLOAD_OPENERS = (b"\x1dv0", b"\x1b*", b"\x1d(L", b"\x1d(k", b"\x1d8L", b"\x1dk", b"\x1d*",
                    b"\x1b&")
# "ESC ( fn pL pH ...", "GS ( fn ...", "FS ( fn ...": every one of them is 5 + p bytes long,
# whatever fn is, so the printer reads p bytes even for a function labeld does not know.
_BLOCK_OPENERS = (b"\x1b(", b"\x1c(", b"\x1d(")
_INTRODUCER_NAMES: Mapping[int, str] = MappingProxyType({
    0x10: "a DLE", 0x1B: "an ESC", 0x1C: "an FS", 0x1D: "a GS", 0x1F: "a US"})
_INTRODUCERS = frozenset(_INTRODUCER_NAMES)


def _payload_end(data: bytes, i: int) -> int | None:
    """End of the command at i when it declares a payload (image, barcode data) and its
    parameters are valid; None otherwise (the bytes are then scanned as commands). The end may
    lie beyond the data: the job is cut inside the command (len(data) + 1 when the header
    itself is cut)."""
    n = len(data)
    cut = n + 1
    end: int | None = None
    if data.startswith(b"\x1dv0", i):  # GS v 0 m xL xH yL yH d...
        if i + 8 > n:
            return cut
        m, xl, xh, yl, yh = data[i + 3:i + 8]
        x, y = xl + 256 * xh, yl + 256 * yh
        if m in (0, 1, 2, 3, 48, 49, 50, 51) and x and y:
            end = i + 8 + x * y
    elif data.startswith(b"\x1b*", i):  # ESC * m nL nH d...
        if i + 5 > n:
            return cut
        m, nl, nh = data[i + 2:i + 5]
        cols = nl + 256 * nh
        if m in (0, 1, 32, 33) and cols:
            end = i + 5 + cols * (3 if m >= 32 else 1)
    elif data.startswith((b"\x1d(L", b"\x1d(k"), i):  # GS ( L|k pL pH m fn ...
        if i + 7 > n:
            return cut
        p = data[i + 3] + 256 * data[i + 4]
        if data[i + 2] == ord("L"):
            valid = data[i + 5] == 48 and data[i + 6] in _GS_L_FUNCTIONS
        else:
            valid = data[i + 5] in _GS_K_SYMBOLS
        if valid and p >= 2:
            end = i + 5 + p
    elif data.startswith(b"\x1d8L", i):  # GS 8 L p1 p2 p3 p4 m fn ...
        if i + 9 > n:
            return cut
        p = int.from_bytes(data[i + 3:i + 7], "little")
        if data[i + 7] == 48 and data[i + 8] in _GS_L_FUNCTIONS and p >= 2:
            end = i + 7 + p
    elif data.startswith(b"\x1dk", i):
        if i + 3 >= n:
            return cut
        if 65 <= data[i + 2] <= 79:  # function B: GS k m n d1..dn (GS1 data holds 1D bytes)
            end = i + 4 + data[i + 3]
        elif data[i + 2] <= 6 and data.find(b"\x00", i + 3) < 0:
            return cut  # function A: GS k m d1..dk NUL, and the NUL is missing
    elif data.startswith(b"\x1d*", i):  # GS * x y d... (downloaded bit image)
        if i + 4 > n:
            return cut
        if data[i + 2] and data[i + 3]:
            end = i + 4 + data[i + 2] * data[i + 3] * 8
    elif data.startswith(b"\x1b&", i):  # ESC & y c1 c2 [x d1..d(y*x)]...
        if i + 5 > n:
            return cut
        y, c1, c2 = data[i + 2:i + 5]
        if y in (2, 3) and 32 <= c1 <= c2 <= 126:
            j = i + 5
            for _ in range(c2 - c1 + 1):
                if j >= n:
                    return cut
                j += 1 + y * data[j]
            end = j
    return end


_BLOCK_SEARCH = re.compile(b"|".join(re.escape(o) for o in _BLOCK_OPENERS))
_BLOCK_REACH = 5 + 0xFFFF  # the longest an "x ( fn pL pH" command can be


def _block_end(data: bytes, i: int) -> int | None:
    """End of an `x ( fn pL pH ...` command at i (beyond the data when cut), else None."""
    if not data.startswith(_BLOCK_OPENERS, i):
        return None
    if i + 5 > len(data):
        return len(data) + 1
    return i + 5 + data[i + 3] + 256 * data[i + 4]


# Commands with a fixed number of parameter bytes (Epson's reference), to tell a trailing
# parameter (GS V 65 27) from a trailing command, and a complete command from a cut one.
# Keyed by opcode bytes; value: total length.
_FIXED_LENGTH: Mapping[bytes, int] = MappingProxyType({
    **{b"\x1b" + bytes([c]): 2 for c in b"\x0c2<@LSimv"},
    **{b"\x1b" + bytes([c]): 3 for c in b"!%-=?EGJKMRTUVade{rt 3"},
    **{b"\x1b" + bytes([c]): 4 for c in b"$\\f"},
    b"\x1bp": 5, b"\x1bW": 10, b"\x1bc3": 4, b"\x1bc4": 4, b"\x1bc5": 4,
    **{b"\x1d" + bytes([c]): 3 for c in b"!/BHITabfhjrw"},
    **{b"\x1d" + bytes([c]): 4 for c in b"$LPW\\"},
    b"\x1d^": 5, b"\x1dg0": 6, b"\x1dg2": 6,
    **{b"\x1c" + bytes([c]): 2 for c in b"&."},
    **{b"\x1c" + bytes([c]): 3 for c in b"!-CW"},
    b"\x1cS": 4, b"\x1cp": 4,
    b"\x10\x04": 3, b"\x10\x05": 3, b"\x10\x14\x01": 5, b"\x10\x14\x02": 5, b"\x10\x14\x08": 10,
})
_MAX_FIXED = max(_FIXED_LENGTH.values())
# Byte strings that are the start of a command but not yet a whole opcode: "ESC c", "DLE DC4",
# "GS v", "US ESC", a lone introducer.
_OPCODE_PREFIXES = frozenset(
    k[:j] for k in (*_FIXED_LENGTH, *_PAYLOAD_OPENERS, *_BLOCK_OPENERS,
                    *(r.seq for r in ESCPOS_RULES), b"\x1dV")
    for j in range(1, len(k)))
_LONGEST_OPCODE = max(map(len, _OPCODE_PREFIXES)) + 1


def _declared_end(data: bytes, i: int) -> int | None:
    """Where the command at i ends when labeld knows its length (beyond the data when the job
    ends inside it), else None: a command labeld does not know is taken to be complete."""
    n = len(data)
    if n - i < _LONGEST_OPCODE and data[i:] in _OPCODE_PREFIXES:
        return n + 1
    for op_len in (3, 2):
        if (length := _FIXED_LENGTH.get(data[i:i + op_len])) is not None:
            return i + length
    if data.startswith(b"\x1dV", i):  # GS V m [n]: function B (m 65, 66, ...) has an n
        if i + 2 >= n:
            return n + 1
        return i + (4 if data[i + 2] in (65, 66, 97, 98, 103, 104) else 3)
    if (end := _block_end(data, i)) is not None:
        return end
    return _payload_end(data, i)


# -- where a job ends: read forward, as the printer reads it --------------------------------
#
# Whether a byte starts a command or is a parameter of an earlier one depends on everything
# before it: "1B 21 1B 21 1B" is `ESC ! <1B>`, the text "!", then a lone ESC that the next
# job's "3D 00" would make `ESC = NUL`. So the end of a job is read forward from a place known
# to be a command boundary, never backwards from the last byte.
#
# Known boundaries (`_walk_start`):
# * `floor`, the end of the last image or barcode payload the main scan skipped (a payload is
#   skipped only with valid parameters, so a command ended there), and any place after it
#   reached without an introducer byte in between;
# * a sync point: a place p whose _SYNC bytes before it hold no introducer. The command that
#   holds byte p-1 started at an introducer more than _SYNC bytes back, and every command but
#   blocks and payloads is at most _SYNC bytes long (fixed lengths, GS V, an unknown command's
#   opcode), so p is a boundary unless a block or a payload runs across it.
# Neither holds when a block or payload runs across the place, so a candidate p is taken only
# when none can:
# * blocks (`x ( fn pL pH`, at most _BLOCK_REACH long): only one opened in the _BLOCK_REACH
#   bytes before p can reach p. Every `x (` there is taken for a block, context-free, whether
#   it is a command or only a parameter (that can only reject a candidate, never accept a wrong
#   one), except inside the payloads the main scan skipped, which are data. One whose declared
#   end lies beyond p rejects p. This is also how a block opened before an image and running
#   past it is seen: it rejects `floor`.
# * payloads: the main scan looked at every payload opener after `floor` and skipped the valid
#   complete ones, so after `floor` only a cut one (`cut_payload`: its declared end is beyond
#   the job, the first of them) can run across p: p may not lie after it.
# The walk starts at the latest candidate at most _TAIL_WINDOW before the end: 64 KiB of
# ordinary commands plus room for a whole block, whose start a sync point precedes. A job with
# none there (over 64 KiB of introducer chains, or a block or payload opened far back that runs
# towards the end) is refused as incomplete: a real receipt does not look like that, and a
# 16 MiB job is not walked command by command in Python.
#
# Walking: jump to the next introducer; `_declared_end` gives the end of a command labeld
# knows (beyond the data: the job ends inside it); a command it does not know is complete once
# its opcode is there, the opcode being as long as its bytes go on spelling a known one ("US ESC
# US", "GS 8 L"), at least two bytes. Whether a printer reads an unknown introducer followed by
# another introducer ("ESC ESC", "ESC GS A") as a two-byte command or as a lone introducer is
# not known: the end is read both ways, and must be a boundary both ways.

_OPCODES = frozenset((*_FIXED_LENGTH, *_PAYLOAD_OPENERS, *_BLOCK_OPENERS,
                      *(r.seq for r in ESCPOS_RULES), b"\x1dV"))
_OPCODE_STARTS = _OPCODES | _OPCODE_PREFIXES
# The longest a command other than a block or payload can be.
_SYNC = max(_MAX_FIXED, 4, _LONGEST_OPCODE)  # 4: GS V m n
_TAIL_WINDOW = 0x10000 + _BLOCK_REACH
_INTRODUCER_SEARCH = re.compile(b"[\x10\x1b\x1c\x1d\x1f]")
_QUIET = re.compile(b"[^\x10\x1b\x1c\x1d\x1f]{%d,}" % _SYNC)


def _opcode_len(data: bytes, i: int, lone: bool) -> int:
    """Length of the opcode of a command labeld does not know, at i (not at the last byte)."""
    k = 1
    while i + k < len(data) and data[i:i + k + 1] in _OPCODE_STARTS:
        k += 1
    if k == 1:
        return 1 if lone and data[i + 1] in _INTRODUCERS else 2
    if lone and data[i + 1] in _INTRODUCERS and data[i:i + k] not in _OPCODES:
        return 1  # "ESC GS A": a lone ESC, then GS A
    return k


def _walk(data: bytes, i: int, lone: bool) -> int | None:
    """From the command boundary i, read commands to the end: where the one the job ends inside
    starts, or None when the job ends on a boundary."""
    n = len(data)
    search = _INTRODUCER_SEARCH.search
    while (m := search(data, i)) is not None:
        i = m.start()
        end = _declared_end(data, i)
        if end is None:
            end = i + _opcode_len(data, i, lone)
        if end > n:
            return i
        i = end
    return None


def _walk_start(data: bytes, floor: int, cut_payload: int | None,
                payloads: list[tuple[int, int]]) -> int | None:
    """The latest place in the last _TAIL_WINDOW bytes known to be a command boundary (see
    above), or None. `payloads`: the skipped payloads ending within reach, in order."""
    n = len(data)
    lo = max(floor, n - _TAIL_WINDOW)
    hi = n if cut_payload is None else cut_payload
    if lo > hi:
        return None
    # Places where a block may be running: (start, end) of every "x (" in reach, merged.
    spans: list[list[int]] = []
    k = 0
    for m in _BLOCK_SEARCH.finditer(data, max(0, lo - _BLOCK_REACH), hi):
        s = m.start()
        while k < len(payloads) and payloads[k][1] <= s:
            k += 1
        if k < len(payloads) and payloads[k][0] < s:
            continue  # image or barcode data
        e = _block_end(data, s) or 0
        if e <= lo:
            continue
        if spans and s < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], e)
        else:
            spans.append([s, e])
    # Candidates: floor and the quiet bytes after it; the end of every run of _SYNC quiet bytes.
    intro = _INTRODUCER_SEARCH.search(data, floor)
    candidates = [(floor, n if intro is None else intro.start())]
    candidates += [(m.start() + _SYNC, m.end())
                   for m in _QUIET.finditer(data, max(floor, lo - _SYNC), hi)]
    starts = [s for s, _ in spans]
    for x, y in reversed(candidates):
        x, y = max(x, lo), min(y, hi)
        if x > y:
            continue
        j = bisect.bisect_left(starts, y) - 1  # the last span opened before y
        if j >= 0 and spans[j][1] > y:
            y = spans[j][0]  # a block may be running at y: not before it opened
        if y >= x:
            return y
    return None


def _param_matches(rule: EscposRule, data: bytes, i: int) -> bool:
    if rule.param_at is None:
        return True
    at = i + rule.param_at
    if at >= len(data):
        return True  # missing: the next job's first byte would supply it
    value = data[at]
    if rule.only is not None:
        return value in rule.only
    if rule.unless is not None:
        return value not in rule.unless
    return True


def _escpos_finding(rule: EscposRule, data: bytes, i: int) -> Finding:
    shown = data[i:i + max(len(rule.seq), (rule.param_at or 0) + 1)]
    return Finding(rule.command, shown.hex(" "), i, rule.why, rule.min_role)


# -- which payload openers start a command: read forward, as the printer reads it -----------
#
# "1B 21 1D 76 30 ..." is `ESC ! <1D>` and the text "v0...", not a `GS v 0` image: a payload
# whose opener is only a parameter (or image data, or text) of something else is no payload,
# and skipping it as one would hide the commands after it (`ESC = NUL`, `GS ( E`...) as its
# "data". So the scan skips a payload only where a forward reading of the job, as the printer
# reads it from the first byte, finds its opener at a command start, in both readings of an
# unknown introducer pair (see `_walk`); otherwise its bytes are scanned as commands.
#
# `_Reading` keeps, per reading, a place known to be a command boundary at or before the scan
# (at first 0; after a payload opener, the end of the command it starts or lies in) and reads
# forward from there to the next payload opener the scan finds, jumping from introducer to
# introducer, so text costs nothing. Every payload opener before that one was read already, so
# only a block (`x ( fn pL pH`) can run across the bytes in between; that lets the reading start
# later, at a sync point (see `_walk_start`) that no `x (` opened after the boundary reaches
# across, whatever it is, command or parameter: only then can a job with many commands and a
# logo not be read command by command. The two readings are read once while they agree (they
# part only at an unknown introducer followed by another). A job that needs more than
# _READ_BUDGET commands read (megabytes of introducer chains between images: no receipt looks
# like that) is refused as incomplete: its images cannot be placed in a time a submit can take.

_READ_BUDGET = 1 << 20  # commands read and `x (` looked at, per job (about a second)


class _OutOfBudget(Exception):
    pass


class _Reading:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = [0, 0]  # a command boundary, per reading: "lone" False, True (see _walk)
        self.budget = _READ_BUDGET
        self.parted = False  # the last _read_to met a command the two readings read apart

    def payload(self, i: int, end: int) -> bool:
        """Whether the payload opener at i (its command ending at `end`) starts a command in
        both readings; each reading is then after that command, or after the one i lies in."""
        p = self._sync_point(min(self.at), i)
        starts, same = True, self.at[0] == self.at[1]
        for r, lone in enumerate((False, True)):
            if r and same and not self.parted:
                self.at[1] = self.at[0]  # the same boundary, the same commands: the same end
                break
            here = self._read_to(max(self.at[r], p), i, lone)
            self.at[r] = end if here == i else here
            starts = starts and here == i
        return starts

    def _read_to(self, c: int, i: int, lone: bool) -> int:
        """From the boundary c, read commands up to the introducer at i: i when a command starts
        there, else the end of the command i lies in."""
        data, search = self.data, _INTRODUCER_SEARCH.search
        self.parted = False
        while c < i:
            j = search(data, c).start()  # type: ignore[union-attr]  # data[i] is one
            if j == i:
                return i
            self._spend()
            end = _declared_end(data, j)
            if end is None:
                end = j + _opcode_len(data, j, lone)
                if end != j + _opcode_len(data, j, not lone):
                    self.parted = True
            c = end
        return c

    def _sync_point(self, lo: int, i: int) -> int:
        """The latest place in [lo, i] after _SYNC bytes without an introducer that no `x (`
        opened at or after lo runs across (so a command boundary), else -1."""
        data, p = self.data, -1
        for width in (256, 1 << 14, 1 << 20, len(data)):
            start = max(lo, i - width)
            for m in _QUIET.finditer(data, start, i):
                p = m.end()
            if p >= 0 or start == lo:
                break
        if p < 0:
            return -1
        for m in _BLOCK_SEARCH.finditer(data, max(lo, p - _BLOCK_REACH), p):
            self._spend()
            if (_block_end(data, m.start()) or 0) > p:
                return -1
        return p

    def _spend(self) -> None:
        self.budget -= 1
        if self.budget < 0:
            raise _OutOfBudget


@dataclass(frozen=True)
class _EscposScan:
    structural: tuple[EscposRule, ...]
    realtime: tuple[EscposRule, ...]
    search: re.Pattern[bytes]

    @classmethod
    def build(cls, rules: tuple[Rule, ...]) -> _EscposScan:
        escpos = [r for r in rules if isinstance(r, EscposRule)]
        structural = tuple(r for r in escpos if not r.realtime)
        openers = [r.seq for r in structural] + list(_PAYLOAD_OPENERS)
        return cls(structural, tuple(r for r in escpos if r.realtime),
                   re.compile(b"|".join(re.escape(o) for o in openers)))

    def __call__(self, data: bytes) -> Iterator[Finding]:
        n = len(data)
        for rule in self.realtime:
            if (at := data.find(rule.seq)) >= 0:
                yield _escpos_finding(rule, data, at)
        i = 0
        floor = 0  # end of the last payload skipped: no command starts before it
        cut: int | None = None  # the first payload opener whose data runs past the end
        reach = n - _TAIL_WINDOW - _BLOCK_REACH
        near_end: list[tuple[int, int]] = []  # skipped payloads where a block could start
        reading = _Reading(data)
        openers = 0
        while (m := self.search.search(data, i)) is not None:
            i = m.start()
            openers += 1
            if openers > _READ_BUDGET:
                # Each opener costs a look at every rule: a job of millions of them (16 MiB of
                # "ESC *" with bad parameters took 20 s) would hold a worker thread that long.
                yield Finding.cut("commands", data[i:i + 8].hex(" "), i,
                                  "over a million command openers; no receipt holds that many")
                return
            # Rule openers count wherever they are, parameters included: only ever more.
            for rule in self.structural:
                if data.startswith(rule.seq, i) and _param_matches(rule, data, i):
                    yield _escpos_finding(rule, data, i)
            end = _payload_end(data, i)
            if end is not None:
                try:
                    command = reading.payload(i, end)
                except _OutOfBudget:
                    yield Finding.cut("image or barcode data labeld cannot place",
                                      data[i:i + 8].hex(" "), i,
                                      "over a million commands before it would have to be "
                                      "read to tell whether it starts image or barcode data or "
                                      "is only bytes of other commands; no receipt looks like "
                                      "that")
                    return
                if command and end <= n:  # a payload the printer reads as data: skipped
                    if end > reach:
                        near_end.append((i, end))
                    i = floor = end
                    continue
                if cut is None and end > n:
                    cut = i  # context-free, as a command or not: only ever refuses more
            i += 1
        yield from self._boundaries(data, floor, cut, near_end)

    def _boundaries(self, data: bytes, floor: int, cut: int | None,
                    payloads: list[tuple[int, int]]) -> Iterator[Finding]:
        n = len(data)
        # Real-time sequences are recognised anywhere: a job that starts with all but the first
        # byte of one is refused like the command (belt and braces: no job may end in a DLE).
        for rule in self.realtime:
            if data.startswith(rule.seq[1:]):
                yield Finding(f"{rule.command} (rest of)", rule.seq[1:].hex(" "), 0,
                              "the job starts with the rest of a command the previous job "
                              "could have begun", rule.min_role)
        # A command cut short: its missing parameters or data would be the next job's first
        # bytes, which shifts where the printer reads that job's commands.
        start = _walk_start(data, floor, cut, payloads)
        if start is None:
            at = max(floor, n - _TAIL_WINDOW)
            yield Finding.cut("a command labeld cannot find the start of", data[-8:].hex(" "), at,
                              f"from byte {at} to the end it holds no place where a command "
                              "must start (a run of command bytes, or a block or image opened "
                              "before and declared to run on)")
            return
        for lone in (False, True):
            if (t := _walk(data, start, lone)) is None:
                continue
            name = _INTRODUCER_NAMES[data[t]]
            if data.startswith(_BLOCK_OPENERS + _PAYLOAD_OPENERS, t):
                yield Finding.cut(f"{name} command's data", data[t:t + 8].hex(" "), t,
                                  "it declares more bytes than the job holds")
            else:
                yield Finding.cut(f"{name} command", data[t:t + 8].hex(" "), t,
                                  "only its first byte is there" if t == n - 1
                                  else "its parameters are missing")
            return


# -- the policy ----------------------------------------------------------------------------

ESCPOS_POLICY = RulePolicy(
    rules=ESCPOS_RULES,
    boundary_hint="Send every ESC, GS, FS, DLE or US command with all its parameters, and "
                  "image, barcode or other command data as long as declared.",
    build=_EscposScan.build,
)


# -- text ----------------------------------------------------------------------------------

_NON_BMP = re.compile("[\U00010000-\U0010ffff]")


def _check_ascii_compatible(encoding: str) -> str:
    name = codecs.lookup(encoding).name
    # A code page where "A" or LF is not a single ASCII byte (UTF-16, EBCDIC...) would put
    # arbitrary bytes, commands included, on the wire.
    if "A\n".encode(name) != b"A\n":
        raise ValueError(f"{encoding!r} is not ASCII-compatible, as ESC/POS code pages are")
    return name


def escpos_text(text: str, encoding: str = "cp852", *, keep_newlines: bool = True,
                replacement: str = "?") -> bytes:
    """Bytes for ESC/POS text in the code page the printer was set to (`ESC t n`).

    The default, cp852 (PC852 Latin-2, `ESC t 18` on Epson), prints Hungarian including ő and ű.
    CR is dropped and CR LF becomes LF; LF is kept only with `keep_newlines` (it is the print
    command for a line); a tab becomes a space; other control bytes, DEL, C1 and bidi controls
    are dropped; characters outside the Basic Multilingual Plane (emoji: 4-byte UTF-8) and
    characters the code page lacks become `replacement`. Text is NFC-normalized first so that a
    decomposed "o + double acute" still prints as ő.
    """
    name = _check_ascii_compatible(encoding)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\t", " ")
    text = _NON_BMP.sub(replacement, text)
    text = strip_controls(text, keep="\n" if keep_newlines else "")
    try:
        data = text.encode(name)
    except UnicodeEncodeError:
        fallback = replacement.encode(name, "replace")
        parts = []
        for c in text:
            try:
                parts.append(c.encode(name))
            except UnicodeEncodeError:
                parts.append(fallback)
        data = b"".join(parts)
    # Belt and braces: whatever the codec did, no control byte leaves this function.
    return bytes(b for b in data if (b >= 0x20 and b != 0x7F) or (b == 0x0A and keep_newlines))
