"""TSPL: BITMAP polarity (0 = black) and padding, the page commands, `<ESC>!?` status decoding
(reference 3) and the plugin hook."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld import reasons
from labeld.contracts import Model, PrintOptions, Raster, Severity
from labeld.drivers import tspl
from labeld.drivers.tspl.language import (ALL_REASONS, STATUS_QUERY, TsplLanguage, bitmap_data,
                                          encode_page)

TSC = Model("tsc-te200", "TSC TE200", "tspl", 203, 832)
TSC_300 = Model("tsc-te300", "TSC TE300", "tspl", 300, 1248)

PAGE = re.compile(
    rb"SIZE ([\d.]+) mm,([\d.]+) mm\r\nGAP 2 mm,0\r\nCLS\r\n"
    rb"BITMAP 0,0,(\d+),(\d+),0,")


def pack(bits: np.ndarray, dpi: int = 203) -> Raster:
    height, width = bits.shape
    return Raster(width, height, np.packbits(bits, axis=1).tobytes(), dpi)


@st.composite
def rasters(draw: st.DrawFn) -> Raster:
    width = draw(st.integers(1, 300))
    height = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    bits = np.random.default_rng(seed).random((height, width)) < draw(st.floats(0, 1))
    # No byte that is ESC on the wire (E4, inverted 1B): the encoder changes a dot wherever
    # BITMAP data would read ESC ! (test_raster_carries_no_commands.py); here bytes must match.
    packed = np.packbits(bits, axis=1)
    packed[packed == 0xE4] = 0
    return Raster(width, height, packed.tobytes(), 203)


def parse_pages(job: bytes) -> list[tuple[float, float, int, int, bytes, bytes]]:
    """(width mm, height mm, width bytes, rows, bitmap bytes, PRINT line) per page."""
    pages = []
    i = 0
    while i < len(job):
        match = PAGE.match(job, i)
        assert match, f"page header at {i}: {job[i:i + 60]!r}"
        width_mm, height_mm, row_bytes, rows = match.groups()
        start = match.end()
        end = start + int(row_bytes) * int(rows)
        assert job[end:end + 2] == b"\r\n", "CR LF after the binary data"
        line_end = job.index(b"\r\n", end + 2)
        pages.append((float(width_mm), float(height_mm), int(row_bytes), int(rows),
                      job[start:end], job[end + 2:line_end]))
        i = line_end + 2
    return pages


def tspl_bits(data: bytes, row_bytes: int, rows: int) -> np.ndarray:
    """TSPL bitmap bytes as black = True (TSPL: bit 0 = black)."""
    bits = np.unpackbits(np.frombuffer(data, np.uint8).reshape(rows, row_bytes), axis=1)
    return bits == 0


# --------------------------------------------------------------------------------------------
# BITMAP


def test_polarity_black_is_zero():
    raster = pack(np.array([[True] * 8 + [False] * 8]))
    assert bitmap_data(raster) == b"\x00\xff"


@pytest.mark.parametrize("width", [1, 3, 7, 9, 15, 203, 831])
def test_padding_past_the_width_prints_white(width):
    raster = pack(np.ones((4, width), dtype=bool))  # all black: the worst case for a stripe
    black = tspl_bits(bitmap_data(raster), raster.row_bytes, 4)
    assert black[:, :width].all()
    assert not black[:, width:].any(), "padding must be white (1) in TSPL"


def test_padding_is_white_even_if_the_raster_breaks_its_contract():
    bad = Raster(3, 1, b"\xff", 203)  # padding bits set, which Raster promises never happens
    assert bitmap_data(bad) == b"\x1f"


@settings(max_examples=150, deadline=None)
@given(raster=rasters(), copies=st.integers(1, 5))
def test_pages_decode_to_the_raster(raster, copies):
    ((width_mm, height_mm, row_bytes, rows, data, printed),) = parse_pages(
        encode_page(raster, copies))
    assert (row_bytes, rows) == (raster.row_bytes, raster.height)
    expected = np.unpackbits(np.frombuffer(raster.rows, np.uint8).reshape(rows, -1), axis=1)
    black = tspl_bits(data, row_bytes, rows)
    assert (black[:, :raster.width] == expected[:, :raster.width].astype(bool)).all()
    assert not black[:, raster.width:].any()
    assert width_mm == pytest.approx(raster.width * 25.4 / raster.dpi, abs=0.05)
    assert height_mm == pytest.approx(raster.height * 25.4 / raster.dpi, abs=0.05)
    assert printed == b"PRINT 1,%d" % copies


def test_encode_raster_one_block_per_page():
    pages = [pack(np.ones((812, 812), dtype=bool)), pack(np.zeros((100, 400), dtype=bool))]
    job = TsplLanguage().encode_raster(pages, TSC, PrintOptions(copies=2))
    parsed = parse_pages(job)
    assert [(p[0], p[1]) for p in parsed] == [(101.6, 101.6), (50.0, 12.5)]
    assert [p[5] for p in parsed] == [b"PRINT 1,2", b"PRINT 1,2"]


# --------------------------------------------------------------------------------------------
# status


def codes(reply: bytes) -> list[str]:
    return [r.code for r in TsplLanguage().decode_status(reply).reasons]


@pytest.mark.parametrize("byte, expected", [
    (0x00, []),
    (0x01, ["head-open"]),
    (0x02, ["paper-jam"]),
    (0x04, ["paper-out"]),
    (0x08, ["ribbon-out"]),
    (0x10, ["paused"]),
    (0x20, []),  # printing: a state, not a problem
    (0x40, ["cover-open"]),
    (0x80, ["temperature-out-of-range"]),
    (0x05, ["head-open", "paper-out"]),  # the reference's examples
    (0x0C, ["paper-out", "ribbon-out"]),
])
def test_status_byte_table(byte, expected):
    assert codes(bytes([byte])) == expected


def test_status_fields_and_ok():
    language = TsplLanguage()
    ready = language.decode_status(b"\x00")
    assert ready.answered and ready.ok and ready.fields["status"] == "00"
    printing = language.decode_status(b"\x20")
    assert printing.ok and printing.fields["printing"] is True
    paused = language.decode_status(b"\x10")
    assert not paused.ok and paused.fields["paused"] is True


def test_silence_and_garbage():
    language = TsplLanguage()
    silent = language.decode_status(b"")
    assert not silent.answered and codes(b"") == ["no-status-reply"]
    garbled = language.decode_status(b"\xff\x00garbage")
    assert garbled.answered and codes(b"\xff\x00garbage") == ["garbled-status-reply"]


def test_query_and_completion():
    language = TsplLanguage()
    assert language.status_query() == STATUS_QUERY == bytes.fromhex("1B 21 3F")
    assert not language.status_complete(b"") and language.status_complete(b"\x00")


@given(st.binary(max_size=4))
def test_decoding_never_raises(reply):
    TsplLanguage().decode_status(reply)


def test_every_reason_has_words():
    for reason in ALL_REASONS:
        assert reason.severity in (Severity.ERROR, Severity.WARNING)
        assert reason.code in reasons.codes(), f"{reason.code} needs EN/HU texts"


# --------------------------------------------------------------------------------------------
# test page and plugin


@pytest.mark.parametrize("model", [TSC, TSC_300])
def test_test_page_is_a_small_text_label(model):
    page = TsplLanguage().test_page('shop "1"\n', model)
    lines = page.split(b"\r\n")
    assert lines[0] == b"SIZE 50 mm,30 mm" and lines[1:3] == [b"GAP 2 mm,0", b"CLS"]
    assert lines[3].startswith(b'TEXT ') and b"labeld test label" in lines[3]
    assert b'"printer: shop ?1??"' in page  # quotes and control characters replaced
    assert lines[-2:] == [b"PRINT 1,1", b""]
    page.decode("ascii")


def test_plugin_registers_the_language():
    (language,) = tspl.labeld_languages()
    assert isinstance(language, TsplLanguage) and language.name == "tspl"
