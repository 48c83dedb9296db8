#!/usr/bin/env python3
"""Benchmark: what the raster command guard costs the ESC/POS and TSPL encoders.

    python bench/bench_raster_guard.py [--runs N]

The ESC/POS encoder changes one dot wherever image data would read a real-time command (DLE
EOT/ENQ/DC4), the TSPL encoder wherever it would read an immediate command (ESC !). Measured
here: `encode_raster` as shipped ("guarded") against the same encoder with the guard function
swapped for one that returns the data untouched ("unguarded"), on

* a 4x6 in label at 203 dpi (812x1218: text, rules, a 1D barcode, a QR-like block),
* an 80 mm receipt (576x800, the same kind of drawing),
* a 4x6 in photo, Floyd-Steinberg dithered (a grey ramp with noise): dither patterns hold
  many DLE and ESC bytes and, by chance, some commands, so the guard's numpy path runs,
* the worst case: a 4x6 in image whose every byte pair is a command (a dot changes in every
  second byte).

Both printers get the same pixels: ESC/POS through a 4 in (832-dot) model, so nothing is
cropped. Medians over --runs repetitions. Prints a table, then a `BENCH_JSON {...}` line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from bench_encoders import draw_label, pack
from PIL import Image

import labeld.drivers.escpos.raster as escpos_raster
import labeld.drivers.tspl.language as tspl_language
from labeld.contracts import Model, PrintOptions, Raster
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.tspl.language import TsplLanguage

ESCPOS_4IN = Model("escpos-4in", "ESC/POS, 4 in", "escpos", 203, 832, printer_type="label")
TSC = Model("tsc", "TSC", "tspl", 203, 832)


def inputs() -> list[tuple[str, str, Raster]]:
    """(image, language, raster) for every measurement."""
    label = pack(draw_label(812, 1218, seed=2))
    receipt = pack(draw_label(576, 800, seed=1))
    rng = np.random.default_rng(3)
    grey = np.linspace(0, 255, 812)[None, :] + rng.normal(0, 40, (1218, 812))
    photo = Image.fromarray(grey.clip(0, 255).astype(np.uint8)).convert("1")  # FS dither
    photo_raster = pack(photo.convert("L"))
    size = label.row_bytes * label.height

    def worst(pair: bytes) -> Raster:
        return Raster(label.width, label.height, (pair * (size // 2 + 1))[:size], 203)

    return [
        *((name, language, raster) for name, raster in (("4x6 label", label),
                                                        ("80 mm receipt", receipt),
                                                        ("4x6 photo", photo_raster))
          for language in ("escpos", "tspl")),
        ("worst case 4x6", "escpos", worst(b"\x10\x14")),  # DLE DC4 everywhere
        ("worst case 4x6", "tspl", worst(b"\xe4\xde")),  # inverted on the wire: ESC !
    ]


@contextlib.contextmanager
def unguarded() -> Iterator[None]:
    """The encoders with their guard replaced by the identity: the route before the guard."""
    saved = escpos_raster.break_realtime_commands, tspl_language.break_immediate_commands
    escpos_raster.break_realtime_commands = lambda rows, *_: rows
    tspl_language.break_immediate_commands = lambda data, *_: data.tobytes()
    try:
        yield
    finally:
        escpos_raster.break_realtime_commands, tspl_language.break_immediate_commands = saved


def median_us(fn: Callable[[], bytes], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def dots_changed(a: bytes, b: bytes) -> int:
    return sum((x ^ y).bit_count() for x, y in zip(a, b, strict=True) if x != y)


def bench(runs: int) -> list[dict[str, Any]]:
    routes = {"escpos": (EscposLanguage(), ESCPOS_4IN, PrintOptions(cut=False)),
              "tspl": (TsplLanguage(), TSC, PrintOptions())}
    rows = []
    for name, language, raster in inputs():
        encoder, model, options = routes[language]

        def encode(e: Any = encoder, m: Model = model, o: PrintOptions = options,
                   r: Raster = raster) -> bytes:
            return e.encode_raster([r], m, o)

        guarded_us = median_us(encode, runs)
        guarded = encode()
        with unguarded():
            unguarded_us = median_us(encode, runs)
            plain = encode()
        rows.append({"image": name, "size": [raster.width, raster.height],
                     "language": language, "bytes": len(guarded),
                     "guarded_us": guarded_us, "unguarded_us": unguarded_us,
                     "ratio": guarded_us / unguarded_us,
                     "guard_us": guarded_us - unguarded_us,
                     "dots_changed": dots_changed(guarded, plain)})
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    print(f"{'image':<16}{'language':<10}{'bytes':>9}{'unguarded us':>14}{'guarded us':>12}"
          f"{'ratio':>8}{'guard us':>10}{'dots changed':>14}")
    for r in rows:
        print(f"{r['image']:<16}{r['language']:<10}{r['bytes']:>9}{r['unguarded_us']:>14.1f}"
              f"{r['guarded_us']:>12.1f}{r['ratio']:>7.2f}x{r['guard_us']:>10.1f}"
              f"{r['dots_changed']:>14}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="repetitions per measurement")
    args = parser.parse_args(argv)
    rows = bench(args.runs)
    report(rows)
    print("BENCH_JSON " + json.dumps({"python": platform.python_version(),
                                      "machine": platform.machine(), "cpus": os.cpu_count(),
                                      "runs": args.runs, "results": rows}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
