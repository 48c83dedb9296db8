"""ESC/POS raster images: `GS v 0` bands (reference 2.6).

`GS v 0 m xL xH yL yH d...` takes exactly the Raster's layout (packed rows, MSB = left-most dot,
1 = black, rows padded to whole bytes), so encoding is slicing the rows into bands and putting
an 8-byte header before each: no per-pixel work and no numpy, about memcpy speed.

Why bands of 255 rows: python-escpos sends up to 960 rows per command and notes that some
printers choke on tall images; Odoo's IoT box, which drives many cheap clones, sends at most
255. Staying at 255 keeps the height's high byte (yH) at 0, so a clone that mishandles or caps
yH still prints right, and keeps each command small for printers with small receive buffers.
The cost is 8 header bytes per 255 rows (0.04 % of a 576-dot-wide band).
"""

from __future__ import annotations

from typing import Final

from labeld.contracts import Raster

INIT: Final = b"\x1b@"  # ESC @
CUT_FEED_PARTIAL: Final = b"\x1dVB\x00"  # GS V 66 0: feed to the cutter, then partial cut
GS_V0: Final = b"\x1dv0"
BAND_ROWS: Final = 255
MAX_BAND_ROWS: Final = 0xFFFF
MAX_ROW_BYTES: Final = 0xFFFF
MAX_FEED: Final = 255  # ESC J n: n <= 255 motion units (one dot at the default unit)


def gs_v0_header(row_bytes: int, rows: int) -> bytes:
    """`GS v 0 m xL xH yL yH`: m = 0 (no double width or height), width in bytes, height in
    dots, both little-endian."""
    return GS_V0 + b"\x00" + row_bytes.to_bytes(2, "little") + rows.to_bytes(2, "little")


def encode_gs_v0(raster: Raster, band_rows: int = BAND_ROWS) -> bytes:
    """The raster as consecutive `GS v 0` commands of at most `band_rows` rows each."""
    if not 1 <= band_rows <= MAX_BAND_ROWS:
        raise ValueError(f"band_rows must be 1..{MAX_BAND_ROWS}, not {band_rows}")
    row_bytes = raster.row_bytes
    if row_bytes > MAX_ROW_BYTES:
        raise ValueError(f"a raster row of {row_bytes} bytes does not fit GS v 0")
    band_size = row_bytes * band_rows
    rows = raster.rows
    parts: list[bytes] = []
    for start in range(0, len(rows), band_size):
        band = rows[start:start + band_size]
        parts.append(gs_v0_header(row_bytes, len(band) // row_bytes))
        parts.append(band)
    return b"".join(parts)


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
