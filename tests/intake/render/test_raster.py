"""Composing and packing: padding bits, rotation, placement in whole dots, shapes, limits, and
that no input whatsoever makes render raise anything but Invalid."""

from __future__ import annotations

import base64
import io
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from labeld.contracts import Raster
from labeld.errors import Invalid
from labeld.intake.render import (SYMBOLOGIES, FontBook, pack, parse_label, png_to_raster,
                           raster_to_bits, raster_to_png, render_label)
from labeld.intake.render.raster import _place
from labeld.intake.render.sprite import Sprite
from tests.intake.render.conftest import ink_box

DOT = 25.4 / 203  # one dot at 203 dpi, in mm


def png_b64(im: Image.Image) -> str:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("width", list(range(1, 18)) + [801, 803, 831])
def test_padding_bits_are_zero(fonts, width):
    """A label black to its right edge: every dot set, every padding bit clear."""
    doc = {"width_mm": width * DOT, "height_mm": 3 * DOT, "dpi": 203, "elements": [
        {"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": width * DOT, "height_mm": 3 * DOT,
         "thickness_mm": 10}]}
    r = render_label(parse_label(doc, 203), fonts)
    assert (r.width, r.height) == (width, 3)
    rows = np.frombuffer(r.rows, dtype=np.uint8).reshape(3, r.row_bytes)
    bits = np.unpackbits(rows, axis=1)
    assert bits[:, :width].all()
    assert not bits[:, width:].any()


def test_pack_layout_msb_is_leftmost():
    bits = np.zeros((2, 10), dtype=bool)
    bits[0, 0] = bits[1, 9] = True
    r = pack(bits, 203)
    assert r.rows == bytes([0x80, 0x00, 0x00, 0x40])
    assert isinstance(r, Raster) and r.row_bytes == 2


def test_png_round_trip(draw, fonts):
    doc = {"width_mm": 30, "height_mm": 10, "dpi": 300, "elements": [
        {"type": "text", "x_mm": 1, "y_mm": 1, "text": "Árvíztűrő 123"}]}
    r = render_label(parse_label(doc, 203), fonts)
    png = raster_to_png(r)
    assert png.startswith(b"\x89PNG")
    with Image.open(io.BytesIO(png)) as im:
        assert im.mode == "1" and im.size == (r.width, r.height)
        assert round(im.info["dpi"][0]) == 300
        assert np.asarray(im.convert("L"))[0, 0] == 255  # paper is white in the preview
    back = png_to_raster(png)
    assert back == r


def test_elements_land_on_whole_dots(draw):
    bits = draw([{"type": "box", "x_mm": 10, "y_mm": 5, "width_mm": 20, "height_mm": 8,
                  "thickness_mm": 1}])
    x, y = round(10 * 203 / 25.4), round(5 * 203 / 25.4)
    w, h, t = round(20 * 203 / 25.4), round(8 * 203 / 25.4), round(203 / 25.4)
    assert ink_box(bits) == (x, y, x + w, y + h)
    assert bits[y:y + t, x:x + w].all() and bits[y + h - t:y + h, x:x + w].all()
    assert bits[y:y + h, x:x + t].all() and bits[y:y + h, x + w - t:x + w].all()
    assert not bits[y + t:y + h - t, x + t:x + w - t].any()  # hollow


