"""Receipts: a list of blocks laid out in character cells, and that layout drawn as dots.

`parse_receipt` checks a receipt document (`Invalid` with `invalid-receipt` and the block's
path) and lays it out on the printer's grid of Font A cells: text wrapped by words, two- and
three-column rows whose right-hand columns (amounts) are never wrapped nor overlapped,
separators as a row of one character. The result (`labeld.contracts.Receipt`) goes to the
printer's language, which prints the text from its own fonts (ESC/POS), or is drawn here
(`render_receipt`): for the preview, for printers without a text route, and line by line for
what the printer's code pages cannot print (`draw_line`).

Drawing follows what an ESC/POS printer does, so the preview matches the paper cell for cell:
each character in its own cell (DejaVu Sans Mono, hinted 1-bit, bold from its bold face),
double width and height as doubled dots, underline at the cell's foot, inverse as white on
black; a text line is `LINE_DOTS` high (the encoder sets `ESC 3` to it), or the character
height when that is more; alignment by dots within the print width, as `ESC a` does.
"""

from __future__ import annotations

import base64
import binascii
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from labeld.contracts import (Raster, Receipt, ReceiptBarcode, ReceiptCut, ReceiptDrawer,
                              ReceiptFeed, ReceiptImage, ReceiptLine, ReceiptQr, ReceiptText,
                              TextStyle)
from labeld.errors import Invalid
from labeld.intake.render.barcodes import render_barcode
from labeld.intake.render.images import decode_image, dither, scale
from labeld.intake.render.label import BarcodeElement, _Fields, mm_to_dots
from labeld.intake.render.sprite import pack
from labeld.intake.render.text import SHIPPED_FONTS, FontBook
from labeld.langkit import strip_controls

MONO = SHIPPED_FONTS / "DejaVuSansMono.ttf"
MONO_BOLD = SHIPPED_FONTS / "DejaVuSansMono-Bold.ttf"
LINE_DOTS = 30  # one text line: a 24-dot cell and 6 dots of air (ESC 3 30)
MAX_BLOCKS = 1000
MAX_RECEIPT_DOTS = 20_000  # about 2.5 m of paper at 203 dpi
BARCODES_1D = ("code128", "ean13", "ean8", "upca", "code39", "itf14")
BLOCK_TYPES = ("text", "row", "separator", "barcode", "qr", "image", "feed", "cut", "drawer")
ALIGNS = ("left", "center", "right")
_JUSTIFY = {"left": 0, "center": 1, "right": 2}


def _bad(path: str, problem: str, hint: str = "") -> Invalid:
    return Invalid("invalid-receipt", f"{path}: {problem}",
                   hint or "See the receipt document in the API docs.")


@dataclass(frozen=True)
class Grid:
    """The printer's character grid: `columns` cells of `cell_width` x `cell_height` dots on
    paper `width` dots wide at `dpi`."""

    columns: int
    cell_width: int
    cell_height: int
    width: int
    dpi: int


