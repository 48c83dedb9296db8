"""TSC TSPL / TSPL2: raster labels and the one-byte `<ESC>!?` status (reference 3).

A raster page is sent as `SIZE`, `GAP`, `CLS`, one `BITMAP` and `PRINT`, lines ending in CR LF.
TSPL's BITMAP has the opposite polarity to labeld's Raster: **0 = black**, 1 = white. The bytes
are inverted, and the padding bits past the width, 0 in a Raster, become 1 (white) with them;
they are also forced to 1 explicitly, because a black padding column is a stripe down every
label. Immediate commands (`<ESC>!R` reset, `<ESC>!?`, `<ESC>!P`...) are acted on wherever
they appear, BITMAP data included, so the data never holds `ESC !`: see `bitmap_data`.

Status: `<ESC>!?` (1B 21 3F) is answered with one byte, even in error states; each bit is one
condition and they OR together (`05` = head open and out of paper). `00` is ready.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

import numpy as np

from labeld.contracts import Language, Model, PrintOptions, Raster, Reason, Severity, StatusReport
from labeld.drivers.tspl.policy import TSPL_POLICY
from labeld.reasons import GARBLED_STATUS_REPLY, NO_STATUS_REPLY

ERROR, WARNING = Severity.ERROR, Severity.WARNING

STATUS_QUERY: Final = b"\x1b!?"
CRLF: Final = b"\r\n"
GAP_MM: Final = 2  # a common gap; SIZE/GAP describe the media, the site may use others
MM_PER_INCH: Final = 25.4

# <ESC>!? reply bits (reference 3): (mask, field name)
STATUS_BITS: tuple[tuple[int, str], ...] = (
    (0x01, "head_open"),
    (0x02, "paper_jam"),
    (0x04, "paper_out"),
    (0x08, "ribbon_out"),
    (0x10, "paused"),
    (0x20, "printing"),
    (0x40, "cover_open"),
    (0x80, "temperature_out_of_range"),
)

# "printing" is a state, not a problem: a field only.
FLAG_REASONS: Mapping[str, Reason] = MappingProxyType(
    {
        "head_open": Reason("cover-open", "head-open", ERROR),
        "paper_jam": Reason("media-jam", "paper-jam", ERROR),
        "paper_out": Reason("media-empty", "paper-out", ERROR),
        "ribbon_out": Reason("marker-supply-empty", "ribbon-out", ERROR),
        # As with Zebra: a paused printer prints nothing until someone presses its button.
        "paused": Reason("paused", "paused", ERROR),
        "cover_open": Reason("cover-open", "cover-open", ERROR),
        # The room, not the head (an optional sensor): the printer waits until it is back in
        # range, printing nothing meanwhile. An error, not a warning: a job sent now would sit
        # in the printer while its status reads "no fault", and be confirmed unprinted.
        "temperature_out_of_range": Reason("other", "temperature-out-of-range", ERROR),
    }
)

# Every reason this module can emit, for the reasons catalogue test.
ALL_REASONS: frozenset[Reason] = frozenset(
    (*FLAG_REASONS.values(), NO_STATUS_REPLY, GARBLED_STATUS_REPLY)
)

# Every TSPL immediate command is ESC ! and a letter or `?` (reference 3; labeld's raw-command
# policy lists <ESC>!R and <ESC>!P among them). The pair is broken whatever follows it, since
# firmware versions differ in which letters they know.
ESC: Final = 0x1B
BANG: Final = 0x21


# --------------------------------------------------------------------------------------------
# raster


def _mm(dots: int, dpi: int) -> bytes:
    """Dots as millimetres for SIZE, to 0.1 mm (`101.6`, `50`)."""
    text = f"{dots * MM_PER_INCH / dpi:.1f}".rstrip("0").rstrip(".")
    return text.encode("ascii")


def bitmap_data(raster: Raster) -> bytes:
    """The rows in TSPL polarity (0 = black), padding bits past the width set to 1 (white),
    with no `ESC !` in them (`break_immediate_commands`)."""
    rows = np.frombuffer(raster.rows, np.uint8).reshape(raster.height, raster.row_bytes)
    data = np.bitwise_not(rows)
    spare = raster.row_bytes * 8 - raster.width
    if spare:
        data[:, -1] |= (1 << spare) - 1
    return break_immediate_commands(data.reshape(-1), raster.row_bytes, spare)


def break_immediate_commands(data: np.ndarray, row_bytes: int, spare: int) -> bytes:
    """BITMAP data (TSPL polarity, `spare` padding bits per row) as bytes, with one dot changed
    wherever it would read `ESC !`; unchanged when it never does.

    The header before the data ends in `,` and CR LF follows it, so the data bytes are the only
    place the pair could appear; rows follow each other without a break, so it can straddle a
    row end. Where it appears, the dot changed is, in this order of preference:

    * bit 0 of the `!` (0x21 -> 0x20) when that byte ends a row with padding: a padding dot,
      past the label's width, white (1) in both bytes, so never part of the label;
    * bit 0 of the ESC (0x1B -> 0x1A) when the ESC ends such a row and `!` starts the next;
    * otherwise bit 5 of the `!` (0x21 -> 0x01): 0x21 is 00100001 with 1 = white, and bit 5 is
      a one-dot white gap between black dots on both sides. Filling a pinhole is the least
      visible change, and no dot of a barcode (modules of 2 dots or more at labeld's default
      sizes) or of its quiet zone has black neighbours on both sides, so it is never a
      barcode's dot. It is in the second byte because changing the ESC could not be so chosen
      and would leave the `!`.

    None of the new bytes is ESC or `!`, so a change never makes another pair, and pairs cannot
    overlap (ESC is not `!`): one dot per would-be command, all changed at once."""
    sent = data.tobytes()
    if sent.find(b"\x1b") < 0:  # most labels: white is FF, black 00, ESC is 00011011
        return sent
    esc = np.flatnonzero(data[:-1] == ESC)
    first = esc[data[esc + 1] == BANG]
    if first.size == 0:
        return sent
    second = first + 1
    out = data.copy()
    at, flip = second, np.full(second.shape, 0x20, np.uint8)
    if spare:
        row_end = np.zeros(len(data), bool)  # a mask, not `%`: numpy divides int64 one by one
        row_end[row_bytes - 1::row_bytes] = True
        second_ends_row = row_end[second]
        first_ends_row = row_end[first] & ~second_ends_row
        at = np.where(first_ends_row, first, second)
        flip[second_ends_row | first_ends_row] = 0x01
    out[at] ^= flip
    return out.tobytes()


def encode_page(raster: Raster, copies: int = 1) -> bytes:
    """SIZE, GAP, CLS, BITMAP (mode 0 = overwrite) and PRINT for one page."""
    return b"".join((
        b"SIZE %s mm,%s mm" % (_mm(raster.width, raster.dpi), _mm(raster.height, raster.dpi)),
        CRLF, b"GAP %d mm,0" % GAP_MM,
        CRLF, b"CLS",
        CRLF, b"BITMAP 0,0,%d,%d,0," % (raster.row_bytes, raster.height), bitmap_data(raster),
        CRLF, b"PRINT 1,%d" % max(1, copies),
        CRLF,
    ))


# --------------------------------------------------------------------------------------------
# status


def decode_status_byte(reply: bytes) -> StatusReport:
    if not reply:
        return StatusReport(answered=False, reasons=[NO_STATUS_REPLY], reply=reply)
    if len(reply) != 1:
        # The answer is exactly one byte; more means noise or another protocol answering.
        return StatusReport(answered=True, reasons=[GARBLED_STATUS_REPLY],
                            fields={"garbled": f"{len(reply)} bytes, expected 1"}, reply=reply)
    value = reply[0]
    flags = {name: bool(value & mask) for mask, name in STATUS_BITS}
    reasons = [FLAG_REASONS[name] for name, on in flags.items() if on and name in FLAG_REASONS]
    fields: dict[str, Any] = {"status": f"{value:02X}", **flags}
    return StatusReport(answered=True, reasons=reasons, fields=fields, reply=reply)


# --------------------------------------------------------------------------------------------


def _tspl_text(text: str) -> bytes:
    # A TSPL string is double-quoted; keep it printable ASCII without quotes.
    return "".join(c if " " <= c <= "~" and c != '"' else "?" for c in text).encode("ascii")


# A TSPL job: a line `SIZE <width>` (the label size) or `PRINT <sets>` (what prints it).
_JOB_LINE = re.compile(rb"^[ \t]*(?:SIZE|PRINT)[ \t]+[0-9]", re.M)


class TsplLanguage(Language):
    name: ClassVar[str] = "tspl"
    policy = TSPL_POLICY  # see drivers/tspl/policy.py

    def looks_like(self, data: bytes) -> bool:
        if b"SIZE" not in data and b"PRINT" not in data:
            return False  # the usual answer, found without a regular expression
        return _JOB_LINE.search(data) is not None

    def sanitize_text(self, text: str) -> bytes:
        """The inside of a double-quoted TSPL string: printable ASCII, no quote."""
        return _tspl_text(text)

    def status_query(self) -> bytes:
        return STATUS_QUERY

    def status_complete(self, reply: bytes) -> bool:
        return len(reply) >= 1

    def decode_status(self, reply: bytes) -> StatusReport:
        return decode_status_byte(reply)

    def counter_query(self) -> bytes | None:
        """None: TSPL names no lifetime count of printed labels. The reference's only
        counter-like query, `~!@` (mileage), reports printed distance, which moves by each
        label's length, not by labels, and its reply format is unverified. It cannot confirm a
        job's labels one by one, so TSPL jobs are confirmed by other evidence."""
        return None

    def encode_raster(self, pages: list[Raster], model: Model, options: PrintOptions) -> bytes:
        # PRINT 1,n prints n copies of the page from one download, so copies cost no bytes.
        return b"".join(encode_page(page, options.copies) for page in pages)

    def test_page(self, printer_id: str, model: Model) -> bytes:
        # 50 x 30 mm fits the most common small labels. TSC printers centre the image on the
        # head for the SIZE width, so on wider media the text still lands on the label.
        width_dots = min(model.print_width_dots, round(50 * model.dpi / MM_PER_INCH))
        height_dots = round(30 * model.dpi / MM_PER_INCH)
        lines = (
            b'TEXT 16,16,"3",0,1,1,"labeld test label"',
            b'TEXT 16,56,"1",0,1,1,"printer: %s"' % _tspl_text(printer_id[:40]),
            b'TEXT 16,76,"1",0,1,1,"model: %s"' % _tspl_text(model.id[:40]),
            b'BARCODE 16,100,"128",60,1,0,2,2,"LABELD-TEST"',
        )
        return CRLF.join((
            b"SIZE %s mm,%s mm" % (_mm(width_dots, model.dpi), _mm(height_dots, model.dpi)),
            b"GAP %d mm,0" % GAP_MM,
            b"CLS",
            *lines,
            b"PRINT 1,1",
            b"",
        ))