def test_lines(draw):
    bits = draw([{"type": "line", "x_mm": 2, "y_mm": 10, "x2_mm": 50, "y2_mm": 10,
                  "thickness_mm": 0.5}])
    x, y, x2 = round(2 / DOT), round(10 / DOT), round(50 / DOT)
    t = round(0.5 / DOT)
    assert ink_box(bits) == (x, y, x2 + t, y + t)
    assert bits[y:y + t, x:x2 + t].all()
    # a diagonal keeps its thickness and ends where it says
    bits = draw([{"type": "line", "x_mm": 50, "y_mm": 5, "x2_mm": 10, "y2_mm": 45,
                  "thickness_mm": 0.5}])
    x0, y0, x1, y1 = round(10 / DOT), round(5 / DOT), round(50 / DOT), round(45 / DOT)
    assert ink_box(bits) == (x0, y0, x1 + t, y1 + t)
    assert bits[y0:y0 + t, x1:x1 + t].all() and bits[y1:y1 + t, x0:x0 + t].all()
    mid = bits[(y0 + y1) // 2]
    assert 4 <= mid.sum() <= 8  # t * sqrt(2) across a 45 degree line
    # a one-dot slanted line has no gaps: a dot in every column, each next to the one before
    bits = draw([{"type": "line", "x_mm": 1, "y_mm": 1, "x2_mm": 40, "y2_mm": 12,
                  "thickness_mm": 0.1}])
    ys = [np.flatnonzero(c) for c in bits.T[round(1 / DOT):round(40 / DOT) + 1]]
    assert all(len(y) == 1 for y in ys)
    assert all(abs(int(a[0]) - int(b[0])) <= 1 for a, b in pairwise(ys))


def asymmetric() -> Image.Image:
    a = np.full((30, 50), 255, dtype=np.uint8)
    a[:, :5] = 0  # an L: a bar down the left side
    a[-5:, :] = 0  # and along the bottom
    a[:8, 40:48] = 0  # and a mark top right
    return Image.fromarray(a)


@pytest.mark.parametrize("rotation,k", [(0, 0), (90, -1), (180, 2), (270, 1)])
def test_rotation_turns_clockwise_about_the_top_left_corner(draw, rotation, k):
    img = asymmetric()
    bits = draw([{"type": "image", "x_mm": 10, "y_mm": 5, "data": png_b64(img),
                  "rotation": rotation}])
    expected = np.rot90(np.asarray(img) < 128, k)
    x, y = round(10 / DOT), round(5 / DOT)
    h, w = expected.shape
    assert ink_box(bits) == (x, y, x + w, y + h)
    assert np.array_equal(bits[y:y + h, x:x + w], expected)
    if rotation == 90:  # clockwise: the left bar is now along the top
        assert bits[y:y + 5, x:x + w].all()


@given(st.integers(1, 12), st.integers(1, 12), st.data())
@settings(max_examples=60, deadline=None)
def test_sprite_rotation_moves_boxes_with_pixels(h, w, data):
    bits = np.asarray(data.draw(st.lists(st.lists(st.booleans(), min_size=w, max_size=w),
                                         min_size=h, max_size=h)), dtype=bool)
    left = data.draw(st.integers(0, w - 1))
    t = data.draw(st.integers(0, h - 1))
    box = (left, t, data.draw(st.integers(left + 1, w)), data.draw(st.integers(t + 1, h)))
    s = Sprite(bits, box, clear=box, rects=(box,))
    for deg, k in ((90, -1), (180, 2), (270, 1)):
        r = s.rotated(deg)
        inside = bits[box[1]:box[3], box[0]:box[2]]
        rl, rt, rr, rb = r.box
        assert np.array_equal(r.bits[rt:rb, rl:rr], np.rot90(inside, k))
        assert r.clear == r.box and r.rects == (r.box,)
    assert s.rotated(90).rotated(270).box == box
    assert s.rotated(180).rotated(180).box == box


@st.composite
def placed_sprites(draw):
    """A page width (any, not only multiples of 8) and sprites that lie on the page: dots, and
    filled rectangles, at any x."""
    W, H = draw(st.integers(1, 70)), draw(st.integers(1, 12))
    sprites = []
    for _ in range(draw(st.integers(1, 4))):
        x, y = draw(st.integers(0, W - 1)), draw(st.integers(0, H - 1))
        w, h = draw(st.integers(1, W - x)), draw(st.integers(1, H - y))
        if draw(st.booleans()):
            flat = draw(st.lists(st.booleans(), min_size=w * h, max_size=w * h))
            sprites.append((Sprite(np.array(flat, dtype=bool).reshape(h, w), (0, 0, w, h)), x, y))
        else:
            sprites.append((Sprite(None, (0, 0, w, h), rects=((0, 0, w, h),)), x, y))
    return W, H, sprites


@given(placed_sprites())
@settings(max_examples=300, deadline=None)
def test_sprites_go_into_the_packed_page_dot_for_dot(case):
    # the straightforward route: a bool canvas, OR-ed, packed at the end
    W, H, sprites = case
    canvas = np.zeros((H, W), dtype=bool)
    page = np.zeros((H, (W + 7) // 8), dtype=np.uint8)
    for sprite, x, y in sprites:
        h, w = sprite.shape
        canvas[y:y + h, x:x + w] |= True if sprite.bits is None else sprite.bits
        _place(page, W, sprite, x, y, 203, "the sprite")
    assert page.tobytes() == pack(canvas, 203).rows  # padding bits past W stay clear


@pytest.mark.parametrize("element,edge", [
    ({"type": "box", "x_mm": 40, "y_mm": 0, "width_mm": 20, "height_mm": 5}, "right"),
    ({"type": "box", "x_mm": 0, "y_mm": 25, "width_mm": 20, "height_mm": 10}, "bottom"),
    ({"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": 20, "height_mm": 55, "rotation": 90},
     "right"),
    ({"type": "line", "x_mm": 0, "y_mm": 0, "x2_mm": 80, "y2_mm": 0}, "right"),
    ({"type": "text", "x_mm": 0, "y_mm": 27, "text": "Tall", "size_pt": 30}, "bottom"),
])
def test_off_the_label_is_refused(draw, element, edge):
    with pytest.raises(Invalid) as e:
        draw([element], width_mm=50, height_mm=30)
    assert e.value.code == "does-not-fit"
    assert edge in e.value.message and e.value.message.startswith("elements[0]")


def test_blank_overhang_is_allowed(draw):
    # the line box of "AAA" reaches below the baseline; the descent is empty, so it fits
    size_pt = 20
    line_h = 1.164 * size_pt / 72 * 25.4
    bits = draw([{"type": "text", "x_mm": 0, "y_mm": 10 - line_h * 0.9, "text": "AAA",
                  "size_pt": size_pt}], width_mm=50, height_mm=10)
    assert bits.any()


def test_elements_overlap_as_ink(draw):
    bits = draw([{"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": 10, "height_mm": 10,
                  "thickness_mm": 20},
                 {"type": "image", "x_mm": 0, "y_mm": 0,
                  "data": png_b64(Image.new("L", (20, 20), 255))}])
    assert bits[:round(10 / DOT), :round(10 / DOT)].all()  # white image pixels do not erase


def test_label_at_300_dpi_has_300_dpi_size(fonts):
    doc = {"width_mm": 101.6, "height_mm": 152.4, "dpi": 300, "elements": []}
    r = render_label(parse_label(doc, 203), fonts)
    assert (r.width, r.height, r.dpi) == (1200, 1800, 300)
    assert r.rows == bytes(len(r.rows))


# -- nothing but Invalid escapes, whatever the input ------------------------------------------

def _json() -> st.SearchStrategy:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
                        st.just(10**400), st.floats(allow_nan=True, allow_infinity=True),
                        st.text(max_size=12), st.sampled_from(["\ud800", "a\udfffb", "\x00"]))
    keys = st.one_of(st.text(max_size=6), st.sampled_from(["\ud800", "x_mm"]))
    return st.recursive(scalars, lambda c: st.lists(c, max_size=3) |
                        st.dictionaries(keys, c, max_size=3), max_leaves=6)


_SMALL_PNG = png_b64(Image.new("LA", (7, 5), (0, 128)))
_BIG_PNG = png_b64(Image.new("L", (900, 900), 0))


def _num(lo: float, hi: float) -> st.SearchStrategy:
    return st.one_of(st.floats(lo, hi), st.integers(int(lo), int(hi)), _json())


_FIELDS = {
    "x_mm": _num(-2, 80), "y_mm": _num(-2, 80), "x2_mm": _num(-2, 80), "y2_mm": _num(-2, 80),
    "text": st.one_of(st.text(max_size=40), _json()),
    "size_pt": _num(-1, 60), "bold": st.one_of(st.booleans(), _json()),
    "font": st.one_of(st.sampled_from(["DejaVu Sans", "DejaVuSans-Bold", "nope"]), _json()),
    "align": st.one_of(st.sampled_from(["left", "center", "right"]), _json()),
    "max_width_mm": _num(-1, 80), "fit": st.one_of(st.sampled_from(["wrap", "shrink"]), _json()),
    "rotation": st.one_of(st.sampled_from([0, 90, 180, 270]), _json()),
    "symbology": st.one_of(st.sampled_from(SYMBOLOGIES), _json()),
    "data": st.one_of(st.text(max_size=30), st.text("0123456789", min_size=7, max_size=14),
                      st.sampled_from([_SMALL_PNG, _BIG_PNG, "(01)09501101530003", "!!"]),
                      _json()),
    "height_mm": _num(-1, 80), "width_mm": _num(-1, 80), "thickness_mm": _num(-1, 20),
    "module_dots": st.one_of(st.integers(-1, 45), _json()),
    "human_readable": st.one_of(st.booleans(), _json()),
    "ecc": st.one_of(st.sampled_from(["L", "M", "Q", "H", 0, 4, 8]), _json()),
    "dither": st.one_of(st.sampled_from(["threshold", "ordered", "floyd-steinberg"]), _json()),
}

_ELEMENT = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "barcode", "image", "box", "line"])},
                          optional=_FIELDS),
    _json())

