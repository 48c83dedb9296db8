"""ZPL ^GF encoding: zebrafy (an independent implementation, LGPL, test-only) decodes what we
send back to the identical bitmap, for Z64, ASCII run-length and B64 data."""

from __future__ import annotations

import base64
import re
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from labeld.contracts import Model, PrintOptions, Raster
from labeld.drivers.zpl.graphics import (ascii_rle_data, crc16_xmodem, encode_gf,
                                         encode_gf_smallest, ink_window, z64_data)
from labeld.drivers.zpl.language import ZplLanguage
from tests.drivers.samples import DESIGNER_Z64

zebrafy_zpl = pytest.importorskip("zebrafy.zebrafy_zpl")
graphic_field = pytest.importorskip("zebrafy.graphic_field")

GF = re.compile(rb"\^GFA,(\d+),(\d+),(\d+),([^\^~]*)")
ZEBRA = Model("zebra-test", "Zebra test", "zpl", 203, 812)

DESIGNER_CRC = 0x3890


# --------------------------------------------------------------------------------------------
# helpers


def pack(bits: np.ndarray, dpi: int = 203) -> Raster:
    """A bool array (True = black) as a Raster; np.packbits pads rows with 0 bits."""
    height, width = bits.shape
    return Raster(width, height, np.packbits(bits, axis=1).tobytes(), dpi)


def shipping_label(width: int = 812, height: int = 1218) -> Raster:
    """A realistic 4x6 in label at 203 dpi: text, rules and bars, drawn with Pillow."""
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=40)
    draw.rectangle((10, 10, width - 11, height - 11), outline=0, width=4)
    for i, line in enumerate(["SHIP TO:", "ACME Widgets Kft.", "Árvíztűrő tükörfúrógép u. 12",
                              "1234 Budapest"]):
        draw.text((40, 40 + i * 55), line, font=font, fill=0)
    x = 60
    for i in range(200):
        w = 2 + (i * 7) % 4 * 2
        if x + w > width - 60:
            break
        draw.rectangle((x, 400, x + w - 1, 650), fill=0)
        x += w + 2 + (i * 5) % 3 * 2
    return pack(np.asarray(im) < 128)


def zebrafy_decode(field: bytes) -> bytes:
    """The bitmap bytes zebrafy reads from a ^GF field, in ZPL polarity (1 = black)."""
    zpl = (b"^XA^FO0,0" + field + b"^FS^XZ").decode("ascii")
    (image,) = zebrafy_zpl.ZebrafyZPL(zpl).to_images()
    return graphic_field.invert_monochrome(image).tobytes()


