"""mono_png: the 1-bit PNG writer simulated printers draw their print-outs with.

The simulator keeps this tiny writer rather than use the renderer's
(labeld.intake.render.raster_to_png) because it must not depend on the rendering stack: tests
compare what a simulator printed with what the renderer drew, and a simulator built on the
renderer's code (Pillow and all) would repeat a renderer bug on both sides of the comparison
instead of catching it. Only zlib and struct from the standard library are used.
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
