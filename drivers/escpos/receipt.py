"""ESC/POS receipts as text: the printer's own fonts, code pages, barcodes and QR.

A laid-out receipt (`labeld.contracts.Receipt`, cells of Font A) becomes text commands:

* **Code pages.** Each text line is written in one of the model's tables (`ESC t n`, numbers
  from its profile, python-escpos's capability database): the table already selected when it
  holds every character of the line, else the first that does, CP852 and Windows-1250 (both
  have ő and ű) before the others, so `ESC t` is sent only when a line needs another table.
  A line no single table holds is written in runs, switching tables within the line. After
  `ESC @` the selected table is the printer's power-on setting, which labeld cannot know, so the
  first line with a character outside ASCII always selects its table.
* **Nothing is substituted.** A character that no table holds is never sent as `?`: that line
  is drawn (`draw`, the preview's own dots) and sent as a `GS v 0` image. What nothing can draw
  is a 422 from the drawing (`unprintable-character`).
* **Styles** with `ESC !` (Font A, emphasized, double height, double width, underline) and
  `GS B` (white on black), sent only when they change; alignment with `ESC a`; line spacing
  `ESC 3 30`, the layout's `LINE_DOTS`.
* **Barcodes and QR** with `GS k` (function B) and `GS ( k` where the profile says the model
  has them, else as images; data that would hold a real-time command (`DLE EOT`...) is drawn
  instead, since the printer acts on those even inside a command's data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labeld.contracts import (CodePage, Model, Raster, Receipt, ReceiptBarcode, ReceiptCut,
                              ReceiptDrawer, ReceiptFeed, ReceiptImage, ReceiptLine, ReceiptQr,
                              ReceiptText, TextProfile, TextStyle)
from labeld.drivers.escpos.raster import INIT, encode_gs_v0

LINE_SPACING = 30  # ESC 3 n, dots: a 24-dot cell and 6 dots of air (the layout's LINE_DOTS)
PREFERRED = ("CP852", "CP1250")  # both hold every Hungarian letter, ő and ű included
# Without a profile: Epson's numbers, which the generic models and most clones use.
EPSON_PAGES = (CodePage(0, "CP437", "cp437"), CodePage(18, "CP852", "cp852"),
               CodePage(45, "CP1250", "cp1250"))
GS_K = {"upca": 65, "ean13": 67, "ean8": 68, "code39": 69, "code128": 73}
JUSTIFY = {"left": 0, "center": 1, "right": 2}
REALTIME = (b"\x10\x04", b"\x10\x05", b"\x10\x14")


def esc_t(page: CodePage) -> bytes:
    return b"\x1bt" + bytes((page.table,))


def encode_in(text: str, page: CodePage) -> bytes | None:
    """`text` in `page`, or None when the table lacks a character (or would send a control
    byte for it: some codecs map symbols onto 0x00-0x1F)."""
    try:
        data = text.encode(page.encoding)
    except (UnicodeEncodeError, LookupError):
        return None
    if any(b < 0x20 or b == 0x7F for b in data):
        return None
    return data


def ordered(pages: Iterable[CodePage]) -> list[CodePage]:
    """The profile's tables, the Hungarian ones first."""
    pages = list(pages)
    first = [p for name in PREFERRED for p in pages if p.name == name]
    return first + [p for p in pages if p not in first]


@dataclass
class _State:
    page: CodePage | None = None  # None: unknown (the printer's power-on table)
    mode: int = 0  # ESC ! n
    inverse: bool = False
    justify: int = 0


def text_line(text: str, pages: list[CodePage], state: _State) -> bytes | None:
    """The bytes that print `text` (without LF), switching tables as little as possible; None
    when a character is in none of `pages`."""
    if text.isascii():
        return text.encode("ascii")
    candidates = ([state.page] if state.page else []) + [p for p in pages if p != state.page]
    for page in candidates:
        data = encode_in(text, page)
        if data is not None:
            return _switch(page, state) + data
    out = bytearray()  # no one table holds the line: runs in several
    for char in text:
        if char.isascii():
            out += char.encode("ascii")
            continue
        for page in candidates:
            data = encode_in(char, page)
            if data is not None:
                out += _switch(page, state) + data
                break
        else:
            return None
    return bytes(out)


def _switch(page: CodePage, state: _State) -> bytes:
    if state.page == page:
        return b""
    state.page = page
    return esc_t(page)


