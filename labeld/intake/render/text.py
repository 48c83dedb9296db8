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
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from labeld.errors import Invalid
from labeld.intake.render.label import MAX_LABEL_DOTS, BarcodeElement, TextElement, mm_to_dots
from labeld.intake.render.sprite import Sprite

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
    corner inside `bits` (non-zero when ink overhangs the box, e.g. a 'j' at the start). `ink` is
    the box (left, top, right, bottom) of the dots that print, empty for a blank line."""

    bits: np.ndarray
    left: int
    top: int
    advance: int
    height: int
    ink: tuple[int, int, int, int] = (0, 0, 0, 0)


class FontBook:
    """The fonts labeld can use, and the caches that make rendering the same text cheap.

    Fonts come from the package's own folder first (DejaVu Sans, so a label renders the same on
    every machine), then from `folders` in order. A font is named by family ("DejaVu Sans") or by
    file name without extension ("DejaVuSans-Bold"), ignoring case, spaces, '-' and '_'.
    """

    def __init__(self, folders: Iterable[str | Path] = (), *, font_cache_size: int = 64,
                 run_cache_size: int = 2048, symbol_cache_size: int = 64):
        self.folders: tuple[Path, ...] = (SHIPPED_FONTS, *(Path(f) for f in folders))
        self._fonts: LRU[tuple[Path, int], ImageFont.FreeTypeFont] = LRU(font_cache_size)
        self.runs: LRU[tuple[Path, int, str], TextRun] = LRU(run_cache_size)
        self._resolved: LRU[tuple[str | None, bool], Path] = LRU(256)
        self._glyphs: LRU[tuple[Path, int], _GlyphSet] = LRU(font_cache_size)
        # Drawn barcodes by (element placed at 0,0; dpi), so a reprinted label skips encoding
        # its symbols. Filled by labeld.intake.render.barcodes; held here because a FontBook lives
        # as long as the daemon and owns the other rendering caches. Fewer entries than runs: a
        # 4x6 in label's Code 128 is ~0.1 MB of dots.
        self.symbols: LRU[tuple[BarcodeElement, int], tuple[Sprite, int, int]] = LRU(
            symbol_cache_size)
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
        laid = None
        if text.strip():
            glyphs = self.glyph_set(path, size_px)
            laid = glyphs.compose(text) if glyphs is not None else None
        ink = None
        if laid is not None:
            ox, oy, right, bottom = laid[1] if laid[0] else (0, 0, 0, 0)
            ih, iw = bottom - oy, right - ox
            advance = -(-laid[2] // 64)  # ceil, as of getlength's 26.6 value below
        else:
            advance = math.ceil(font.getlength(text))
            _check_area(advance, height)
            if text.strip():
                ink, ox, oy = _crop(*_ink(font, text))
            else:
                ink, ox, oy = np.zeros((0, 0), dtype=bool), 0, 0
            ih, iw = ink.shape
        # the line box starts at (left, top) in bits; ink may overhang it on any side
        left, top = max(0, -ox), max(0, -oy)
        w = max(advance, ox + iw) + left
        h = max(height, oy + ih) + top
        _check_area(w, h)
        bits = np.zeros((h, max(w, 1)), dtype=bool)
        if laid is not None:
            _GlyphSet.draw_into(bits, laid, left, top)  # straight into the run, no copy
        else:
            bits[top + oy:top + oy + ih, left + ox:left + ox + iw] = ink
        bits.flags.writeable = False  # shared through the cache
        return TextRun(bits, left, top, advance, height,
                       (left + ox, top + oy, left + ox + iw, top + oy + ih))

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


def _ink(font: ImageFont.FreeTypeFont, text: str,
         features: list[str] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The text's ink as monochrome hinted glyphs (see the module docstring) and its offset
    from the top-left corner of the line box.

    getmask2 lays the text out and rasterises it once; wrapping its result needs Pillow's
    private Image._new, so the public route (measure, then draw: two layout passes, ~40% slower
    per line) stays as the fallback for a Pillow that drops it."""
    try:
        core, offset = font.getmask2(text, mode="1", anchor="la", features=features)
        return np.asarray(Image.Image()._new(core)) >= 128, offset
    except AttributeError:
        return _ink_public(font, text, features)
    except OSError as e:
        # FreeType refuses some outlines at a few dots ("raster overflow"); a font from the
        # configured folder may fail at other sizes. Tell the user, never answer 500.
        raise Invalid("unrenderable-text", f"the font cannot draw {text!r} at {font.size} "
                      f"dots: {e}", "use a larger size_pt or another font") from e


