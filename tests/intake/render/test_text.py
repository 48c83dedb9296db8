"""Text: Hungarian and all Latin-2 letters render as real glyphs, layout options do what they say.

The reference image tests/intake/render/data/hungarian_203.png was generated once by this file.
After an intended rendering change (or a Pillow/FreeType upgrade that moves hinting), look at the
new image, then regenerate it with:

    LABELD_REGEN_REFERENCE=1 pytest tests/intake/render/test_text.py -k reference
"""

from __future__ import annotations

import os
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from labeld.errors import Invalid
from labeld.intake.render import (FontBook, TextElement, parse_label, png_to_raster, raster_to_bits,
                           raster_to_png, render_label)
from labeld.intake.render.text import MIN_TEXT_DOTS, SHIPPED_FONTS, render_text
from tests.intake.render.conftest import ink_box

HUNGARIAN = "Árvíztűrő tükörfúrógép ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"
REFERENCE = Path(__file__).parent / "data" / "hungarian_203.png"
NOTDEF_CHAR = "\U0010fffd"  # a private-use code point no shipped font maps


def latin2_letters() -> list[str]:
    """Every letter of ISO 8859-2 (Central European), the set Hungarian labels draw from."""
    chars = bytes(range(0xA0, 0x100)).decode("iso8859_2")
    return [c for c in chars if c.isalpha()]


def glyph(font, ch: str) -> np.ndarray:
    mask = font.getmask(ch, mode="1")
    w, h = mask.size
    return np.array(mask, dtype=np.uint8).reshape(h, w) > 0 if w and h else np.zeros((0, 0), bool)


@pytest.mark.parametrize("bold", [False, True])
def test_every_latin2_letter_is_a_real_glyph(fonts: FontBook, bold: bool):
    font = fonts.font(fonts.resolve(None, bold), 48)
    notdef = glyph(font, NOTDEF_CHAR)
    assert notdef.any(), "the notdef glyph should be a visible box"
    letters = latin2_letters()
    assert set("ÁÉÍÓÖŐÚÜŰáéíóöőúüű") <= set(letters)
    for ch in letters:
        g = glyph(font, ch)
        assert g.any(), f"{ch!r} has no ink"
        assert g.shape != notdef.shape or not np.array_equal(g, notdef), f"{ch!r} is .notdef"
        base = unicodedata.normalize("NFD", ch)[0]
        if base != ch and base.isascii():
            b = glyph(font, base)
            assert g.shape != b.shape or not np.array_equal(g, b), \
                f"{ch!r} looks like {base!r}: its accent is missing"


def test_accents_are_drawn_above_or_below_the_base_letter(fonts: FontBook):
    font = fonts.font(fonts.resolve(None, False), 48)
    for ch, base in [("ő", "o"), ("ű", "u"), ("Ő", "O"), ("Ű", "U"), ("á", "a"), ("ş", "s")]:
        g_box = font.getbbox(ch, anchor="ls")
        b_box = font.getbbox(base, anchor="ls")
        assert g_box[1] < b_box[1] or g_box[3] > b_box[3], ch  # taller than the base letter


def test_hungarian_matches_the_reference_rendering(fonts: FontBook):
    doc = {"width_mm": 90, "height_mm": 16, "dpi": 203, "elements": [
        {"type": "text", "x_mm": 1, "y_mm": 1, "text": "Árvíztűrő tükörfúrógép", "size_pt": 12,
         "bold": True},
        {"type": "text", "x_mm": 1, "y_mm": 8, "text": "ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP", "size_pt": 10},
    ]}
    raster = render_label(parse_label(doc, 203), fonts)
    if os.environ.get("LABELD_REGEN_REFERENCE"):
        REFERENCE.write_bytes(raster_to_png(raster))
    reference = png_to_raster(REFERENCE.read_bytes())
    assert (reference.width, reference.height, reference.dpi) == (raster.width, raster.height, 203)
    got, want = raster_to_bits(raster), raster_to_bits(reference)
    differing = int((got != want).sum())
    # a FreeType upgrade may move a few dots of hinting; a missing accent or a .notdef box
    # changes far more than 1% of the ink
    assert differing <= want.sum() // 100, (
        f"{differing} dots differ from {REFERENCE.name}; if the change is intended, regenerate "
        "it: LABELD_REGEN_REFERENCE=1 pytest tests/intake/render/test_text.py -k reference")


def test_bold_is_heavier_and_size_scales(fonts: FontBook):
    def ink(**kw) -> int:
        return int(render_text(TextElement(0, 0, HUNGARIAN, **kw), 203, fonts).bits.sum())

    assert ink(bold=True) > ink(bold=False) * 1.2
    assert ink(size_pt=20) > ink(size_pt=10) * 3


