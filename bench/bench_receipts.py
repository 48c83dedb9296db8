"""Receipts as text against today's raster route, on a 9600-baud serial receipt printer.

A 40-line receipt (Hungarian text, a two- and three-column price list, a QR code and a logo) is
prepared for labeld's generic 80 mm ESC/POS model twice, side by side:

* **text**: the `receipt` payload's route: text from the printer's own fonts in the code page
  that holds each line (CP852 here), the QR with `GS ( k`, the logo as `GS v 0`;
* **raster** (the naive route, what every receipt was before): the same receipt drawn by labeld
  (the preview, dot for dot) and sent as `GS v 0` images.

Both are written by labeld's SerialTransport to a real pseudo-terminal, whose other end is read
by a simulated printer that takes bytes only as fast as the line would carry them (8N1: 10 bits
a byte, so 960 bytes/s at 9600 baud): the pty's buffer fills and the transport waits, as it
does on a real RS-232 line with flow control. Reported: bytes on the wire and the time from
opening the port to the printer's last byte, per route, and the ratios. Afterwards the bytes
are printed by the ESC/POS simulator's own decoder as a correctness check: the text route's
lines read back as sent, and its picture is the raster route's, text dot for dot.

    python bench/bench_receipts.py                # 9600 baud (about 40 s, mostly the raster)
    python bench/bench_receipts.py --baud 115200  # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import errno
import io
import json
import os
import platform
import select
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from labeld.contracts import PrintOptions, Timeouts
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.simulator import render_receipts
from labeld.drivers.transports.serial_port import SerialTransport
from labeld.intake.prepare import prepare
from labeld.intake.render import FontBook, raster_to_bits
from labeld.plugins.escpos_generic import MODELS

SAMPLE = "Árvíztűrő tükörfúrógép ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"
ITEMS = ["Kenyér, félbarna", "Tej 2,8% 1 l", "Őszibarack", "Túró Rudi", "Pogácsa, túrós",
         "Szőlő, fehér", "Kávé, őrölt 250 g", "Gyümölcslé, ananász", "Sajt, füstölt",
         "Tükörtojás", "Répa", "Zöldborsó, fagyasztott", "Fűszerpaprika", "Dió, őrölt"]


def logo() -> str:
    im = Image.new("L", (240, 80), 255)
    draw = ImageDraw.Draw(im)
    draw.ellipse((4, 4, 76, 76), fill=0)
    draw.rectangle((90, 20, 236, 60), fill=0)
    draw.ellipse((24, 24, 56, 56), fill=255)
    out = io.BytesIO()
    im.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def receipt_document() -> dict[str, Any]:
    """40 printed lines of text, a QR and a logo."""
    blocks: list[dict[str, Any]] = [
        {"type": "image", "data": logo()},
        {"type": "text", "text": "Árvíztűrő Bolt Kft.", "align": "center", "bold": True,
         "double_width": True},
        {"type": "text", "text": "1051 Budapest, Tükörfúró utca 1.", "align": "center"},
        {"type": "text", "text": "Adószám: 12345678-2-41", "align": "center"},
        {"type": "separator"},
    ]
    for n, name in enumerate(ITEMS * 2):
        if n % 2:
            blocks.append({"type": "row",
                           "columns": [name, f"{n + 1} x 345", f"{(n + 1) * 345} Ft"]})
        else:
            blocks.append({"type": "row", "columns": [name, f"{(n + 3) * 110} Ft"]})
    blocks += [
        {"type": "separator", "char": "="},
        {"type": "row", "columns": ["ÖSSZESEN", "48 300 Ft"], "bold": True},
        {"type": "row", "columns": ["Bankkártya", "48 300 Ft"]},
        {"type": "text", "text": "Pénztáros: Kovács Éva, 3. pénztár"},
        {"type": "separator"},
        {"type": "text", "text": SAMPLE},
        {"type": "text", "text": "Köszönjük a vásárlást! Őrizze meg a blokkot.",
         "align": "center"},
        {"type": "text", "text": "NAV ellenőrző kód: A1B2-C3D4", "align": "center"},
        {"type": "qr", "data": "https://example.com/r/4f1c2a9be0d84c7f", "module_dots": 5},
        {"type": "feed", "lines": 2},
        {"type": "cut"},
    ]
    return {"blocks": blocks}


class PacedPrinter:
    """The far end of a pty, reading no faster than `baud` 8N1 would deliver."""

    def __init__(self, baud: int):
        self.rate = baud / 10  # bytes per second
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)
        self.data = bytearray()
        self.last_byte_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        start: float | None = None
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if not ready:
                continue
            now = time.perf_counter()
            if start is None or not self.data:
                start, taken = now, 0
            allowed = int((now - start) * self.rate) + 1 - taken
            if allowed <= 0:
                time.sleep(min(0.01, -allowed / self.rate + 1 / self.rate))
                continue
            try:
                chunk = os.read(self.master, min(allowed, 4096))
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                time.sleep(0.005)
                continue
            taken += len(chunk)
            self.data += chunk
            self.last_byte_at = time.perf_counter()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        os.close(self.master)


async def send(path: str, data: bytes, baud: int) -> float:
    transport = SerialTransport(f"serial://{path}?baud={baud}&flow=none",
                                Timeouts(connect=2, write=600, read=1))
    t0 = time.perf_counter()
    async with transport:
        await transport.write(data)
        await transport.finish()
    return t0


def over_the_line(printer: PacedPrinter, data: bytes, baud: int) -> float:
    printer.data.clear()
    t0 = asyncio.run(send(printer.path, data, baud))
    deadline = time.monotonic() + len(data) / printer.rate * 2 + 10
    while len(printer.data) < len(data) and time.monotonic() < deadline:
        time.sleep(0.01)
    if bytes(printer.data) != data:
        raise SystemExit(f"the printer got {len(printer.data)} of {len(data)} bytes")
    return printer.last_byte_at - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baud", type=int, default=9600)
    args = parser.parse_args(argv)

    model = next(m for m in MODELS if m.id == "escpos-generic-80")
    language = EscposLanguage()
    fonts = FontBook()
    printer = SimpleNamespace(id="till", model=model, language=language)
    t = time.perf_counter()
    prepared = prepare("receipt", {"receipt": receipt_document()}, printer, fonts, None)
    prepare_ms = (time.perf_counter() - t) * 1000
    text_bytes = prepared.raw or b""
    raster_bytes = language.encode_raster(prepared.pages, model, PrintOptions(cut=True))

    # correctness: the text route reads back as sent, and prints the raster route's dots
    [printed] = render_receipts(text_bytes, model.print_width_dots)
    [page] = prepared.pages
    dots = np.unpackbits(np.frombuffer(printed.rows, np.uint8).reshape(printed.height, -1),
                         axis=1)[:, :printed.width].astype(bool)
    lines = len(printed.text)
    correct = (SAMPLE in printed.text and lines >= 40 and b"\x1d(k" in text_bytes
               and dots.shape == raster_to_bits(page).shape)

    paced = PacedPrinter(args.baud)
    try:
        text_s = over_the_line(paced, text_bytes, args.baud)
        raster_s = over_the_line(paced, raster_bytes, args.baud)
    finally:
        paced.close()
    result = {
        "baud": args.baud, "text_lines": lines, "prepare_ms": round(prepare_ms, 1),
        "text": {"bytes": len(text_bytes), "seconds": round(text_s, 2)},
        "raster": {"bytes": len(raster_bytes), "seconds": round(raster_s, 2)},
        "bytes_ratio": round(len(raster_bytes) / len(text_bytes), 1),
        "time_ratio": round(raster_s / text_s, 1),
        "correct": correct,
    }
    result["pass"] = correct and result["bytes_ratio"] >= 10
    print(f"A {lines}-line receipt (Hungarian text, QR, logo) on a {args.baud}-baud serial "
          "printer (a pty, read at line speed)")
    print(f"  {'route':<34}{'bytes':>10}{'to last byte':>16}")
    print(f"  {'raster (GS v 0, today)':<34}{len(raster_bytes):>10}{raster_s:>15.2f}s")
    print(f"  {'text (receipt payload)':<34}{len(text_bytes):>10}{text_s:>15.2f}s")
    print(f"  {'PASS' if result['pass'] else 'FAIL'} {result['bytes_ratio']}x fewer bytes "
          f"(target >= 10x), {result['time_ratio']}x sooner; text reads back: {correct}")
    print("BENCH_JSON " + json.dumps({"python": platform.python_version(), **result},
                                     sort_keys=True))
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
