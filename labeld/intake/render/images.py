"""PNG/JPEG decoding with limits, scaling, and the three ways to turn grey into dots.

Used for image elements on labels and for whole-page PNG/JPEG documents. Decoding is defensive:
the bytes come from the network, so a decompression bomb or a corrupt file is an `Invalid`, never
a MemoryError or a Pillow exception escaping into the job runner.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageOps

from labeld.contracts import Raster
from labeld.errors import Invalid
from labeld.intake.render.label import MAX_LABEL_DOTS, Dither, ImageElement, mm_to_dots
from labeld.intake.render.sprite import Sprite, pack

DEFAULT_MAX_PIXELS = 25_000_000  # an A4 page at 300 dpi is 8.7 Mpx; a 4x6 label at 600 dpi 8.6

# 8x8 Bayer matrix: thresholds spread evenly over 0..255 so flat greys become regular patterns
_BAYER2 = np.array([[0, 2], [3, 1]])
_BAYER = _BAYER2
for _ in range(2):
    _BAYER = np.block([[4 * _BAYER, 4 * _BAYER + 2], [4 * _BAYER + 3, 4 * _BAYER + 1]])
BAYER8_THRESHOLDS = ((_BAYER + 0.5) * 256 / 64).astype(np.uint16)  # a pixel below prints


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """PNG or JPEG bytes to an 8-bit grey image ("L"), upright (EXIF orientation applied) and
    with transparent areas made white, as they are on paper.

    Raises Invalid `image-too-large` above `max_pixels` (checked from the header, before the
    pixels are decompressed) and `invalid-image` for anything that is not a readable PNG/JPEG."""
    try:
        im = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
    except Image.DecompressionBombError:
        raise _too_large(None, max_pixels) from None
    except Exception as e:  # noqa: BLE001 - Pillow raises many types (SyntaxError, struct.error)
        raise Invalid("invalid-image", f"not a readable PNG or JPEG image ({why(e)})",
                      "send a PNG or JPEG file, base64-encoded") from None
    w, h = im.size
    if w * h > max_pixels:
        raise _too_large((w, h), max_pixels)
    try:
        im.load()
        im = ImageOps.exif_transpose(im) or im
        return _to_grey(im)
    except Exception as e:  # noqa: BLE001 - truncated data, bad CRC, broken EXIF, unusual modes
        raise Invalid("invalid-image", f"the image data is corrupt ({why(e)})",
                      "re-export the image as PNG or JPEG") from None


def why(e: BaseException) -> str:
    """A library's exception as a short reason for an error message."""
    return (str(e) or type(e).__name__)[:200]


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> Invalid:
    what = f"{size[0]}x{size[1]} pixels" if size else "the image"
    return Invalid("image-too-large", f"{what} is over the limit of {max_pixels:,} pixels",
                   "scale the image down to the printer's resolution before sending it")


def _to_grey(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greys: Pillow's own conversion clips everything above 255 to white
        a = np.asarray(im.convert("I"), dtype=np.int64)
        return Image.fromarray((a >> 8 if a.max() > 255 else a).clip(0, 255).astype(np.uint8))
    if im.mode == "F":
        return Image.fromarray(np.asarray(im).clip(0, 255).astype(np.uint8))
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    return im if im.mode == "L" else im.convert("L")


def scale(im: Image.Image, width: int | None, height: int | None) -> Image.Image:
    """Scale to `width` x `height` dots keeping the aspect ratio; with both given the image
    fits inside that box. None for both keeps one image pixel per dot."""
    w, h = im.size
    if width is None and height is None:
        return im
    if width is not None and height is not None:
        f = min(width / w, height / h)
    elif width is not None:
        f = width / w
    else:
        assert height is not None
        f = height / h
    nw, nh = max(1, math.floor(w * f + 0.5)), max(1, math.floor(h * f + 0.5))
    if nw * nh > MAX_LABEL_DOTS:  # a scaled image never becomes larger than any label
        raise Invalid("image-too-large", f"the image would be {nw}x{nh} dots",
                      "give a smaller width_mm or height_mm")
    if (nw, nh) == (w, h):
        return im
    return im.resize((nw, nh), Image.Resampling.LANCZOS)


def dither(im: Image.Image, method: Dither) -> np.ndarray:
    """Grey image to dots (True = print). `threshold` for logos and line art, `ordered` for
    photos that must stay crisp, `floyd-steinberg` for photos that need every grey level."""
    if method == "floyd-steinberg":
        return ~np.asarray(im.convert("1", dither=Image.Dither.FLOYDSTEINBERG))
    a = np.asarray(im)
    if method == "ordered":
        h, w = a.shape
        t = np.tile(BAYER8_THRESHOLDS, (h // 8 + 1, w // 8 + 1))[:h, :w]
        return a < t
    if method == "threshold":
        return a < 128
    raise Invalid("invalid-label", f"unknown dither {method!r}",
                  "one of threshold, ordered, floyd-steinberg")


def render_image(el: ImageElement, dpi: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> Sprite:
    im = decode_image(el.data, max_pixels)
    w = mm_to_dots(el.width_mm, dpi) if el.width_mm is not None else None
    h = mm_to_dots(el.height_mm, dpi) if el.height_mm is not None else None
    im = scale(im, max(w, 1) if w is not None else None, max(h, 1) if h is not None else None)
    bits = dither(im, el.dither)
    return Sprite(bits, (0, 0, bits.shape[1], bits.shape[0])).rotated(el.rotation)


def page_to_raster(data: bytes, width_dots: int, dpi: int,
                   method: Dither = "floyd-steinberg",
                   max_pixels: int = DEFAULT_MAX_PIXELS) -> Raster:
    """A whole-page PNG/JPEG document scaled to the printer's print width, as a Raster."""
    im = scale(decode_image(data, max_pixels), width_dots, None)
    return pack(dither(im, method), dpi)
