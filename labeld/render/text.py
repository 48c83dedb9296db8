"""Text: fonts by name, cached glyph runs, wrapping, shrink-to-fit and alignment.

Text is drawn with FreeType's monochrome rasteriser (hinted, no anti-aliasing): a thermal head
prints dots or nothing, and hinted 1-bit glyphs keep stems even at 8-10 pt on 203 dpi, where
thresholding anti-aliased glyphs makes stems come and go.

A line not seen before is, for the shipped fonts, composed from cached glyphs instead of being
laid out and rasterised again (~0.3 ms a line, most of a changing label's render time). The
result is the same dots as Pillow's own line rendering, kerning included, because Pillow places
each glyph's bitmap at a whole-dot pen position and only ORs bitmaps together: what a glyph
contributes depends on its pen position, which the cached advances and pair kernings give
exactly, and on nothing else. `_GlyphSet` has the details and the guards; where a guard says no,
the line is rendered whole, as before.
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
from labeld.render.document import MAX_LABEL_DOTS, BarcodeElement, TextElement, mm_to_dots
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
        self._glyphs: LRU[tuple[Path, int], _GlyphSet] = LRU(font_cache_size)
        # barcode sprites by (element, dpi), so reprinting a label skips encoding its symbols
        # (filled by labeld.render.barcodes; held here since a FontBook lives as long as the
        # daemon and already owns the other rendering caches)
        self.symbols: LRU[tuple[BarcodeElement, int], tuple[Sprite, int, int]] = LRU(
            run_cache_size)
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

    def glyph_set(self, path: Path, size_px: int) -> _GlyphSet | None:
        """The glyph compositor for a shipped font at this size; None for other fonts, whose
        layout features (contextual forms, mark positioning) no test here has checked."""
        if path not in COMPOSABLE_FONTS:
            return None
        return self._glyphs.get((path, size_px), lambda: _GlyphSet(self.font(path, size_px)))

    def _render_run(self, path: Path, size_px: int, text: str) -> TextRun:
        font = self.font(path, size_px)
        ascent, descent = font.getmetrics()
        height = ascent + descent
        composed = None
        if text.strip():
            glyphs = self.glyph_set(path, size_px)
            composed = glyphs.compose(text) if glyphs is not None else None
        if composed is not None:
            ink, ox, oy, advance_64 = composed
            advance = -(-advance_64 // 64)  # ceil, as of getlength's 26.6 value below
        else:
            advance = math.ceil(font.getlength(text))
        _check_area(advance, height)
        if composed is None:
            if text.strip():
                ink, (ox, oy) = _crop(*_ink(font, text))
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


def _crop(ink: np.ndarray, offset: tuple[int, int]) -> tuple[np.ndarray, int, int]:
    """The ink cut to its bounding box, and that box's top-left corner in line coordinates.

    Both ways of drawing a line (whole, or composed from glyphs) hand over ink cropped like
    this, so a TextRun is the same object whichever way it was drawn; the blank margins getmask2
    leaves around glyphs never printed anyway."""
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return np.zeros((0, 0), dtype=bool), 0, 0
    cols = np.flatnonzero(ink.any(axis=0))
    top, left = int(rows[0]), int(cols[0])
    return (ink[top:int(rows[-1]) + 1, left:int(cols[-1]) + 1], offset[0] + left,
            offset[1] + top)


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


# The fonts whose glyph-by-glyph composition tests/render/test_text.py proves identical to
# Pillow's line rendering (random strings, many sizes). Another font could be added after the
# same test passes for it.
COMPOSABLE_FONTS = frozenset({SHIPPED_FONTS / "DejaVuSans.ttf",
                              SHIPPED_FONTS / "DejaVuSans-Bold.ttf"})

# Characters the compositor draws: Latin letters, digits, punctuation, currency signs and
# spaces. These need no contextual shaping (no joining forms, no reordering, no marks to attach
# to a base), so their layout is a sequence of advances with pair kerning. Anything else (and
# the soft hyphen, an invisible format character) sends the line to the whole-line renderer.
_COMPOSABLE = re.compile("[\x20-\x7e\xa0-\xac\xae-\u024f\u1e00-\u1eff\u2010-\u2027"
                         "\u2030-\u205e\u20a0-\u20c0]+")

# Pairs checked against Pillow per line before giving up on composing it: each check renders a
# three-glyph string, so a line full of pairs never seen before is cheaper rendered whole. The
# pairs a label repeats (digits of prices and serials) are all checked after a few labels.
MAX_PAIR_CHECKS_PER_LINE = 4
MAX_PAIRS = 50_000  # per font and size: a bound on memory, far above any real label's alphabet

Glyph = tuple[np.ndarray, int, int]  # cropped ink, its left x from the pen position, its top y


class _GlyphSet:
    """One font at one size: glyph ink, advances and checked kerning pairs, to compose lines.

    How Pillow (getmask2, with raqm layout) draws a line: HarfBuzz gives each glyph an advance
    in 1/64 dot, kerning included (a pair's kerning changes the first glyph's advance); the pen
    starts at 0 and each glyph's monochrome bitmap, rendered on its own, is placed at the pen
    position rounded to a whole dot and OR-ed in. So a composed line is exact when we know, for
    every glyph, its bitmap relative to its pen position and its advance, and for every adjacent
    pair its kerning:

    * advance(c) = getlength(c) and kerning(a, b) = getlength(ab) - advance(a) - advance(b),
      all exact 1/64 values;
    * the ink relative to the pen comes from rendering " c": after a space the glyph lies right
      of the line's origin. Rendering "c" alone would not do for a glyph reaching left of the
      pen (j, ł): getmask2 then sizes the image by the outline's box but draws by the bitmap's,
      which can differ by a dot.

    What that model cannot see is guarded, not assumed. Glyphs whose bitmap strays outside their
    outline box (the underscore, cedilla, ogonek and tilde at some sizes: Pillow clips them, or
    shifts the whole line by a dot) and ligatures (fi, fl) make a pair compose differently from
    Pillow's rendering of it. So every adjacent pair of a line must have been checked once, by
    composing " ab" and comparing it with Pillow's own rendering, dot for dot; a pair that
    differs, or a line starting with a glyph left of the pen, goes to the whole-line renderer.
    Longer-range effects (contextual kerning, 3-letter ligatures) are not checked at run time:
    the shipped fonts have none that changes a dot, which the test on random strings shows.
    """

    def __init__(self, font: ImageFont.FreeTypeFont):
        self.font = font
        self.advance: dict[str, int] = {}
        self.glyph: dict[str, Glyph | None | bool] = {}  # None: no ink; False: not composable
        self.kerning: dict[tuple[str, str], int] = {}
        self.pair_ok: dict[tuple[str, str], bool] = {}

    def _length(self, text: str) -> int:
        return round(self.font.getlength(text) * 64)

    def _glyph(self, c: str) -> Glyph | None | bool:
        g = self.glyph.get(c)
        if g is None and c not in self.glyph:
            self.advance[c] = self._length(c)
            probe, x, y = _crop(*_ink(self.font, " " + c))
            if probe.size == 0:
                # no ink after a space: a blank glyph, or one Pillow clips away in a line
                g = None if _crop(*_ink(self.font, c))[0].size == 0 else False
            else:
                pen = self._length(" " + c) - self.advance[c]
                g = (probe, x - ((pen + 32) >> 6), y)
                if g[1] + ((pen + 32) >> 6) < 0:
                    g = False  # reaches left of the line's origin even after a space
            self.glyph[c] = g
        return g

    def _kerning(self, a: str, b: str) -> int:
        k = self.kerning.get((a, b))
        if k is None:
            k = self._length(a + b) - self.advance[a] - self.advance[b]
            self.kerning[(a, b)] = k
        return k

    def _layout(self, text: str) -> tuple[list[Glyph], list[int], int] | None:
        """Glyphs with ink, their pen positions in whole dots, and the line's advance in 1/64
        dot; None when a glyph cannot be composed or ink would fall left of the origin."""
        glyphs: list[Glyph] = []
        xs: list[int] = []
        pen = 0
        last = len(text) - 1
        for i, c in enumerate(text):
            g = self._glyph(c)
            if g is False:
                return None
            if g is not None:
                assert not isinstance(g, bool)
                px = (pen + 32) >> 6  # Pillow's PIXEL(): round half up to a whole dot
                if px + g[1] < 0:
                    return None
                glyphs.append(g)
                xs.append(px)
            pen += self.advance[c]
            if i < last:
                if self._glyph(text[i + 1]) is False:
                    return None
                pen += self._kerning(c, text[i + 1])
        return glyphs, xs, pen

    def _draw(self, text: str) -> tuple[np.ndarray, int, int, int] | None:
        laid = self._layout(text)
        if laid is None:
            return None
        glyphs, xs, advance = laid
        if not glyphs:
            return np.zeros((0, 0), dtype=bool), 0, 0, advance
        left = min(x + g[1] for g, x in zip(glyphs, xs))
        top = min(g[2] for g in glyphs)
        right = max(x + g[1] + g[0].shape[1] for g, x in zip(glyphs, xs))
        bottom = max(g[2] + g[0].shape[0] for g in glyphs)
        _check_area(right - left, bottom - top)
        ink = np.zeros((bottom - top, right - left), dtype=bool)
        for (g_ink, gx, gy), x in zip(glyphs, xs):
            h, w = g_ink.shape
            x0, y0 = x + gx - left, gy - top
            ink[y0:y0 + h, x0:x0 + w] |= g_ink
        return ink, left, top, advance

    def _check_pair(self, a: str, b: str) -> bool:
        """Does " ab" compose to exactly the dots Pillow draws for it?"""
        composed = self._draw(" " + a + b)
        ok = False
        if composed is not None:
            ink, x, y = _crop(*_ink(self.font, " " + a + b))
            ok = (x, y) == composed[1:3] and np.array_equal(ink, composed[0])
        if len(self.pair_ok) >= MAX_PAIRS:
            self.pair_ok.clear()
            self.kerning.clear()
        self.pair_ok[(a, b)] = ok
        return ok

    def compose(self, text: str) -> tuple[np.ndarray, int, int, int] | None:
        """The line's ink (cropped), its top-left corner relative to the line box, and its
        advance in 1/64 dot; None when the line must be rendered whole."""
        if len(text) < 2 or not _COMPOSABLE.fullmatch(text):
            return None  # one glyph costs as much to render as to check
        pairs = set(zip(text, text[1:]))
        unchecked = [p for p in pairs if p not in self.pair_ok]
        if len(unchecked) > MAX_PAIR_CHECKS_PER_LINE:
            # learn a few pairs for next time, render this line whole
            for a, b in unchecked[:MAX_PAIR_CHECKS_PER_LINE]:
                if self._glyph(a) is not False and self._glyph(b) is not False:
                    self._check_pair(a, b)
            return None
        for a, b in unchecked:
            if self._glyph(a) is False or self._glyph(b) is False:
                return None
            self._check_pair(a, b)
        if not all(self.pair_ok[p] for p in pairs):
            return None
        return self._draw(text)


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
