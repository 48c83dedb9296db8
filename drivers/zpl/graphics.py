"""ZPL `^GF` graphic fields: a 1-bit Raster as `^GFA,b,c,d,<data>` (reference 1.7).

Three encodings of the data, all inside an ASCII (`A`) field so that the job stays 7-bit text
and no `^`/`~` byte can appear in it:

* `z64`: `:Z64:<base64 of a zlib stream>:<CRC-16/XMODEM of the base64 text>`. The smallest for
  anything but a blank label, and the default.
* `ascii`: hex nibbles with ZPL's run-length scheme (G..Y / g..z repeat counts, `,` for the
  zeros that end a row, `:` for a row equal to the one before). For printers too old for Z64.
* `b64`: `:B64:` plain base64; only for completeness, never the smallest.

`b` (the "binary byte count") is the length of the data after `d` for B64/Z64, and equals `c`
for ASCII data, as the guide asks ("for ASCII download, b should match c"): printers reject an
ASCII field whose `b` differs from `c` (zebrafy issue #19).

Z64 deflate settings, measured on this project's 2-vCPU VM (median ms of 30 runs; sizes in
bytes). A 4x6 in shipping label at 203 dpi (124 236 bytes of bitmap: text, rules, bars, QR):

    zlib level, strategy, memLevel     base64 chars    ms
    1, default, 8                           11 288     0.34
    4, Z_FILTERED, 9                         8 976     0.63
    6, default, 8  (zlib's defaults)         8 092     1.08
    6, Z_FILTERED, 9                         7 940     1.15
    8, Z_FILTERED, 9                         7 780     3.45
    9, Z_FILTERED, 9                         7 792     8.42

Level 6 is the knee: lower levels grow the payload 11-40 %, higher ones cost 3-7x the time for
2 %. At level 6 no strategy wins everywhere. Z_FILTERED with memLevel 9 against zlib's defaults:
five text-and-barcode labels -1.8 to -2.3 %, a receipt -2.5 %, large text -1.6 %; but a label
of regular bar patterns +3.1 %, a dithered logo +1.5 %, 50 lines of small text +3.1 %, a
dithered photo +2.4 %. On 80 rendered labels it was larger in 34, by up to 7 %.

So a small bitmap (up to SMALL_BITMAP bytes, well under 1 ms) is compressed both ways and the
shorter kept: never larger than zlib's defaults, usually ~2 % smaller. A large one gets one pass
with zlib's defaults: a 4x6 in label must render and encode in 1.5 ms (bench/bench_render.py),
and the second pass alone costs ~0.8 ms of that for ~1 % on text-and-barcode labels. Choosing
the strategy from a sample of the rows instead was tried and is not reliable (wrong on 13-19 of
80 labels, up to 1.8 % larger than zlib's defaults), and memLevel 9 with the default strategy
is larger on 3 of 80. zlib's defaults are what zebrafy and most converters send, so a large
field is byte for byte as long as theirs, never longer.

With the optional `deflate` package (libdeflate), a large bitmap is deflated by libdeflate at
level 7 instead: also a zlib (RFC 1950) stream, and ~2x faster than zlib at level 6. Measured
on the ink window of 122 rasters (100 changing 4x6 in bench labels, the stock templates at 203
and 300 dpi, dithered noise, dense full-page patterns) against zlib's defaults on the whole page
(what zebrafy sends): never longer (11 to 424 bytes shorter). Level 6 was longer on the dense
patterns (up to 905 bytes), level 8 once (66 bytes) and costs 1.6x level 7's time. A small
bitmap also gets libdeflate's stream as one more candidate, so it stays never longer than zlib's
defaults. Without the package, stdlib zlib as described above.

A page is sent as its ink window (`ink_window`): a rectangle, in whole bytes across, that holds
every black dot, placed with `^FO`: the renderer's box of what it drew (`Raster.ink`) when the
raster carries one, else the smallest such rectangle, found by scanning the page (~0.1 ms for a
4x6 in label, which the renderer's box saves). A label is mostly blank paper; on the 4x6
in bench label the window is 55 % of the page, which is 55 % of the deflate time, and the
stream is shorter too. The printer leaves the rest of the label blank, as it would for zero
bits, and `^PW`/`^LL` still give the label its full size.

A page is one field even past the guide's documented range for b and c (1..99 999; a 4x6 in
label at 203 dpi is 124 236 bytes), as converters in wide use for 4x6 shipping labels (zebrafy,
PDFtoZPL) do. Not verified on hardware here; splitting into fields of <= 99 999 bytes stacked
with ^FO would be the fallback if a printer cuts such labels short.
"""

