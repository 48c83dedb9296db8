#!/usr/bin/env python3
"""Benchmark: labeld's raster encoders next to the libraries people use today, in one run.

    python bench/bench_encoders.py [--runs N]

1. ESC/POS: a 576x800 receipt image (text, rules, bars; pure black and white so that both
   sides print the same dots) to GS v 0 bytes. labeld: threshold + numpy packbits + encode
   ("image"), and encode alone from an already packed Raster ("raster", what the daemon does
   after render). python-escpos 3.1: `Dummy(profile="TM-T20II").image(img, impl=
   "bitImageRaster", fragment_height=255)`. The GS v 0 bytes of both are checked equal.
   Target: labeld "image" >= 30x faster than python-escpos.
2. ZPL: a 4x6 in label at 203 dpi (812x1218: text, rules, a 1D barcode, a QR-like block),
   as a ^GF field. labeld: Z64 (and ASCII run-length, for reference). zebrafy 2.0 (LGPL, a
   test/bench tool only): every format it offers (ASCII, ASCII_COMPRESSED, B64, Z64), from a
   mode "1" image of the same dots. Sizes are whole fields including `^FS`; zebrafy decodes
   labeld's field back to the identical bitmap. Target: labeld's Z64 no larger than zebrafy's
   smallest.

Medians over --runs repetitions (python-escpos and zebrafy over fewer: they are slow). Prints a
table, then a `BENCH_JSON {...}` line. Needs numpy, Pillow, python-escpos and zebrafy.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from labeld.contracts import Model, PrintOptions, Raster
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.raster import encode_gs_v0
from labeld.drivers.zpl.graphics import encode_gf

T = TypeVar("T")
ESCPOS_TARGET = 30.0
RECEIPT = Model("tm-t20ii", "Epson TM-T20II", "escpos", 203, 576, printer_type="receipt",
                cutter=True)


# --------------------------------------------------------------------------------------------
# inputs


def draw_label(width: int, height: int, seed: int) -> Image.Image:
    """A black-and-white "L" image: text, rules, bars and a QR-like block."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(im)
    big, small = ImageFont.load_default(size=56), ImageFont.load_default(size=34)
    draw.rectangle((8, 8, width - 9, height - 9), outline=0, width=4)
    draw.text((32, 30), "SHIP TO:", font=big, fill=0)
    lines = ["ACME Widgets Kft.", "Arvizturo tukorfurogep u. 12", "1234 Budapest", "HUNGARY",
             "PO 4500012345  /  12.5 kg", "CARTON 1 OF 3"]
    for i, line in enumerate(lines):
        draw.text((32, 110 + i * 46), line, font=small, fill=0)
    top = 110 + len(lines) * 46 + 20
    draw.line((8, top, width - 9, top), fill=0, width=4)
    x = 40
    while x < width - 60:  # a 1D barcode: bars of 1-4 modules of 3 dots
        bar = 3 * int(rng.integers(1, 5))
        draw.rectangle((x, top + 30, x + bar - 1, top + 30 + height // 6), fill=0)
        x += bar + 3 * int(rng.integers(1, 5))
    module = 8
    qr_top = top + 60 + height // 6
    cells = rng.random((29, 29)) < 0.5
    for r, c in zip(*np.nonzero(cells), strict=True):
        x0 = width - 40 - 29 * module + c * module
        y0 = qr_top + r * module
        if y0 + module < height - 20:
            draw.rectangle((x0, y0, x0 + module - 1, y0 + module - 1), fill=0)
    # Threshold once so both sides of each comparison get exactly the same dots.
    return im.point(lambda v: 0 if v < 128 else 255)


def pack(im: Image.Image, dpi: int = 203) -> Raster:
    bits = np.asarray(im) < 128
    return Raster(im.width, im.height, np.packbits(bits, axis=1).tobytes(), dpi)


# --------------------------------------------------------------------------------------------
# timing


def median_ms(fn: Callable[[], T], runs: int) -> tuple[float, T]:
    fn()  # warm-up: imports, caches
    times = []
    result = fn()
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, result


# --------------------------------------------------------------------------------------------
# 1. ESC/POS


def bench_escpos(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as pickles:
        # python-escpos writes a capabilities pickle on import, into a new temp dir unless told.
        os.environ["ESCPOS_CAPABILITIES_PICKLE_DIR"] = pickles
        from escpos.printer import Dummy

        image = draw_label(576, 800, seed=1)
        raster = pack(image)
        language = EscposLanguage()
        options = PrintOptions(cut=False)

        def ours_image() -> bytes:
            return language.encode_raster([pack(image)], RECEIPT, options)

        def ours_raster() -> bytes:
            return language.encode_raster([raster], RECEIPT, options)

        def theirs() -> bytes:
            printer = Dummy(profile="TM-T20II")
            printer.image(image, impl="bitImageRaster", fragment_height=255)
            return printer.output

        with contextlib.redirect_stdout(io.StringIO()):  # its profile warnings, if any
            theirs_ms, theirs_out = median_ms(theirs, max(5, runs // 5))
        image_ms, image_out = median_ms(ours_image, runs)
        raster_ms, _ = median_ms(ours_raster, runs)
        same = image_out == b"\x1b@" + theirs_out and theirs_out == encode_gs_v0(raster)
        return {
            "size": [576, 800],
            "python_escpos_ms": theirs_ms,
            "labeld_image_ms": image_ms,
            "labeld_raster_ms": raster_ms,
            "ratio_image": theirs_ms / image_ms,
            "ratio_raster": theirs_ms / raster_ms,
            "bytes": len(image_out),
            "same_gs_v0_bytes": same,
            "target": ESCPOS_TARGET,
            "pass": theirs_ms / image_ms >= ESCPOS_TARGET and same,
        }


# --------------------------------------------------------------------------------------------
# 2. ZPL


def bench_zpl(runs: int) -> dict[str, Any]:
    from zebrafy.graphic_field import GraphicField, invert_monochrome
    from zebrafy.zebrafy_zpl import ZebrafyZPL

    image = draw_label(812, 1218, seed=2)
    raster = pack(image)
    mono = image.convert("1", dither=Image.Dither.NONE)

    ours: dict[str, dict[str, float]] = {}
    for compression in ("z64", "ascii"):
        ms, field = median_ms(lambda c=compression: encode_gf(raster, c) + b"^FS", runs)
        image_ms, _ = median_ms(lambda c=compression: encode_gf(pack(image), c) + b"^FS", runs)
        decoded = ZebrafyZPL((b"^XA^FO0,0" + field + b"^XZ").decode("ascii")).to_images()[0]
        ours[compression] = {"bytes": len(field), "ms": ms, "from_image_ms": image_ms,
                             "zebrafy_decodes_identical":
                                 invert_monochrome(decoded).tobytes() == raster.rows}

    theirs: dict[str, dict[str, float]] = {}
    for fmt in ("ASCII", "ASCII_COMPRESSED", "B64", "Z64"):
        ms, text = median_ms(lambda f=fmt: GraphicField(mono, format=f).get_graphic_field(),
                             max(5, runs // 5))
        theirs[fmt] = {"bytes": len(text.encode("ascii")), "ms": ms}
    smallest = min(theirs, key=lambda f: theirs[f]["bytes"])
    return {
        "size": [812, 1218],
        "bitmap_bytes": len(raster.rows),
        "labeld": ours,
        "zebrafy": theirs,
        "zebrafy_smallest": smallest,
        "labeld_vs_smallest_bytes": ours["z64"]["bytes"] - theirs[smallest]["bytes"],
        "speedup_vs_zebrafy_z64": theirs["Z64"]["ms"] / ours["z64"]["ms"],
        "pass": (ours["z64"]["bytes"] <= theirs[smallest]["bytes"]
                 and ours["z64"]["zebrafy_decodes_identical"]),
    }


# --------------------------------------------------------------------------------------------
# report


def report(escpos: dict[str, Any], zpl: dict[str, Any]) -> None:
    print(f"ESC/POS, {escpos['size'][0]}x{escpos['size'][1]} receipt image -> GS v 0 "
          f"({escpos['bytes']} bytes)")
    print(f"  {'route':<40}{'median ms':>12}{'vs python-escpos':>20}")
    print(f"  {'python-escpos image() bitImageRaster':<40}{escpos['python_escpos_ms']:>12.3f}"
          f"{'1.0x':>20}")
    print(f"  {'labeld, image (threshold+packbits+encode)':<40}{escpos['labeld_image_ms']:>12.3f}"
          f"{escpos['ratio_image']:>19.0f}x")
    print(f"  {'labeld, packed Raster (encode only)':<40}{escpos['labeld_raster_ms']:>12.3f}"
          f"{escpos['ratio_raster']:>19.0f}x")
    verdict = "PASS" if escpos["pass"] else "FAIL"
    print(f"  {verdict} image route {escpos['ratio_image']:.0f}x (target >= "
          f"{escpos['target']:.0f}x); identical GS v 0 bytes: {escpos['same_gs_v0_bytes']}")
    print()
    print(f"ZPL, {zpl['size'][0]}x{zpl['size'][1]} label (4x6 in, 203 dpi), "
          f"{zpl['bitmap_bytes']} bytes of bitmap -> ^GF field")
    print(f"  {'encoder':<32}{'field bytes':>12}{'median ms':>12}")
    for name, row in zpl["labeld"].items():
        print(f"  {'labeld ' + name:<32}{row['bytes']:>12}{row['ms']:>12.3f}")
    for name, row in zpl["zebrafy"].items():
        print(f"  {'zebrafy ' + name:<32}{row['bytes']:>12}{row['ms']:>12.3f}")
    verdict = "PASS" if zpl["pass"] else "FAIL"
    diff = zpl["labeld_vs_smallest_bytes"]
    print(f"  {verdict} labeld z64 is {abs(diff)} bytes {'smaller' if diff <= 0 else 'LARGER'}"
          f" than zebrafy's smallest ({zpl['zebrafy_smallest']}), "
          f"{zpl['speedup_vs_zebrafy_z64']:.1f}x faster than zebrafy Z64; zebrafy decodes it "
          f"identical: {zpl['labeld']['z64']['zebrafy_decodes_identical']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="repetitions per measurement")
    args = parser.parse_args(argv)
    escpos = bench_escpos(args.runs)
    zpl = bench_zpl(args.runs)
    report(escpos, zpl)
    summary = {"python": platform.python_version(), "machine": platform.machine(),
               "cpus": os.cpu_count(), "runs": args.runs, "escpos": escpos, "zpl": zpl,
               "pass": escpos["pass"] and zpl["pass"]}
    print("BENCH_JSON " + json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