def _ink_public(font: ImageFont.FreeTypeFont, text: str,
                features: list[str] | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    # whole dots for a TrueType font; typed float because bitmap fonts may not be
    left, top, right, bottom = (int(v) for v in font.getbbox(text, mode="1", anchor="la",
                                                             features=features))
    im = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    draw = ImageDraw.Draw(im)
    draw.fontmode = "1"
    draw.text((-left, -top), text, font=font, fill=255, anchor="la", features=features)
    return np.asarray(im) >= 128, (left, top)


# The fonts whose composition was compared with Pillow's line rendering, dot for dot, on random
# strings of the characters below at 11-120 px, without a difference. Another font may be added
# once the same comparison passes for it.
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
# A line is drawn by OR-ing each glyph's bitmap in (~2 us a glyph) or by one scatter of all
# their dots (~5 us + 11 ns a dot). Measured: 28 glyphs of 11 pt (134 dots each) 51 -> 39 us
# scattered; 7 glyphs of 28 pt bold (1436 dots) 16 -> 113 us. Scatter below this many dots a
# glyph on average (and from 8 glyphs on).
SCATTER_MAX_DOTS_PER_GLYPH = 150
# A pair is checked after one and after two spaces: two pen phases (a space is 0.3-0.4 em), so
# that a difference hidden by rounding at one phase shows at the other.
_PAIR_PREFIXES = (" ", "  ")
# The OpenType features that substitute glyphs in Latin text (HarfBuzz turns these on by
# default); a pair whose layout changes without them is a ligature and is never composed.
_NO_SUBSTITUTIONS = ["-liga", "-clig", "-calt", "-rlig", "-dlig"]

# cropped ink, its left x from the pen position, its top y from the line box's top, how far
# the outline's box reaches left of the ink (<= 0), and the ink's dots as (y, x) index arrays,
# y from the line box's top and x from the ink's left, to draw a line in one scatter
Glyph = tuple[np.ndarray, int, int, int, np.ndarray, np.ndarray]
# placed glyphs (glyph, left x of its ink), the ink's box (left, top, right, bottom), advance
_Layout = tuple[list[tuple[Glyph, int]], tuple[int, int, int, int], int]


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

    What that model cannot see is guarded, not assumed:

    * glyphs whose bitmap strays outside their outline box (the underscore and tilde at some
      sizes) make Pillow clip them, or shift the whole line by a dot; a pair with one of them
      composes differently from Pillow's rendering of it. So every pair a line relies on is
      checked once, composed after one and after two spaces (two pen phases) and compared with
      Pillow's rendering dot for dot: the neighbours, and the glyphs on either side of a gap of
      spaces (the shift is decided by the line's tallest glyphs, wherever they are);
    * ligatures: a pair whose length or dots change when the substitution features are turned
      off (ff changes length, fi and fl only shape) is never composed;
    * spacing accents (^ ` ´ ¨ ¸) may be classed as marks and moved onto the previous glyph:
      never composed; nor is anything outside _COMPOSABLE (other scripts shape in context);
    * a line starting with a glyph that reaches left of the pen (j, ł): rendered whole.

    Longer-range effects (contextual kerning, three-letter ligatures) are not checked at run
    time; the shipped fonts show none in the comparison on random strings.
    """

    def __init__(self, font: ImageFont.FreeTypeFont):
        self.font = font
        self.advance: dict[str, int] = {}
        self.glyph: dict[str, Glyph | bool | None] = {}  # None: no ink; False: not composable
        self.kerning: dict[tuple[str, str], int] = {}
        self.pair_ok: dict[tuple[str, str], bool] = {}
        # only raqm layout applies a font's substitutions (ligatures) and takes `features`
        self.substitutions = font.layout_engine == ImageFont.Layout.RAQM

    def _length(self, text: str, features: list[str] | None = None) -> int:
        if features is not None and not self.substitutions:
            features = None  # basic layout: no substitutions to turn off (nor a way to)
        return round(self.font.getlength(text, features=features) * 64)

    def _glyph(self, c: str) -> Glyph | bool | None:
        g = self.glyph.get(c)
        if g is None and c not in self.glyph:
            self.advance[c] = self._length(c)
            if unicodedata.category(c) == "Sk":
                # spacing accents (^ ` ´ ¨ ¸): fonts may class them as marks and attach them
                # to the glyph before, which moves them by an offset no advance shows
                self.glyph[c] = False
                return False
            probe, x, y = _crop(*_ink(self.font, " " + c))
            if probe.size == 0:
                # no ink after a space: a blank glyph, or one Pillow clips away in a line
                g = None if _crop(*_ink(self.font, c))[0].size == 0 else False
            else:
                pen = self._length(" " + c) - self.advance[c]
                # the ink's left edge, or the left edge of the outline's box if that lies
                # further left (as a glyph at the start of a line shows, see the class doc)
                box_left = int(self.font.getbbox(c, mode="1", anchor="ls")[0])
                reach = min(x, box_left + ((pen + 32) >> 6))
                if reach < 0:
                    g = False  # reaches left of the line's origin even after a space
                else:
                    ys, xs = np.nonzero(probe)
                    g = (probe, x - ((pen + 32) >> 6), y, reach - x, ys + y, xs)
            self.glyph[c] = g
        return g

    def _kerning(self, a: str, b: str) -> int:
        k = self.kerning.get((a, b))
        if k is None:
            k = self._length(a + b) - self.advance[a] - self.advance[b]
            self.kerning[(a, b)] = k
        return k

    def _layout(self, text: str, unchecked: list[tuple[str, str]] | None = None
                ) -> _Layout | None:
        """Where each glyph with ink goes, the ink's bounding box and the line's advance in 1/64
        dot; None when a glyph cannot be composed or ink would fall left of the line's origin.

        With `unchecked`, also looks up the pairs the composition relies on: neighbours, and
        the glyphs on either side of a gap of blanks as (a, " " + b); None when one of them is
        known not to compose, and the ones never checked are appended to `unchecked`. Pillow
        shifts a whole line by a dot when one of its glyphs' bitmap disagrees with its outline
        box, so every glyph with ink is checked together with the previous one, spaces or not."""
        glyph, advance, kerning, pair_ok = self.glyph, self.advance, self.kerning, self.pair_ok
        placed: list[tuple[Glyph, int]] = []
        left = top = 1 << 30
        right = bottom = -(1 << 30)
        pen = 0
        prev = last_ink = ""
        gap = False
        for c in text:
            g = glyph.get(c, False) if c in glyph else self._glyph(c)
            if g is False:
                return None
            if prev:
                k = kerning.get((prev, c))
                pen += k if k is not None else self._kerning(prev, c)
                if unchecked is not None:
                    ok = pair_ok.get((prev, c))
                    if ok is None:
                        unchecked.append((prev, c))
                    elif not ok:
                        return None
            if g is None:
                gap = True
            else:
                assert not isinstance(g, bool)
                ink, gx, gy, reach, _, _ = g
                x = ((pen + 32) >> 6) + gx  # Pillow's PIXEL(): the pen rounded half up
                if x + reach < 0:
                    return None  # the line's image would start left of the origin
                placed.append((g, x))
                h, w = ink.shape
                left, top = min(left, x), min(top, gy)
                right, bottom = max(right, x + w), max(bottom, gy + h)
                if gap and last_ink and unchecked is not None:
                    ok = pair_ok.get((last_ink, " " + c))
                    if ok is None:
                        unchecked.append((last_ink, " " + c))
                    elif not ok:
                        return None
                last_ink, gap = c, False
            pen += advance[c]
            prev = c
        return placed, (left, top, right, bottom), pen

    def _draw(self, text: str) -> tuple[np.ndarray, int, int, int] | None:
        """The composed line: cropped ink, its top-left corner, its advance in 1/64 dot."""
        laid = self._layout(text)
        if laid is None:
            return None
        placed, (left, top, right, bottom), advance = laid
        if not placed:
            return np.zeros((0, 0), dtype=bool), 0, 0, advance
        _check_area(right - left, bottom - top)
        out = np.zeros((bottom - top, right - left), dtype=bool)
        self.draw_into(out, laid, -left, -top)
        return out, left, top, advance

    @staticmethod
    def draw_into(out: np.ndarray, laid: _Layout, dx: int, dy: int) -> None:
        """OR the laid-out glyphs into `out`, the line's origin at (dx, dy) in it."""
        placed = laid[0]
        counts = [g[5].size for g, _ in placed]
        if len(placed) >= 8 and sum(counts) < SCATTER_MAX_DOTS_PER_GLYPH * len(placed):
            # many small glyphs: one scatter of all their dots
            ys = np.concatenate([g[4] for g, _ in placed])
            xs = np.concatenate([g[5] for g, _ in placed])
            xs += np.repeat(np.fromiter((x for _, x in placed), dtype=np.intp,
                                        count=len(placed)), counts) + dx
            if dy:
                ys += dy
            out[ys, xs] = True
            return
        for (ink, _, gy, _, _, _), x in placed:
            h, w = ink.shape
            x0, y0 = x + dx, gy + dy
            out[y0:y0 + h, x0:x0 + w] |= ink

    def _check_pair(self, a: str, b: str) -> bool:
        """Is the pair free of substitutions, and does it compose to exactly Pillow's dots?"""
        ok = self._length(a + b) == self._length(a + b, _NO_SUBSTITUTIONS)  # a ligature: ff
        for prefix in _PAIR_PREFIXES:
            if not ok:
                break
            text = prefix + a + b
            composed = self._draw(text)
            truth = _crop(*_ink(self.font, text))
            ok = (composed is not None and truth[1:] == composed[1:3]
                  and np.array_equal(truth[0], composed[0]))
            if ok and prefix == _PAIR_PREFIXES[0] and self.substitutions:
                # a ligature as wide as its letters (fi, fl) only shows in its shape
                plain = _crop(*_ink(self.font, text, _NO_SUBSTITUTIONS))
                ok = truth[1:] == plain[1:] and np.array_equal(truth[0], plain[0])
        if len(self.pair_ok) >= MAX_PAIRS:
            self.pair_ok.clear()
            self.kerning.clear()
        self.pair_ok[(a, b)] = ok
        return ok

    def compose(self, text: str) -> _Layout | None:
        """The line laid out from cached glyphs (draw it with `draw_into`): where each glyph
        goes, the ink's box relative to the line box, and the advance in 1/64 dot; None when
        the line must be rendered whole."""
        if len(text) < 2 or not _COMPOSABLE.fullmatch(text):
            return None  # one glyph costs as much to render as to check
        unchecked: list[tuple[str, str]] = []
        laid = self._layout(text, unchecked)
        if laid is None:
            return None
        if unchecked:
            unchecked = list(dict.fromkeys(unchecked))
            for a, b in unchecked[:MAX_PAIR_CHECKS_PER_LINE]:
                if not self._check_pair(a, b):
                    return None
            if len(unchecked) > MAX_PAIR_CHECKS_PER_LINE:
                return None  # a few pairs learnt for next time; this line is rendered whole
        return laid


def _check_area(w: int, h: int) -> None:
    """Text larger than any label is refused before its pixels are allocated."""
    if w * h > MAX_LABEL_DOTS:
        raise Invalid("does-not-fit", f"the text would be {w}x{h} dots, larger than any label",
                      "use a smaller size_pt or less text")


# Below this a glyph is a smudge on any print head (Zebra's smallest font, A, is 9 dots tall),
# and FreeType fails outright on some outlines at 1-3 dots.
MIN_TEXT_DOTS = 6


def pt_to_px(size_pt: float, dpi: int) -> int:
    return max(1, math.floor(size_pt * dpi / 72 + 0.5))


def _check_size(size_pt: float, size_px: int, dpi: int) -> None:
    if size_px < MIN_TEXT_DOTS:
        raise Invalid("too-small", f"size_pt {size_pt:g} is {size_px} dots at {dpi} dpi; "
                      f"text needs at least {MIN_TEXT_DOTS} dots to be legible",
                      f"use size_pt >= {math.ceil(MIN_TEXT_DOTS * 72 / dpi * 10) / 10:g}")


def _clean(text: str) -> list[str]:
    """Paragraphs of the text; tabs become spaces, other control characters go (FreeType would
    draw them as boxes)."""
    if text.isprintable():
        return [text]  # the common case, without a pass over every character
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = "".join(c for c in text if c == "\n" or (ord(c) >= 32 and not 0x7F <= ord(c) < 0xA0))
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
    _check_size(el.size_pt, size, dpi)
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
            size = max(MIN_TEXT_DOTS, math.floor(size * max_w / natural))
            while (widest := max(fonts.width(path, size, p) for p in paragraphs)) > max_w \
                    and size > MIN_TEXT_DOTS:
                size -= 1
            if widest > max_w:
                raise Invalid("does-not-fit",
                              "the text does not fit max_width_mm at any legible size",
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
    left = max(max(r.left - x for r, x in zip(runs, xs, strict=True)), 0)
    top = max(max(r.top - i * line_h for i, r in enumerate(runs)), 0)
    right = max(max(x - r.left + r.bits.shape[1] for r, x in zip(runs, xs, strict=True)),
                block_w) + left
    bottom = max(max(i * line_h - r.top + r.bits.shape[0] for i, r in enumerate(runs)),
                 line_h * len(runs)) + top
    _check_area(right, bottom)
    box = (left, top, left + block_w, top + line_h * len(runs))
    if len(runs) == 1 and (left, top) == (runs[0].left - xs[0], runs[0].top) \
            and (bottom, right) == runs[0].bits.shape:
        # one line filling the canvas exactly (left-aligned, as most are): its cached, read-only
        # dots are the sprite, no copy
        return Sprite(runs[0].bits, box).rotated(el.rotation)
    bits = np.zeros((bottom, right), dtype=bool)
    for i, (run, x) in enumerate(zip(runs, xs, strict=True)):
        ox, oy = left + x - run.left, top + i * line_h - run.top
        rh, rw = run.bits.shape
        bits[oy:oy + rh, ox:ox + rw] |= run.bits
    return Sprite(bits, box).rotated(el.rotation)
