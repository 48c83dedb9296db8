"""Text: fonts by name, cached glyph runs, wrapping, shrink-to-fit and alignment.

Text is drawn with FreeType's monochrome rasteriser (hinted, no anti-aliasing): a thermal head
prints dots or nothing, and hinted 1-bit glyphs keep stems even at 8-10 pt on 203 dpi, where
thresholding anti-aliased glyphs makes stems come and go.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from labeld.errors import Invalid
from labeld.render.document import MAX_LABEL_DOTS, TextElement, mm_to_dots
from labeld.render.sprite import Sprite

SHIPPED_FONTS = Path(__file__).resolve().parent / "fonts"
DEFAULT_FONT = "DejaVu Sans"
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")
MAX_FONT_FILES = 2000  # per folder scan; a mistyped folder like "/" must not hang the daemon

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A bounded, thread-safe least-recently-used cache.

    The value is computed outside the lock: two threads may compute the same entry once each,
    which is cheaper than serialising all rendering behind one lock."""

    def __init__(self, size: int):
        self.size = size
        self._d: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: K, make: Callable[[], V]) -> V:
        with self._lock:
            try:
                v = self._d[key]
            except KeyError:
                self.misses += 1
            else:
                self._d.move_to_end(key)
                self.hits += 1
                return v
        v = make()
        with self._lock:
            self._d[key] = v
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
        return v

    def __len__(self) -> int:
        return len(self._d)


def _norm(name: str) -> str:
    """'DejaVu Sans', 'dejavu-sans' and 'DejaVuSans' all name the same font."""
    return re.sub(r"[\s_\-]+", "", name).casefold()


_REGULAR_STYLES = {"regular", "book", "roman", "normal", "plain", "medium"}


@dataclass(frozen=True)
class FontFace:
    path: Path
    family: str
    style: str


@dataclass(frozen=True)
class TextRun:
    """One line of text in one font: the pixels, and where its line box sits in them.

    The line box is `advance` wide and ascent+descent high; `left`/`top` are the box's top-left
    corner inside `bits` (non-zero when ink overhangs the box, e.g. a 'j' at the start)."""

    bits: np.ndarray
    left: int
    top: int
    advance: int
    height: int