def test_size_pt_converts_with_the_dpi(fonts: FontBook):
    # 72 pt = 1 inch: the line box is about as tall as the dpi says (1.164 em for DejaVu)
    for dpi in (203, 300):
        s = render_text(TextElement(0, 0, "Hg", size_pt=72), dpi, fonts)
        height = s.box[3] - s.box[1]
        assert abs(height - 1.164 * dpi) <= 2


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment_within_max_width(draw, align):
    bits = draw([{"type": "text", "x_mm": 10, "y_mm": 5, "text": "Ár", "size_pt": 20,
                  "max_width_mm": 60, "align": align}], width_mm=80, height_mm=20)
    left, _, right, _ = ink_box(bits)
    x0, x1 = round(10 * 203 / 25.4), round(70 * 203 / 25.4)
    centre = (left + right) / 2
    if align == "left":
        assert abs(left - x0) <= 3
    elif align == "right":
        assert abs(right - x1) <= 3
    else:
        assert abs(centre - (x0 + x1) / 2) <= 2


def test_multiline_alignment_uses_the_widest_line(fonts: FontBook):
    s = render_text(TextElement(0, 0, "wide line here\nx", align="right"), 203, fonts)
    h = s.bits.shape[0] // 2
    assert ink_box(s.bits[h:])[2] >= ink_box(s.bits[:h])[2] - 2


def test_wrap_breaks_lines_within_max_width(draw):
    text = "Árvíztűrő tükörfúrógép és egy nagyon hosszú mondat, amely több sorba tördelődik"
    bits = draw([{"type": "text", "x_mm": 5, "y_mm": 2, "text": text, "size_pt": 10,
                  "max_width_mm": 40}], width_mm=60, height_mm=40)
    _, top, right, bottom = ink_box(bits)
    assert right <= round(45 * 203 / 25.4) + 1
    line_h = 1.164 * 10 * 203 / 72
    assert (bottom - top) > 3 * line_h  # several lines


def test_long_word_is_broken_between_characters(fonts: FontBook):
    s = render_text(TextElement(0, 0, "X" * 60, size_pt=10, max_width_mm=20), 203, fonts)
    assert s.box[2] - s.box[0] == round(20 * 203 / 25.4)
    assert ink_box(s.bits)[2] <= s.box[2]
    assert s.bits.shape[0] > 2 * 1.1 * 10 * 203 / 72


def test_shrink_to_fit_keeps_one_line(fonts: FontBook):
    natural = render_text(TextElement(0, 0, HUNGARIAN, size_pt=14), 203, fonts)
    shrunk = render_text(TextElement(0, 0, HUNGARIAN, size_pt=14, max_width_mm=30,
                                     fit="shrink"), 203, fonts)
    max_w = round(30 * 203 / 25.4)
    assert ink_box(shrunk.bits)[2] - ink_box(shrunk.bits)[0] <= max_w
    assert shrunk.bits.shape[0] < natural.bits.shape[0]  # smaller type, still one line
    assert shrunk.bits.shape[0] < 2 * 14 * 203 / 72
    # already fitting text keeps its size
    fits = render_text(TextElement(0, 0, "Ár", size_pt=14, max_width_mm=30, fit="shrink"), 203,
                       fonts)
    assert fits.box[3] - fits.box[1] == natural.box[3] - natural.box[1]


def test_text_below_legible_size_is_refused_with_the_smallest_size(fonts: FontBook):
    # 1 pt at 203 dpi is 3 dots; FreeType cannot even draw a bold W at 1 dot ("raster overflow")
    for size_pt, dpi in ((1, 203), (0.5, 152), (2, 152)):
        with pytest.raises(Invalid) as e:
            render_text(TextElement(0, 0, "Wáw", size_pt=size_pt, bold=True), dpi, fonts)
        assert e.value.code == "too-small"
        assert f"{MIN_TEXT_DOTS} dots" in e.value.message
    # the hint's size is itself accepted
    s = render_text(TextElement(0, 0, "Wáw", size_pt=2.2, bold=True), 203, fonts)
    assert s.bits.any()


def test_shrink_stops_at_the_legible_size(fonts: FontBook):
    with pytest.raises(Invalid) as e:
        render_text(TextElement(0, 0, HUNGARIAN * 3, size_pt=14, max_width_mm=10, fit="shrink"),
                    203, fonts)
    assert e.value.code == "does-not-fit"
    # a width reachable just above the minimum is still met
    s = render_text(TextElement(0, 0, "Ár 12", size_pt=14, max_width_mm=4, fit="shrink"), 203,
                    fonts)
    assert ink_box(s.bits)[2] - ink_box(s.bits)[0] <= round(4 * 203 / 25.4)


