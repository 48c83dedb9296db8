"""Barcodes drawn on whole printer dots.

A barcode is first reduced to its module pattern (python-barcode for the classic linear codes,
zint for GS1-128 and the 2D codes), then every module becomes exactly `module_dots` dots: no
resampling, no anti-aliasing, so every bar and space prints at the width the scanner expects.
Check digits are verified here because python-barcode silently replaces a wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import barcode as pybarcode
import numpy as np
import zint

from labeld.errors import Invalid
from labeld.intake.render.label import MATRIX_SYMBOLOGIES, BarcodeElement, mm_to_dots
from labeld.intake.render.sprite import Sprite
from labeld.intake.render.text import FontBook, pt_to_px

DEFAULT_BAR_HEIGHT_MM = 15.0
DEFAULT_LINEAR_MODULE_MM = 0.25
DEFAULT_MATRIX_MODULE_MM = 0.5

# Minimum quiet zones in modules (left, top, right, bottom), from each symbology's standard.
QUIET_ZONES: dict[str, tuple[int, int, int, int]] = {
    "code128": (10, 0, 10, 0),
    "gs1-128": (10, 0, 10, 0),
    "ean13": (11, 0, 7, 0),
    "ean8": (7, 0, 7, 0),
    "upca": (9, 0, 9, 0),
    "code39": (10, 0, 10, 0),
    "itf14": (10, 0, 10, 0),
    "qr": (4, 4, 4, 4),
    "datamatrix": (1, 1, 1, 1),
    "pdf417": (2, 2, 2, 2),
}

CODE39_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%")


@dataclass(frozen=True)
class TextGroup:
    """Human-readable text under the bars, placed between module columns `start` and `end`
    (which may lie in the quiet zone, as the first digit of an EAN-13 does)."""

    text: str
    start: int
    end: int
    align: str = "center"


@dataclass(frozen=True)
class Symbol:
    """A barcode as modules: True = dark. Linear codes have one row, stretched to bar height."""

    symbology: str
    modules: np.ndarray
    linear: bool
    text: tuple[TextGroup, ...] = field(default=())
    row_modules: int = 1  # how many modules high one row is (PDF417: 3)


def _unencodable(message: str, hint: str = "") -> Invalid:
    return Invalid("unencodable-data", message, hint)


def gtin_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit of a GTIN (EAN-8/13, UPC-A, ITF-14) body."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _gtin(symbology: str, data: str, length: int) -> str:
    """The full number with a verified check digit; `data` may leave the check digit off."""
    if not data.isascii() or not data.isdigit():
        raise _unencodable(f"{symbology} encodes digits only, got {data!r}"[:200])
    if len(data) not in (length - 1, length):
        raise _unencodable(f"{symbology} needs {length - 1} digits (check digit computed) or "
                           f"{length} (check digit verified), got {len(data)}")
    body = data[: length - 1]
    expected = gtin_check_digit(body)
    if len(data) == length and int(data[-1]) != expected:
        raise Invalid("bad-check-digit", f"{symbology} {data}: check digit is {data[-1]}, "
                      f"should be {expected}",
                      "check the number, or send it without the check digit to have it computed")
    return body + str(expected)


def _pattern(bits: str) -> np.ndarray:
    arr = np.frombuffer(bits.encode("ascii"), dtype=np.uint8) == ord("1")
    return arr[None, :]


def _printable(data: str) -> str:
    """Data as human-readable text: control characters (Code 128 can carry them) become
    spaces, since a font would draw them as boxes."""
    if data.isprintable():
        return data
    return "".join(c if c.isprintable() else " " for c in data)


def _linear(symbology: str, data: str) -> Symbol:
    if symbology == "code128":
        bad = next((c for c in data if ord(c) > 127), None)
        if bad is not None:
            # python-barcode maps some Latin-1 letters onto FNC codes: refuse rather than misprint
            raise _unencodable(f"code128 cannot encode {bad!r}: only ASCII characters",
                               "use qr or datamatrix for accented or non-Latin text")
        pattern = pybarcode.get("code128", data).build()[0]
        return Symbol(symbology, _pattern(pattern), True,
                      (TextGroup(_printable(data), 0, len(pattern)),))
    if symbology == "code39":
        bad = next((c for c in data if c not in CODE39_CHARS), None)
        if bad is not None:
            hint = ("Code 39 has no lower case: send upper case, or use code128"
                    if bad.isalpha() else "Code 39 encodes 0-9, A-Z, space and - . $ / + %")
            raise _unencodable(f"code39 cannot encode {bad!r}", hint)
        pattern = pybarcode.get("code39", data, options={"add_checksum": False}).build()[0]
        return Symbol(symbology, _pattern(pattern), True, (TextGroup(data, 0, len(pattern)),))
    if symbology == "ean13":
        full = _gtin("ean13", data, 13)
        pattern = _gtin_pattern("ean13", full)
        groups: tuple[TextGroup, ...] = (TextGroup(full[0], -11, -1, "right"),
                                         TextGroup(full[1:7], 3, 45), TextGroup(full[7:], 50, 92))
    elif symbology == "ean8":
        full = _gtin("ean8", data, 8)
        pattern = _gtin_pattern("ean8", full)
        groups = (TextGroup(full[:4], 3, 31), TextGroup(full[4:], 36, 64))
    elif symbology == "upca":
        full = _gtin("upca", data, 12)
        pattern = _gtin_pattern("upca", full)
        groups = (TextGroup(full[0], -9, -1, "right"), TextGroup(full[1:6], 10, 45),
                  TextGroup(full[6:11], 50, 85), TextGroup(full[11], 96, 104, "left"))
    elif symbology == "itf14":
        full = _gtin("itf14", data, 14)
        # narrow 1, wide 3 modules: the widest ratio ITF-14 allows, the most robust to print
        pattern = pybarcode.get("itf", full, options={"narrow": 1, "wide": 3}).build()[0]
        groups = (TextGroup(full, 0, len(pattern)),)
    else:
        raise AssertionError(symbology)
    return Symbol(symbology, _pattern(pattern), True, groups)


def _gtin_pattern(symbology: str, full: str) -> str:
    # python-barcode computes the check digit itself: give it the body, and make sure it
    # arrived at the digit we verified
    code = pybarcode.get(symbology, full[:-1])
    if code.get_fullcode() != full:
        raise AssertionError(f"python-barcode encoded {code.get_fullcode()} for {full}")
    return code.build()[0]


_ZINT = {
    "gs1-128": zint.Symbology.GS1_128,
    "qr": zint.Symbology.QRCODE,
    "datamatrix": zint.Symbology.DATAMATRIX,
    "pdf417": zint.Symbology.PDF417,
}


_UNICODE_INPUT = zint.InputMode.UNICODE
_QR_INPUT = zint.InputMode.UNICODE | zint.InputMode.FAST


def _zint(symbology: str, data: str, ecc: str | int | None) -> Symbol:
    s = zint.Symbol()
    s.symbology = _ZINT[symbology]
    # zint "fixes" some input with only a warning (a GS1 check digit, an ECI it picks itself):
    # every warning is an error here, so what prints is exactly what was asked for
    s.warn_level = zint.WarningLevel.FAIL_ALL
    if symbology == "gs1-128":
        if data.startswith("("):
            s.input_mode = zint.InputMode.GS1PARENS
        elif data.startswith("["):
            s.input_mode = zint.InputMode.GS1
        else:
            raise _unencodable("gs1-128 data must start with an application identifier in "
                               "brackets", "e.g. (01)09501101530003(10)ABC123")
    else:
        # zint's FAST mode for QR: same version on 3000 mixed inputs, a different (equally
        # valid) mask or mode split on a third of them, 0.30 -> 0.17 ms per symbol. Not for
        # DataMatrix/PDF417, where it may choose a larger symbol.
        s.input_mode = _QR_INPUT if symbology == "qr" else _UNICODE_INPUT
        if not data.isascii():
            s.eci = 26  # UTF-8, announced in the symbol, so scanners need not guess the charset
        if symbology == "qr":
            s.option_1 = "LMQH".index(str(ecc or "M")) + 1
        elif symbology == "pdf417" and ecc is not None:
            s.option_1 = int(ecc)
        elif symbology == "datamatrix":
            s.option_3 = int(zint.DataMatrixOptions.SQUARE)
    try:
        s.encode(data)
    except RuntimeError as e:
        msg = re.sub(r"^(Error|Warning) \d+: ", "", str(e))
        if "checksum" in msg.lower() or "check digit" in msg.lower():
            raise Invalid("bad-check-digit", f"{symbology}: {msg}",
                          "check the number, e.g. the GTIN's last digit") from None
        raise _unencodable(f"{symbology} cannot encode the data: {msg}") from None
    rows, width = s.rows, s.width
    packed = np.asarray(s.encoded_data)[:rows]
    modules = np.unpackbits(packed, axis=1, bitorder="little")[:, :width].astype(bool)
    if symbology == "gs1-128":
        text = s.text if isinstance(s.text, str) else bytes(s.text).decode("utf-8", "replace")
        return Symbol(symbology, modules[:1], True, (TextGroup(text, 0, width),))
    return Symbol(symbology, modules, False, (TextGroup(_printable(data), 0, width),),
                  row_modules=3 if symbology == "pdf417" else 1)


def encode(el: BarcodeElement) -> Symbol:
    """The module pattern for the element's data; `Invalid` when the data cannot be encoded."""
    if el.symbology in _ZINT:
        return _zint(el.symbology, el.data, el.ecc)
    return _linear(el.symbology, el.data)


