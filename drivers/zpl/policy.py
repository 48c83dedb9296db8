"""Zebra ZPL II: which commands a raw job may carry, by role, and text made safe for a field.

The language's `RawPolicy` (see labeld.contracts; labeld.intake.policy applies it): the ZPL
table, the SGD table (Zebra's Set-Get-Do, `! U1 setvar ...`, and JSON SGD `{}{...}`, which a
Zebra reads on the same port), and the scanner that finds them in bytes.

Decisions worth knowing:

* `^MT`, `^MN`, `^MM`, `^MD`, `~SD`, `^PR` (media type/tracking, print mode, darkness, speed)
  follow reference 1.9 and need `admin`. Label designers put some of them at the top of every
  exported format; such formats have to be cleaned (or sent with an admin token).
* Status queries (`~HS`, `~HQ`, `~HI`, ...) and SGD `getvar` are allowed: they only answer.
* The prefix changes (`^CC`, `~CT`, `^CD`, SGD `zpl.caret`...) are refused to everyone: they
  would blind this filter and labeld's own status queries.

How the scanner reads the data:

* Every `^` and `~` is a potential command, wherever it is (a `~` command acts even inside
  field data, and a `^` ends field data), so the scanner looks at all of them; command letters
  are case-insensitive. Because the prefix changes are refused to everyone, scanning for
  `^`/`~` stays sound. Binary `^GFB`/`^GFC` payloads are skipped by their declared byte count
  (the printer reads them as image bytes, not commands). SGD lines (`! U1 setvar`, `! U1 do`,
  `! CISDFCRC16`) and JSON SGD (`{}{`) are looked for everywhere.
* SGD is case-insensitive here and allows the whitespace variants (`!U1`, tabs, `! U` blocks);
  JSON SGD (`{}{...}`, also `{} {` and `{}\\r\\n{`) is judged by the variables it names, nested
  objects as dotted names and JSON escapes decoded, like `setvar` is.
* A job must end on a command boundary (see labeld.intake.policy): not in an SGD line
  without its line end, a JSON SGD header or object, `^GFB`/`^GFC` data shorter than declared,
  a dangling `^`/`~` (plus a letter that starts a rule's command). Not a boundary problem: a
  format left open (`^XA` without `^XZ`): every `^`/`~` command is recognised wherever it is.

Text: `zpl_field(text)` makes field data for `^FH^FD...^FS`: `^`, `~`, the escape character
`_`, `!` and `{` become hex escapes (`_5E`, `_7E`, `_5F`, `_21`, `_7B`), control characters are
dropped. It is `ZplLanguage.sanitize_text`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from labeld.contracts import Finding, Role, Rule
from labeld.langkit import INCOMPLETE, RulePolicy, prefixes, printable
from labeld.langkit import strip_controls

ADMIN, TECH = Role.ADMIN, Role.TECH
NOBODY = None


# -- rule types ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ZplRule(Rule):
    """A ZPL command: `command` is the prefix and two letters, upper case ("^JU", "~JR")."""


@dataclass(frozen=True)
class SgdRule(Rule):
    """An SGD command (`setvar`, `do`) or variable family (`ip.` = every `ip.*` variable).

    A variable rule overrides the verb's rule, in both directions (e.g. `device.pause` is a
    technician's action although `setvar` in general is an administrator's)."""


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


# -- the scanner ---------------------------------------------------------------------------
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
_SGD_OPEN_AT_END = re.compile(rb"![ \t]*" + prefixes(b"CISDFCRC16") + rb"?\Z", re.I)
_SGD_OPEN_BLOCK = re.compile(rb"[ \t]*(?:" + prefixes(b"setvar") + b"|" + prefixes(b"do")
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
                yield Finding(rule.command, printable(written.group() if written else b""), i,
                              rule.why, rule.min_role)
            if (gf := _ZPL_GF_BINARY.match(data, i)) is not None:
                end = gf.end() + int(gf.group(2))
                if end <= n:  # the printer reads these bytes as image data, not commands
                    i = skipped_to = end
                    continue
                # The printer would take the next job's first bytes as image data, then read
                # the rest of that job from a place no scan of it started at.
                cut = cut or Finding.cut(f"^GF{gf.group(1).decode().upper()} binary graphic data",
                                         printable(gf.group()), i,
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
            yield Finding(cisd.command, printable(m.group()), m.start(), cisd.why,
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
                    shown = printable(data[m.start():m.end()]) + (f'..."{name}"' if name else "")
                    yield Finding(f'JSON SGD "{name}"' if name else "JSON SGD", shown,
                                  offset, rule.why, rule.min_role)
            if end is None:
                shown = printable(data[m.start():m.start() + 40])
                if stop == len(data):
                    yield Finding.cut("a JSON SGD object", shown, m.start(),
                                      "its closing } is missing")
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
            yield Finding.cut(f"{tail}...", printable(data[t:]), t, INCOMPLETE)
    line = max(data.rfind(b"\n") + 1, skipped_to)
    last = data[line:]
    open_sgd = (_SGD_OPEN.search(last) or _SGD_OPEN_AT_END.search(last)
                or _SGD_OPEN_BLOCK.match(last))
    if open_sgd is not None:
        yield Finding.cut("an SGD command", printable(last[open_sgd.start():][:40]),
                          line + open_sgd.start(), "SGD commands end with CR LF, and this one "
                          "has not")
    # "{", "{}", "{ }\r\n": a JSON SGD header whose object would come from the next job.
    body = len(data.rstrip(_JSON_WS))
    brace = data.rfind(b"{", skipped_to, body)
    if brace >= 0 and data[brace + 1:body].strip(_JSON_WS) in (b"", b"}"):
        yield Finding.cut("a JSON SGD header", printable(data[brace:body]), brace,
                          "JSON SGD is {} then an object, and the object is missing")


def _sgd_finding(m: re.Match[bytes]) -> tuple[SgdRule, Finding]:
    verb = m.group(1).decode("latin-1").lower()
    variable = (m.group(2) or b"").decode("latin-1")
    rule = _sgd_rule(verb, variable)
    return rule, Finding(f"SGD {verb}" + (f' "{variable}"' if variable else ""),
                         printable(m.group().strip(b"\r\n \t")), m.start(1)
                         if m.group()[:1] in (b"\r", b"\n") else m.start(), rule.why,
                         rule.min_role)


# -- the policy ----------------------------------------------------------------------------

ZPL_POLICY = RulePolicy(
    rules=ZPL_RULES + SGD_RULES,
    boundary_hint="End every SGD command with CR LF, close every JSON SGD object, send ^GF "
                  "binary data as long as declared, and leave no ^ or ~ at the end.",
    build=_ZplScan.build,
)


# -- text ----------------------------------------------------------------------------------

ZPL_ESCAPE = "_"  # ^FH's default escape character
# "^" and "~" start commands and "_" starts an escape. "!" and "{" are escaped too, although
# inside a format they are plain text: then a field can never read like an SGD command
# ("! U1 setvar") or JSON SGD ("{}{") to the raw-command policy or to a printer that is
# somehow outside a format.
_ZPL_SPECIAL = frozenset("^~!{" + ZPL_ESCAPE)


def zpl_field(text: str, *, ascii_only: bool = False, encoding: str = "utf-8") -> str:
    """Safe field data for `^FH^FD<data>^FS` (`^FH` with the default escape character `_`).

    Control characters, CR and LF are dropped (ZPL does not print them; a line break in a
    field is done with `^FB` and `\\&`). `^`, `~`, `_`, `!` and `{` are hex escaped. With
    `ascii_only=True` every non-ASCII character is escaped too, as the bytes of `encoding` (use
    the encoding the format selects with `^CI`, UTF-8 for `^CI28`), so the result survives any
    transport; otherwise non-ASCII text is left for the printer to take as `^CI28` UTF-8.
    """
    out: list[str] = []
    for c in strip_controls(text):
        if c in _ZPL_SPECIAL or (ascii_only and ord(c) > 0x7E):
            out.extend(f"{ZPL_ESCAPE}{b:02X}" for b in c.encode(encoding, "replace"))
        else:
            out.append(c)
    return "".join(out)


def zpl_field_decode(data: str, encoding: str = "utf-8") -> str:
    """What a printer makes of `^FH` field data: the inverse of `zpl_field`."""
    raw = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        if c == ZPL_ESCAPE and _is_hex(data[i + 1:i + 3]):
            raw.append(int(data[i + 1:i + 3], 16))
            i += 3
        else:
            raw += c.encode(encoding)
            i += 1
    return raw.decode(encoding, "replace")


def _is_hex(s: str) -> bool:
    return len(s) == 2 and all(ch in "0123456789abcdefABCDEF" for ch in s)