from __future__ import annotations

import binascii
import re
import zlib
from typing import Final, Literal

import numpy as np

from labeld.contracts import Raster

try:  # libdeflate: a standard zlib stream, ~2x faster than zlib and smaller at level 8
    from deflate import zlib_compress as _libdeflate_zlib
except ImportError:  # optional: stdlib zlib alone gives the same streams' format
    _libdeflate_zlib = None

Compression = Literal["z64", "ascii", "b64"]

Z64_LEVEL: Final = 6
# (strategy, memLevel) pairs tried on a small bitmap; the shortest stream wins. The first is
# zlib's default, and the only one used for a larger bitmap.
Z64_CANDIDATES: Final = ((zlib.Z_DEFAULT_STRATEGY, 8), (zlib.Z_FILTERED, 9))
# Up to here both candidates are tried (~0.1 ms for 16 KiB); a 4x6 in label is 124 236 bytes.
SMALL_BITMAP: Final = 16 * 1024
# libdeflate's level for a large bitmap (and one more candidate for a small one), when the
# optional `deflate` package is installed; see the module docstring.
LIBDEFLATE_LEVEL: Final = 7

_HEX_RUN = re.compile(rb"([0-9A-F])\1\1+")  # three or more: shorter as a count + the digit


def crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0, no reflection): what a Zebra checks over B64/Z64
    text. binascii.crc_hqx is exactly this CRC, in C."""
    return binascii.crc_hqx(data, 0)


def _armoured(kind: bytes, payload: bytes) -> bytes:
    text = binascii.b2a_base64(payload, newline=False)
    return b":%s:%s:%04X" % (kind, text, crc16_xmodem(text))


def _deflate(rows: bytes, level: int, strategy: int, mem_level: int) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, 15, mem_level, strategy)
    return compressor.compress(rows) + compressor.flush()


def z64_data(rows: bytes) -> bytes:
    """`:Z64:<base64(zlib(rows))>:<CRC>`, a zlib (RFC 1950) stream, not raw deflate: the
    shortest of Z64_CANDIDATES for a small bitmap, zlib's defaults for a large one (see the
    module docstring); never longer than zlib's defaults."""
    if len(rows) > SMALL_BITMAP:
        if _libdeflate_zlib is not None:
            return _armoured(b"Z64", _libdeflate_zlib(rows, LIBDEFLATE_LEVEL))
        strategy, mem = Z64_CANDIDATES[0]
        return _armoured(b"Z64", _deflate(rows, Z64_LEVEL, strategy, mem))
    streams = [_deflate(rows, Z64_LEVEL, strategy, mem) for strategy, mem in Z64_CANDIDATES]
    if _libdeflate_zlib is not None:
        streams.append(_libdeflate_zlib(rows, LIBDEFLATE_LEVEL))
    return _armoured(b"Z64", min(streams, key=len))


def b64_data(rows: bytes) -> bytes:
    """`:B64:<base64(rows)>:<CRC>`."""
    return _armoured(b"B64", rows)