def crc16_xmodem_bitwise(data: bytes) -> int:
    """The CRC from its definition (poly 0x1021, init 0, MSB first, no final XOR)."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


@st.composite
def rasters(draw: st.DrawFn, max_width: int = 300, max_height: int = 24) -> Raster:
    """Random bitmaps, widths 1..300 (most not multiples of 8); some made of runs and repeated
    rows so that every part of the run-length scheme is exercised."""
    width = draw(st.integers(1, max_width))
    height = draw(st.integers(1, max_height))
    if draw(st.booleans()):
        bits = np.frombuffer(draw(st.binary(min_size=width * height, max_size=width * height)),
                             dtype=np.uint8).reshape(height, width) & 1
    else:
        pattern = draw(st.lists(st.tuples(st.integers(0, 1), st.integers(1, 120)), min_size=1,
                                max_size=6))
        row = np.concatenate([np.full(n, v, dtype=np.uint8) for v, n in pattern])
        row = np.resize(row, width)
        shifts = draw(st.lists(st.sampled_from([0, 0, 0, 3, 64]), min_size=height,
                               max_size=height))
        bits = np.stack([np.roll(row, s) for s in shifts])
    return pack(bits.astype(bool))


# --------------------------------------------------------------------------------------------
# CRC


def test_crc_is_xmodem_known_answers():
    assert crc16_xmodem(b"123456789") == 0x31C3  # the CRC catalogue's check value
    assert crc16_xmodem(DESIGNER_Z64) == DESIGNER_CRC
    assert crc16_xmodem(b"") == 0


@given(st.binary(max_size=300))
def test_crc_matches_its_definition(data):
    assert crc16_xmodem(data) == crc16_xmodem_bitwise(data)


def test_zebradesigner_sample_decodes_like_ours():
    # Our Z64 path reads a Zebra tool's output: same framing, zlib, size.
    field = b"^GFA,371,371,7,:Z64:" + DESIGNER_Z64 + b":3890"
    assert len(zebrafy_decode(field)) == 371


# --------------------------------------------------------------------------------------------
# zebrafy round trips


@pytest.mark.parametrize("compression", ["z64", "ascii", "b64"])
def test_shipping_label_round_trips_through_zebrafy(compression):
    label = shipping_label()
    assert zebrafy_decode(encode_gf(label, compression)) == label.rows


@settings(max_examples=200, deadline=None)
@given(raster=rasters(), compression=st.sampled_from(["z64", "ascii", "b64"]))
def test_random_bitmaps_round_trip_through_zebrafy(raster, compression):
    assert zebrafy_decode(encode_gf(raster, compression)) == raster.rows


# --------------------------------------------------------------------------------------------
# field structure


@settings(max_examples=40, deadline=None)
@given(raster=rasters())
def test_field_parameters(raster):
    for compression in ("z64", "ascii", "b64"):
        b, c, d, data = GF.fullmatch(encode_gf(raster, compression)).groups()
        assert int(c) == len(raster.rows) and int(d) == raster.row_bytes
        # b = c for ASCII data (printers reject anything else), else the data's length
        assert int(b) == (int(c) if compression == "ascii" else len(data))


def test_z64_data_is_a_zlib_stream_with_an_upper_case_crc():
    label = shipping_label(203, 100)
    match = re.fullmatch(rb":Z64:([A-Za-z0-9+/=]+):([0-9A-F]{4})", z64_data(label.rows))
    assert match, "framing"
    stream = base64.b64decode(match.group(1))
    assert stream[0] == 0x78  # RFC 1950 header, not raw deflate
    assert zlib.decompress(stream) == label.rows
    assert int(match.group(2), 16) == crc16_xmodem(match.group(1))


@settings(max_examples=40, deadline=None)
@given(raster=rasters())
def test_z64_never_larger_than_zlib_defaults(raster):
    # zlib's defaults are what zebrafy and most converters send.
    default = b":Z64:%s:0000" % base64.b64encode(zlib.compress(raster.rows))
    assert len(z64_data(raster.rows)) <= len(default)


def test_z64_no_larger_than_zlib_defaults_on_a_full_label():
    label = shipping_label()
    default = b":Z64:%s:0000" % base64.b64encode(zlib.compress(label.rows))
    assert len(z64_data(label.rows)) <= len(default)


def test_ascii_rle_rules():
    row_bytes = 4

    def rle(*rows: str) -> bytes:
        return ascii_rle_data(bytes.fromhex("".join(rows)), row_bytes)

    assert rle("00000000") == b","  # a white row
    assert rle("FFFFFFFF", "FFFFFFFF") == b"NF:"  # 8 x F, then the same row again
    assert rle("F0000000") == b"F0,"  # zeros cut at a byte boundary, not after the F
    assert rle("0F000000") == b"0F,"
    assert rle("ABABABAB") == b"ABABABAB"  # no runs: plain hex
    assert rle("000000FF") == b"L0FF"  # 6 zeros = L0; leading zeros are not a trailing ','
    assert rle("11111111") == b"N1"  # never '!', whatever the guide's "ones" mean


@pytest.mark.parametrize("count, prefix", [(1, b""), (2, b""), (3, b"I"), (19, b"Y"), (20, b"g"),
                                           (21, b"gG"), (39, b"gY"), (40, b"h"), (399, b"yY"),
                                           (400, b"z"), (401, b"zG"), (819, b"zzY")])
def test_repeat_counts(count, prefix):
    row_bytes = (count + 1) // 2 + 1
    rows = bytes.fromhex(("A" * count).ljust(row_bytes * 2, "5"))
    encoded = ascii_rle_data(rows, row_bytes)
    assert encoded.startswith(prefix + b"A" if prefix else b"A" * count)


@settings(max_examples=40, deadline=None)
@given(raster=rasters())
def test_ascii_uses_only_its_alphabet(raster):
    data = ascii_rle_data(raster.rows, raster.row_bytes)
    assert re.fullmatch(rb"[0-9A-FG-Zg-z,:]*", data)
    assert b"!" not in data and not data.startswith(b":")


def test_smallest_picks_the_shorter():
    blank = Raster(800, 1200, bytes(100 * 1200), 203)
    label = shipping_label()
    for raster in (blank, label):
        candidates = [encode_gf(raster, "z64"), encode_gf(raster, "ascii")]
        assert encode_gf_smallest(raster) == min(candidates, key=len)


# --------------------------------------------------------------------------------------------
# ZplLanguage.encode_raster


FORMAT = re.compile(rb"\^XA\^PW(\d+)\^LL(\d+)\^FO(\d+),(\d+)(\^GFA,[^\^]*)\^FS\^PQ(\d+)\^XZ")


def printed(body: re.Match[bytes]) -> np.ndarray:
    """What a format prints, as zebrafy decodes its field, placed at its ^FO on a blank label
    of ^PW x ^LL dots."""
    width, height, x, y = (int(v) for v in body.groups()[:4])
    _, _, d, _ = GF.fullmatch(body.group(5)).groups()
    field = np.unpackbits(np.frombuffer(zebrafy_decode(body.group(5)), dtype=np.uint8)
                          .reshape(-1, int(d)), axis=1)
    page = np.zeros((height, (width + 7) // 8 * 8 + field.shape[1]), dtype=np.uint8)
    page[y:y + field.shape[0], x:x + field.shape[1]] = field
    return page[:, :width].astype(bool)


def bits_of(raster: Raster) -> np.ndarray:
    rows = np.frombuffer(raster.rows, dtype=np.uint8).reshape(raster.height, raster.row_bytes)
    return np.unpackbits(rows, axis=1)[:, :raster.width].astype(bool)


def test_encode_raster_one_format_per_page_copies_by_pq():
    pages = [shipping_label(812, 300), shipping_label(405, 200)]
    job = ZplLanguage().encode_raster(pages, ZEBRA, PrintOptions(copies=3))
    formats = list(FORMAT.finditer(job))
    assert b"".join(m.group(0) for m in formats) == job and len(formats) == 2
    for page, body in zip(pages, formats, strict=True):
        assert (int(body.group(1)), int(body.group(2))) == (page.width, page.height)
        assert body.group(6) == b"3"
        assert np.array_equal(printed(body), bits_of(page))


def test_only_the_ink_window_is_sent():
    # a 4x6 in label with a small mark in the middle: the field holds the mark, not the page
    bits = np.zeros((1218, 812), dtype=bool)
    bits[600:640, 403:430] = True
    bits[700, 445] = True
    job = ZplLanguage().encode_raster([pack(bits)], ZEBRA, PrintOptions())
    body = FORMAT.fullmatch(job)
    assert (int(body.group(3)), int(body.group(4))) == (400, 600)  # x in whole bytes
    _, c, d, _ = GF.fullmatch(body.group(5)).groups()
    assert int(d) == 6 and int(c) == 6 * 101
    assert np.array_equal(printed(body), bits)


def test_ink_window_edge_cases():
    blank = Raster(812, 1218, bytes(102 * 1218), 203)
    x, y, window = ink_window(blank)
    assert (x, y, window.width, window.height, window.rows) == (0, 0, 8, 1, b"\0")
    corners = np.zeros((100, 203), dtype=bool)
    corners[0, 0] = corners[-1, -1] = True
    full = pack(corners)
    assert ink_window(full) == (0, 0, full)
    # the right-most byte of an odd width keeps its zero padding, and the width stays the page's
    odd = np.zeros((30, 203), dtype=bool)
    odd[5:9, 195:203] = True
    x, y, window = ink_window(pack(odd))
    assert (x, y, window.width, window.height) == (192, 5, 11, 4)
    assert bits_of(window)[:, 3:].all() and not bits_of(window)[:, :3].any()


@settings(max_examples=150, deadline=None)
@given(raster=rasters())
def test_every_page_prints_exactly_its_raster(raster):
    job = ZplLanguage().encode_raster([raster], ZEBRA, PrintOptions())
    assert np.array_equal(printed(FORMAT.fullmatch(job)), bits_of(raster))


def test_encode_raster_sets_nothing_persistent():
    job = ZplLanguage().encode_raster([shipping_label(100, 50)], ZEBRA, PrintOptions())
    commands = set(re.findall(rb"[\^~][A-Z0-9]{2}", job))
    assert commands == {b"^XA", b"^PW", b"^LL", b"^FO", b"^GF", b"^FS", b"^PQ", b"^XZ"}