def style_mode(style: TextStyle) -> int:
    return ((0x08 if style.bold else 0) | (0x10 if style.double_height else 0)
            | (0x20 if style.double_width else 0) | (0x80 if style.underline else 0))


def _settings(state: _State, mode: int, inverse: bool, justify: int) -> bytes:
    out = bytearray()
    if mode != state.mode:
        out += b"\x1b!" + bytes((mode,))
        state.mode = mode
    if inverse != state.inverse:
        out += b"\x1dB" + bytes((int(inverse),))
        state.inverse = inverse
    if justify != state.justify:
        out += b"\x1ba" + bytes((justify,))
        state.justify = justify
    return bytes(out)


def _image(raster: Raster, justify: int, state: _State) -> bytes:
    return _settings(state, 0, False, justify) + encode_gs_v0(raster)


def _barcode_data(line: ReceiptBarcode) -> bytes | None:
    data = line.data
    if not data.isascii() or not data.isprintable() or len(data) > 253:
        return None
    if line.symbology == "code128":
        return b"{B" + data.replace("{", "{{").encode("ascii")
    return data.encode("ascii")


def barcode(line: ReceiptBarcode, state: _State) -> bytes | None:
    data = _barcode_data(line)
    if data is None or line.symbology not in GS_K or not 1 <= line.height_dots <= 255:
        return None
    return (_settings(state, 0, False, JUSTIFY[line.align])
            + b"\x1dH" + bytes((2 if line.human_readable else 0,))  # HRI below the bars
            + b"\x1df\x00"  # HRI in Font A
            + b"\x1dh" + bytes((line.height_dots,)) + b"\x1dw" + bytes((line.module_dots,))
            + b"\x1dk" + bytes((GS_K[line.symbology], len(data))) + data)


def qr(line: ReceiptQr, state: _State) -> bytes | None:
    data = line.data.encode("utf-8")
    if len(data) > 7089 or any(command in data for command in REALTIME) or not data:
        return None
    store = len(data) + 3
    ecc = {"L": 48, "M": 49, "Q": 50, "H": 51}[line.ecc]
    return (_settings(state, 0, False, JUSTIFY[line.align])
            + b"\x1d(k\x04\x001A2\x00"  # model 2
            + b"\x1d(k\x03\x001C" + bytes((line.module_dots,))
            + b"\x1d(k\x03\x001E" + bytes((ecc,))
            + b"\x1d(k" + store.to_bytes(2, "little") + b"1P0" + data
            + b"\x1d(k\x03\x001Q0")


def encode_receipt(receipt: Receipt, model: Model,
                   draw: Callable[[ReceiptLine], Raster]) -> bytes:
    profile: TextProfile | None = model.text
    pages = ordered(profile.code_pages if profile else EPSON_PAGES)
    native = profile.barcodes if profile else frozenset(GS_K)
    has_qr = profile.qr if profile else True
    state = _State()
    out = bytearray(INIT + b"\x1b3" + bytes((LINE_SPACING,)))
    for line in receipt.lines:
        if isinstance(line, ReceiptText):
            data = text_line(line.text, pages, state)
            if data is None:  # a character no table holds: this line as dots
                out += _image(draw(line), 0, state)
                continue
            out += _settings(state, style_mode(line.style), line.style.inverse,
                             JUSTIFY[line.align]) + data + b"\n"
        elif isinstance(line, ReceiptBarcode):
            sent = barcode(line, state) if line.symbology in native else None
            out += sent if sent is not None else _image(draw(line), 0, state)
        elif isinstance(line, ReceiptQr):
            sent = qr(line, state) if has_qr else None
            out += sent if sent is not None else _image(draw(line), 0, state)
        elif isinstance(line, ReceiptImage):
            out += _image(line.raster, JUSTIFY[line.align], state)
        elif isinstance(line, ReceiptFeed):
            out += b"\x1bd" + bytes((line.lines,))
        elif isinstance(line, ReceiptCut):
            if model.cutter:
                # function B: feed the last line past the blade first, then cut
                out += b"\x1dV" + (b"B" if line.partial else b"A") + b"\x00"
            else:
                out += b"\x1bd\x04"  # no cutter: feed it out to tear off
        elif isinstance(line, ReceiptDrawer):
            out += b"\x1bp" + bytes((0 if line.pin == 2 else 1, 25, 25))
    out += _settings(state, 0, False, 0)
    return bytes(out)