def _repeat_prefix(count: int) -> bytes:
    """The repeat-count letters for `count` copies of one hex digit: `z` = 400, `g`..`y` =
    20..380, `G`..`Y` = 1..19; counts add up."""
    out = bytearray(b"z" * (count // 400))
    twenties, units = divmod(count % 400, 20)
    if twenties:
        out.append(ord("f") + twenties)
    if units:
        out.append(ord("F") + units)
    return bytes(out)


def _encode_run(match: re.Match[bytes]) -> bytes:
    run = match.group(0)
    return _repeat_prefix(len(run)) + run[:1]


def ascii_rle_data(rows: bytes, row_bytes: int) -> bytes:
    """Hex nibbles with ZPL's run-length compression.

    Trailing zeros are cut at a byte boundary (`F0` + `,`, not `F` + `,`), as LPrint does, so
    `,` always starts on a whole byte: a printer that pads by bytes and one that pads by nibbles
    read it the same. `!` is never written: the guide's "fill with ones" is read as hex `1` by
    some decoders and as `F` by others (reference 1.7)."""
    out: list[bytes] = []
    previous: bytes | None = None
    for start in range(0, len(rows), row_bytes):
        row = rows[start:start + row_bytes]
        if row == previous:
            out.append(b":")
            continue
        previous = row
        body = row.rstrip(b"\x00")
        encoded = _HEX_RUN.sub(_encode_run, body.hex().upper().encode("ascii"))
        out.append(encoded + b"," if len(body) < row_bytes else encoded)
    return b"".join(out)


def gf_data(raster: Raster, compression: Compression = "z64") -> bytes:
    """The data part of a ^GFA field (what follows `d,`)."""
    if compression == "z64":
        return z64_data(raster.rows)
    if compression == "ascii":
        return ascii_rle_data(raster.rows, raster.row_bytes)
    if compression == "b64":
        return b64_data(raster.rows)
    raise ValueError(f"unknown ^GF compression {compression!r}")


def _field(raster: Raster, data: bytes, ascii_hex: bool) -> bytes:
    total = len(raster.rows)
    count = total if ascii_hex else len(data)
    return b"^GFA,%d,%d,%d,%s" % (count, total, raster.row_bytes, data)


def ink_window(raster: Raster) -> tuple[int, int, Raster]:
    """(x, y, window): the part of the raster that holds ink, whole bytes across, and where its
    top-left dot lies on the page: the raster's own `ink` box when it has one, else the smallest
    such window. A blank page gives its first byte, so that the format still has a field and
    the printer still feeds one label."""
    a = np.frombuffer(raster.rows, dtype=np.uint8).reshape(raster.height, raster.row_bytes)
    if raster.ink is not None:
        # the renderer's box of what it drew: no scan (~0.1 ms for a 4x6 in label)
        left, top, right, bottom = raster.ink
        if left >= right or top >= bottom:
            return _blank(raster)
        c0, c1, r0, r1 = left >> 3, (right + 7) >> 3, top, bottom
        band = a[:, c0:c1]
    else:
        # OR-ing the rows together is a vector pass; scanning each 100-byte row is not
        cols = np.flatnonzero(np.bitwise_or.reduce(a, axis=0))
        if cols.size == 0:
            return _blank(raster)
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        band = a if c0 == 0 and c1 == raster.row_bytes else a[:, c0:c1]
        rows = np.flatnonzero(band.any(axis=1))
        r0, r1 = int(rows[0]), int(rows[-1]) + 1
    if (r0, r1, c0, c1) == (0, raster.height, 0, raster.row_bytes):
        return 0, 0, raster
    width = min(8 * c1, raster.width) - 8 * c0
    return 8 * c0, r0, Raster(width, r1 - r0, band[r0:r1].tobytes(), raster.dpi)


def _blank(raster: Raster) -> tuple[int, int, Raster]:
    return 0, 0, Raster(min(8, raster.width), 1, raster.rows[:1], raster.dpi)


def encode_gf(raster: Raster, compression: Compression = "z64") -> bytes:
    """`^GFA,b,c,d,<data>` for the whole raster, without `^FO` and `^FS`."""
    return _field(raster, gf_data(raster, compression), compression == "ascii")


def encode_gf_smallest(raster: Raster) -> bytes:
    """The shorter of the Z64 and the ASCII-compressed field. ASCII rarely wins (very regular
    images); computing both costs the ASCII encoder's time, ~4 ms for a 4x6 in label."""
    z64_field = encode_gf(raster, "z64")
    ascii_field = encode_gf(raster, "ascii")
    return z64_field if len(z64_field) <= len(ascii_field) else ascii_field