def default_module_dots(symbology: str, dpi: int) -> int:
    mm = DEFAULT_MATRIX_MODULE_MM if symbology in MATRIX_SYMBOLOGIES else DEFAULT_LINEAR_MODULE_MM
    return max(1, mm_to_dots(mm, dpi))


def _hrt_ink(sym: Symbol, m: int, dpi: int, fonts: FontBook) -> list[tuple[np.ndarray, int]]:
    """The human-readable groups as ink cropped to its bounding box, each with the x of its
    left edge in bar coordinates. Each group shrinks until its ink fits its span."""
    path = fonts.resolve(None, False)
    size = min(max(8 * m, pt_to_px(6, dpi)), pt_to_px(12, dpi))
    smallest = pt_to_px(5, dpi)
    placed = []
    for g in sym.text:
        if not g.text.strip():
            continue
        span = (g.end - g.start) * m - (m if g.align != "center" else 0)
        px = size
        while True:
            run = fonts.run(path, px, g.text)
            left, top, right, bottom = run.ink
            ink_w = right - left
            if ink_w <= span or px <= smallest:
                break
            px = max(smallest, min(px - 1, px * span // ink_w))
        if bottom <= top:
            continue
        ink = run.bits[top:bottom, left:right]
        if g.align == "center":
            x = g.start * m + ((g.end - g.start) * m - ink_w) // 2
        elif g.align == "right":
            x = g.end * m - ink_w  # g.end already leaves a module of air before the bars
        else:
            x = g.start * m
        placed.append((ink, x))
    return placed


def render_barcode(el: BarcodeElement, dpi: int, fonts: FontBook,
                   label_dots: tuple[int, int] | None = None) -> Sprite:
    """The barcode as a Sprite whose box is the bars (and text below them), and whose clear box
    adds the quiet zones. `label_dots` (width, height) lets a symbol that cannot fit fail before
    its pixels are allocated.

    Drawn symbols are cached in the FontBook by everything but their position, so a label
    printed again (or the same code elsewhere on the label) costs a dictionary lookup; data that
    cannot be encoded raises every time, nothing is cached for it."""
    key = (replace(el, x_mm=0.0, y_mm=0.0), dpi)
    sprite, w, h = fonts.symbols.get(key, lambda: _draw(el, dpi, fonts, label_dots))
    if label_dots is not None:
        _check_size(el, w, h, dpi, label_dots)
    return sprite


def _draw(el: BarcodeElement, dpi: int, fonts: FontBook,
          label_dots: tuple[int, int] | None) -> tuple[Sprite, int, int]:
    """The sprite, and the symbol's width and height with its quiet zones, unrotated."""
    sym = encode(el)
    m = el.module_dots or default_module_dots(el.symbology, dpi)
    rows, cols = sym.modules.shape
    bars_w = cols * m
    if sym.linear:
        bars_h = max(1, mm_to_dots(el.height_mm or DEFAULT_BAR_HEIGHT_MM, dpi))
    else:
        bars_h = rows * sym.row_modules * m
    ql, qt, qr, qb = (q * m for q in QUIET_ZONES[el.symbology])
    clear_w, clear_h = bars_w + ql + qr, bars_h + qt + qb
    if label_dots is not None:
        _check_size(el, clear_w, clear_h, dpi, label_dots)

    texts = _hrt_ink(sym, m, dpi, fonts) if el.human_readable else []
    gap = max(2, m)  # air between bars and digits, so the text never touches a bar
    text_top = bars_h + gap
    left = min([0] + [x for _, x in texts])
    right = max([bars_w] + [x + ink.shape[1] for ink, x in texts])
    bottom = max([bars_h] + [text_top + ink.shape[0] for ink, _ in texts])
    bits = np.zeros((bottom, right - left), dtype=bool)
    if sym.linear:
        bits[:bars_h, -left:-left + bars_w] = np.repeat(sym.modules[0], m)[None, :]
    else:
        bits[:bars_h, -left:-left + bars_w] = np.repeat(
            np.repeat(sym.modules, sym.row_modules * m, axis=0), m, axis=1)
    for ink, x in texts:
        h, w = ink.shape
        bits[text_top:text_top + h, x - left:x - left + w] |= ink
    box = (-left, 0, -left + bars_w, bottom)
    clear = (-left - ql, -qt, -left + bars_w + qr, bars_h + qb)
    bits.flags.writeable = False  # shared through the cache
    return Sprite(bits, box, clear).rotated(el.rotation), clear_w, clear_h


def _check_size(el: BarcodeElement, w: int, h: int, dpi: int, label_dots: tuple[int, int]) -> None:
    if el.rotation in (90, 270):
        w, h = h, w
    lw, lh = label_dots
    if w > lw or h > lh:
        dim = "wide" if w > lw else "tall"
        size, limit = (w, lw) if w > lw else (h, lh)
        raise Invalid("does-not-fit",
                      f"the {el.symbology} barcode is {size * 25.4 / dpi:.1f} mm {dim} with its "
                      f"quiet zones, the label only {limit * 25.4 / dpi:.1f} mm",
                      "use fewer data, a smaller module_dots or a larger label")