class FontBook:
    """The fonts labeld can use, and the caches that make rendering the same text cheap.

    Fonts come from the package's own folder first (DejaVu Sans, so a label renders the same on
    every machine), then from `folders` in order. A font is named by family ("DejaVu Sans") or by
    file name without extension ("DejaVuSans-Bold"), ignoring case, spaces, '-' and '_'.
    """

    def __init__(self, folders: Iterable[str | Path] = (), *, font_cache_size: int = 64,
                 run_cache_size: int = 2048):
        self.folders: tuple[Path, ...] = (SHIPPED_FONTS, *(Path(f) for f in folders))
        self._fonts: LRU[tuple[Path, int], ImageFont.FreeTypeFont] = LRU(font_cache_size)
        self.runs: LRU[tuple[Path, int, str], TextRun] = LRU(run_cache_size)
        self._resolved: LRU[tuple[str | None, bool], Path] = LRU(256)
        self._faces: list[FontFace] | None = None
        self._scan_lock = threading.Lock()

    # -- finding fonts ---------------------------------------------------------------------

    def faces(self) -> list[FontFace]:
        """Every font file found, scanned once on first use."""
        with self._scan_lock:
            if self._faces is None:
                self._faces = self._scan()
            return self._faces

    def _scan(self) -> list[FontFace]:
        faces: list[FontFace] = []
        for folder in self.folders:
            if not folder.is_dir():
                continue  # a configured folder that is gone must not stop shipped fonts working
            files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in FONT_SUFFIXES)
            for path in files[:MAX_FONT_FILES]:
                try:
                    family, style = ImageFont.truetype(str(path), 10).getname()
                except OSError:
                    continue  # not a font FreeType can read; skip it rather than fail every label
                faces.append(FontFace(path, family or path.stem, style or "Regular"))
        return faces

    def names(self) -> list[str]:
        """Family names, for error hints and a fonts listing."""
        return sorted({f.family for f in self.faces()})

    def resolve(self, name: str | None, bold: bool) -> Path:
        """The font file for `name` (None: the default) in the regular or bold face."""
        return self._resolved.get((name, bold), lambda: self._resolve(name, bold))

    def _resolve(self, name: str | None, bold: bool) -> Path:
        name = name or DEFAULT_FONT
        want = _norm(name)
        faces = self.faces()

        def by_family(styles: Callable[[str], bool]) -> Path | None:
            for f in faces:
                if _norm(f.family) == want and styles(_norm(f.style)):
                    return f.path
            return None

        def by_stem(stem: str) -> Path | None:
            for f in faces:
                if _norm(f.path.stem) == stem:
                    return f.path
            return None

        if bold:
            found = (by_family(lambda s: s == "bold") or by_stem(want + "bold")
                     or (by_stem(want) if want.endswith("bold") else None))
            if found is None and (by_family(lambda s: True) or by_stem(want)):
                raise Invalid("unknown-font", f"font {name!r} has no bold face",
                              "set bold to false, or install the bold face in the font folder")
        else:
            found = (by_family(lambda s: s in _REGULAR_STYLES) or by_stem(want)
                     or by_family(lambda s: True))
        if found is None:
            raise Invalid("unknown-font", f"unknown font {name!r}",
                          "available: " + ", ".join(self.names())
                          + "; add .ttf/.otf files to a configured font folder")
        return found

    # -- cached objects ----------------------------------------------------------------------

    def font(self, path: Path, size_px: int) -> ImageFont.FreeTypeFont:
        return self._fonts.get((path, size_px), lambda: ImageFont.truetype(str(path), size_px))

    def run(self, path: Path, size_px: int, text: str) -> TextRun:
        """One line of text rendered to dots; cached, so repeated lines cost a dict lookup."""
        return self.runs.get((path, size_px, text), lambda: self._render_run(path, size_px, text))

    def _render_run(self, path: Path, size_px: int, text: str) -> TextRun:
        font = self.font(path, size_px)
        ascent, descent = font.getmetrics()
        height = ascent + descent
        advance = math.ceil(font.getlength(text))
        _check_area(advance, height)
        if text.strip():
            ink, (ox, oy) = _ink(font, text)
        else:
            ink, ox, oy = np.zeros((0, 0), dtype=bool), 0, 0
        ih, iw = ink.shape
        # the line box starts at (left, top) in bits; ink may overhang it on any side
        left, top = max(0, -ox), max(0, -oy)
        w = max(advance, ox + iw) + left
        h = max(height, oy + ih) + top
        _check_area(w, h)
        bits = np.zeros((h, max(w, 1)), dtype=bool)
        bits[top + oy:top + oy + ih, left + ox:left + ox + iw] = ink
        bits.flags.writeable = False  # shared through the cache
        return TextRun(bits, left, top, advance, height)

    def width(self, path: Path, size_px: int, text: str) -> int:
        return math.ceil(self.font(path, size_px).getlength(text))


def _ink(font: ImageFont.FreeTypeFont, text: str) -> tuple[np.ndarray, tuple[int, int]]:
    """The text's ink as monochrome hinted glyphs (see the module docstring) and its offset
    from the top-left corner of the line box.

    getmask2 lays the text out and rasterises it once; wrapping its result needs Pillow's
    private Image._new, so the public route (measure, then draw: two layout passes, ~40% slower
    per line) stays as the fallback for a Pillow that drops it."""
    try:
        core, offset = font.getmask2(text, mode="1", anchor="la")
        return np.asarray(Image.Image()._new(core)) >= 128, offset
    except AttributeError:
        return _ink_public(font, text)


def _ink_public(font: ImageFont.FreeTypeFont, text: str) -> tuple[np.ndarray, tuple[int, int]]:
    left, top, right, bottom = font.getbbox(text, mode="1", anchor="la")
    im = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"
    draw.text((-left, -top), text, font=font, fill=255, anchor="la")
    return np.asarray(im) >= 128, (left, top)


def _check_area(w: int, h: int) -> None:
    """Text larger than any label is refused before its pixels are allocated."""
    if w * h > MAX_LABEL_DOTS:
        raise Invalid("does-not-fit", f"the text would be {w}x{h} dots, larger than any label",
                      "use a smaller size_pt or less text")