_LABEL = st.one_of(
    st.fixed_dictionaries({}, optional={
        "width_mm": _num(-1, 120), "height_mm": _num(-1, 120),
        "dpi": st.one_of(st.sampled_from([152, 203, 300, 600]), _json()),
        "elements": st.one_of(st.lists(_ELEMENT, max_size=4), _json())}),
    _json())


@given(_LABEL)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_only_invalid_escapes(doc):
    render_or_explain(doc)


def render_or_explain(doc) -> Raster | None:
    """The document's raster, or None when it was refused with an error the API can send."""
    try:
        raster = render_label(parse_label(doc, 203), _FONTS)
    except Invalid as e:
        assert e.code and e.message
        (e.message + e.hint).encode("utf-8")  # the API must be able to send it
        event(e.code)  # --hypothesis-show-statistics tells how far documents got
        return None
    event("rendered")
    assert isinstance(raster, Raster)
    return raster


_FONTS = FontBook()


def _typed(lo: float, hi: float) -> st.SearchStrategy:
    return st.one_of(st.floats(lo, hi), st.integers(int(lo), int(hi)))


# well-typed values only, so that most documents get past parsing and exercise the drawing
_TYPED_FIELDS = {
    "x_mm": _typed(0, 60), "y_mm": _typed(0, 60), "x2_mm": _typed(0, 60), "y2_mm": _typed(0, 60),
    "text": st.text(max_size=40), "size_pt": _typed(0.5, 40), "bold": st.booleans(),
    "font": st.sampled_from(["DejaVu Sans", "DejaVuSans-Bold", "nope"]),
    "align": st.sampled_from(["left", "center", "right"]), "max_width_mm": _typed(0.1, 60),
    "fit": st.sampled_from(["wrap", "shrink"]), "rotation": st.sampled_from([0, 90, 180, 270]),
    "symbology": st.sampled_from(SYMBOLOGIES),
    "data": st.one_of(st.text(max_size=30), st.text("0123456789", min_size=7, max_size=14),
                      st.sampled_from([_SMALL_PNG, _BIG_PNG, "(01)09501101530003",
                                       "[01]09501101530003[10]X"])),
    "height_mm": _typed(0.1, 60), "width_mm": _typed(0.1, 60), "thickness_mm": _typed(0.05, 10),
    "module_dots": st.integers(1, 8), "human_readable": st.booleans(),
    "dither": st.sampled_from(["threshold", "ordered", "floyd-steinberg"]),
}


