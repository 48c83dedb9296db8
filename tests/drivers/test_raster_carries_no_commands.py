"""Rendered raster data never carries a printer command.

ESC/POS printers act on the real-time commands DLE EOT n, DLE ENQ n and DLE DC4 fn ...
(`10 04`, `10 05`, `10 14`) the moment they arrive, even inside `GS v 0` image data (reference
2.1-2.3); TSPL printers act on the immediate commands `<ESC>!x` (`1B 21`: reset, pause, status,
...) wherever they stand, BITMAP data included (reference 3). An image is whatever a client
drew, so its packed rows can spell any bytes. The ESC/POS and TSPL encoders change one dot per
would-be command.

Everything is checked with code written here from the reference, not with the code under
test: a scanner that reads the whole job as a printer's receive layer does (every DLE EOT/ENQ/
DC4 and every ESC ! at any offset: inside a row, across rows, bands and commands), and a parser
that finds the image data in the job. For every job:

* the scanner finds nothing;
* compared with the job labeld would send without the guard (the same commands around the
  image's own bytes, rebuilt here), each would-be command is broken by exactly one changed dot
  in one of its two bytes, and no other byte changes;
* that dot is a padding dot (past the image's width, never part of the label) wherever one
  can break the command, and otherwise a dot whose two neighbours in its byte both have the
  other colour, which no bar, space or quiet zone of a barcode with 2-dot modules has.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from labeld.contracts import Model, PrintOptions, Raster
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.raster import MAX_BAND_ROWS, MAX_ROW_BYTES, encode_gs_v0
from labeld.drivers.escpos.simulator import SPEC as ESCPOS_SPEC
from labeld.drivers.tspl.language import TsplLanguage
from labeld.drivers.tspl.simulator import render_labels
from labeld.intake.render import FontBook, parse_label, png_to_raster, raster_to_bits, render_label
from labeld.drivers.escpos.policy import ESCPOS_RULES
from labeld.drivers.tspl.policy import TSPL_RULES
from labeld.intake.policy import find_commands
from labeld.sim import SimulatorThread
from tests.conftest import send_and_read

RECEIPT = Model("tm-t20", "TM-T20", "escpos", 203, 576, printer_type="receipt", cutter=True)
TSC = Model("tsc", "TSC", "tspl", 203, 832)

# -- the printer's view, from the reference --------------------------------------------------

# ESC/POS 2.1-2.3: DLE followed by EOT, ENQ or DC4 is acted on wherever it appears.
ESCPOS_REALTIME = re.compile(rb"\x10[\x04\x05\x14]")
# TSPL 3: immediate commands are <ESC>! and one character, acted on wherever they appear.
TSPL_IMMEDIATE = re.compile(rb"\x1b!")
SCANNERS = {"escpos": ESCPOS_REALTIME, "tspl": TSPL_IMMEDIATE}

POWER_OFF = bytes.fromhex("10 14 02 01 08")
CLEAR_BUFFERS = bytes.fromhex("10 14 08 01 03 14 01 06 02 08")
ESCPOS_ATTACKS = (POWER_OFF, CLEAR_BUFFERS, bytes.fromhex("10 14 01 00 08"),  # drawer pulse
                  bytes.fromhex("10 04 01"), bytes.fromhex("10 05 02"), b"\x10\x04", b"\x10\x05",
                  b"\x10\x14")
TSPL_ATTACKS = (b"\x1b!R", b"\x1b!?", b"\x1b!P", b"\x1b!O", b"\x1b!S", b"\x1b!C", b"\x1b!")
ATTACKS = {"escpos": ESCPOS_ATTACKS, "tspl": TSPL_ATTACKS}


def commands_in(language: str, stream: bytes) -> list[int]:
    """Offsets of every command the printer would act on. The pairs cannot overlap (DLE is not
    EOT/ENQ/DC4, ESC is not !), so non-overlapping matches are all of them."""
    return [m.start() for m in SCANNERS[language].finditer(stream)]


def test_every_command_the_policy_calls_real_time_is_one_the_scanner_sees():
    # labeld's raw-command policy names the sequences it looks for everywhere, payloads
    # included; each must start with a pair this test scans for, so none can pass the guard.
    realtime = [r.seq for r in ESCPOS_RULES if r.realtime]
    immediate = [r.seq for r in TSPL_RULES if r.seq]
    assert realtime and immediate
    assert all(ESCPOS_REALTIME.match(seq) for seq in realtime), realtime
    assert all(TSPL_IMMEDIATE.match(seq) for seq in immediate), immediate


# -- where the image data is in a job ---------------------------------------------------------


@dataclass(frozen=True)
class Block:
    offset: int  # of the first data byte in the job
    row_bytes: int
    rows: int


def escpos_blocks(job: bytes) -> list[Block]:
    """The GS v 0 bands of a job, in order. Knows only ESC @, GS v 0 (2.6), ESC J n and
    GS V m [n] (2.7): anything else fails the test."""
    blocks, i = [], 0
    while i < len(job):
        if job.startswith(b"\x1b@", i):
            i += 2
        elif job.startswith(b"\x1dv0", i):
            m, xl, xh, yl, yh = job[i + 3:i + 8]
            assert m == 0
            block = Block(i + 8, xl + 256 * xh, yl + 256 * yh)
            assert block.offset + block.row_bytes * block.rows <= len(job), "band cut short"
            blocks.append(block)
            i = block.offset + block.row_bytes * block.rows
        elif job.startswith(b"\x1bJ", i):
            i += 3
        elif job.startswith(b"\x1dV", i):
            i += 4 if job[i + 2] in (65, 66) else 3
        else:
            pytest.fail(f"unexpected byte {job[i]:#04x} at {i}")
    return blocks


TSPL_BITMAP = re.compile(rb"BITMAP (\d+),(\d+),(\d+),(\d+),(\d),")


def tspl_blocks(job: bytes) -> list[Block]:
    """The BITMAP payloads of a job (3): `width_bytes x height` raw bytes after the header."""
    blocks, i = [], 0
    while (m := TSPL_BITMAP.search(job, i)) is not None:
        block = Block(m.end(), int(m.group(3)), int(m.group(4)))
        blocks.append(block)
        i = block.offset + block.row_bytes * block.rows
        assert job[i:i + 2] == b"\r\n", "CR LF after the binary data"
    return blocks


BLOCKS: dict[str, Callable[[bytes], list[Block]]] = {"escpos": escpos_blocks,
                                                      "tspl": tspl_blocks}


@dataclass(frozen=True)
class Sent:
    """One image as the printer should get it without the guard: its wire bytes (the
    language's polarity, padding as the language sends it) and its width in dots."""

    width: int
    data: bytes


def escpos_sent(raster: Raster, print_width: int | None = None) -> Sent:
    """2.6: the Raster's own layout (1 = black, MSB left, rows padded to bytes), padding as
    given; an image wider than the print width is cut to it, with white padding."""
    if print_width is None or raster.width <= print_width:
        return Sent(raster.width, raster.rows)
    bits = raster_bits(raster)[:, :print_width]
    return Sent(print_width, np.packbits(bits, axis=1).tobytes())


def tspl_sent(raster: Raster) -> Sent:
    """3: 0 = black, padding white (1)."""
    bits = raster_bits(raster)
    white = np.ones((raster.height, raster.row_bytes * 8), dtype=bool)
    white[:, :raster.width] = ~bits
    return Sent(raster.width, np.packbits(white, axis=1).tobytes())


def raster_bits(raster: Raster) -> np.ndarray:
    packed = np.frombuffer(raster.rows, np.uint8).reshape(raster.height, raster.row_bytes)
    return np.unpackbits(packed, axis=1)[:, :raster.width].astype(bool)


# -- the check ---------------------------------------------------------------------------------


def assert_guarded(language: str, job: bytes, images: list[Sent]) -> int:
    """All the properties of the module docstring for one job whose image data, in order,
    should be `images`; returns how many would-be commands were broken."""
    assert commands_in(language, job) == [], "the printer would act on image data"

    # Rebuild the unguarded job, and note for every data byte its image and place in the row.
    blocks = BLOCKS[language](job)
    naive = bytearray(job)
    width_at = np.full(len(job), -1)  # image width in dots, -1 outside image data
    col_at = np.full(len(job), -1)  # byte's index in its row
    row_bytes_at = np.zeros(len(job), int)
    stream = iter(images)
    image, used = next(stream), 0
    for block in blocks:
        if used == len(image.data):
            image, used = next(stream), 0
        size = block.row_bytes * block.rows
        assert block.row_bytes == (image.width + 7) // 8
        naive[block.offset:block.offset + size] = image.data[used:used + size]
        span = slice(block.offset, block.offset + size)
        width_at[span] = image.width
        col_at[span] = np.arange(size) % block.row_bytes
        row_bytes_at[span] = block.row_bytes
        used += size
    assert used == len(image.data) and next(stream, None) is None, "every image sent, whole"

    occurrences = commands_in(language, bytes(naive))
    got, want = np.frombuffer(job, np.uint8), np.frombuffer(bytes(naive), np.uint8)
    changed = set(np.flatnonzero(got != want).tolist())
    for o in occurrences:
        (k,) = [k for k in (o, o + 1) if k in changed]  # exactly one of its two bytes
        assert col_at[k] >= 0, "only image data changes"
        bit = job[k] ^ naive[k]
        assert bit & (bit - 1) == 0, "one dot"
        changed.discard(k)
        dot = 8 * int(col_at[k]) + 7 - (bit.bit_length() - 1)  # MSB = left-most dot
        if _padding_could_break(language, naive, o, width_at, col_at, row_bytes_at):
            assert dot >= width_at[k], f"a padding dot could break the command at {o}"
        else:
            d = dot % 8
            assert 1 <= d <= 6, "a dot with both neighbours in its byte"
            value = naive[k]
            here, left, right = (value >> (7 - d)) & 1, (value >> (8 - d)) & 1, (
                value >> (6 - d)) & 1
            assert left == right != here, f"the dot changed at {o} is a lone dot"
    assert not changed, "nothing changes but would-be commands"
    return len(occurrences)


def _padding_could_break(language: str, naive: bytearray, o: int, width_at: np.ndarray,
                         col_at: np.ndarray, row_bytes_at: np.ndarray) -> bool:
    """Whether flipping some padding dot of the command's two bytes leaves no command in the
    bytes around it (brute force: every padding dot of both)."""
    for k in (o, o + 1):
        width = int(width_at[k])
        if width < 0 or col_at[k] != row_bytes_at[k] - 1 or width % 8 == 0:
            continue
        for dot in range(width % 8, 8):
            window = bytearray(naive[max(o - 1, 0):o + 3])
            window[k - max(o - 1, 0)] ^= 0x80 >> dot
            if not commands_in(language, bytes(window)):
                return True
    return False


# -- inputs ------------------------------------------------------------------------------------

# Widths that leave 1, 2, 3, 7 padding dots, one-byte rows and the 80 mm receipt width.
ODD_WIDTHS = (1, 2, 5, 6, 7, 9, 15, 17, 22, 23, 31, 33, 71, 575, 577)


@st.composite
def rasters(draw: st.DrawFn, language: str, max_width: int, max_height: int) -> Raster:
    """Any image, often with commands planted in its packed rows as an attacker would draw
    them: anywhere, straddling a row end, ending a row, and across a 255-row band boundary."""
    width = draw(st.one_of(st.integers(1, max_width), st.sampled_from(ODD_WIDTHS)))
    width = min(width, max_width)
    height = draw(st.integers(1, max_height))
    row_bytes = (width + 7) // 8
    background = draw(st.sampled_from(["white", "black", "noise"]))
    if background == "noise":
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        bits = rng.random((height, row_bytes * 8)) < draw(st.floats(0, 1))
        data = np.packbits(bits, axis=1).reshape(-1)
    else:
        data = np.full(height * row_bytes, 0xFF if background == "black" else 0, np.uint8)
    for _ in range(draw(st.integers(0, 10))):
        wire = draw(st.sampled_from(ATTACKS[language]))
        # TSPL sends the rows inverted: to spell `wire` there, draw its complement.
        planted = np.frombuffer(wire, np.uint8) ^ (0xFF if language == "tspl" else 0)
        row = draw(st.integers(0, height - 1))
        where = draw(st.sampled_from(["anywhere", "straddles a row end", "ends a row",
                                      "straddles a band end"]))
        if where == "anywhere":
            start = draw(st.integers(0, len(data) - 1))
        elif where == "straddles a row end":
            start = (row + 1) * row_bytes - 1
        elif where == "ends a row":
            start = max(0, (row + 1) * row_bytes - 2)
        else:
            band = draw(st.integers(1, max(1, height // 255)))
            start = max(0, min(255 * band, height) * row_bytes - 1)
        piece = planted[:max(0, len(data) - start)]
        data[start:start + len(piece)] = piece
    raster_rows = data.reshape(height, row_bytes)
    if language == "tspl" or draw(st.booleans()):
        # Rasters promise white padding (render makes them so); ESC/POS is also tried with
        # rasters that break the promise, where the guard must still be safe.
        raster_rows = raster_rows.copy()
        if width % 8:
            raster_rows[:, -1] &= (0xFF << (8 - width % 8)) & 0xFF
    return Raster(width, height, raster_rows.tobytes(), 203)


# -- ESC/POS -----------------------------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(pages=st.lists(rasters("escpos", 600, 600), min_size=1, max_size=3),
       copies=st.integers(1, 2), feed_dots=st.sampled_from([0, 16, 255, 271]),
       cut=st.booleans())
def test_escpos_jobs_carry_no_real_time_command(pages, copies, feed_dots, cut):
    job = EscposLanguage().encode_raster(
        pages, RECEIPT, PrintOptions(copies=copies, cut=cut, feed_dots=feed_dots))
    assert_guarded("escpos", job, [escpos_sent(p, RECEIPT.print_width_dots) for p in pages]
                   * copies)


@settings(max_examples=150, deadline=None)
@given(raster=rasters("escpos", 64, 300), band_rows=st.integers(1, 40))
def test_escpos_bands_of_any_height(raster, band_rows):
    # Many band boundaries: a pair split by one is not a command (a header lies between) and
    # must not be changed; a pair inside a band is.
    assert_guarded("escpos", encode_gs_v0(raster, band_rows), [escpos_sent(raster)])


def test_escpos_every_byte_pair_a_command():
    # The worst case: rows made of nothing but power-off and clear-buffer commands.
    for width in (40, 39, 80, 575, 576):
        row_bytes = (width + 7) // 8
        for attack in (POWER_OFF, CLEAR_BUFFERS, b"\x10\x04", b"\x10\x14"):
            rows = (attack * (300 * row_bytes // len(attack) + 1))[:300 * row_bytes]
            raster = Raster(width, 300, rows, 203)
            job = EscposLanguage().encode_raster([raster], RECEIPT, PrintOptions())
            assert assert_guarded("escpos", job, [escpos_sent(raster)]) > 0


def test_no_gs_v0_header_can_hold_a_real_time_command():
    # GS v 0 m xL xH yL yH, followed by a data byte: for every width and height labeld sends,
    # no two neighbouring bytes, data byte included, are DLE and EOT/ENQ/DC4.
    x, y = np.meshgrid(np.arange(1, MAX_ROW_BYTES + 1), np.arange(1, MAX_BAND_ROWS + 1))
    x, y = x.reshape(-1), y.reshape(-1)
    fields = [np.full_like(x, 0x30), np.zeros_like(x), x & 0xFF, x >> 8, y & 0xFF, y >> 8]
    for first, second in zip(fields, fields[1:] + [np.full_like(x, 0x14)], strict=True):
        assert not ((first == 0x10) & np.isin(second, (0x04, 0x05, 0x14))).any()
    for bad in ({"band_rows": MAX_BAND_ROWS + 1}, {"width": 8 * MAX_ROW_BYTES + 1}):
        raster = Raster(bad.get("width", 8), 1, bytes((bad.get("width", 8) + 7) // 8), 203)
        with pytest.raises(ValueError):
            encode_gs_v0(raster, bad.get("band_rows", 255))


def test_normal_receipts_are_unchanged():
    # Text, rules, a barcode: the bench's receipt image has no DLE pair, and is sent as is.
    rows = np.zeros((200, 72), np.uint8)
    rows[20:40, 4:60] = 0xFF
    rows[60:180, 10:50] = np.array([0xCC, 0x3C, 0xF0, 0x0F], np.uint8).repeat(10)
    raster = Raster(576, 200, rows.tobytes(), 203)
    job = EscposLanguage().encode_raster([raster], RECEIPT, PrintOptions(cut=False))
    assert assert_guarded("escpos", job, [escpos_sent(raster)]) == 0
    assert raster.rows in job


# -- TSPL --------------------------------------------------------------------------------------


@settings(max_examples=250, deadline=None)
@given(pages=st.lists(rasters("tspl", 840, 300), min_size=1, max_size=3),
       copies=st.integers(1, 3))
@example(pages=[Raster(24, 5, bytes([0xE4, 0xDE, 0xC0]) * 5, 203)], copies=1)  # ESC ! ?
def test_tspl_jobs_carry_no_immediate_command(pages, copies):
    job = TsplLanguage().encode_raster(pages, TSC, PrintOptions(copies=copies))
    assert_guarded("tspl", job, [tspl_sent(p) for p in pages])


def test_tspl_every_byte_pair_a_command():
    for width in (24, 23, 17, 832):
        row_bytes = (width + 7) // 8
        for attack in (b"\x1b!R", b"\x1b!"):
            wire = (attack * (200 * row_bytes // len(attack) + 1))[:200 * row_bytes]
            raster = Raster(width, 200, bytes(255 - b for b in wire), 203)
            job = TsplLanguage().encode_raster([raster], TSC, PrintOptions())
            assert assert_guarded("tspl", job, [tspl_sent(raster)]) > 0


# -- the attack from the issue: a PNG in a label document, through render and the encoders ------


def attack_png(wire: bytes, rows: int, black_is_one: bool) -> str:
    """A base64 PNG whose every row, thresholded and packed as labeld does, is `wire` on the
    printer's wire (ESC/POS: 1 = black; TSPL: 0 = black)."""
    bits = np.unpackbits(np.frombuffer(wire, np.uint8)).astype(bool)
    black = bits if black_is_one else ~bits
    image = np.where(np.tile(black, (rows, 1)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(image, "L").save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


def label_with(png: str, width_mm: float) -> Raster:
    document = {"width_mm": width_mm, "height_mm": 5, "elements": [
        {"type": "image", "data": png, "x_mm": 0, "y_mm": 0, "dither": "threshold"}]}
    return render_label(parse_label(document, default_dpi=203), FontBook())




def test_png_label_cannot_power_off_or_clear_an_escpos_printer():
    wire = POWER_OFF + CLEAR_BUFFERS + b"\x00"  # 16 bytes = 128 dots per row
    raster = label_with(attack_png(wire, rows=8, black_is_one=True), width_mm=16)
    assert raster.width == 128 and raster.rows[:16] == wire, "render draws what was asked"
    # Without the guard, this is what the printer would get (GS v 0 carries rows as they are):
    unguarded = b"\x1b@\x1dv0\x00" + bytes([16, 0, raster.height, 0]) + raster.rows
    assert {f.command for f in find_commands(EscposLanguage(), unguarded)} == {
        "DLE DC4 2 (power off)", "DLE DC4 8 (clear buffers)"}

    job = EscposLanguage().encode_raster([raster], RECEIPT, PrintOptions(cut=False))
    assert find_commands(EscposLanguage(), job) == []  # labeld's own policy finds nothing either
    assert assert_guarded("escpos", job, [escpos_sent(raster)]) == 2 * 8  # two per row

    with SimulatorThread(ESCPOS_SPEC) as printer:
        # The simulated printer answers power off with 3B 30 00 and clear buffers with 37 25 00.
        assert send_and_read(printer.port, unguarded) == (b"\x3b\x30\x00" + b"\x37\x25\x00") * 8
        printer.clear_jobs()
        assert send_and_read(printer.port, job) == b"", "nothing executed"


def test_png_label_cannot_reset_a_tspl_printer():
    wire = b"\x1b!R\xff" * 4  # ESC ! R between white dots, 4 times a row
    raster = label_with(attack_png(wire, rows=6, black_is_one=False), width_mm=16)
    assert raster.width == 128 and tspl_sent(raster).data[:16] == wire
    unguarded = (b"SIZE 16 mm,5 mm\r\nGAP 2 mm,0\r\nCLS\r\nBITMAP 0,0,16,%d,0," % raster.height
                 + tspl_sent(raster).data + b"\r\nPRINT 1,1\r\n")
    assert {f.command for f in find_commands(TsplLanguage(), unguarded)} == {"<ESC>!R"}

    job = TsplLanguage().encode_raster([raster], TSC, PrintOptions())
    assert find_commands(TsplLanguage(), job) == []
    assert assert_guarded("tspl", job, [tspl_sent(raster)]) == 4 * 6
    # The simulated printer's print-out: one dot changed per command, each filling a one-dot
    # white gap inside the drawn ESC byte pattern, nothing else.
    (png,) = render_labels(job, 203)
    printed = raster_to_bits(png_to_raster(png, 203))[:raster.height, :raster.width]
    assert (printed != raster_to_bits(raster)).sum() == 4 * 6