def pt_to_px(size_pt: float, dpi: int) -> int:
    return max(1, math.floor(size_pt * dpi / 72 + 0.5))


def _clean(text: str) -> list[str]:
    """Paragraphs of the text; tabs become spaces, other control characters go (FreeType would
    draw them as boxes)."""
    if text.isprintable():
        return [text]  # the common case, without a pass over every character
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = "".join(c for c in text if c == "\n" or ord(c) >= 32 and not 0x7F <= ord(c) < 0xA0)
    return text.split("\n")


def _wrap(paragraph: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy word wrap; a word longer than the line is broken between characters."""
    lines: list[str] = []
    line = ""
    for word in paragraph.split(" "):
        candidate = f"{line} {word}" if line else word
        if fits(candidate):
            line = candidate
            continue
        if line:
            lines.append(line)
        while word and not fits(word):
            # the longest prefix that fits, by bisection (getlength is monotone in the prefix)
            lo, hi = 1, len(word)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if fits(word[:mid]):
                    lo = mid
                else:
                    hi = mid - 1
            if not fits(word[:lo]):
                raise Invalid("does-not-fit", f"max_width_mm is narrower than the character "
                              f"{word[0]!r}", "make max_width_mm larger or the text smaller")
            lines.append(word[:lo])
            word = word[lo:]
        line = word
    lines.append(line)
    return lines


def layout_lines(el: TextElement, dpi: int, fonts: FontBook) -> tuple[Path, int, list[str], int]:
    """Font file, pixel size, lines and block width after wrapping or shrinking."""
    path = fonts.resolve(el.font, el.bold)
    size = pt_to_px(el.size_pt, dpi)
    paragraphs = _clean(el.text)
    if el.max_width_mm is None:
        # the runs are needed anyway and cached: their advance is the width, without measuring
        width = max(fonts.run(path, size, ln).advance for ln in paragraphs)
        return path, size, paragraphs, width
    max_w = mm_to_dots(el.max_width_mm, dpi)
    if el.fit == "shrink":
        natural = max(fonts.width(path, size, p) for p in paragraphs)
        if natural > max_w:
            # widths scale about linearly with size; hinting can add a dot, so step down to be sure
            size = max(1, math.floor(size * max_w / natural))
            while size > 1 and max(fonts.width(path, size, p) for p in paragraphs) > max_w:
                size -= 1
            if max(fonts.width(path, size, p) for p in paragraphs) > max_w:
                raise Invalid("does-not-fit", "the text does not fit max_width_mm at any size",
                              "make max_width_mm larger or the text shorter")
        return path, size, paragraphs, max_w
    lines = []
    for p in paragraphs:
        lines.extend(_wrap(p, lambda s: fonts.width(path, size, s) <= max_w))
    return path, size, lines, max_w


def render_text(el: TextElement, dpi: int, fonts: FontBook) -> Sprite:
    path, size, lines, block_w = layout_lines(el, dpi, fonts)
    runs = [fonts.run(path, size, ln) for ln in lines]
    line_h = runs[0].height
    xs = []
    for run in runs:
        free = block_w - run.advance
        xs.append(0 if el.align == "left" else free // 2 if el.align == "center" else free)
    # the canvas covers the block plus any ink overhang of the runs
    left = max(max(r.left - x for r, x in zip(runs, xs)), 0)
    top = max(max(r.top - i * line_h for i, r in enumerate(runs)), 0)
    right = max(max(x - r.left + r.bits.shape[1] for r, x in zip(runs, xs)), block_w) + left
    bottom = max(max(i * line_h - r.top + r.bits.shape[0] for i, r in enumerate(runs)),
                 line_h * len(runs)) + top
    _check_area(right, bottom)
    bits = np.zeros((bottom, right), dtype=bool)
    for i, (run, x) in enumerate(zip(runs, xs)):
        ox, oy = left + x - run.left, top + i * line_h - run.top
        rh, rw = run.bits.shape
        bits[oy:oy + rh, ox:ox + rw] |= run.bits
    box = (left, top, left + block_w, top + line_h * len(runs))
    return Sprite(bits, box).rotated(el.rotation)
