"""mono_png: the 1-bit PNG writer simulated printers draw their print-outs with.

labeld's renderer has its own (labeld.intake.render.raster_to_png, on Pillow), and the simulator does
not use it on purpose: tests compare what a simulator printed with what the renderer drew, so the
simulator must not share code with what it checks. It is an independent oracle, and a bug in the
renderer's PNG path cannot show up on both sides of the comparison and cancel out. Only zlib and
struct from the standard library are used.
"""

from __future__ import annotations

import struct
import zlib


def mono_png(width: int, height: int, rows: bytes) -> bytes:
    """A 1-bit greyscale PNG of packed rows (ceil(width / 8) bytes each, MSB = left-most dot,
    1 = black, as printers take them). PNG's 1-bit greyscale has 1 = white, so bytes are
    inverted; padding bits past `width` are ignored by PNG readers."""
    row_bytes = (width + 7) // 8
    if width <= 0 or height <= 0 or len(rows) != row_bytes * height:
        raise ValueError(f"{width}x{height} needs {row_bytes * height} bytes, got {len(rows)}")
    inverted = rows.translate(_PNG_INVERT)
    raw = b"".join(b"\x00" + inverted[i:i + row_bytes]  # filter type 0 on every row
                   for i in range(0, len(inverted), row_bytes))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


_PNG_INVERT = bytes(255 - b for b in range(256))
