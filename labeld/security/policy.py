"""Which printer commands a raw job may carry, by role: the policy tables and the scanners.

Printers obey commands wherever they appear in the data. A point-of-sale client must be able to
print anything, but not reconfigure, wipe, power off or lock up the printer. The policy is data,
in one place: a table per language of (command, why, minimum role). `check_raw` refuses a job
that holds a command the caller's role does not reach (403 `forbidden-command`, naming it).
`min_role=None` means nobody: labeld never forwards it (the prefix changes, which would also
blind this filter and labeld's own status queries).

Roles: `pos` < `tech` < `admin`. Operational commands (cancel all, pause, reset, calibrate,
configuration/test printouts) need `tech`; anything that changes stored settings, writes the
printer's flash or touches the network needs `admin`.

Decisions worth knowing:

* ESC/POS `ESC p` (drawer kick), `DLE DC4 1` (real-time drawer pulse), `GS V` (cut) and the
  `DLE EOT`/`DLE ENQ` status and recovery commands are allowed to `pos`: opening the drawer and
  cutting the paper are what a till does with every sale, and status queries change nothing.
* ZPL `^MT`, `^MN`, `^MM`, `^MD`, `~SD`, `^PR` (media type/tracking, print mode, darkness, speed)
  follow reference 1.9 and need `admin`. Label designers put some of them at the top of every
  exported format; such formats have to be cleaned (or sent with an admin token).
* ZPL status queries (`~HS`, `~HQ`, `~HI`, ...) and SGD `getvar` are allowed: they only answer.
* A language without a table (none yet for Brother QL) is admin-only for raw jobs: it cannot be
  checked, so it is not trusted.
* TSPL `SET ...` needs `admin` (reference 3: persistent). TSC's Windows driver puts `SET TEAR`
  / `SET CUTTER` lines in its jobs; those jobs need cleaning like the ZPL designer headers.

How the scanners read the data:

* ZPL: every `^` and `~` is a potential command, wherever it is (a `~` command acts even inside
  field data, and a `^` ends field data), so the scanner looks at all of them; command letters
  are case-insensitive. Because the prefix changes (`^CC`, `~CT`, ...) are refused to everyone,
  scanning for `^`/`~` stays sound. Binary `^GFB`/`^GFC` payloads are skipped by their declared
  byte count (the printer reads them as image bytes, not commands). SGD lines (`! U1 setvar`,
  `! U1 do`, `! CISDFCRC16`) and JSON SGD (`{}{`) are looked for everywhere.
* ESC/POS is binary: the scanner walks the bytes, checks every control byte (ESC, GS, FS, DLE,
  US) against the table, and skips the declared payloads of image and barcode commands (`GS v 0`,
  `ESC *`, `GS ( L`/`GS 8 L`, `GS ( k`, `GS k` function B, `GS *`, `ESC &`) only when their
  parameters are valid, so a receipt logo holding `1D 28 45` is not refused. Parameters of other
  commands are scanned too: that can only refuse more, never less. Real-time commands
  (`DLE DC4 ...`) act even inside image data, so they are looked for everywhere, payloads
  included.
* TSPL: one command per line (CR or LF ends a line); the command word at the start of a line
  is checked, case-insensitively. `BITMAP` rows are skipped by their declared size, only for
  the exact header form labeld's driver sends. Immediate commands (`<ESC>!R`) count anywhere.
* SGD is case-insensitive here and allows the whitespace variants (`!U1`, tabs, `! U` blocks);
  JSON SGD (`{}{...}`, also `{} {` and `{}\\r\\n{`) is judged by the variables it names, nested
  objects as dotted names and JSON escapes decoded, like `setvar` is.

What is judged is the byte stream the printer reads, not one copy of one job:

* Copies: `check_raw` reads two copies joined as the language joins them (`raw_job`), so
  `var "device.reset" ""\\r\\n! U1 set` sent twice is seen as the `! U1 setvar "device.reset"` it
  makes. Two suffice: the boundary between any two copies is the same bytes, and (next point)
  no copy can leave the printer mid-command for the following one.
* Jobs: a job must end on a command boundary, for every role (403 `incomplete-command`): not in
  an SGD line without its line end, a JSON SGD header or object, `^GFB`/`^GFC` data shorter
  than declared, a dangling `^`/`~` (plus a letter that starts a rule's command); not in an
  ESC/POS command short of its parameters (a lone DLE, ESC, GS, FS or US, `ESC !` without its
  n, ...) or of its declared data (images, barcodes, `x ( fn pL pH` blocks, `GS k` without its
  NUL); not in a TSPL `BITMAP` or `<ESC>!`, or a last line that is the start of a rule's
  command word. Then the printer starts every job where the scanner starts it, whatever came
  before, and each job can be judged alone.

  Rejected alternative: judging each job together with the previous job's tail. The previous
  job at submit time is not the previous job on the wire: jobs are held, canceled, retried and
  reordered, labeld's own status queries and rendered jobs go in between, another host may
  print to the same network printer, and a restart forgets the tail. The boundary rule needs no
  state and holds whatever the order.

  Not a boundary problem: a ZPL format left open (`^XA` without `^XZ`; every `^`/`~` command is
  recognised wherever it is), and a TSPL last line without its newline (`PRINT 1`): the next
  job's first line is glued to it, which only spoils that line; a job's first line is checked
  as a line start anyway. An ESC/POS command labeld does not know is taken to be complete once
  its opcode is there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from labeld.security.roles import Forbidden, Role

ADMIN, TECH = Role.ADMIN, Role.TECH
NOBODY = None


# -- rule types ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ZplRule:
    command: str  # prefix + two letters, upper case: "^JU", "~JR"
    why: str
    min_role: Role | None


@dataclass(frozen=True)
class SgdRule:
    """An SGD command (`setvar`, `do`) or variable family (`ip.` = every `ip.*` variable).

    A variable rule overrides the verb's rule, in both directions (e.g. `device.pause` is a
    technician's action although `setvar` in general is an administrator's)."""

    command: str  # "setvar", "do", or a variable name / prefix ending in "."
    why: str
    min_role: Role | None


@dataclass(frozen=True)
class TsplRule:
    """A TSPL command word at the start of a line (`SET`), or an immediate command (`seq`),
    which the printer acts on wherever it appears."""

    command: str
    why: str
    min_role: Role | None
    seq: bytes = b""


@dataclass(frozen=True)
class EscposRule:
    command: str  # as the Epson manual writes it: "GS ( E"
    seq: bytes  # the bytes the command starts with
    why: str
    min_role: Role | None
    param_at: int | None = None  # offset of the byte that decides, when not the whole command
    only: frozenset[int] | None = None  # forbidden only for these values of that byte
    unless: frozenset[int] | None = None  # forbidden for every value except these
    realtime: bool = False  # acted on wherever it appears, image data included


# -- the tables ----------------------------------------------------------------------------

_DOWNLOAD = "downloads {} into printer storage (persists; flash has limited write cycles)"
_NETWORK = "changes the printer's network settings ({}); the printer may drop off the network"
_PREFIX = ("changes the {} character: labeld's status queries stop working and later commands "
           "could no longer be recognised by this filter")

ZPL_RULES: tuple[ZplRule, ...] = (
    # persistent configuration, destructive
    ZplRule("^JU", "saves, recalls or factory-resets the printer configuration (^JUS, ^JUR, "
                   "^JUF/^JUN/^JUA restore factory defaults)", ADMIN),
    ZplRule("~JR", "power-on reset: clears the printer's buffers and the label being printed",
            TECH),
    ZplRule("^ID", "deletes stored formats, graphics or fonts from printer memory", ADMIN),
    ZplRule("^JB", "initializes (erases) a flash memory drive", ADMIN),
    ZplRule("~JB", "resets the optional battery-backed memory", ADMIN),
    # downloads to storage
    ZplRule("~DG", _DOWNLOAD.format("a graphic"), ADMIN),
    ZplRule("~DY", _DOWNLOAD.format("an object (font, graphic, firmware file)"), ADMIN),
    ZplRule("~DB", _DOWNLOAD.format("a bitmap font"), ADMIN),
    ZplRule("~DT", _DOWNLOAD.format("a TrueType font"), ADMIN),
    ZplRule("~DU", _DOWNLOAD.format("an unbounded TrueType font"), ADMIN),
    ZplRule("~DS", _DOWNLOAD.format("a scalable font"), ADMIN),
    ZplRule("~DE", _DOWNLOAD.format("an encoding table"), ADMIN),
    ZplRule("^DF", _DOWNLOAD.format("a stored format"), ADMIN),
    ZplRule("^IS", _DOWNLOAD.format("the format as an image"), ADMIN),
    # network
    ZplRule("^NS", _NETWORK.format("wired IP, mask, gateway, raw port"), ADMIN),
    ZplRule("^ND", _NETWORK.format("IP settings"), ADMIN),
    ZplRule("^NI", _NETWORK.format("network ID"), ADMIN),
    ZplRule("^NN", _NETWORK.format("SNMP"), ADMIN),
    ZplRule("^NP", _NETWORK.format("primary network device"), ADMIN),
    ZplRule("^NT", _NETWORK.format("SMTP"), ADMIN),
    ZplRule("~NT", _NETWORK.format("transparent mode"), ADMIN),
    ZplRule("^NW", _NETWORK.format("web authentication timeout"), ADMIN),
    ZplRule("~NR", _NETWORK.format("all network printers transparent"), ADMIN),
    ZplRule("^NB", _NETWORK.format("wired/wireless check at boot"), ADMIN),
    ZplRule("^NC", _NETWORK.format("primary network device"), ADMIN),
    ZplRule("~NC", _NETWORK.format("network connect"), ADMIN),
    # parser state
    ZplRule("^CC", _PREFIX.format("format command prefix (caret)"), NOBODY),
    ZplRule("~CC", _PREFIX.format("format command prefix (caret)"), NOBODY),
    ZplRule("^CT", _PREFIX.format("control command prefix (tilde)"), NOBODY),
    ZplRule("~CT", _PREFIX.format("control command prefix (tilde)"), NOBODY),
    ZplRule("^CD", _PREFIX.format("parameter delimiter"), NOBODY),
    ZplRule("~CD", _PREFIX.format("parameter delimiter"), NOBODY),
    ZplRule("^SZ", "switches the printer between ZPL I and ZPL II parsing", ADMIN),
    ZplRule("~JD", "starts communications diagnostics: everything after prints as a hex dump",
            ADMIN),
    # media and hardware settings that persist (after ^JUS) or wear the hardware
    ZplRule("^MT", "selects thermal transfer or direct thermal media", ADMIN),
    ZplRule("^MN", "changes media tracking (gap, mark, continuous)", ADMIN),
    ZplRule("^MM", "changes the print mode (tear-off, peel-off, cutter, ...)", ADMIN),
    ZplRule("~SD", "sets print darkness (too dark wears the print head)", ADMIN),
    ZplRule("^MD", "changes print darkness (too dark wears the print head)", ADMIN),
    ZplRule("^PR", "changes print and slew speed", ADMIN),
    ZplRule("^ML", "changes the maximum label length", ADMIN),
    ZplRule("~TA", "changes the tear-off position", ADMIN),
    ZplRule("^KP", "sets the front-panel password", ADMIN),
    ZplRule("^KN", "sets the printer's stored name and description", ADMIN),
    ZplRule("^KL", "changes the display language", ADMIN),
    ZplRule("^MP", "enables or disables front-panel modes", ADMIN),
    ZplRule("^SC", "changes serial port settings", ADMIN),
    ZplRule("^SS", "changes media sensor values", ADMIN),
    ZplRule("^ST", "sets the printer's real-time clock", ADMIN),
    ZplRule("^SX", "configures where the printer sends alerts", ADMIN),
    ZplRule("^SQ", "halts alert messages", ADMIN),
    ZplRule("~RO", "resets the printer's odometers", ADMIN),
    ZplRule("~JC", "runs a media calibration (feeds labels)", TECH),
    ZplRule("~JL", "sets the label length by feeding labels", TECH),
    # operational: denial of service from an untrusted client
    ZplRule("~JA", "cancels every format in the printer's buffer, other clients' labels too",
            TECH),
    ZplRule("~PP", "pauses the printer until someone resumes it", TECH),
    ZplRule("^PP", "pauses the printer after this label until someone resumes it", TECH),
    ZplRule("~PS", "resumes a paused printer (a technician may have paused it)", TECH),
    ZplRule("~WC", "prints a configuration label", TECH),
    ZplRule("^WD", "prints a directory label of the printer's storage", TECH),
)

SGD_RULES: tuple[SgdRule, ...] = (
    SgdRule("setvar", "changes a printer setting (SGD setvar)", ADMIN),
    SgdRule("do", "runs a printer action (SGD do)", ADMIN),
    SgdRule("zpl.caret", _PREFIX.format("format command prefix (caret)"), NOBODY),
    SgdRule("zpl.control_character", _PREFIX.format("control command prefix (tilde)"), NOBODY),
    SgdRule("zpl.delimiter", _PREFIX.format("parameter delimiter"), NOBODY),
    SgdRule("device.languages", "changes the printer's command language", ADMIN),
    SgdRule("device.reset", "resets the printer", TECH),
    SgdRule("device.restore_defaults", "restores factory defaults", ADMIN),
    SgdRule("device.pause", "pauses the printer", TECH),
    SgdRule("device.unpause", "resumes the printer", TECH),
    SgdRule("ip.", _NETWORK.format("IP"), ADMIN),
    SgdRule("wlan.", _NETWORK.format("wireless"), ADMIN),
    SgdRule("internal_wired.", _NETWORK.format("wired print server"), ADMIN),
    SgdRule("bluetooth.", _NETWORK.format("Bluetooth"), ADMIN),
    SgdRule("file.", "writes or deletes files in printer storage", ADMIN),
    SgdRule("! CISDFCRC16", _DOWNLOAD.format("a file"), ADMIN),
    SgdRule("{}{", "JSON SGD: reads or changes printer settings", ADMIN),
)

_NV_GRAPHICS = frozenset({65, 66, 67, 68})  # GS ( L / GS 8 L fn: delete all/one, define NV

ESCPOS_RULES: tuple[EscposRule, ...] = (
    EscposRule("DLE DC4 2 (power off)", b"\x10\x14\x02\x01\x08",
               "turns the printer off; someone has to switch it on again", ADMIN, realtime=True),
    EscposRule("DLE DC4 8 (clear buffers)", b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08",
               "clears the printer's receive and print buffers: queued receipts are lost",
               TECH, realtime=True),
    EscposRule("GS ( E", b"\x1d(E", "user setup: changes memory switches and customized "
               "values stored in the printer", ADMIN),
    EscposRule("GS ( M", b"\x1d(M", "saves or restores the printer's customized settings",
               ADMIN),
    EscposRule("GS ( D", b"\x1d(D", "enables or disables real-time commands; disabled, "
               "labeld's status queries go unanswered", ADMIN),
    EscposRule("ESC = (n != 1)", b"\x1b=", "deselects the printer: it ignores all data until "
               "selected again", ADMIN, param_at=2, unless=frozenset({1})),
    EscposRule("ESC c 5", b"\x1bc5", "enables or disables the panel buttons", ADMIN),
    EscposRule("FS q", b"\x1cq", "defines NV bit images (writes flash, limited write cycles)",
               ADMIN),
    EscposRule("GS ( L (NV graphics)", b"\x1d(L", "defines or deletes NV graphics (writes "
               "flash, limited write cycles)", ADMIN, param_at=6, only=_NV_GRAPHICS),
    EscposRule("GS 8 L (NV graphics)", b"\x1d8L", "defines or deletes NV graphics (writes "
               "flash, limited write cycles)", ADMIN, param_at=8, only=_NV_GRAPHICS),
    EscposRule("GS ( C", b"\x1d(C", "edits NV user memory (writes flash)", ADMIN),
    EscposRule("FS g 1", b"\x1cg1", "writes NV user memory (writes flash)", ADMIN),
    EscposRule("GS ( A", b"\x1d(A", "runs the printer's test print", TECH),
    EscposRule("GS ( K", b"\x1d(K", "changes the print control method, density or speed",
               ADMIN),
    EscposRule("GS a", b"\x1da", "switches Automatic Status Back, which changes the status "
               "replies labeld reads", ADMIN),
    EscposRule("GS g 0", b"\x1dg0", "resets the printer's maintenance counters", ADMIN),
    EscposRule("US ESC US", b"\x1f\x1b\x1f", "clone-printer setting commands (IP address, "
               "interface, defaults)", ADMIN),
    EscposRule("ESC GS #", b"\x1b\x1d#", "Star: writes memory switches (persistent settings)",
               ADMIN),
)


# TSPL (reference 3): "do not pass through: SET (persistent), DOWNLOAD/KILL/MOVE (file system),
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


@dataclass(frozen=True)
class LanguagePolicy:
    language: str
    rules: tuple[ZplRule | SgdRule | EscposRule | TsplRule, ...]


POLICIES: Mapping[str, LanguagePolicy] = MappingProxyType({
    "zpl": LanguagePolicy("zpl", ZPL_RULES + SGD_RULES),
    "escpos": LanguagePolicy("escpos", ESCPOS_RULES),
    "tspl": LanguagePolicy("tspl", TSPL_RULES),
})


def policy_table(language: str) -> list[dict[str, Any]]:
    """The table as JSON-ready rows (for docs and an API endpoint)."""
    rows = []
    for r in POLICIES[language].rules:
        row: dict[str, Any] = {"command": r.command, "why": r.why,
                               "min_role": r.min_role.value if r.min_role else None}
        if isinstance(r, EscposRule | TsplRule) and r.seq:
            row["bytes"] = r.seq.hex(" ")
        rows.append(row)
    return rows


# -- findings ------------------------------------------------------------------------------

Rule = ZplRule | SgdRule | EscposRule | TsplRule


@dataclass(frozen=True)
class Finding:
    command: str  # the rule's name, or what the job ends inside of
    written: str  # what the job holds there, printable
    offset: int  # byte offset in the checked bytes
    why: str
    min_role: Role | None
    # The job ends inside this command: the printer would read the next job's (or copy's) first
    # bytes as its rest. Refused to every role as `incomplete-command` (min_role None): the next
    # job may be another client's, and a cut command would let it complete what it may not send.
    incomplete: bool = False


def _allowed(rule: Rule, role: Role) -> bool:
    return rule.min_role is not None and role.covers(rule.min_role)


def _printable(raw: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"<{b:02X}>" for b in raw)


def _cut(command: str, written: str, offset: int, why: str) -> Finding:
    return Finding(command, written, offset, why, None, incomplete=True)


def _prefixes(word: bytes) -> bytes:
    """A regex group matching any non-empty prefix of `word` (longest first)."""
    return b"(?:" + b"|".join(re.escape(word[:k]) for k in range(len(word), 0, -1)) + b")"


_INCOMPLETE = "only the start of the command is there"


# -- ZPL -----------------------------------------------------------------------------------
# The scanners take the subset of rules that matters (all of them, or those the caller's role
# does not reach) and search with one regex built from it: a 16 MiB job is searched by the
# regex engine, not walked byte by byte in Python.

_ZPL_GF_BINARY = re.compile(rb"\^GF([BC]),(\d{1,9}),(\d{1,9}),(\d{1,9}),", re.I)
_ZPL_WRITTEN = re.compile(rb"[\^~][^\^~\r\n]{0,15}")
_SGD_VERB = re.compile(rb'![ \t]*U1?[ \t]+(setvar|do)\b[ \t]*(?:"([^"\r\n]*)")?', re.I)
_SGD_BLOCK_LINE = re.compile(rb'(?:^|[\r\n])[ \t]*(setvar|do)[ \t]+"([^"\r\n]*)"', re.I)
_SGD_CISD = re.compile(rb"![ \t]*CISDFCRC16", re.I)
_SGD_BY_NAME: Mapping[str, SgdRule] = MappingProxyType({r.command: r for r in SGD_RULES})
_ZPL_COMMANDS = frozenset(r.command for r in ZPL_RULES)
# JSON SGD: an empty header object, then an object of variables. JSON allows whitespace between
# values, so `{} {` and `{}\r\n{` count as well as `{}{`.
_JSON_WS = b" \t\r\n"
_JSON_SGD = re.compile(rb"\{[ \t\r\n]*\}[ \t\r\n]*\{")
_JSON_TOKEN = re.compile(rb'"((?:[^"\\]|\\.)*)"(?:[ \t\r\n]*(:))?|([{}])', re.S)
# Real JSON SGD objects are a few hundred bytes; one larger than this is not read key by key
# (a Python loop over 16 MiB of tokens) but refused.
_JSON_SGD_MAX = 64 * 1024
# The last line of a job (nothing after it but no LF either) that is an SGD command still
# waiting for its line end: "! U1 set", "!", "! U", "! CISD", or a line of an `! U` block
# ("setv", "do "). The printer reads the next job's first line as the rest of it.
_SGD_OPEN = re.compile(rb"![ \t]*(?:U1?(?:[ \t]|\Z)|CISDFCRC16)", re.I)
_SGD_OPEN_AT_END = re.compile(rb"![ \t]*" + _prefixes(b"CISDFCRC16") + rb"?\Z", re.I)
_SGD_OPEN_BLOCK = re.compile(rb"[ \t]*(?:" + _prefixes(b"setvar") + b"|" + _prefixes(b"do")
                             + rb")(?:[ \t]|\Z)", re.I)


def _sgd_rule(verb: str, variable: str) -> SgdRule:
    var = variable.strip().lower()
    if var:
        for r in SGD_RULES:
            if r.command in ("setvar", "do"):
                continue
            if var == r.command or (r.command.endswith(".") and var.startswith(r.command)):
                return r
    return _SGD_BY_NAME[verb]


def _json_string(raw: bytes) -> str:
    # Decoded as the printer's JSON parser would: "zpl.car\u0065t" is zpl.caret.
    try:
        return str(json.loads(b'"' + raw + b'"'))
    except ValueError:
        return raw.decode("latin-1")


def _json_object(data: bytes, start: int, stop: int) -> tuple[list[tuple[str, int]], int | None]:
    """The variables the JSON object opening at `start` names, with their offsets, and where
    it ends (None when it does not close before `stop`). Nested objects name dotted variables
    (`{"ip": {"addr": ...}}` is ip.addr), as Link-OS reads them; the branches count too."""
    names: list[tuple[str, int]] = []
    path: list[str | None] = []
    key: str | None = None
    for m in _JSON_TOKEN.finditer(data, start, stop):
        brace = m.group(3)
        if brace == b"{":
            path.append(key)
            key = None
        elif brace == b"}":
            path.pop()
            key = None
            if not path:
                return names, m.end()
        elif m.group(2):  # a string followed by ":" is a key
            key = _json_string(m.group(1))
            names.append((".".join([*(p for p in path if p), key]), m.start()))
        else:
            key = None
    return names, None


@dataclass(frozen=True)
class _ZplScan:
    rules: Mapping[str, ZplRule]  # by command
    sgd: frozenset[SgdRule]
    search: re.Pattern[bytes]

    @classmethod
    def build(cls, rules: tuple[Rule, ...]) -> _ZplScan:
        zpl = {r.command: r for r in rules if isinstance(r, ZplRule)}
        alternatives = [re.escape(c.encode()) for c in zpl] + [rb"\^GF[BC]"]
        return cls(MappingProxyType(zpl), frozenset(r for r in rules if isinstance(r, SgdRule)),
                   re.compile(b"|".join(alternatives), re.I))

    def __call__(self, data: bytes) -> Iterator[Finding]:
        n = len(data)
        i = 0
        skipped_to = 0  # end of the last binary graphic payload
        cut: Finding | None = None
        while (m := self.search.search(data, i)) is not None:
            i = m.start()
            rule = self.rules.get(data[i:i + 3].decode("latin-1").upper())
            if rule is not None:
                written = _ZPL_WRITTEN.match(data, i)
                yield Finding(rule.command, _printable(written.group() if written else b""), i,
                              rule.why, rule.min_role)
            if (gf := _ZPL_GF_BINARY.match(data, i)) is not None:
                end = gf.end() + int(gf.group(2))
                if end <= n:  # the printer reads these bytes as image data, not commands
                    i = skipped_to = end
                    continue
                # The printer would take the next job's first bytes as image data, then read
                # the rest of that job from a place no scan of it started at.
                cut = cut or _cut(f"^GF{gf.group(1).decode().upper()} binary graphic data",
                                  _printable(gf.group()), i,
                                  f"it declares {int(gf.group(2))} bytes of image data and "
                                  f"the job holds {n - gf.end()}")
            i += 1
        yield from self._sgd(data)
        if cut is not None:
            yield cut
        yield from _zpl_ending(data, skipped_to)

    def _sgd(self, data: bytes) -> Iterator[Finding]:
        for pattern in (_SGD_VERB, _SGD_BLOCK_LINE):
            for m in pattern.finditer(data):
                rule, f = _sgd_finding(m)
                if rule in self.sgd:
                    yield f
        cisd = _SGD_BY_NAME["! CISDFCRC16"]
        if cisd in self.sgd and (m := _SGD_CISD.search(data)) is not None:
            yield Finding(cisd.command, _printable(m.group()), m.start(), cisd.why,
                          cisd.min_role)
        header = _SGD_BY_NAME["{}{"]
        at = 0
        while (m := _JSON_SGD.search(data, at)) is not None:
            stop = min(len(data), m.end() - 1 + _JSON_SGD_MAX)
            names, end = _json_object(data, m.end() - 1, stop)
            # A variable's own rule wins, as for setvar (device.pause is a technician's);
            # any other variable, or none, is JSON SGD itself.
            for name, offset in names or [("", m.start())]:
                rule = _sgd_rule("setvar", name)
                rule = header if rule.command == "setvar" else rule
                if rule in self.sgd:
                    shown = _printable(data[m.start():m.end()]) + (f'..."{name}"' if name else "")
                    yield Finding(f'JSON SGD "{name}"' if name else "JSON SGD", shown,
                                  offset, rule.why, rule.min_role)
            if end is None:
                shown = _printable(data[m.start():m.start() + 40])
                if stop == len(data):
                    yield _cut("a JSON SGD object", shown, m.start(), "its closing } is missing")
                else:
                    yield Finding("a JSON SGD object over 64 KiB", shown, m.start(),
                                  "too large for labeld to read which variables it sets", None)
                return
            at = end


def _zpl_ending(data: bytes, skipped_to: int) -> Iterator[Finding]:
    """Where a ZPL job ends inside a command (the same for every role)."""
    n = len(data)
    # "^", "~J", "^C"... : the next job supplies the rest of the command's name.
    for k in (1, 2):
        t = n - k
        if t < skipped_to or data[t:t + 1] not in (b"^", b"~"):
            continue
        tail = data[t:].decode("latin-1").upper()
        if any(c.startswith(tail) for c in _ZPL_COMMANDS):
            yield _cut(f"{tail}...", _printable(data[t:]), t, _INCOMPLETE)
    line = max(data.rfind(b"\n") + 1, skipped_to)
    last = data[line:]
    open_sgd = (_SGD_OPEN.search(last) or _SGD_OPEN_AT_END.search(last)
                or _SGD_OPEN_BLOCK.match(last))
    if open_sgd is not None:
        yield _cut("an SGD command", _printable(last[open_sgd.start():][:40]),
                   line + open_sgd.start(), "SGD commands end with CR LF, and this one "
                   "has not")
    # "{", "{}", "{ }\r\n": a JSON SGD header whose object would come from the next job.
    body = len(data.rstrip(_JSON_WS))
    brace = data.rfind(b"{", skipped_to, body)
    if brace >= 0 and data[brace + 1:body].strip(_JSON_WS) in (b"", b"}"):
        yield _cut("a JSON SGD header", _printable(data[brace:body]), brace,
                   "JSON SGD is {} then an object, and the object is missing")


def _sgd_finding(m: re.Match[bytes]) -> tuple[SgdRule, Finding]:
    verb = m.group(1).decode("latin-1").lower()
    variable = (m.group(2) or b"").decode("latin-1")
    rule = _sgd_rule(verb, variable)
    return rule, Finding(f"SGD {verb}" + (f' "{variable}"' if variable else ""),
                         _printable(m.group().strip(b"\r\n \t")), m.start(1)
                         if m.group()[:1] in (b"\r", b"\n") else m.start(), rule.why,
                         rule.min_role)


# -- ESC/POS -------------------------------------------------------------------------------

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


def _cut_block(data: bytes, payloads: list[tuple[int, int]]) -> int | None:
    """Where an `x ( fn pL pH` command declares more data than the job holds, if one does.
    Only the last 64 KiB can hold one, so only they are searched (a 16 MiB job of "GS (" is
    not walked byte by byte); `payloads` are the image and barcode data skipped there, whose
    bytes are no commands."""
    n = len(data)
    k = 0
    for m in _BLOCK_SEARCH.finditer(data, max(0, n - _BLOCK_REACH)):
        i = m.start()
        while k < len(payloads) and payloads[k][1] <= i:
            k += 1
        if k < len(payloads) and payloads[k][0] < i:
            continue
        if (_block_end(data, i) or 0) > n:
            return i
    return None


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


def _declared_end(data: bytes, i: int) -> int | None:
    """Where the command at i ends when labeld knows its length (beyond the data when the job
    ends inside it), else None: a command labeld does not know is taken to be complete."""
    n = len(data)
    if data[i:] in _OPCODE_PREFIXES:
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


def _is_parameter(data: bytes, t: int, floor: int) -> bool:
    """True when t is a parameter byte of a command starting after `floor` (GS V 65 16)."""
    for p in range(max(floor, t - _MAX_FIXED), t):
        if data[p] in _INTRODUCERS and (end := _declared_end(data, p)) is not None and t < end:
            return True
    return False


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
        cut: int | None = None  # a command whose declared data runs past the end of the job
        reach = n - _BLOCK_REACH
        near_end: list[tuple[int, int]] = []  # skipped payloads where a cut block could start
        while (m := self.search.search(data, i)) is not None:
            i = m.start()
            for rule in self.structural:
                if data.startswith(rule.seq, i) and _param_matches(rule, data, i):
                    yield _escpos_finding(rule, data, i)
            end = _payload_end(data, i)
            if end is not None and end <= n:
                if end > reach:
                    near_end.append((i, end))
                i = floor = end
                continue
            if cut is None and end is not None:
                cut = i
            i += 1
        if cut is None:
            cut = _cut_block(data, near_end)
        yield from self._boundaries(data, floor, cut)

    def _boundaries(self, data: bytes, floor: int, cut: int | None) -> Iterator[Finding]:
        n = len(data)
        # Real-time sequences are recognised anywhere: a job that starts with all but the first
        # byte of one is refused like the command (belt and braces: no job may end in a DLE).
        for rule in self.realtime:
            if data.startswith(rule.seq[1:]):
                yield Finding(f"{rule.command} (rest of)", rule.seq[1:].hex(" "), 0,
                              "the job starts with the rest of a command the previous job "
                              "could have begun", rule.min_role)
        if cut is not None:
            yield _cut(f"{_INTRODUCER_NAMES[data[cut]]} command's data",
                       data[cut:cut + 8].hex(" "), cut, "it declares more bytes than the job "
                       "holds")
            return
        # A command cut short: its missing parameters would be the next job's first bytes,
        # which shifts where the printer reads that job's commands.
        for t in range(max(floor, n - _MAX_FIXED), n):
            if data[t] not in _INTRODUCERS or _is_parameter(data, t, floor):
                continue
            end = _declared_end(data, t)
            if t == n - 1 or (end is not None and end > n):
                yield _cut(f"{_INTRODUCER_NAMES[data[t]]} command", data[t:].hex(" "), t,
                           "only its first byte is there" if t == n - 1
                           else "its parameters are missing")
                return


# -- TSPL ----------------------------------------------------------------------------------
# One command per line. BITMAP carries raw binary rows after its header; they are skipped by the
# declared size, but only for the exact header form labeld's own driver sends.

_TSPL_BITMAP = re.compile(rb"BITMAP (\d{1,5}),(\d{1,5}),(\d{1,5}),(\d{1,5}),([0-2]),")
# Any BITMAP header the printer might accept: not trusted for skipping, only to notice a job
# that ends inside the rows it declares.
_TSPL_BITMAP_ANY = re.compile(rb"BITMAP[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,"
                              rb"[ \t]*(\d+)[ \t]*,[ \t]*(\d+)[ \t]*,", re.I)
_TSPL_BITMAP_OPEN = re.compile(rb"[ \t]*(?:BITMAP[ \t\d,]*|" + _prefixes(b"BITMA") + rb")\Z",
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
        return Finding(rule.command, _printable(line), m.start(1), rule.why, rule.min_role)

    def __call__(self, data: bytes) -> Iterator[Finding]:
        n = len(data)
        for rule in self.immediate:
            if (at := data.find(rule.seq)) >= 0:
                yield Finding(rule.command, _printable(rule.seq), at, rule.why, rule.min_role)
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
                yield _cut(f"{partial}...", _printable(data[m.start(1):]), m.start(1),
                           _INCOMPLETE)
        for k in (2, 1):
            if n >= k and data[n - k:] in _TSPL_IMMEDIATE_STARTS:
                yield _cut(f"<ESC>{data[n - k + 1:].decode('latin-1')}...",
                           _printable(data[n - k:]), n - k, _INCOMPLETE)
                break
        if cut is None and (m := _TSPL_BITMAP_OPEN.match(data, last)) is not None:
            cut = last + len(m.group()) - len(m.group().lstrip(b" \t"))
        if cut is not None:
            yield _cut("BITMAP", _printable(data[cut:cut + 30]), cut,
                       "it declares more rows than the job holds, or its header is cut")


# -- public API ----------------------------------------------------------------------------

_Scanner = _ZplScan | _EscposScan | _TsplScan
_BUILDERS: Mapping[str, Callable[[tuple[Rule, ...]], _Scanner]] = MappingProxyType({
    "zpl": _ZplScan.build, "escpos": _EscposScan.build, "tspl": _TsplScan.build})

# Built once at import: for each language, a scanner over all rules (key None) and one per role
# over only the rules that role does not reach.
_SCANNERS: Mapping[str, Mapping[Role | None, _Scanner]] = MappingProxyType({
    lang: MappingProxyType({
        None: _BUILDERS[lang](policy.rules),
        **{role: _BUILDERS[lang](tuple(r for r in policy.rules if not _allowed(r, role)))
           for role in Role},
    })
    for lang, policy in POLICIES.items()
})

_WHOLE_COMMANDS: Mapping[str, str] = MappingProxyType({
    "zpl": "End every SGD command with CR LF, close every JSON SGD object, send ^GF binary "
           "data as long as declared, and leave no ^ or ~ at the end.",
    "escpos": "Send every ESC, GS, FS, DLE or US command with all its parameters, and image, "
              "barcode or other command data as long as declared.",
    "tspl": "Send BITMAP rows as many as declared and leave no ESC or partial command word at "
            "the end (a last line without its newline is fine).",
})


def find_commands(language: str, data: bytes) -> list[Finding]:
    """Every policy-relevant command in a raw job, whatever the role, in no particular order;
    also where the job ends inside a command (`incomplete`).

    Raises KeyError for a language without a policy."""
    return list(_SCANNERS[language][None](data))


def check_raw(language: str, data: bytes, role: Role, *, copies: int = 1,
              join: Callable[[bytes, int], bytes] | None = None) -> None:
    """Refuse (Forbidden, 403) a raw job holding a command that `role` may not send
    (`forbidden-command`), or ending inside a command (`incomplete-command`).

    The check reads what the printer will read: `copies` copies joined by `join` (the
    language's `raw_job`; plain concatenation by default), so a command split across copies
    (`var "x" ""\\r\\n! U1 set` twice) is seen whole. Two copies are enough: every boundary
    between copies is the same bytes, and a job must end on a command boundary, so each copy
    starts where the first did.

    Between jobs, that same rule does the work: a job may not end inside a command (an SGD line
    without CR LF, a JSON SGD header or object, `^GFB` data, a lone `^`/`~`, an ESC/POS command
    short of parameters or data, a TSPL `BITMAP`, `<ESC>`...). The printer then starts every
    job where this scanner starts it, whatever came before, so each job can be checked alone.

    A language without a policy table cannot be checked, so only an admin may send it raw."""
    role = Role(role)
    scanners = _SCANNERS.get(language)
    if scanners is None:
        if role.covers(ADMIN):
            return
        raise Forbidden("raw-language-unchecked",
                        f"labeld has no command policy for {language!r}, so raw {language} jobs "
                        "need the admin role.",
                        "Ask an administrator, or send a label document instead of raw data.")
    read = min(max(copies, 1), 2)
    stream = join(data, read) if join is not None else data * read
    # the role's scanner holds only the rules this role does not reach: any finding refuses
    f = next(iter(scanners[role](stream)), None)
    if f is None:
        return
    where = f"at byte {f.offset}"
    if read > 1:
        where += (f" of {'the' if copies == 2 else 'the first'} two copies as the printer "
                  f"receives them, one after the other (one copy is {len(data)} bytes)")
    if f.incomplete:
        raise Forbidden("incomplete-command",
                        f"The job ends inside {f.command} ({f.written}) {where}: {f.why}. The "
                        "printer would take the first bytes of whatever it receives next, "
                        "another copy or another client's job, as the rest of it, so what it "
                        "does cannot be checked. Refused whatever the token's role.",
                        _WHOLE_COMMANDS[language])
    who = ("labeld never forwards it" if f.min_role is None
           else f"it needs the {f.min_role.value} role; this token has {role.value}")
    raise Forbidden("forbidden-command",
                    f"The job contains {f.command} ({f.written}) {where}: {f.why}; {who}.",
                    "Remove the command from the job. Printer settings are changed by an "
                    "administrator, not by print jobs.")
