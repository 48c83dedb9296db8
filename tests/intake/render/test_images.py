"""Images: decoding with limits, transparency, scaling, and the three dithers."""

from __future__ import annotations

import base64
import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from labeld.errors import Invalid
from labeld.intake.render import decode_image, dither, page_to_raster, raster_to_bits
from labeld.intake.render.images import BAYER8_THRESHOLDS


def encoded(im: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def gradient(w: int = 256, h: int = 64) -> Image.Image:
    return Image.fromarray(np.tile(np.linspace(0, 255, w).round().astype(np.uint8), (h, 1)))


def png_with_header_size(width: int, height: int) -> bytes:
    """A small PNG whose IHDR claims width x height: a decompression bomb's calling card."""
    data = bytearray(encoded(Image.new("L", (8, 8), 255)))
    ihdr = 8  # after the signature: length(4) type(4) data(13) crc(4)
    data[ihdr + 8:ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4:ihdr + 21]))
    data[ihdr + 21:ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def test_png_and_jpeg_decode_to_grey():
    im = Image.new("RGB", (40, 20), (255, 255, 255))
    im.paste((0, 0, 0), (0, 0, 20, 20))
    for fmt in ("PNG", "JPEG"):
        g = decode_image(encoded(im, fmt))
        assert g.mode == "L" and g.size == (40, 20)
        a = np.asarray(g)
        assert a[:, :18].max() < 40 and a[:, 22:].min() > 215


def test_transparent_pixels_are_paper_white():
    im = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # fully transparent black
    im.putpixel((5, 5), (0, 0, 0, 255))
    a = np.asarray(decode_image(encoded(im)))
    assert a[0, 0] == 255 and a[5, 5] == 0
    p = Image.new("P", (4, 4), 0)
    p.putpalette([0, 0, 0, 255, 255, 255])
    p.info["transparency"] = 0
    assert np.asarray(decode_image(encoded(p, transparency=0))).min() == 255


def test_sixteen_bit_grey_keeps_its_levels():
    a = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)
    im = Image.fromarray(a)  # mode I;16
    g = np.asarray(decode_image(encoded(im)))
    assert g.min() == 0 and g.max() == 255 and 100 < g.mean() < 155


def test_exif_orientation_is_applied():
    im = Image.new("L", (30, 10), 255)
    im.paste(0, (0, 0, 5, 10))  # black stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: rotate 90 degrees clockwise to view
    g = decode_image(encoded(im, "JPEG", exif=exif.tobytes()))
    assert g.size == (10, 30)
    assert np.asarray(g)[:5].mean() < 60  # the stripe is now on top


def test_pixel_limit_is_checked_before_decoding():
    big = encoded(Image.new("L", (2000, 1000), 255))
    with pytest.raises(Invalid) as e:
        decode_image(big, max_pixels=1_000_000)
    assert e.value.code == "image-too-large" and "2000x1000" in e.value.message
    assert decode_image(big, max_pixels=2_000_000).size == (2000, 1000)


@pytest.mark.parametrize("size", [(30_000, 30_000), (100_000, 100_000)])
def test_decompression_bomb_header(size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's own DecompressionBombWarning
        with pytest.raises(Invalid) as e:
            decode_image(png_with_header_size(*size))
    assert e.value.code == "image-too-large"


@pytest.mark.parametrize("data", [
    b"", b"not an image at all", encoded(gradient())[:60],
    encoded(gradient())[:len(encoded(gradient())) // 2],
    encoded(gradient(), "JPEG")[:200], encoded(gradient(), "GIF"), encoded(gradient(), "BMP"),
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
])
def test_corrupt_or_foreign_data_is_invalid_image(data):
    with pytest.raises(Invalid) as e:
        decode_image(data)
    assert e.value.code == "invalid-image"


def test_corrupt_crc_is_invalid_image():
    data = bytearray(encoded(gradient()))
    data[40] ^= 0xFF  # inside the IDAT chunk
    with pytest.raises(Invalid) as e:
        decode_image(bytes(data))
    assert e.value.code == "invalid-image"


def test_threshold_is_a_hard_cut_at_the_middle():
    bits = dither(gradient(), "threshold")
    assert bits[:, :128].all() and not bits[:, 128:].any()


@pytest.mark.parametrize("method", ["ordered", "floyd-steinberg"])
@pytest.mark.parametrize("level", [32, 64, 128, 192, 224])
def test_dithers_keep_the_grey_level(method, level):
    flat = Image.new("L", (64, 64), level)
    black = dither(flat, method).mean()
    assert abs(black - (1 - level / 255)) < 0.03


def test_ordered_dither_is_a_regular_pattern():
    bits = dither(Image.new("L", (32, 32), 128), "ordered")
    assert np.array_equal(bits[:8, :8], bits[8:16, 16:24])
    assert BAYER8_THRESHOLDS.min() > 0 and BAYER8_THRESHOLDS.max() < 256
    assert len(np.unique(BAYER8_THRESHOLDS)) == 64


def test_image_element_sizes(draw):
    data = b64(encoded(Image.new("L", (100, 50), 0)))
    native = draw([{"type": "image", "x_mm": 0, "y_mm": 0, "data": data}])
    assert native.sum() == 100 * 50  # one pixel per dot when no size is given
    wide = draw([{"type": "image", "x_mm": 0, "y_mm": 0, "data": data, "width_mm": 50.8}])
    assert wide.sum() == 406 * 203  # 2 in at 203 dpi, the height follows the aspect ratio
    boxed = draw([{"type": "image", "x_mm": 0, "y_mm": 0, "data": data, "width_mm": 50,
                   "height_mm": 10}])
    h = round(10 * 203 / 25.4)
    assert boxed.any(axis=1).sum() == h and boxed.any(axis=0).sum() == 2 * h


def test_image_element_at_its_position_and_dithered(draw):
    data = b64(encoded(gradient(200, 40)))
    bits = draw([{"type": "image", "x_mm": 10, "y_mm": 5, "data": data,
                  "dither": "floyd-steinberg"}])
    x0, y0 = round(10 * 203 / 25.4), round(5 * 203 / 25.4)
    assert not bits[:y0].any() and not bits[:, :x0].any()
    region = bits[y0:y0 + 40, x0:x0 + 200]
    assert region[:, :20].mean() > 0.8 and region[:, -20:].mean() < 0.2


def test_image_errors_name_the_element(draw):
    with pytest.raises(Invalid) as e:
        draw([{"type": "box", "x_mm": 0, "y_mm": 0, "width_mm": 5, "height_mm": 5},
              {"type": "image", "x_mm": 0, "y_mm": 0, "data": b64(b"garbage")}])
    assert e.value.code == "invalid-image"
    assert e.value.message.startswith("elements[1].data:")


def test_image_too_large_for_the_label(draw):
    data = b64(encoded(Image.new("L", (1000, 10), 0)))
    with pytest.raises(Invalid) as e:
        draw([{"type": "image", "x_mm": 0, "y_mm": 0, "data": data}], width_mm=50)
    assert e.value.code == "does-not-fit"


def test_page_to_raster_fits_the_print_width():
    page = Image.new("L", (1000, 1414), 255)
    page.paste(0, (0, 0, 500, 100))
    r = page_to_raster(encoded(page), width_dots=812, dpi=203)
    assert (r.width, r.height, r.dpi) == (812, round(1414 * 0.812), 203)
    bits = raster_to_bits(r)
    assert bits[:70, :400].all() and not bits[:70, 420:].any()
