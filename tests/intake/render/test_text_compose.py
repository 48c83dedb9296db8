"""Lines composed from cached glyphs are the very dots Pillow draws for the whole line.

labeld.intake.render.text composes a new line of a shipped font from cached glyph bitmaps, advances
and checked kerning pairs (~10x faster than laying the line out again). Its claim is exactness,
not similarity: these tests compare composed lines with Pillow's own rendering of the same text,
dot for dot, position and advance included."""

from __future__ import annotations

import random

import numpy as np
import pytest

from labeld.intake.render import FontBook, TextElement
from labeld.intake.render.text import COMPOSABLE_FONTS, _crop, _GlyphSet, _ink, render_text

LATIN = [chr(c) for c in [*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x2010, 0x2028), 0x20AC]
         if chr(c).isprintable() and c != 0xAD]
SHOP = list("0123456789 .,-/:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            "ÁÉÍÓÖŐÚÜŰáéíóöőúüű€%()")


def whole_line(font, text: str) -> tuple[np.ndarray, int, int, int]:
    ink, x, y = _crop(*_ink(font, text))
    return ink, x, y, round(font.getlength(text) * 64)


@pytest.mark.parametrize("path", sorted(COMPOSABLE_FONTS), ids=lambda p: p.stem)
@pytest.mark.parametrize("size", [11, 17, 28, 57, 120])
def test_composed_lines_are_pillows_dots(fonts: FontBook, path, size: int):
    font = fonts.font(path, size)
    glyphs = _GlyphSet(font)
    rng = random.Random(size)
    composed = 0
    for n in range(100):
        alphabet = SHOP if n % 2 else LATIN
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(2, 30)))
        for _ in range(20):  # until every pair the line needs is checked (4 a call)
            checked = len(glyphs.pair_ok)
            laid = glyphs.compose(text)
            if laid is not None or len(glyphs.pair_ok) == checked:
                break
        if laid is None:
            continue
        got = glyphs._draw(text)  # the same layout, drawn with draw_into like a run
        composed += 1
        want = whole_line(font, text)
        assert got[1:] == want[1:], text
        assert np.array_equal(got[0], want[0]), text
    assert composed > 30  # the guards must not turn composition off altogether


def test_ligatures_and_clipped_glyphs_are_rendered_whole(fonts: FontBook):
    path = min(COMPOSABLE_FONTS)
    glyphs = _GlyphSet(fonts.font(path, 28))
    for text in ("office", "fluff", "a_b", "x¸y", "^^"):
        for _ in range(10):
            assert glyphs.compose(text) is None, text


def test_a_changing_label_line_renders_like_the_first_time():
    """The run cache's two ways of drawing a line hand over the same TextRun."""
    composed_fonts, whole_fonts = FontBook(), FontBook()
    whole_fonts.glyph_set = lambda path, size: None  # type: ignore[method-assign]
    for i in range(60):
        el = TextElement(0, 0, f"Order {4500012345 + i * 7919}  /  {1290 + i * 37} Ft",
                         size_pt=11, bold=bool(i % 2))
        a = render_text(el, 203, composed_fonts)
        b = render_text(el, 203, whole_fonts)
        assert a.box == b.box and np.array_equal(a.bits, b.bits)


@pytest.mark.parametrize("path", sorted(COMPOSABLE_FONTS), ids=lambda p: p.stem)
def test_a_runs_ink_box_is_exactly_its_dots(fonts: FontBook, path):
    # barcodes place their digits by this box without scanning the dots again
    rng = random.Random(7)
    for n in range(150):
        size = rng.choice([9, 13, 24])
        text = "".join(rng.choice(SHOP if n % 2 else LATIN) for _ in range(rng.randint(1, 20)))
        run = fonts.run(path, size, text)
        rows, cols = np.flatnonzero(run.bits.any(axis=1)), np.flatnonzero(run.bits.any(axis=0))
        want = ((int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
                if rows.size else None)
        left, _, right, _ = run.ink
        assert (want is None and right <= left) or run.ink == want, text
    assert fonts.run(path, 13, "   ").ink[2] <= fonts.run(path, 13, "   ").ink[0]
