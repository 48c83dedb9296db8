"""ESC/POS raster images: `GS v 0` bands (reference 2.6).

`GS v 0 m xL xH yL yH d...` takes exactly the Raster's layout (packed rows, MSB = left-most dot,
1 = black, rows padded to whole bytes), so encoding is slicing the rows into bands and putting
an 8-byte header before each: no per-pixel work, about memcpy speed, plus one numpy pass that
looks for real-time commands (below).

Why bands of 255 rows: python-escpos sends up to 960 rows per command and notes that some
printers choke on tall images; Odoo's IoT box, which drives many cheap clones, sends at most
255. Staying at 255 keeps the height's high byte (yH) at 0, so a clone that mishandles or caps
yH still prints right, and keeps each command small for printers with small receive buffers.
The cost is 8 header bytes per 255 rows (0.04 % of a 576-dot-wide band).

Real-time commands in image data (reference 2.1): the printer acts on `DLE EOT n`, `DLE ENQ n`
and `DLE DC4 fn ...` (`10 04`, `10 05`, `10 14`) as soon as it receives them, even inside
`GS v 0` data. Image bytes are whatever the picture is, so a label image can be drawn whose rows
read `10 14 02 01 08` (power off) or `10 14 08 ...` (clear buffers). `break_realtime_commands`
changes one dot wherever the data would read DLE followed by EOT, ENQ or DC4, and nowhere else:
labels without such a byte pair print unchanged. Each of the three is broken, whatever follows
it, because the printer decides by those two bytes. The header is kept free of them by the
size limits below, and the commands around the bands (ESC @, ESC J, GS V, the next band's
header) start with ESC or GS, so the data bytes are the only place one could appear.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from labeld.contracts import Raster

INIT: Final = b"\x1b@"  # ESC @
CUT_FEED_PARTIAL: Final = b"\x1dVB\x00"  # GS V 66 0: feed to the cutter, then partial cut
GS_V0: Final = b"\x1dv0"
BAND_ROWS: Final = 255
# Both limits keep the header's high bytes (xH, yH) at 3 or less, so no two header bytes, nor
# yH and the first data byte, can read DLE EOT/ENQ/DC4: the header never needs guarding.
# 1023 bytes are 8184 dots, far past the widest ESC/POS head (640 dots, reference 2.8), and
# 1023 rows are more than python-escpos's 960.
MAX_BAND_ROWS: Final = 1023
MAX_ROW_BYTES: Final = 1023
MAX_FEED: Final = 255  # ESC J n: n <= 255 motion units (one dot at the default unit)

DLE: Final = 0x10
# The bytes that make DLE a real-time command (reference 2.1-2.3): EOT (status), ENQ (recover;
# ENQ 2 clears the buffers), DC4 (drawer pulse, power off, clear buffers). labeld's raw-command
# policy lists the dangerous DC4 forms among these; all three are broken here, because a
# printer decides by these two bytes and clones differ in what they do with the rest.
REALTIME_AFTER_DLE: Final = frozenset({0x04, 0x05, 0x14})


def _table(entries: dict[int, int], dtype: type = np.uint8) -> np.ndarray:
    table = np.zeros(256, dtype)
    for byte, value in entries.items():
        table[byte] = value
    table.flags.writeable = False
    return table


# Bytes that can neither be a DLE nor complete one: a changed byte must be one of these, so
# that breaking one command never makes another with the byte before or after it.
_SAFE: Final = _table({b: b != DLE and b not in REALTIME_AFTER_DLE for b in range(256)}, bool)

# The bit flipped in the byte after a DLE when no padding dot can be used. Each is a dot whose
# two neighbours in the byte have the other colour (1 = black):
#   04 = 00000100 and 05 = 00000101: the dot 0x04 is a lone black dot; clearing it gives 00, 01
#   14 = 00010100: the dot 0x08 is a one-dot gap between two black dots; filling it gives 1C
# so the change removes a speck or fills a pinhole. Barcodes are drawn with whole modules of at
# least 2 dots at labeld's default sizes, with quiet zones of many modules: no dot of a bar,
# a space or a quiet zone has both neighbours of the other colour, so the changed dot is never
# one of a barcode's. Why the second byte: DLE (0x10) is the first byte of a command; changing
# the byte after it leaves the DLE harmless (its neighbour now safe), and the new byte is safe
# too, so no change ever calls for another. (Clearing 14's other lone dots would give 04 or 10.)
_IMAGE_FLIP: Final = _table({0x04: 0x04, 0x05: 0x04, 0x14: 0x08})


def gs_v0_header(row_bytes: int, rows: int) -> bytes:
    """`GS v 0 m xL xH yL yH`: m = 0 (no double width or height), width in bytes, height in
    dots, both little-endian."""
    return GS_V0 + b"\x00" + row_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little")


def encode_gs_v0(raster: Raster, band_rows: int = BAND_ROWS) -> bytes:
    """The raster as consecutive `GS v 0` commands of at most `band_rows` rows each, with no
    real-time command in them (see `break_realtime_commands`)."""
    if not 1 <= band_rows <= MAX_BAND_ROWS:
        raise ValueError(f"band_rows must be 1..{MAX_BAND_ROWS}, not {band_rows}")
    row_bytes = raster.row_bytes
    if row_bytes > MAX_ROW_BYTES:
        raise ValueError(f"a raster row of {row_bytes} bytes is wider than labeld sends with "
                         f"GS v 0 ({MAX_ROW_BYTES})")
    band_size = row_bytes * band_rows
    rows = break_realtime_commands(raster.rows, row_bytes, raster.width, band_size)
    parts: list[bytes] = []
    for start in range(0, len(rows), band_size):
        band = rows[start:start + band_size]
        parts.append(gs_v0_header(row_bytes, len(band) // row_bytes))
        parts.append(band)
    return b"".join(parts)


def break_realtime_commands(rows: bytes, row_bytes: int, width: int, band_size: int) -> bytes:
    """`rows` with one dot changed wherever, sent as `GS v 0` bands of `band_size` bytes, the
    data would read DLE EOT, DLE ENQ or DLE DC4; `rows` itself when it never does.

    Rows follow each other within a band with nothing between them, so a command can straddle
    a row end; between bands lies a header, so the last byte of a band and the first of the
    next are not neighbours. Where a command would appear, the dot changed is, in this order of
    preference: a padding dot (past `width`, white, never part of the label) in its second
    byte, then one in its DLE (the DLE ending a row, the rest starting the next), then the
    `_IMAGE_FLIP` dot of the second byte. DLE pairs cannot overlap (a DLE is never the byte
    after one), so every change is one dot of its own, all made at once."""
    if rows.find(b"\x10") < 0:  # most labels: a DLE is a lone dot, 000X0000 (memchr speed)
        return rows
    data = np.frombuffer(rows, np.uint8)
    dle = np.flatnonzero(data[:-1] == DLE)
    after = data[dle + 1]
    realtime = (after == 0x04) | (after == 0x05) | (after == 0x14)
    # A band's first byte follows that band's header, not the byte before it in `rows`.
    first = dle[realtime & ~_every(band_size, 0, len(data))[dle + 1]]
    if first.size == 0:
        return rows
    out = data.copy()
    second = first + 1
    at, flip = second, _IMAGE_FLIP[out[second]]
    if width % 8:
        at, flip = _prefer_padding(out, first, second, flip, row_bytes, row_bytes * 8 - width)
    out[at] ^= flip
    return out.tobytes()


def _prefer_padding(data: np.ndarray, first: np.ndarray, second: np.ndarray, flip: np.ndarray,
                    row_bytes: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """(where, which bit) for each command, moved onto a padding dot of its second byte when
    that byte ends a row, else of its DLE when the DLE ends a row, wherever one is safe."""
    at, flip = second.copy(), flip.copy()
    row_end = _every(row_bytes, row_bytes - 1, len(data))
    ends = np.flatnonzero(row_end[second])
    bits = _padding_flip(data[second[ends]], pad)
    flip[ends] = np.where(bits != 0, bits, flip[ends])
    moved = np.zeros(second.shape, bool)
    moved[ends[bits != 0]] = True
    starts = np.flatnonzero(row_end[first] & ~moved)  # the DLE ends the row before
    bits = _padding_flip(data[first[starts]], pad)
    use = starts[bits != 0]
    at[use] = first[use]
    flip[use] = bits[bits != 0]
    return at, flip


def _every(step: int, start: int, size: int) -> np.ndarray:
    """A mask of `size` positions, True at start, start + step, ... (cheaper than `%` on
    int64 positions, which numpy divides one by one)."""
    mask = np.zeros(size, bool)
    mask[start::step] = True
    return mask


def _padding_flip(values: np.ndarray, pad: int) -> np.ndarray:
    """For bytes that end a row, the padding bit (the low `pad` bits) nearest the right edge
    whose flip leaves a safe byte; 0 where none does (04 and 05 with one padding bit: bit 0
    turns one into the other). A DLE's bit 0 always does (11)."""
    flip = np.zeros(values.shape, np.uint8)
    for bit in range(pad):
        flip = np.where((flip == 0) & _SAFE[values ^ (1 << bit)], np.uint8(1 << bit), flip)
    return flip


def crop_width(raster: Raster, width: int) -> Raster:
    """The left `width` dots of `raster` (itself if it is no wider), padding bits cleared.

    A printer discards what lies past its print area, but clones differ in how (some wrap the
    rest onto the next line), so a too-wide page is cut here, where the result is known."""
    if raster.width <= width:
        return raster
    out_bytes = (width + 7) // 8
    mask = (0xFF << (8 - width % 8)) & 0xFF if width % 8 else 0xFF
    in_bytes = raster.row_bytes
    rows = bytearray()
    for start in range(0, len(raster.rows), in_bytes):
        rows += raster.rows[start:start + out_bytes]
        rows[-1] &= mask
    return Raster(width, raster.height, bytes(rows), raster.dpi)


def feed(dots: int) -> bytes:
    """`ESC J n` commands that feed `dots` dots, in steps of at most 255."""
    out = bytearray()
    while dots > 0:
        step = min(dots, MAX_FEED)
        out += b"\x1bJ" + bytes((step,))
        dots -= step
    return bytes(out)