_KINDS = {
    "text": (["text"], ["size_pt", "bold", "font", "align", "max_width_mm", "fit", "rotation"]),
    "barcode": (["symbology", "data"], ["height_mm", "module_dots", "human_readable",
                                        "rotation"]),
    "image": (["data"], ["width_mm", "height_mm", "dither", "rotation"]),
    "box": (["width_mm", "height_mm"], ["thickness_mm", "rotation"]),
    "line": (["x2_mm", "y2_mm"], ["thickness_mm"]),
}


def _typed_element(kind: str) -> st.SearchStrategy:
    required, optional = _KINDS[kind]
    return st.fixed_dictionaries(
        {"type": st.just(kind), "x_mm": _typed(0, 60), "y_mm": _typed(0, 60),
         **{k: _TYPED_FIELDS[k] for k in required}},
        optional={k: _TYPED_FIELDS[k] for k in optional})


@given(st.lists(st.sampled_from(list(_KINDS)).flatmap(_typed_element), min_size=1, max_size=3),
       st.sampled_from([152, 203, 300]))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_only_invalid_escapes_from_well_typed_documents(elements, dpi):
    raster = render_or_explain({"width_mm": 70, "height_mm": 70, "dpi": dpi,
                                "elements": elements})
    if raster is None:
        return
    # the renderer's ink box holds every black dot: encoders send only what lies inside it
    bits = raster_to_bits(raster)
    left, top, right, bottom = raster.ink
    inside = np.zeros_like(bits)
    inside[top:bottom, left:right] = True
    assert not (bits & ~inside).any()