def test_a_font_failure_is_a_clear_error_not_a_crash(fonts: FontBook):
    # reached only by fonts that fail above MIN_TEXT_DOTS; the shipped bold face fails at 1 dot
    with pytest.raises(Invalid) as e:
        fonts.run(SHIPPED_FONTS / "DejaVuSans-Bold.ttf", 1, "W")
    assert e.value.code == "unrenderable-text"


@pytest.mark.parametrize("rotation,k", [(90, -1), (180, 2), (270, 1)])
def test_rotation_turns_the_pixels(fonts: FontBook, rotation: int, k: int):
    upright = render_text(TextElement(0, 0, "Ár 1", size_pt=12), 203, fonts)
    turned = render_text(TextElement(0, 0, "Ár 1", size_pt=12, rotation=rotation), 203, fonts)
    assert np.array_equal(turned.bits, np.rot90(upright.bits, k))


def test_unknown_font_is_refused(draw):
    with pytest.raises(Invalid) as e:
        draw([{"type": "text", "x_mm": 1, "y_mm": 1, "text": "x", "font": "Comic Sans"}])
    assert e.value.code == "unknown-font"
    assert e.value.message.startswith("elements[0].font:")
    assert "DejaVu Sans" in e.value.hint


def test_font_names_are_forgiving(fonts: FontBook):
    regular = fonts.resolve(None, False)
    for name in ("DejaVu Sans", "dejavu-sans", "DejaVuSans", "dejavu_sans"):
        assert fonts.resolve(name, False) == regular
        assert fonts.resolve(name, True).name == "DejaVuSans-Bold.ttf"
    assert fonts.resolve("DejaVuSans-Bold", False).name == "DejaVuSans-Bold.ttf"


def test_configured_font_folder(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    shutil.copy(SHIPPED_FONTS / "DejaVuSans.ttf", tmp_path / "sub" / "ShopFont.ttf")
    (tmp_path / "broken.ttf").write_bytes(b"not a font")
    fonts = FontBook([tmp_path, tmp_path / "missing"])
    assert fonts.resolve("ShopFont", False).name == "ShopFont.ttf"
    with pytest.raises(Invalid) as e:
        fonts.resolve("ShopFont", True)
    assert e.value.code == "unknown-font" and "bold" in e.value.message


def test_text_run_cache_is_bounded_and_used():
    fonts = FontBook(run_cache_size=8)
    for i in range(30):
        render_text(TextElement(0, 0, f"line {i}"), 203, fonts)
    assert len(fonts.runs) == 8
    hits, misses = fonts.runs.hits, fonts.runs.misses
    render_text(TextElement(0, 0, "line 29"), 203, fonts)
    assert fonts.runs.misses == misses and fonts.runs.hits > hits


def test_control_characters_do_not_draw_boxes(fonts: FontBook):
    a = render_text(TextElement(0, 0, "A\tB"), 203, fonts)
    b = render_text(TextElement(0, 0, "A\x07 B\x1b"), 203, fonts)
    assert np.array_equal(a.bits, b.bits)


def test_empty_text_prints_nothing(draw):
    assert not draw([{"type": "text", "x_mm": 1, "y_mm": 1, "text": ""}]).any()


def test_text_off_the_label_is_refused(draw):
    with pytest.raises(Invalid) as e:
        draw([{"type": "text", "x_mm": 50, "y_mm": 1, "text": HUNGARIAN, "size_pt": 12}],
             width_mm=60, height_mm=20)
    assert e.value.code == "does-not-fit" and "right" in e.value.message


@pytest.mark.parametrize("text", [HUNGARIAN, "jÁg", "  spaced  ", "x"])
@pytest.mark.parametrize("size", [9, 17, 40])
def test_fast_and_public_glyph_paths_agree(fonts: FontBook, text: str, size: int):
    """The fast path wraps getmask2's result with a private Pillow call; the public fallback
    must produce the same dots in the same place."""
    from labeld.intake.render.text import _ink, _ink_public

    font = fonts.font(fonts.resolve(None, True), size)
    fast, fast_at = _ink(font, text)
    public, public_at = _ink_public(font, text)
    fb, pb = ink_box(fast), ink_box(public)
    assert fb is not None and pb is not None
    fast_crop = fast[fb[1]:fb[3], fb[0]:fb[2]]
    public_crop = public[pb[1]:pb[3], pb[0]:pb[2]]
    assert np.array_equal(fast_crop, public_crop)
    assert (fast_at[0] + fb[0], fast_at[1] + fb[1]) == (public_at[0] + pb[0], public_at[1] + pb[1])
