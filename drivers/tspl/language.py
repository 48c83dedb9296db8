"""TSC TSPL / TSPL2: raster labels and the one-byte `<ESC>!?` status (reference 3).

A raster page is sent as `SIZE`, `GAP`, `CLS`, one `BITMAP` and `PRINT`, lines ending in CR LF.
TSPL's BITMAP has the opposite polarity to labeld's Raster: **0 = black**, 1 = white. The bytes
are inverted, and the padding bits past the width, 0 in a Raster, become 1 (white) with them;
they are also forced to 1 explicitly, because a black padding column is a stripe down every
label.

Status: `<ESC>!?` (1B 21 3F) is answered with one byte, even in error states; each bit is one
condition and they OR together (`05` = head open and out of paper). `00` is ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

from labeld.contracts import Language, Model, PrintOptions, Raster, Reason, Severity, StatusReport
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
        # range, so jobs are not lost by sending them.
        "temperature_out_of_range": Reason("other", "temperature-out-of-range", WARNING),
    }
)

# Every reason this module can emit, for the reasons catalogue test.
ALL_REASONS: frozenset[Reason] = frozenset(
    (*FLAG_REASONS.values(), NO_STATUS_REPLY, GARBLED_STATUS_REPLY)
)

_INVERT: Final = bytes(255 - b for b in range(256))


# --------------------------------------------------------------------------------------------
# raster


def _mm(dots: int, dpi: int) -> bytes:
    """Dots as millimetres for SIZE, to 0.1 mm (`101.6`, `50`)."""
    text = f"{dots * MM_PER_INCH / dpi:.1f}".rstrip("0").rstrip(".")
    return text.encode("ascii")


def bitmap_data(raster: Raster) -> bytes:
    """The rows in TSPL polarity (0 = black), padding bits past the width set to 1 (white)."""
    inverted = raster.rows.translate(_INVERT)
    spare = raster.row_bytes * 8 - raster.width
    if not spare:
        return inverted
    # One big-integer OR sets the spare low bits of every row's last byte at C speed.
    row_mask = (1 << spare) - 1
    mask = int.from_bytes(row_mask.to_bytes(raster.row_bytes, "big") * raster.height, "big")
    return (int.from_bytes(inverted, "big") | mask).to_bytes(len(inverted), "big")


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


class TsplLanguage(Language):
    name: ClassVar[str] = "tspl"

    def status_query(self) -> bytes:
        return STATUS_QUERY

    def status_complete(self, reply: bytes) -> bool:
        return len(reply) >= 1

    def decode_status(self, reply: bytes) -> StatusReport:
        return decode_status_byte(reply)

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
