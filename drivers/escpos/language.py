"""ESC/POS (Epson TM and compatibles): the status side of the language driver.

Status is polled with the four real-time `DLE EOT n` queries, which the printer answers even
while offline, one unframed byte each. The fixed bits of each byte (reference 2.1) are what
tell a status byte from noise, flow control or an unsolicited ASB block, so every byte is
checked before its bits are believed.

Bit layouts are module-level tables shared by the DLE EOT and ASB decoders: both produce the
same named flags, and one table turns flags into reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from labeld.contracts import (Language, Model, PrintOptions, Raster, Reason, Receipt, ReceiptLine,
                              Severity, StatusReport)
from labeld.drivers.escpos.policy import ESCPOS_POLICY, escpos_text
from labeld.drivers.escpos.raster import CUT_FEED_PARTIAL, INIT, crop_width, encode_gs_v0, feed
from labeld.drivers.escpos.receipt import encode_receipt
from labeld.reasons import GARBLED_STATUS_REPLY, NO_STATUS_REPLY

ERROR, WARNING, REPORT = Severity.ERROR, Severity.WARNING, Severity.REPORT

DLE_EOT_QUERY = bytes.fromhex("10 04 01 10 04 02 10 04 03 10 04 04")
DLE_EOT_REPLY_BYTES = 4

XON, XOFF = 0x11, 0x13
# Fixed-bit rules (reference 2.1) as (mask, value): byte & mask == value.
DLE_EOT_RULE = (0x93, 0x12)  # 0xx1xx10
ASB_FIRST_RULE = (0x93, 0x10)  # 0xx1xx00
ASB_REST_RULE = (0x90, 0x00)  # 0xx0xxxx
GS_I_RULE = (0x90, 0x00)  # 0xx0xxxx


def _fits(byte: int, rule: tuple[int, int]) -> bool:
    mask, value = rule
    return byte & mask == value


# (byte index, mask, flag name): the flag is set when *all* bits of the mask are set, since
# the paper sensors report each condition on a pair of bits.
BitTable = tuple[tuple[int, int, str], ...]

DLE_EOT_BITS: BitTable = (
    (0, 0x04, "drawer_pin3_high"),
    (0, 0x08, "offline"),
    # Bits 5 and 6 of n=1 are reserved on older models and clones: fields only, never reasons.
    (0, 0x20, "waiting_online_recovery"),
    (0, 0x40, "feed_button_pressed"),
    (1, 0x04, "cover_open"),
    (1, 0x08, "paper_feeding_by_button"),
    (1, 0x20, "paper_end_stop"),
    (1, 0x40, "error_occurred"),  # the cause is in n=3
    (2, 0x04, "mechanical_error"),
    (2, 0x08, "autocutter_error"),
    (2, 0x20, "unrecoverable_error"),
    (2, 0x40, "auto_recoverable_error"),
    (3, 0x0C, "paper_near_end"),
    (3, 0x60, "paper_end"),
)

ASB_BITS: BitTable = (
    (0, 0x04, "drawer_pin3_high"),
    (0, 0x08, "offline"),
    (0, 0x20, "cover_open"),
    (0, 0x40, "paper_feeding_by_button"),
    (1, 0x01, "waiting_online_recovery"),
    (1, 0x02, "feed_button_pressed"),
    (1, 0x04, "mechanical_error"),
    (1, 0x08, "autocutter_error"),
    (1, 0x20, "unrecoverable_error"),
    (1, 0x40, "auto_recoverable_error"),
    (2, 0x03, "paper_near_end"),
    (2, 0x0C, "paper_end"),
)

FLAG_REASONS: Mapping[str, Reason] = MappingProxyType(
    {
        "cover_open": Reason("cover-open", "cover-open", ERROR),
        "paper_end_stop": Reason("media-empty", "paper-out", ERROR),
        "paper_end": Reason("media-empty", "paper-out", ERROR),
        "paper_near_end": Reason("media-low", "paper-near-end", WARNING),
        "autocutter_error": Reason("other", "cutter-error", ERROR),
        "unrecoverable_error": Reason("other", "unrecoverable-error", ERROR),
        "auto_recoverable_error": Reason("other", "recoverable-error", WARNING),
        "mechanical_error": Reason("other", "mechanical-error", ERROR),
        # Offline only while the button is held; says why, so no "offline" error on top.
        "paper_feeding_by_button": Reason("other", "paper-feeding", REPORT),
    }
)

PRINTER_OFFLINE = Reason("offline-report", "printer-offline", ERROR)
PAPER_OUT = FLAG_REASONS["paper_end"]
PAPER_NEAR_END = FLAG_REASONS["paper_near_end"]

# Every reason this module can emit, for the reasons catalogue test.
ALL_REASONS: frozenset[Reason] = frozenset(
    (*FLAG_REASONS.values(), PRINTER_OFFLINE, NO_STATUS_REPLY, GARBLED_STATUS_REPLY)
)

# GS I n (reference 2.5): n -> field name of the text reply `5F text 00`
GS_I_TEXT: Mapping[int, str] = MappingProxyType(
    {65: "firmware", 66: "maker", 67: "model", 68: "serial", 69: "font"}
)
GS_I_BYTE: Mapping[int, str] = MappingProxyType(
    {1: "model_id", 49: "model_id", 2: "type_id", 50: "type_id", 3: "rom_version_id",
     51: "rom_version_id"}
)  # fmt: skip
GS_I_TYPE_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "multibyte"),
    (0x02, "autocutter"),
    (0x04, "customer_display"),
)


# --------------------------------------------------------------------------------------------
# splitting a reply into status bytes, ASB blocks and flow control


@dataclass(frozen=True)
class _Split:
    status: bytes  # candidate DLE EOT replies, in arrival order (not yet validated)
    asb: tuple[bytes, ...]  # complete unsolicited ASB blocks


def _asb_at(reply: bytes, i: int) -> bool:
    block = reply[i : i + 4]
    return (
        len(block) == 4
        and _fits(block[0], ASB_FIRST_RULE)
        and all(_fits(b, ASB_REST_RULE) for b in block[1:])
    )


def _asb_pending(reply: bytes, i: int) -> bool:
    # The start of an ASB block still arriving: not yet a status byte nor garbage.
    tail = reply[i:]
    return (
        len(tail) < 4
        and _fits(tail[0], ASB_FIRST_RULE)
        and all(_fits(b, ASB_REST_RULE) for b in tail[1:])
    )


def _split(reply: bytes) -> _Split:
    # A printer with ASB enabled (by other POS software) may push a block at any time, and a
    # serial line may carry XON/XOFF; neither is an answer to DLE EOT. The fixed bits make the
    # three kinds disjoint, so setting them aside cannot swallow a real status byte.
    status = bytearray()
    asb: list[bytes] = []
    i = 0
    while i < len(reply):
        byte = reply[i]
        if byte in (XON, XOFF):
            i += 1
        elif _asb_at(reply, i):
            asb.append(reply[i : i + 4])
            i += 4
        elif _asb_pending(reply, i):
            break
        else:
            status.append(byte)
            i += 1
    return _Split(bytes(status), tuple(asb))


# --------------------------------------------------------------------------------------------
# flags -> reasons


def _flags(data: bytes, table: BitTable) -> dict[str, bool]:
    return {name: data[index] & mask == mask for index, mask, name in table}


def _reasons(flags: Mapping[str, bool]) -> list[Reason]:
    named = (FLAG_REASONS[name] for name, on in flags.items() if on and name in FLAG_REASONS)
    reasons = list(dict.fromkeys(named))
    if PAPER_OUT in reasons and PAPER_NEAR_END in reasons:
        reasons.remove(PAPER_NEAR_END)  # near end is implied by out and only adds noise
    # "Offline" is the least specific thing to say: only when nothing else explains it.
    explained = any(r is not PAPER_NEAR_END for r in reasons)
    if flags.get("offline") and not explained:
        reasons.append(PRINTER_OFFLINE)
    return reasons


def _hex(data: bytes) -> str:
    return data.hex(" ").upper()


def _garbled(reply: bytes, why: str, fields: dict[str, Any] | None = None) -> StatusReport:
    return StatusReport(
        answered=True,
        reasons=[GARBLED_STATUS_REPLY],
        fields={**(fields or {}), "garbled": why},
        reply=reply,
    )


# --------------------------------------------------------------------------------------------
# DLE EOT


def dle_eot_complete(reply: bytes) -> bool:
    return len(_split(reply).status) >= DLE_EOT_REPLY_BYTES


def decode_dle_eot(reply: bytes) -> StatusReport:
    split = _split(reply)
    extra: dict[str, Any] = {"asb_blocks": [_hex(b) for b in split.asb]} if split.asb else {}
    if not split.status:
        if split.asb:
            # No answer to DLE EOT, but the printer volunteered its full status.
            return _with_reply(decode_asb(split.asb[-1]), reply, extra)
        # Answers the connection, not DLE EOT: most likely no back channel or another
        # emulation, which says nothing about paper or covers, hence a warning.
        return StatusReport(answered=False, reasons=[NO_STATUS_REPLY], fields=extra, reply=reply)
    data = split.status[:DLE_EOT_REPLY_BYTES]
    fields = {**extra, **{f"dle_eot_{n}": f"{b:02X}" for n, b in enumerate(data, start=1)}}
    if len(data) < DLE_EOT_REPLY_BYTES:
        return _garbled(reply, f"{len(data)} of {DLE_EOT_REPLY_BYTES} status bytes", fields)
    bad = [n for n, b in enumerate(data, start=1) if not _fits(b, DLE_EOT_RULE)]
    if bad:
        return _garbled(reply, f"fixed bits wrong in reply to n={bad}", fields)
    return _decoded(data, DLE_EOT_BITS, fields, reply)


def _decoded(data: bytes, table: BitTable, fields: dict[str, Any], reply: bytes) -> StatusReport:
    flags = _flags(data, table)
    return StatusReport(True, _reasons(flags), {**fields, **flags}, reply)


def _with_reply(report: StatusReport, reply: bytes, fields: dict[str, Any]) -> StatusReport:
    return StatusReport(report.answered, report.reasons, {**fields, **report.fields}, reply)


# --------------------------------------------------------------------------------------------
# ASB and GS I


def decode_asb(block: bytes) -> StatusReport:
    """Decode one 4-byte Automatic Status Back block (reference 2.4)."""
    if not block:
        return StatusReport(answered=False, reasons=[NO_STATUS_REPLY], reply=block)
    fields: dict[str, Any] = {"asb": _hex(block[:4])}
    if len(block) < 4:
        return _garbled(block, f"{len(block)} of 4 ASB bytes", fields)
    if not _asb_at(block, 0):
        return _garbled(block, "fixed bits wrong in ASB block", fields)
    return _decoded(block[:4], ASB_BITS, fields, block)


def gs_i_query(n: int) -> bytes:
    return bytes((0x1D, 0x49, n))


def decode_gs_i(n: int, reply: bytes) -> dict[str, Any]:
    """Decode the reply to `GS I n` (printer ID). Always has `n`, `raw` and `garbled`."""
    result: dict[str, Any] = {"n": n, "raw": _hex(reply), "garbled": False}
    if n in GS_I_TEXT:
        return {**result, **_gs_i_text(n, reply)}
    if n in GS_I_BYTE:
        return {**result, **_gs_i_byte(n, reply)}
    return {**result, "garbled": True}


def _gs_i_text(n: int, reply: bytes) -> dict[str, Any]:
    start = reply.find(b"\x5f")
    end = reply.find(b"\x00", start + 1) if start >= 0 else -1
    if end < 0:
        return {"garbled": True}
    text = reply[start + 1 : end].decode("ascii", errors="replace").strip()
    return {GS_I_TEXT[n]: text}


def _gs_i_byte(n: int, reply: bytes) -> dict[str, Any]:
    if len(reply) != 1 or not _fits(reply[0], GS_I_RULE):
        return {"garbled": True}
    value = reply[0]
    name = GS_I_BYTE[n]
    result: dict[str, Any] = {name: value}
    if name == "type_id":
        result.update({flag: bool(value & mask) for mask, flag in GS_I_TYPE_BITS})
    return result


# --------------------------------------------------------------------------------------------


# What only ESC/POS sends: ESC @ (initialize, how every ESC/POS job starts), GS V (cut) and
# GS v 0 (raster image). Enough to tell a receipt sent to a label printer.
_DISTINCTIVE = (b"\x1b@", b"\x1dV", b"\x1dv0")


class EscposLanguage(Language):
    name: ClassVar[str] = "escpos"
    policy = ESCPOS_POLICY  # see drivers/escpos/policy.py

    def looks_like(self, data: bytes) -> bool:
        return any(command in data for command in _DISTINCTIVE)

    def sanitize_text(self, text: str) -> bytes:
        """A text line (LF ends it) in code page cp852 (`ESC t 18`), with no control bytes."""
        return escpos_text(text)

    def status_query(self) -> bytes:
        return DLE_EOT_QUERY

    def status_complete(self, reply: bytes) -> bool:
        return dle_eot_complete(reply)

    def decode_status(self, reply: bytes) -> StatusReport:
        return decode_dle_eot(reply)

    def encode_raster(self, pages: list[Raster], model: Model, options: PrintOptions) -> bytes:
        # Copies are collated (the whole job again), like a second receipt from the till: ESC/POS
        # has no repeat command, so the bytes are repeated either way.
        finish = feed(options.feed_dots)
        if options.cut and model.cutter:
            # Function B feeds the last printed line past the cutter before cutting, so the
            # bottom of the receipt is not cut off; partial cut, so it does not fall down.
            finish += CUT_FEED_PARTIAL
        job = b"".join(encode_gs_v0(crop_width(page, model.print_width_dots)) + finish
                       for page in pages)
        return INIT + job * max(1, options.copies)

    def encode_receipt(self, receipt: Receipt, model: Model,
                       draw: Callable[[ReceiptLine], Raster]) -> bytes:
        """Text from the printer's fonts in the right code page (drivers/escpos/receipt.py)."""
        return encode_receipt(receipt, model, draw)

    # Maker, model, firmware: text replies (5F ... 00), answered by Epson and most clones; a
    # printer in another emulation (Star line mode) stays silent, which the self-test reports.
    IDENTITY_FIELDS = (66, 67, 65)

    def identify_query(self) -> bytes:
        return b"".join(gs_i_query(n) for n in self.IDENTITY_FIELDS)

    def identify_complete(self, reply: bytes) -> bool:
        return reply.count(b"\x00") >= len(self.IDENTITY_FIELDS)

    def decode_identity(self, reply: bytes) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n, block in zip(self.IDENTITY_FIELDS, reply.split(b"\x00"), strict=False):
            decoded = decode_gs_i(n, block + b"\x00")
            out.update({k: v for k, v in decoded.items() if k not in ("n", "raw", "garbled")})
        return out

    def config_query(self) -> bytes:
        # Automatic Status Back on (all four items) makes the printer send its 4-byte status
        # block at once; switched off again straight after, so later replies stay plain.
        return b"\x1da\x0f\x1da\x00"

    def config_complete(self, reply: bytes) -> bool:
        return len(reply) >= 4

    def decode_config(self, reply: bytes) -> dict[str, Any]:
        if len(reply) < 4:
            return {}
        report = decode_asb(reply[:4])
        return {"asb": reply[:4].hex(" "), **{f"asb_{k}": v for k, v in report.fields.items()},
                "asb_reasons": [r.code for r in report.reasons]}

    def test_page(self, printer_id: str, model: Model) -> bytes:
        # Plain ASCII: the code page of an unknown receipt printer is not ours to guess here.
        lines = ["labeld test receipt", f"printer: {printer_id}", f"model: {model.id}",
                 "-" * 32, "Arvizturo tukorfurogep"]
        body = b"".join(line.encode("ascii") + b"\n" for line in lines)
        return b"\x1b@" + b"\x1ba\x01" + body + b"\x1ba\x00" + b"\n\n\n" + b"\x1dV\x42\x00"

