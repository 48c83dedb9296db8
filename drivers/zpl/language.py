"""Zebra ZPL II: the status side of the language driver.

Decodes the three replies a host can ask a Zebra for: `~HS` (host status, the one polled),
`~HQES` (error/warning bit masks) and `~HI` (identification). Field layouts and bit masks are
kept as immutable module-level tables so that the simulator, the tests and the reasons
catalogue test read the same facts as the decoder.

Every decoder takes whatever bytes arrived (possibly nothing, possibly garbage) and never
raises: a reply it cannot make sense of becomes a `garbled-status-reply` reason.

Label counter: the SGD variable `odometer.total_label_count` (reference 1.1, 1.8), asked with
`! U1 getvar "odometer.total_label_count"` CR LF. A Zebra answers a getvar with the value in
double quotes and nothing after it (`"1234"`, no CR LF; `"?"` for a variable it does not
know), so the reply is whole at the second quote. `labels_in_raw` says how far one copy of a
raw job moves that counter, or None where the bytes alone cannot tell.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from labeld.contracts import (Language, Model, PrintOptions, Raster, RawWarning, Reason, Severity,
                              StatusReport)
from labeld.drivers.zpl.graphics import encode_gf, ink_window
from labeld.drivers.zpl.policy import ZPL_POLICY, zpl_field
from labeld.reasons import GARBLED_STATUS_REPLY, NO_STATUS_REPLY

ERROR, WARNING, REPORT = Severity.ERROR, Severity.WARNING, Severity.REPORT

HS_QUERY = b"~HS"
HQES_QUERY = b"~HQES"
HI_QUERY = b"~HI"
COUNTER_VARIABLE = "odometer.total_label_count"
COUNTER_QUERY = b'! U1 getvar "odometer.total_label_count"\r\n'

STX = 0x02
ETX = 0x03
# One ~HS/~HI frame: STX, printable fields, ETX CR LF. Excluding STX from the body makes a
# match start at the last STX before the ETX, so leading noise is skipped, not glued on.
_FRAME = re.compile(rb"\x02([^\x02\x03]*)\x03\r\n")


# --------------------------------------------------------------------------------------------
# ~HS tables

FieldKind = Literal["number", "flag", "char", "secret"]


@dataclass(frozen=True)
class HsField:
    name: str
    width: int  # as the printer pads it; see format_hs()
    kind: FieldKind = "number"


# Reference 1.2. Order matters: fields are positional.
HS_STRINGS: tuple[tuple[HsField, ...], ...] = (
    (
        HsField("comm_settings", 3),
        HsField("paper_out", 1, "flag"),
        HsField("paused", 1, "flag"),
        HsField("label_length_dots", 4),
        HsField("formats_in_buffer", 3),
        HsField("buffer_full", 1, "flag"),
        HsField("diag_mode", 1, "flag"),
        HsField("partial_format", 1, "flag"),
        HsField("unused_1", 3),
        HsField("corrupt_ram", 1, "flag"),
        HsField("under_temp", 1, "flag"),
        HsField("over_temp", 1, "flag"),
    ),
    (
        HsField("function_settings", 3),
        HsField("unused_2", 1),
        HsField("head_up", 1, "flag"),
        HsField("ribbon_out", 1, "flag"),
        HsField("thermal_transfer", 1, "flag"),
        HsField("print_mode", 1, "char"),
        HsField("print_width_mode", 1),
        HsField("label_waiting", 1, "flag"),
        HsField("labels_remaining", 8),
        HsField("format_while_printing", 1, "flag"),
        HsField("graphics_stored", 3),
    ),
    (
        # The front-panel password: decoded only to be masked, since fields reach the web API.
        HsField("password", 4, "secret"),
        HsField("static_ram", 1, "flag"),
    ),
)

HS_REASONS: Mapping[str, Reason] = MappingProxyType(
    {
        "paper_out": Reason("media-empty", "paper-out", ERROR),
        # IPP treats `paused` as a state rather than a fault, but a paused Zebra prints nothing
        # until someone presses Pause, so for the queue it is as stopping as paper out.
        "paused": Reason("paused", "paused", ERROR),
        "head_up": Reason("cover-open", "head-open", ERROR),
        "ribbon_out": Reason("marker-supply-empty", "ribbon-out", ERROR),
        "buffer_full": Reason("other", "buffer-full", WARNING),
        # In communications diagnostics mode (~JD) every byte received is printed as a hex
        # dump, so sending jobs only wastes labels: hold them.
        "diag_mode": Reason("other", "diagnostic-mode", ERROR),
        "corrupt_ram": Reason("other", "corrupt-ram", WARNING),
        "under_temp": Reason("other", "head-too-cold", WARNING),
        "over_temp": Reason("other", "head-too-hot", ERROR),
        "label_waiting": Reason("other", "label-waiting", REPORT),
    }
)

PRINT_MODES: Mapping[str, str] = MappingProxyType(
    {
        "0": "rewind",
        "1": "peel-off",
        "2": "tear-off",
        "3": "cutter",
        "4": "applicator",
        "5": "delayed-cut",
        "6": "linerless-peel",
        "7": "linerless-rewind",
        "8": "partial-cutter",
        "9": "rfid",
        "K": "kiosk",
        "S": "stream",
        "A": "kiosk-cut-stream",
    }
)

# comm settings bits a8 a2 a1 a0 -> baud; codes above 11 are model specific.
BAUD_RATES: Mapping[int, int] = MappingProxyType(
    {0: 110, 1: 300, 2: 600, 3: 1200, 4: 2400, 5: 4800, 6: 9600, 7: 19200,
     8: 28800, 9: 38400, 10: 57600, 11: 14400}
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# ~HQES tables (reference 1.3); masks are on group 1 (nibbles 8..1)

HQES_ERRORS: tuple[tuple[int, Reason], ...] = (
    (0x00000001, Reason("media-empty", "paper-out", ERROR)),
    (0x00000002, Reason("marker-supply-empty", "ribbon-out", ERROR)),
    (0x00000004, Reason("cover-open", "head-open", ERROR)),
    (0x00000008, Reason("other", "cutter-error", ERROR)),
    (0x00000010, Reason("other", "head-too-hot", ERROR)),
    (0x00000020, Reason("other", "motor-too-hot", ERROR)),
    (0x00000040, Reason("other", "head-element-bad", ERROR)),
    (0x00000080, Reason("other", "head-not-detected", ERROR)),
    (0x00000100, Reason("other", "firmware-config-invalid", ERROR)),
    (0x00000200, Reason("other", "head-thermistor-open", ERROR)),
    (0x00001000, Reason("media-jam", "paper-jam", ERROR)),
    (0x00002000, Reason("other", "presenter-error", ERROR)),
    # 0x4000, not 0x400: one JavaScript table disagrees with the guide's nibble table.
    (0x00004000, Reason("other", "paper-feed-error", ERROR)),
    (0x00008000, Reason("other", "paper-path-error", ERROR)),
    # Documented for the KR403, but clients see it on other models too; see HS_REASONS.
    (0x00010000, Reason("paused", "paused", ERROR)),
    (0x00020000, Reason("other", "retract-timeout", ERROR)),
    (0x00040000, Reason("other", "black-mark-calibration-error", ERROR)),
    (0x00080000, Reason("other", "black-mark-not-found", ERROR)),
)

HQES_WARNINGS: tuple[tuple[int, Reason], ...] = (
    (0x00000001, Reason("other", "calibrate-media", WARNING)),
    (0x00000002, Reason("other", "clean-head", WARNING)),
    (0x00000004, Reason("other", "replace-head", WARNING)),
    (0x00000008, Reason("media-low", "paper-near-end", WARNING)),
)

# KR403 sensor states share the warning word; they describe where the paper is, not a problem,
# so they become fields only.
HQES_SENSORS: tuple[tuple[int, str], ...] = (
    (0x00000010, "sensor_paper_before_head"),
    (0x00000020, "sensor_black_mark"),
    (0x00000040, "sensor_paper_after_head"),
    (0x00000080, "sensor_loop_ready"),
    (0x00000100, "sensor_presenter"),
    (0x00000200, "sensor_retract_ready"),
    (0x00000400, "sensor_in_retract"),
    (0x00000800, "sensor_at_bin"),
)

HQES_UNKNOWN_ERROR = Reason("other", "unknown-error", ERROR)
HQES_UNKNOWN_WARNING = Reason("other", "unknown-warning", WARNING)

# ~HI dots per millimetre -> dots per inch
DPMM_TO_DPI: Mapping[int, int] = MappingProxyType({6: 152, 8: 203, 12: 300, 24: 600})

# Every reason this module can emit, for the reasons catalogue test.
ALL_REASONS: frozenset[Reason] = frozenset(
    (
        *HS_REASONS.values(),
        *(r for _, r in HQES_ERRORS),
        *(r for _, r in HQES_WARNINGS),
        HQES_UNKNOWN_ERROR,
        HQES_UNKNOWN_WARNING,
        NO_STATUS_REPLY,
        GARBLED_STATUS_REPLY,
    )
)


# --------------------------------------------------------------------------------------------
# helpers


class _Garbled(ValueError):
    """Raised inside this module only; turned into a garbled-status-reply reason."""


def _dedupe(reasons: list[Reason]) -> list[Reason]:
    return list(dict.fromkeys(reasons))


def _garbled_report(reply: bytes, why: str) -> StatusReport:
    return StatusReport(
        answered=True, reasons=[GARBLED_STATUS_REPLY], fields={"garbled": why}, reply=reply
    )


def _frames(reply: bytes) -> list[bytes]:
    return _FRAME.findall(reply)


# --------------------------------------------------------------------------------------------
# ~HS


def hs_complete(reply: bytes) -> bool:
    return len(_frames(reply)) >= 3


def _parse_value(spec: HsField, raw: str) -> Any:
    value = raw.strip()
    if spec.kind == "flag":
        if value not in ("0", "1"):
            raise _Garbled(f"{spec.name}: flag {raw!r}")
        return value == "1"
    if spec.kind == "char":
        if len(value) != 1 or not value.isalnum():
            raise _Garbled(f"{spec.name}: {raw!r}")
        return value
    # Widths are not enforced: a long label on a 600 dpi head needs more than 4 digits.
    if not (value.isascii() and value.isdigit()):
        raise _Garbled(f"{spec.name}: not a number {raw!r}")
    return "****" if spec.kind == "secret" else int(value)


def _parse_string(specs: tuple[HsField, ...], body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _Garbled("non-ASCII bytes") from exc
    values = text.split(",")
    if len(values) != len(specs):
        raise _Garbled(f"expected {len(specs)} fields, got {len(values)}")
    return {spec.name: _parse_value(spec, raw) for spec, raw in zip(specs, values, strict=True)}


def _comm_settings(bits: int) -> dict[str, Any]:
    baud_code = ((bits >> 5) & 0b1000) | (bits & 0b111)  # a8 a2 a1 a0
    return {
        "baud": BAUD_RATES.get(baud_code),
        "data_bits": 8 if bits & 0x08 else 7,
        "stop_bits": 1 if bits & 0x10 else 2,
        "parity": ("even" if bits & 0x40 else "odd") if bits & 0x20 else "none",
        "handshake": "dtr" if bits & 0x80 else "xon/xoff",
    }


def _function_settings(bits: int) -> dict[str, Any]:
    return {
        "media_type": "continuous" if bits & 0x80 else "die-cut",
        "print_method": "thermal-transfer" if bits & 0x01 else "direct-thermal",
    }


def parse_hs(reply: bytes) -> dict[str, Any]:
    """The ~HS fields by name, plus a few decoded extras. Raises ValueError if unparsable."""
    frames = _frames(reply)
    if len(frames) < len(HS_STRINGS):
        raise _Garbled(f"{len(frames)} of {len(HS_STRINGS)} frames")
    fields: dict[str, Any] = {}
    for specs, body in zip(HS_STRINGS, frames, strict=False):  # frames may run on
        fields.update(_parse_string(specs, body))
    fields["print_mode_name"] = PRINT_MODES.get(fields["print_mode"], "unknown")
    fields["comm"] = _comm_settings(fields["comm_settings"])
    fields["function"] = _function_settings(fields["function_settings"])
    return fields


def decode_hs(reply: bytes) -> StatusReport:
    if not reply:
        # A faulted Zebra may stay silent (reference 1.2), so silence is not "offline".
        return StatusReport(answered=False, reasons=[NO_STATUS_REPLY], reply=reply)
    try:
        fields = parse_hs(reply)
    except _Garbled as exc:
        return _garbled_report(reply, str(exc))
    reasons = [reason for name, reason in HS_REASONS.items() if fields.get(name) is True]
    # Formats still in the receive buffer have not printed: delivery is confirmed only at 0.
    waiting = fields.get("formats_in_buffer")
    return StatusReport(answered=True, reasons=reasons, fields=fields, reply=reply,
                        jobs_in_printer=waiting if isinstance(waiting, int) else None)


def format_hs(**values: Any) -> bytes:
    """A ~HS reply as a printer sends it: the canonical healthy one, with `values` replacing
    fields by name (flags as bool or int). For simulators and tests."""
    defaults: dict[str, Any] = {
        "comm_settings": 30, "label_length_dots": 1245, "function_settings": 0,
        "print_mode": "2", "print_width_mode": 4, "format_while_printing": 1,
        "password": 1234,
    }  # fmt: skip
    unknown = set(values) - {spec.name for specs in HS_STRINGS for spec in specs}
    if unknown:
        raise KeyError(f"unknown ~HS fields: {sorted(unknown)}")
    merged = {**defaults, **values}
    out = bytearray()
    for specs in HS_STRINGS:
        body = ",".join(_format_value(spec, merged.get(spec.name, 0)) for spec in specs)
        out += b"\x02" + body.encode("ascii") + b"\x03\r\n"
    return bytes(out)


def _format_value(spec: HsField, value: Any) -> str:
    if spec.kind == "char":
        return str(value)
    return str(int(value)).zfill(spec.width)


# --------------------------------------------------------------------------------------------
# ~HQES

_HQES_LINE = re.compile(
    rb"(ERRORS|WARNINGS)\s*:\s*([01])\s+([0-9A-Fa-f]{1,8})\s+([0-9A-Fa-f]{1,8})", re.IGNORECASE
)


def hqes_complete(reply: bytes) -> bool:
    start = reply.find(b"\x02")
    return start >= 0 and reply.find(b"\x03", start) >= 0


def _mask_union(table: tuple[tuple[int, Any], ...]) -> int:
    union = 0
    for mask, _ in table:
        union |= mask
    return union


HQES_SENSOR_MASK = _mask_union(HQES_SENSORS)


@dataclass(frozen=True)
class _HqesWord:
    label: str  # as it appears in the reply
    table: tuple[tuple[int, Reason], ...]
    not_reasons: int  # bits that are states, not problems
    unknown: Reason


_HQES_WORDS: tuple[_HqesWord, ...] = (
    _HqesWord("ERRORS", HQES_ERRORS, 0, HQES_UNKNOWN_ERROR),
    _HqesWord("WARNINGS", HQES_WARNINGS, HQES_SENSOR_MASK, HQES_UNKNOWN_WARNING),
)


def _hqes_reasons(word: _HqesWord, flag: bool, group2: int, group1: int) -> list[Reason]:
    reasons = [reason for mask, reason in word.table if group1 & mask]
    known = _mask_union(word.table) | word.not_reasons
    # The flag says "at least one"; if no bit we know explains it, still say something.
    unexplained = group2 != 0 or bool(group1 & ~known) or (flag and group1 == 0)
    return [*reasons, word.unknown] if unexplained else reasons


def decode_hqes(reply: bytes) -> tuple[list[Reason], dict[str, Any]]:
    """Reasons and fields from a ~HQES reply. Warnings are decoded against the warning word
    (LPrint tests them against the error word, reference 7)."""
    if not reply:
        return [NO_STATUS_REPLY], {}
    found = {
        m.group(1).decode().upper(): (m.group(2) == b"1", int(m.group(3), 16), int(m.group(4), 16))
        for m in _HQES_LINE.finditer(reply)
    }
    reasons: list[Reason] = []
    fields: dict[str, Any] = {}
    for word in _HQES_WORDS:
        if word.label not in found:
            reasons.append(GARBLED_STATUS_REPLY)
            continue
        flag, group2, group1 = found[word.label]
        prefix = word.label.lower()
        fields[f"{prefix}_flag"] = flag
        fields[f"{prefix}_group2"] = f"{group2:08X}"
        fields[f"{prefix}_group1"] = f"{group1:08X}"
        reasons += _hqes_reasons(word, flag, group2, group1)
    if "WARNINGS" in found:
        warnings_group1 = found["WARNINGS"][2]
        fields.update({name: bool(warnings_group1 & mask) for mask, name in HQES_SENSORS})
    return _dedupe(reasons), fields


# --------------------------------------------------------------------------------------------
# ~HI

_MEMORY = re.compile(r"^\s*(\d+)\s*([KM])?B?\s*$", re.IGNORECASE)


def hi_complete(reply: bytes) -> bool:
    return bool(_frames(reply))


def _hi_body(reply: bytes) -> str:
    frames = _frames(reply)
    body = frames[0] if frames else reply
    # The SGD form (device.host_identification) has quotes and no STX/ETX.
    return body.decode("ascii", errors="replace").strip().strip('"').strip()


def _memory_kb(text: str) -> int | None:
    # Only trust a size with a unit: one fixture shows a bare 4194304 whose unit is unknown.
    match = _MEMORY.match(text)
    if not match or not match.group(2):
        return None
    number = int(match.group(1))
    return number * 1024 if match.group(2).upper() == "M" else number


def decode_hi(reply: bytes) -> dict[str, Any]:
    """Model, firmware, dpmm/dpi, memory and options from a ~HI reply. Unknown parts are None;
    `garbled` is True when the reply did not have the model,firmware,dpmm shape."""
    result: dict[str, Any] = {
        "model": None, "firmware": None, "dpmm": None, "dpi": None,
        "memory": None, "memory_kb": None, "options": [], "garbled": False,
    }  # fmt: skip
    if not reply:
        return result
    parts = [part.strip() for part in _hi_body(reply).split(",")]
    if len(parts) < 3 or not parts[2].isdigit() or not parts[0]:
        return {**result, "garbled": True}
    dpmm = int(parts[2])
    result.update(model=parts[0], firmware=parts[1] or None, dpmm=dpmm,
                  dpi=DPMM_TO_DPI.get(dpmm))  # fmt: skip
    if len(parts) > 3:
        result.update(memory=parts[3] or None, memory_kb=_memory_kb(parts[3]))
    result["options"] = [part for part in parts[4:] if part]
    return result


# --------------------------------------------------------------------------------------------
# label counter (SGD odometer.total_label_count) and the labels a raw job prints

# The whole reply: one quoted run of digits. Anything else ("?", an error text, noise, two
# answers run together) is not evidence, so it decodes to None rather than to a guess.
_COUNTER_REPLY = re.compile(rb'\s*"(\d{1,12})"\s*')
_MAX_PQ = 99_999_999  # ^PQ's documented range is 1..99,999,999 (reference 1.5)
# Commands whose effect on the label count the bytes do not tell: a recalled (^XF) or stored
# (^DF) format, changed prefix or delimiter characters (the rest would parse differently),
# downloads whose binary payload could read as commands, and commands that feed or print
# labels of their own (~WC configuration label, ~JC/~JL/~JG calibration, ^PH/~PH slew).
_UNSURE = frozenset({b"^XF", b"^DF", b"^CC", b"~CC", b"^CT", b"~CT", b"^CD", b"~CD",
                     b"~DY", b"~DB", b"~DU", b"~DT", b"~DS", b"~DE", b"~WC", b"~JC", b"~JL",
                     b"~JG", b"^PH", b"~PH"})
# Cancel commands: they delete formats still in the buffer, maybe this job's own earlier ones.
_CANCELS = frozenset({b"~JA", b"~JX", b"~JR"})
# Field and graphic commands: a format with none of them is a settings format (`^XA^MD10^XZ`,
# `^XA^HH^XZ`). Whether such a format feeds a blank label is not documented in the reference,
# so a job holding one has no certain count.
_PRINTS = frozenset({b"^FD", b"^FV", b"^SN", b"^GB", b"^GC", b"^GD", b"^GE", b"^GF", b"^GS",
                     b"^XG", b"^IM", b"^IL"})
_PREFIX = re.compile(rb"[\^~]")


def counter_complete(reply: bytes) -> bool:
    return reply.count(b'"') >= 2


def decode_counter(reply: bytes) -> int | None:
    match = _COUNTER_REPLY.fullmatch(reply)
    return int(match.group(1)) if match else None


def _zpl_commands(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """(`^XX`/`~XX` upper-cased, parameters) in order; None when a ^GFB/^GFC binary payload
    is malformed (its announced length is what keeps its bytes from reading as commands)."""
    out: list[tuple[bytes, bytes]] = []
    i = 0
    while (match := _PREFIX.search(data, i)) is not None:
        start = match.start()
        name = data[start:start + 3].upper()
        body = start + 3
        if name == b"^GF" and data[body:body + 1].upper() in (b"B", b"C"):
            head = data[body:body + 64].split(b",", 4)
            if len(head) < 5 or not head[1].strip().isdigit():
                return None
            payload = body + sum(len(part) + 1 for part in head[:4])
            end = payload + int(head[1])
            if end > len(data):
                return None
            out.append((name, data[body:end]))
            i = end
            continue
        following = _PREFIX.search(data, body)
        end = following.start() if following else len(data)
        out.append((name, data[body:end]))
        i = end
    return out


def labels_in_zpl(data: bytes) -> int | None:
    """Labels one copy of `data` prints: each ^XA..^XZ format prints its ^PQ quantity (the first
    parameter, 1 when absent or empty). Control commands outside formats (~HS, ~PS, ~DG...)
    print nothing. None whenever the count is uncertain: see _UNSURE, _CANCELS and _PRINTS, a
    format left open, a ^XA inside a format, two ^PQ in one format, a ^PQ out of range."""
    commands = _zpl_commands(data)
    if commands is None:
        return None
    total = 0
    quantity: int | None = None  # the open format's ^PQ; None outside a format or before ^PQ
    in_format = prints = seen_format = False
    for name, params in commands:
        if name in _UNSURE or (name in _CANCELS and seen_format):
            return None
        if name == b"^XA":
            if in_format:
                return None
            in_format = seen_format = True
            quantity, prints = None, False
        elif not in_format:
            continue  # a stray ^XZ, a download, a status query: no label
        elif name == b"^XZ":
            if not prints:
                return None
            total += 1 if quantity is None else quantity
            in_format = False
        elif name == b"^PQ":
            text = params.split(b",", 1)[0].strip()
            if quantity is not None or (text and not text.isdigit()):
                return None
            quantity = int(text) if text else 1
            if not 1 <= quantity <= _MAX_PQ:
                return None
        elif name in _PRINTS:
            prints = True
    return None if in_format else total


# --------------------------------------------------------------------------------------------
# raw-job warnings: what a Zebra takes but misprints

_FORMAT_START = re.compile(rb"\^XA", re.I)
_HEX_FIELD = re.compile(rb"\^FH", re.I)
_FIELD_DATA = (b"^FD", b"^FV")
_UTF8 = 28  # ^CI28: field data is UTF-8; any other ^CI (^CI0 by default) reads it byte by byte
_SHOWN_CHARS = 24


def _ci(params: bytes) -> int | None:
    text = params.split(b",", 1)[0].strip()
    return int(text) if text.isdigit() else None


def _field_text(params: bytes, escape: bytes | None) -> bytes:
    """Field data as the printer reads it: with `^FH`, `_XX` hex escapes are bytes too."""
    if escape is None:
        return params
    out = bytearray()
    i = 0
    while i < len(params):
        if params[i:i + 1] == escape and re.fullmatch(rb"[0-9A-Fa-f]{2}", params[i + 1:i + 3]):
            out.append(int(params[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(params[i])
            i += 1
    return bytes(out)


def utf8_without_ci28(data: bytes) -> RawWarning | None:
    """The first field whose data is non-ASCII UTF-8 while the format does not select UTF-8
    (`^CI28`): a Zebra reads it in its current code page (^CI0 unless told otherwise) and
    prints each accented letter as two or three wrong characters."""
    if data.isascii() and _HEX_FIELD.search(data) is None:
        return None  # the common case: no byte but ASCII, neither as such nor as ^FH escapes
    commands = _zpl_commands(data)
    if commands is None:
        return None  # a malformed binary graphic: the bytes after it are not sure to be fields
    ci: int | None = None
    escape: bytes | None = None  # ^FH's escape character while a field is open
    for name, params in commands:
        if name == b"^CI":
            ci = _ci(params)
        elif name == b"^FH":
            escape = params[:1] if params[:1] not in (b"", b",") else b"_"
        elif name in _FIELD_DATA:
            text = _field_text(params, escape)
            if ci != _UTF8 and not text.isascii():
                try:
                    shown = text.decode("utf-8")
                except UnicodeDecodeError:
                    continue  # bytes of a code page the format selected: not UTF-8 text
                shown = shown if len(shown) <= _SHOWN_CHARS else shown[:_SHOWN_CHARS] + "..."
                return RawWarning(
                    "zpl-utf8-without-ci28",
                    f"Field data {shown!r} is UTF-8 text with non-ASCII characters, but the job "
                    "does not select UTF-8 (^CI28) before it: the printer would print each "
                    "accented letter as two or three wrong characters.",
                    "Put ^CI28 right after ^XA in every format (^XA^CI28^FO...), or send the "
                    "text in the code page the format selects.")
        elif name == b"^FS":
            escape = None
    return None


class ZplLanguage(Language):
    name: ClassVar[str] = "zpl"
    policy = ZPL_POLICY  # ZPL, SGD and JSON SGD: see drivers/zpl/policy.py

    def sanitize_text(self, text: str) -> bytes:
        """Field data for `^FH^FD<data>^FS` in a `^CI28` (UTF-8) format."""
        return zpl_field(text).encode("utf-8")

    def status_query(self) -> bytes:
        return HS_QUERY

    def status_complete(self, reply: bytes) -> bool:
        return hs_complete(reply)

    def decode_status(self, reply: bytes) -> StatusReport:
        return decode_hs(reply)

    def encode_raster(self, pages: list[Raster], model: Model, options: PrintOptions) -> bytes:
        # One format per page; ^PQ repeats it on the printer, so copies cost no bytes. ^PW and
        # ^LL last only until changed (only ^JUS would save them), and nothing else is set, so
        # the site's own calibration (^LH, ^LS, darkness, media type) stays as it is. Only the
        # page's ink window is sent (see graphics.ink_window): blank paper costs nothing.
        copies = max(1, options.copies)
        out = []
        for page in pages:
            x, y, ink = ink_window(page)
            out.append(b"^XA^PW%d^LL%d^FO%d,%d%s^FS^PQ%d^XZ"
                       % (page.width, page.height, x, y, encode_gf(ink), copies))
        return b"".join(out)

    def identify_query(self) -> bytes:
        return HI_QUERY

    def identify_complete(self, reply: bytes) -> bool:
        return hi_complete(reply)

    def decode_identity(self, reply: bytes) -> dict[str, Any]:
        return decode_hi(reply) if reply else {}

    def counter_query(self) -> bytes:
        return COUNTER_QUERY

    def counter_complete(self, reply: bytes) -> bool:
        return counter_complete(reply)

    def decode_counter(self, reply: bytes) -> int | None:
        return decode_counter(reply)

    def labels_in_raw(self, data: bytes) -> int | None:
        return labels_in_zpl(data)

    def looks_like(self, data: bytes) -> bool:
        """A format start, `^XA`, in any case."""
        return _FORMAT_START.search(data) is not None

    def raw_warnings(self, data: bytes) -> list[RawWarning]:
        found = utf8_without_ci28(data)
        return [found] if found is not None else []

    def config_query(self) -> bytes:
        return b"^XA^HH^XZ"

    def config_complete(self, reply: bytes) -> bool:
        return reply.rstrip().endswith(b"\x03")

    def decode_config(self, reply: bytes) -> dict[str, Any]:
        """`^HH` lines are "value   NAME" (names upper-case, values left-aligned); the framing
        is unverified, so STX/ETX are stripped when present and ignored when not."""
        out: dict[str, Any] = {}
        text = reply.replace(b"\x02", b"").replace(b"\x03", b"").decode("ascii", "replace")
        for line in text.splitlines():
            match = re.match(r"^\s*(\S.*?)\s{2,}([A-Z][A-Z0-9 ./-]+)\s*$", line)
            if match:
                out[match.group(2).strip().lower().replace(" ", "_")] = match.group(1).strip()
        return out

    def test_page(self, printer_id: str, model: Model) -> bytes:
        # ^CI28 selects UTF-8 so the accented line prints as written; ^FH is not needed because
        # the text is ours, not a client's.
        return (
            "^XA^CI28^PW{w}"
            "^FO30,30^A0N,40,40^FDlabeld test label^FS"
            "^FO30,85^A0N,30,30^FDprinter: {pid}^FS"
            "^FO30,125^A0N,30,30^FDÁrvíztűrő tükörfúrógép^FS"
            "^FO30,175^BY2^BCN,80,Y,N,N^FD{code}^FS"
            "^XZ"
        ).format(w=model.print_width_dots, pid=printer_id, code="LABELD-TEST").encode("utf-8")