def grid_for(width: int, dpi: int, columns: int | None = None, cell: tuple[int, int] = (12, 24),
             ) -> Grid:
    """The grid of a printer: its profile's columns, else as many 12-dot cells as fit."""
    cols = min(columns or width // cell[0], width // cell[0])
    return Grid(max(1, cols), cell[0], cell[1], width, dpi)


# -- parsing and layout ------------------------------------------------------------------------

def parse_receipt(doc: Any, grid: Grid, fonts: FontBook) -> Receipt:
    """A receipt document (`{"blocks": [...]}`) laid out on `grid`; `Invalid` on any bad
    field."""
    try:
        return _parse(doc, grid, fonts)
    except Invalid as exc:
        if exc.code == "invalid-label":  # the shared field readers speak of labels
            raise Invalid("invalid-receipt", exc.message,
                          "See the receipt document in the API docs.") from None
        raise


def _parse(doc: Any, grid: Grid, fonts: FontBook) -> Receipt:
    f = _Fields(doc, "receipt")
    blocks = f._take("blocks", True)
    f.done()
    if not isinstance(blocks, list) or not blocks:
        raise _bad("receipt.blocks", "must be a non-empty array")
    if len(blocks) > MAX_BLOCKS:
        raise _bad("receipt.blocks", f"has {len(blocks)} blocks, at most {MAX_BLOCKS} allowed")
    lines: list[ReceiptLine] = []
    for i, raw in enumerate(blocks):
        bf = _Fields(raw, f"receipt.blocks[{i}]")
        kind = bf.choice("type", BLOCK_TYPES, None, "invalid-receipt")
        if kind is None:
            raise _bad(f"receipt.blocks[{i}].type", "is required")
        lines.extend(_BLOCKS[kind](bf, grid, fonts))
        bf.done()
    return Receipt(tuple(lines), grid.columns, grid.cell_width, grid.cell_height, grid.width,
                   grid.dpi)


def clean(text: str) -> str:
    """Text as a receipt prints it: NFC (a decomposed ő is one character), tabs as spaces, no
    control or bidi characters but the line breaks."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\t", " ")
    return strip_controls(text, keep="\n")


def wrap(text: str, width: int) -> list[str]:
    """Words to lines of at most `width` characters; a longer word is broken."""
    out: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            while len(word) > width:
                if line:
                    out.append(line)
                    line = ""
                out.append(word[:width])
                word = word[width:]
            if not line:
                line = word
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
            else:
                out.append(line)
                line = word
        out.append(line.rstrip())
    return out


def _style(f: _Fields) -> TextStyle:
    return TextStyle(bold=f.boolean("bold", False), underline=f.boolean("underline", False),
                     double_width=f.boolean("double_width", False),
                     double_height=f.boolean("double_height", False),
                     inverse=f.boolean("inverse", False))


def _align(f: _Fields, default: str = "left") -> Any:
    return f.choice("align", ALIGNS, default, "invalid-receipt")


def _text(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    text = clean(f.string("text", required=True) or "")
    style, align = _style(f), _align(f)
    cols = grid.columns // 2 if style.double_width else grid.columns
    return [ReceiptText(line, style, align) for line in wrap(text, cols)]


def _row(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    raw = f._take("columns", True)
    path = f._p("columns")
    if not isinstance(raw, list) or not 2 <= len(raw) <= 3 or not all(
            isinstance(c, str) for c in raw):
        raise _bad(path, "must be 2 or 3 strings: a name, (a quantity,) an amount")
    style = _style(f)
    width = grid.columns // 2 if style.double_width else grid.columns
    cells = [" ".join(clean(c).split()) for c in raw]
    # The quantity and the amount keep their whole width, right-aligned in columns of at least
    # a quarter line each, so that the amounts of consecutive rows stand under each other.
    right = "".join(c.rjust(max(len(c), width // 4)) for c in cells[1:])
    name_width = width - len(right) - 1
    if name_width < 1:
        raise Invalid("does-not-fit", f"{path}: {right.strip()!r} is wider than the "
                      f"{width} characters of a line.", "Shorten the amount or the quantity.")
    names = wrap(cells[0], name_width) or [""]
    lines = [names[0].ljust(width - len(right)) + right]
    lines += names[1:]
    return [ReceiptText(line, style, "left") for line in lines]


def _separator(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    char = clean(f.string("char", default="-", max_len=1) or "-") or "-"
    return [ReceiptText(char * grid.columns, _style(f))]


def _barcode(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    symbology = f.choice("symbology", BARCODES_1D, None, "invalid-receipt")
    if symbology is None:
        raise _bad(f._p("symbology"), "is required: " + ", ".join(BARCODES_1D))
    data = f.string("data", required=True, max_len=255) or ""
    height = f.number("height_mm", default=10.0, positive=True, maximum=50.0) or 10.0
    module = f.integer("module_dots", default=2, minimum=2, maximum=6) or 2
    line = ReceiptBarcode(symbology, data, mm_to_dots(height, grid.dpi), module,
                          f.boolean("human_readable", True), _align(f, "center"))
    _check_width(draw_line(line, grid, fonts), grid, f._p("data"))  # 422 now, if bad
    return [line]


def _qr(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    data = f.string("data", required=True, max_len=2000) or ""
    module = f.integer("module_dots", default=6, minimum=1, maximum=16) or 6
    ecc = f.choice("ecc", ("L", "M", "Q", "H"), "M", "invalid-receipt")
    line = ReceiptQr(data, module, ecc, _align(f, "center"))
    _check_width(draw_line(line, grid, fonts), grid, f._p("data"))
    return [line]


def _image(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    raw = f.string("data", required=True, max_len=8_000_000) or ""
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("invalid-image", f"{f._p('data')}: is not valid base64",
                      "Send the PNG or JPEG file's bytes base64-encoded.") from None
    width_mm = f.number("width_mm", positive=True, maximum=200.0)
    method = f.choice("dither", ("threshold", "ordered", "floyd-steinberg"), "threshold",
                      "invalid-receipt")
    im = decode_image(data)
    width = mm_to_dots(width_mm, grid.dpi) if width_mm else min(im.width, grid.width)
    im = scale(im, max(1, min(width, grid.width)), None)
    return [ReceiptImage(pack(dither(im, method), grid.dpi), _align(f, "center"))]


def _feed(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    return [ReceiptFeed(f.integer("lines", default=1, minimum=1, maximum=50) or 1)]


def _cut(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    mode = f.choice("mode", ("partial", "full"), "partial", "invalid-receipt")
    return [ReceiptCut(partial=mode == "partial")]


def _drawer(f: _Fields, grid: Grid, fonts: FontBook) -> list[ReceiptLine]:
    pin = f.choice("pin", (2, 5), 2, "invalid-receipt")
    return [ReceiptDrawer(pin)]


_BLOCKS = {"text": _text, "row": _row, "separator": _separator, "barcode": _barcode, "qr": _qr,
           "image": _image, "feed": _feed, "cut": _cut, "drawer": _drawer}


def _check_width(bits: np.ndarray, grid: Grid, path: str) -> None:
    if bits.shape[1] > grid.width:
        raise Invalid("does-not-fit", f"{path}: the code is {bits.shape[1]} dots wide, the "
                      f"paper {grid.width}.", "Use less data or a smaller module_dots.")


# -- drawing -------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _font(bold: bool, cell_height: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(MONO_BOLD if bold else MONO), max(6, cell_height * 19 // 24))


@lru_cache(maxsize=4096)
def glyph(char: str, bold: bool, cell_width: int, cell_height: int) -> np.ndarray | None:
    """One character in its cell as dots (read-only), or None when the font has no glyph."""
    font = _font(bold, cell_height)
    if char != " " and _missing(char, font):
        return None
    im = Image.new("1", (cell_width, cell_height), 0)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"  # a thermal head prints dots or nothing
    draw.text((0, 0), char, font=font, fill=1)
    bits = np.asarray(im, dtype=bool).copy()
    bits.flags.writeable = False
    return bits


def _missing(char: str, font: ImageFont.FreeTypeFont) -> bool:
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return True
    try:
        mask = font.getmask(char, mode="1")
        notdef = font.getmask("\uffff", mode="1")
    except (OSError, ValueError):
        return True
    return mask.size == notdef.size and bytes(mask) == bytes(notdef)


def unprintable(text: str, bold: bool = False) -> list[str]:
    """The characters of `text` that no glyph of the receipt font draws."""
    return sorted({c for c in text if glyph(c, bold, 12, 24) is None})


def char_name(c: str) -> str:
    return f"{c!r} (U+{ord(c):04X} {unicodedata.name(c, 'unnamed')})"


def _text_band(line: ReceiptText, grid: Grid) -> np.ndarray:
    s = line.style
    cw, ch = grid.cell_width, grid.cell_height
    missing = [c for c in dict.fromkeys(line.text) if glyph(c, s.bold, cw, ch) is None]
    if missing:
        raise Invalid("unprintable-character",
                      f"The receipt holds {', '.join(char_name(c) for c in missing)}: no code "
                      "page of the printer and no glyph of labeld's receipt font prints it.",
                      "Leave the character out or write it another way.")
    cells = [glyph(c, s.bold, cw, ch) for c in line.text]
    row = (np.hstack(cells) if cells else np.zeros((ch, 0), bool)).copy()
    if s.underline:
        row[ch - 2:ch, :] = True
    if s.inverse:
        row = ~row
    if s.double_width:
        row = np.repeat(row, 2, axis=1)
    if s.double_height:
        row = np.repeat(row, 2, axis=0)
    height = max(LINE_DOTS, row.shape[0])
    band = np.zeros((height, grid.width), bool)
    _put(band, row[:, :grid.width], line.align, 0)
    return band


def _put(band: np.ndarray, bits: np.ndarray, align: str, top: int) -> None:
    """`bits` on `band` as ESC a places them: by dots within the print width."""
    h, w = bits.shape
    x = (band.shape[1] - w) * _JUSTIFY[align] // 2
    band[top:top + h, x:x + w] |= bits


def _symbol_band(bits: np.ndarray, grid: Grid, align: str) -> np.ndarray:
    band = np.zeros((bits.shape[0], grid.width), bool)
    _put(band, bits[:, :grid.width], align, 0)
    return band


def _barcode_bits(line: ReceiptBarcode, grid: Grid, fonts: FontBook) -> np.ndarray:
    el = BarcodeElement(0.0, 0.0, line.symbology, line.data,
                        height_mm=line.height_dots * 25.4 / grid.dpi,
                        module_dots=line.module_dots, human_readable=line.human_readable)
    sprite = render_barcode(el, grid.dpi, fonts)
    bits = sprite.bits if sprite.bits is not None else np.zeros((1, 1), bool)
    return np.asarray(bits, dtype=bool)


def _qr_bits(line: ReceiptQr, grid: Grid, fonts: FontBook) -> np.ndarray:
    el = BarcodeElement(0.0, 0.0, "qr", line.data, module_dots=line.module_dots, ecc=line.ecc)
    sprite = render_barcode(el, grid.dpi, fonts)
    return np.asarray(sprite.bits, dtype=bool)


def line_bits(line: ReceiptLine, grid: Grid, fonts: FontBook) -> np.ndarray:
    """One receipt line as a band of dots the paper's width, as the printer prints it."""
    if isinstance(line, ReceiptText):
        return _text_band(line, grid)
    if isinstance(line, ReceiptBarcode):
        return _symbol_band(_barcode_bits(line, grid, fonts), grid, line.align)
    if isinstance(line, ReceiptQr):
        return _symbol_band(_qr_bits(line, grid, fonts), grid, line.align)
    if isinstance(line, ReceiptImage):
        r = line.raster
        bits = np.unpackbits(np.frombuffer(r.rows, np.uint8).reshape(r.height, r.row_bytes),
                             axis=1)[:, :r.width].astype(bool)
        return _symbol_band(bits, grid, line.align)
    if isinstance(line, ReceiptFeed):
        return np.zeros((line.lines * LINE_DOTS, grid.width), bool)
    return np.zeros((0, grid.width), bool)  # cut, drawer: no dots


def draw_line(line: ReceiptLine, grid: Grid, fonts: FontBook) -> np.ndarray:
    """The symbol or text of one line, before it is placed (for size checks)."""
    if isinstance(line, ReceiptBarcode):
        return _barcode_bits(line, grid, fonts)
    if isinstance(line, ReceiptQr):
        return _qr_bits(line, grid, fonts)
    return line_bits(line, grid, fonts)


def grid_of(receipt: Receipt) -> Grid:
    return Grid(receipt.columns, receipt.cell_width, receipt.cell_height, receipt.width,
                receipt.dpi)


def line_raster(line: ReceiptLine, receipt: Receipt, fonts: FontBook) -> Raster:
    """One line as a Raster the paper's width: what a language prints where its own fonts or
    commands cannot (`Language.encode_receipt`'s `draw`)."""
    bits = line_bits(line, grid_of(receipt), fonts)
    if bits.shape[0] == 0:
        bits = np.zeros((1, receipt.width), bool)
    return pack(bits, receipt.dpi)


def render_receipt(receipt: Receipt, fonts: FontBook) -> list[Raster]:
    """The receipt as pages, one per cut (and one for what follows the last cut), each as long
    as its content: the preview, and the raster route."""
    grid = grid_of(receipt)
    pages: list[Raster] = []
    bands: list[np.ndarray] = []
    height = 0
    for line in receipt.lines:
        if isinstance(line, ReceiptCut):
            if bands:
                pages.append(pack(np.vstack(bands), receipt.dpi))
            bands, height = [], 0
            continue
        band = line_bits(line, grid, fonts)
        height += band.shape[0]
        if height > MAX_RECEIPT_DOTS:
            raise Invalid("does-not-fit", f"The receipt is longer than {MAX_RECEIPT_DOTS} dots "
                          "between two cuts.", "Cut it into several receipts.")
        if band.shape[0]:
            bands.append(band)
    if bands:
        pages.append(pack(np.vstack(bands), receipt.dpi))
    if not pages:
        pages.append(pack(np.zeros((LINE_DOTS, receipt.width), bool), receipt.dpi))
    return pages
