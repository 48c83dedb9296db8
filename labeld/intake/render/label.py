"""The label document: what a client sends, checked field by field before anything is drawn.

`parse_label` is the only way in from JSON. It rejects what the renderer could not honour (unknown
fields, wrong types, negative sizes, absurd dimensions) with an `Invalid` that names the element
and field, so a POS developer sees "elements[2].size_pt: must be > 0" rather than a stack trace.
Checks that need fonts or pixels (unknown font, bad check digit, does it fit) happen in render.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from labeld.errors import Invalid

Rotation: TypeAlias = Literal[0, 90, 180, 270]
Align: TypeAlias = Literal["left", "center", "right"]
Fit: TypeAlias = Literal["wrap", "shrink"]
Dither: TypeAlias = Literal["threshold", "ordered", "floyd-steinberg"]

LINEAR_SYMBOLOGIES = ("code128", "gs1-128", "ean13", "ean8", "upca", "code39", "itf14")
MATRIX_SYMBOLOGIES = ("qr", "datamatrix", "pdf417")
SYMBOLOGIES = LINEAR_SYMBOLOGIES + MATRIX_SYMBOLOGIES
DITHERS = ("threshold", "ordered", "floyd-steinberg")
QR_ECC = ("L", "M", "Q", "H")

# Bounds that keep one request from taking the daemon's memory or minutes of CPU. They are far
# beyond real labels (a 4x6 in label at 600 dpi is 8.6 Mdots) yet small enough that a hostile or
# mistyped document fails fast instead of allocating gigabytes.
MIN_DPI, MAX_DPI = 72, 1200
MAX_LABEL_MM = 2000.0
MAX_LABEL_DOTS = 40_000_000
MAX_ELEMENTS = 500
MAX_TEXT_CHARS = 5000
MAX_DATA_CHARS = 8000
MAX_SIZE_PT = 300.0
MAX_MODULE_DOTS = 40
MAX_IMAGE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class TextElement:
    x_mm: float
    y_mm: float
    text: str
    size_pt: float = 10.0
    bold: bool = False
    font: str | None = None  # None: the shipped DejaVu Sans
    align: Align = "left"
    max_width_mm: float | None = None
    fit: Fit = "wrap"
    rotation: Rotation = 0


@dataclass(frozen=True)
class BarcodeElement:
    x_mm: float  # the first bar; the quiet zone lies outside (x, y) and must still be on the label
    y_mm: float
    symbology: str
    data: str
    height_mm: float | None = None  # linear codes: bar height; None: 15 mm
    module_dots: int | None = None  # None: about 0.25 mm (linear) or 0.5 mm (2D) at the dpi
    human_readable: bool = False
    ecc: str | int | None = None  # qr: L/M/Q/H (None: M); pdf417: 0..8 (None: zint's choice)
    rotation: Rotation = 0


@dataclass(frozen=True)
class ImageElement:
    x_mm: float
    y_mm: float
    data: bytes  # PNG or JPEG, already base64-decoded
    width_mm: float | None = None  # both given: fit inside, keeping the aspect ratio
    height_mm: float | None = None
    dither: Dither = "threshold"
    rotation: Rotation = 0


@dataclass(frozen=True)
class BoxElement:
    x_mm: float
    y_mm: float
    width_mm: float
    height_mm: float
    thickness_mm: float = 0.25  # drawn inwards from the outer edge
    rotation: Rotation = 0


@dataclass(frozen=True)
class LineElement:
    x_mm: float
    y_mm: float
    x2_mm: float
    y2_mm: float
    # drawn by a square pen this wide whose top-left corner runs from (x, y) to (x2, y2): a
    # horizontal line grows downwards and ends thickness_mm past x2, so lines meet at corners
    thickness_mm: float = 0.25


Element: TypeAlias = TextElement | BarcodeElement | ImageElement | BoxElement | LineElement


@dataclass(frozen=True)
class Label:
    width_mm: float
    height_mm: float
    dpi: int
    elements: tuple[Element, ...] = ()

    @property
    def width_dots(self) -> int:
        return mm_to_dots(self.width_mm, self.dpi)

    @property
    def height_dots(self) -> int:
        return mm_to_dots(self.height_mm, self.dpi)


def mm_to_dots(mm: float, dpi: int) -> int:
    """Millimetres to whole printer dots, rounded to nearest (half away from zero).

    Python's round() rounds half to even, which would make 0.5-dot positions drift left and right
    from one element to the next; floor(x + 0.5) keeps the rule the same everywhere. The 1e-9
    absorbs float noise, so that 1.5 dots written as mm (0.1876... at 203 dpi) is 2, not 1."""
    return math.floor(mm * dpi / 25.4 + 0.5 + 1e-9)


def _bad(path: str, problem: str, code: str = "invalid-label", hint: str = "") -> Invalid:
    return Invalid(code, f"{path}: {problem}", hint or "see the label document in the API docs")


class _Fields:
    """Typed reads from one JSON object; every read removes the key so leftovers are unknown."""

    def __init__(self, obj: Any, path: str):
        if not isinstance(obj, Mapping):
            raise _bad(path, f"must be an object, got {json_type(obj)}")
        self.rest = dict(obj)
        self.path = path

    def _take(self, key: str, required: bool) -> Any:
        """The value, or None when the key is absent or null (JSON's way to say "not given")."""
        v = self.rest.pop(key, None)
        if v is None and required:
            raise _bad(self._p(key), "is required")
        return v

    def _p(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def number(self, key: str, *, required: bool = False, default: float | None = None,
               positive: bool = False, minimum: float | None = None,
               maximum: float | None = None) -> float | None:
        v = self._take(key, required)
        if v is None:
            return default
        # bool is an int subclass; `true` as a size is a client bug, not 1 mm
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _bad(self._p(key), f"must be a number, got {json_type(v)}")
        try:
            v = float(v)  # an integer too large for a float (JSON allows them) overflows here
        except OverflowError:
            raise _bad(self._p(key), "is far out of range") from None
        if not math.isfinite(v):
            raise _bad(self._p(key), "must be a finite number")
        if positive and v <= 0:
            raise _bad(self._p(key), "must be > 0")
        if minimum is not None and v < minimum:
            raise _bad(self._p(key), f"must be >= {minimum:g}")
        if maximum is not None and v > maximum:
            raise _bad(self._p(key), f"must be <= {maximum:g}")
        return v

    def integer(self, key: str, *, required: bool = False, default: int | None = None,
                minimum: int, maximum: int) -> int | None:
        v = self._take(key, required)
        if v is None:
            return default
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _bad(self._p(key), f"must be an integer, got {json_type(v)}")
        if not minimum <= v <= maximum:
            raise _bad(self._p(key), f"must be between {minimum} and {maximum}")
        return v

    def string(self, key: str, *, required: bool = False, default: str | None = None,
               max_len: int = MAX_TEXT_CHARS) -> str | None:
        v = self._take(key, required)
        if v is None:
            return default
        if not isinstance(v, str):
            raise _bad(self._p(key), f"must be a string, got {json_type(v)}")
        if len(v) > max_len:
            raise _bad(self._p(key), f"is {len(v)} characters long, at most {max_len} allowed")
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            # a lone surrogate ("\ud800") passes JSON parsing but no font or encoder takes it
            raise _bad(self._p(key), "is not valid Unicode (it holds a lone surrogate)") from None
        return v

    def boolean(self, key: str, default: bool) -> bool:
        v = self._take(key, False)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise _bad(self._p(key), f"must be true or false, got {json_type(v)}")
        return v

    def choice(self, key: str, choices: tuple[Any, ...], default: Any,
               code: str = "invalid-label") -> Any:
        v = self._take(key, False)
        if v is None:
            return default
        if isinstance(v, bool) or v not in choices or type(v) is not type(choices[0]):
            listed = ", ".join(str(c) for c in choices)
            raise _bad(self._p(key), f"must be one of {listed}, got {v!r}"[:300], code)
        return v

    def done(self) -> None:
        if self.rest:
            # repr-like escaping: a key may hold a lone surrogate, which no UTF-8 response takes
            names = ", ".join(sorted(str(k).encode("utf-8", "backslashreplace").decode()
                                     for k in self.rest))[:200]
            raise _bad(self.path or "label", f"unknown field(s): {names}",
                       hint="field names are case-sensitive; see the label document in the "
                       "API docs")


def json_type(v: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, Mapping):
        return "object"
    return type(v).__name__


def _position(f: _Fields) -> tuple[float, float]:
    x = f.number("x_mm", required=True, minimum=0, maximum=MAX_LABEL_MM)
    y = f.number("y_mm", required=True, minimum=0, maximum=MAX_LABEL_MM)
    assert x is not None and y is not None
    return x, y


def _rotation(f: _Fields) -> Rotation:
    r = f.integer("rotation", default=0, minimum=0, maximum=270)
    if r not in (0, 90, 180, 270):
        raise _bad(f._p("rotation"), f"must be 0, 90, 180 or 270 (clockwise), got {r}")
    return r  # type: ignore[return-value]


def _text(f: _Fields) -> TextElement:
    x, y = _position(f)
    text = f.string("text", required=True)
    size = f.number("size_pt", default=10.0, positive=True, maximum=MAX_SIZE_PT)
    max_width = f.number("max_width_mm", positive=True, maximum=MAX_LABEL_MM)
    fit_given = f.rest.get("fit") is not None
    fit = f.choice("fit", ("wrap", "shrink"), "wrap")
    if fit_given and max_width is None:
        raise _bad(f._p("fit"), "needs max_width_mm: there is nothing to wrap or shrink to")
    font = f.string("font", max_len=200)
    return TextElement(x_mm=x, y_mm=y, text=text or "", size_pt=size or 10.0,
                       bold=f.boolean("bold", False), font=font,
                       align=f.choice("align", ("left", "center", "right"), "left"),
                       max_width_mm=max_width, fit=fit, rotation=_rotation(f))


def _barcode(f: _Fields) -> BarcodeElement:
    x, y = _position(f)
    sym = f.string("symbology", required=True, max_len=100)
    assert sym is not None
    if sym not in SYMBOLOGIES:
        raise _bad(f._p("symbology"), f"unknown symbology {sym!r}", "unknown-symbology",
                   "one of: " + ", ".join(SYMBOLOGIES))
    data = f.string("data", required=True, max_len=MAX_DATA_CHARS)
    if not data:
        raise _bad(f._p("data"), "must not be empty", "unencodable-data")
    height = f.number("height_mm", positive=True, maximum=MAX_LABEL_MM)
    if height is not None and sym in MATRIX_SYMBOLOGIES:
        raise _bad(f._p("height_mm"), f"does not apply to {sym}: its size follows module_dots "
                   "and the data")
    module = f.integer("module_dots", minimum=1, maximum=MAX_MODULE_DOTS)
    ecc: str | int | None = None
    if f.rest.get("ecc") is not None:
        if sym == "qr":
            ecc = f.choice("ecc", QR_ECC, None)
        elif sym == "pdf417":
            ecc = f.integer("ecc", minimum=0, maximum=8)
        else:
            raise _bad(f._p("ecc"), f"does not apply to {sym} (only qr: L/M/Q/H, pdf417: 0..8)")
    f.rest.pop("ecc", None)  # an explicit null
    return BarcodeElement(x_mm=x, y_mm=y, symbology=sym, data=data, height_mm=height,
                          module_dots=module, human_readable=f.boolean("human_readable", False),
                          ecc=ecc, rotation=_rotation(f))


def _image(f: _Fields) -> ImageElement:
    x, y = _position(f)
    raw = f.string("data", required=True, max_len=MAX_IMAGE_BYTES * 4 // 3 + 4)
    assert raw is not None
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(f._p("data"), "is not valid base64", "invalid-image",
                   "send the PNG or JPEG file's bytes base64-encoded") from None
    if not data:
        raise _bad(f._p("data"), "is empty", "invalid-image")
    return ImageElement(x_mm=x, y_mm=y, data=data,
                        width_mm=f.number("width_mm", positive=True, maximum=MAX_LABEL_MM),
                        height_mm=f.number("height_mm", positive=True, maximum=MAX_LABEL_MM),
                        dither=f.choice("dither", DITHERS, "threshold"), rotation=_rotation(f))


def _box(f: _Fields) -> BoxElement:
    x, y = _position(f)
    w = f.number("width_mm", required=True, positive=True, maximum=MAX_LABEL_MM)
    h = f.number("height_mm", required=True, positive=True, maximum=MAX_LABEL_MM)
    t = f.number("thickness_mm", default=0.25, positive=True, maximum=MAX_LABEL_MM)
    assert w is not None and h is not None and t is not None
    return BoxElement(x_mm=x, y_mm=y, width_mm=w, height_mm=h, thickness_mm=t,
                      rotation=_rotation(f))


def _line(f: _Fields) -> LineElement:
    x, y = _position(f)
    x2 = f.number("x2_mm", required=True, minimum=0, maximum=MAX_LABEL_MM)
    y2 = f.number("y2_mm", required=True, minimum=0, maximum=MAX_LABEL_MM)
    t = f.number("thickness_mm", default=0.25, positive=True, maximum=MAX_LABEL_MM)
    if f.rest.get("rotation") is not None:
        # a line is already fully described by its end points; a rotation would only move it
        raise _bad(f._p("rotation"), "does not apply to a line: give the end points instead")
    f.rest.pop("rotation", None)  # an explicit null
    assert x2 is not None and y2 is not None and t is not None
    return LineElement(x_mm=x, y_mm=y, x2_mm=x2, y2_mm=y2, thickness_mm=t)


_PARSERS = {"text": _text, "barcode": _barcode, "image": _image, "box": _box, "line": _line}


def parse_label(d: Any, default_dpi: int) -> Label:
    """Validate a JSON-ish label document and build the Label; raises `Invalid` on any problem.

    `default_dpi` is the printer's resolution, used when the document does not name one."""
    f = _Fields(d, "")
    width = f.number("width_mm", required=True, positive=True, maximum=MAX_LABEL_MM)
    height = f.number("height_mm", required=True, positive=True, maximum=MAX_LABEL_MM)
    dpi = f.integer("dpi", default=default_dpi, minimum=MIN_DPI, maximum=MAX_DPI)
    assert width is not None and height is not None and dpi is not None
    raw_elements = f._take("elements", False)
    if raw_elements is None:
        raw_elements = []
    if not isinstance(raw_elements, list):
        raise _bad("elements", f"must be an array, got {json_type(raw_elements)}")
    if len(raw_elements) > MAX_ELEMENTS:
        raise _bad("elements", f"has {len(raw_elements)} elements, at most {MAX_ELEMENTS} allowed")
    f.done()
    wd, hd = mm_to_dots(width, dpi), mm_to_dots(height, dpi)
    if wd < 1 or hd < 1:
        raise _bad("width_mm" if wd < 1 else "height_mm", f"is less than one dot at {dpi} dpi")
    if wd * hd > MAX_LABEL_DOTS:
        raise _bad("label", f"{wd}x{hd} dots at {dpi} dpi is larger than the "
                   f"{MAX_LABEL_DOTS // 1_000_000} Mdot limit", hint="split it into several labels")

    elements: list[Element] = []
    for i, raw in enumerate(raw_elements):
        ef = _Fields(raw, f"elements[{i}]")
        kind = ef._take("type", True)
        if not isinstance(kind, str) or kind not in _PARSERS:
            raise _bad(f"elements[{i}].type", "must be one of " + ", ".join(_PARSERS)
                       + f", got {kind!r}"[:200])
        el = _PARSERS[kind](ef)
        ef.done()
        elements.append(el)
    return Label(width_mm=width, height_mm=height, dpi=dpi, elements=tuple(elements))
