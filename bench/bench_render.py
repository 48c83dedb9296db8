"""Render a 4x6 in label document and encode it to ZPL: labeld's route against a naive one.

    python bench/bench_render.py               # ~7 s; prints a table, PASS/FAIL lines, BENCH_JSON
    python bench/bench_render.py --runs 2000   # tighter percentiles

The label is what a POS system sends: a JSON document with 6 text lines (one Hungarian), a
Code 128, an EAN-13 with its digits, and a QR code, on a 4x6 in label at 203 dpi (812x1218 dots).

Routes, each measured from the document (a dict) to the bytes sent to the printer:

* labeld, same label: `parse_label` + `render_label` + `ZplLanguage.encode_raster`, the same
  document every time, so every cache is warm (a reprint, or a batch of identical labels).
* labeld, changing label: three text lines, all three barcodes' data and the QR content are new
  on every run (a new price, serial and lot), so their text runs and symbols are never cached.
  Only what repeats across labels (fonts, glyphs, the static lines) can be.
* naive: a Pillow "L" canvas, Pillow text (anti-aliased, as ImageDraw draws it),
  python-barcode's ImageWriter for the Code 128 and the EAN-13 pasted in, qrcode for the QR,
  then zebrafy's ZebrafyImage to a Z64 ^GF label with its default options (Floyd-Steinberg
  dithering to 1 bit). It is given the benefit of fonts loaded once, outside the timing. It
  draws the changing documents, like the labeld "changing" route.

Targets (from the issue): labeld p50 <= 1.5 ms on one core, >= 5x faster than the naive route
measured in the same run, and a ZPL payload (the ^GF field) no larger than zebrafy's smallest
encoding, over its formats, of the same label, i.e. of the very raster labeld rendered; whole
jobs are printed beside it. Correctness is checked too: zebrafy decodes labeld's job to the
identical raster, and text composed from cached glyphs gives the dots of whole-line rendering.
The process is pinned to one core. Exit status 0 whatever the numbers (a FAIL line says so).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from labeld.drivers.zpl.language import ZplLanguage
from PIL import Image, ImageDraw, ImageFont

from labeld.contracts import Model, PrintOptions, Raster
from labeld.intake.render import FontBook, parse_label, raster_to_bits, render_label
from labeld.intake.render.text import SHIPPED_FONTS

TARGET_P50_MS = 1.5
TARGET_RATIO = 5.0
DPI = 203
WIDTH_MM, HEIGHT_MM = 101.6, 152.4  # 4x6 in
ZEBRA = Model("zebra-zd421", "Zebra ZD421 (bench)", "zpl", DPI, 812)
ZEBRAFY_FORMATS = ("ASCII", "ASCII_COMPRESSED", "B64", "Z64")


# --------------------------------------------------------------------------------------------
# the label


@dataclass(frozen=True)
class Fields:
    """What changes from one label to the next in a shop: price, order, serial, lot."""

    order: int
    price: int
    serial: int
    lot: int
    day: int
    ean_body: str  # 12 digits; the check digit is computed by both routes


def fields(i: int) -> Fields:
    # deterministic but never repeating within a run, so no run-level cache can hit
    return Fields(order=4500012345 + i, price=1290 + (i * 37) % 90000, serial=100000 + i,
                  lot=70000 + i * 7, day=1 + i % 28,
                  ean_body=f"599{(1234567 + i * 13) % 10**9:09d}")


def lines(f: Fields) -> list[tuple[str, float, bool]]:
    """(text, size_pt, bold) of the six lines; the first three never change."""
    return [
        ("ACME Widgets Kft.", 18, True),
        ("Árvíztűrő tükörfúrógép", 14, False),
        ("Fő utca 12, 1234 Budapest", 11, False),
        (f"Order {f.order}  /  serial {f.serial}", 11, False),
        (f"{f.price:,} Ft".replace(",", " "), 28, True),
        (f"Lot {f.lot}, best before 2027-03-{f.day:02d}", 10, False),
    ]


LINE_Y_MM = (5.0, 14.0, 21.0, 27.0, 33.0, 46.0)
CODE128_AT, CODE128_H_MM = (10.0, 56.0), 18.0
EAN_AT, EAN_H_MM = (10.0, 82.0), 15.0
QR_AT = (62.0, 106.0)


def code128_data(f: Fields) -> str:
    return f"LBL{f.serial:09d}"


def qr_data(f: Fields) -> str:
    return f"https://shop.example/o/{f.order}?s={f.serial}&p={f.price}"


def label_doc(f: Fields) -> dict[str, Any]:
    """The label as the JSON document a POS system posts (here already parsed to a dict)."""
    elements: list[dict[str, Any]] = [
        {"type": "text", "x_mm": 6.0, "y_mm": y, "text": text, "size_pt": size, "bold": bold}
        for (text, size, bold), y in zip(lines(f), LINE_Y_MM, strict=True)
    ]
    elements += [
        {"type": "barcode", "symbology": "code128", "x_mm": CODE128_AT[0], "y_mm": CODE128_AT[1],
         "data": code128_data(f), "height_mm": CODE128_H_MM},
        {"type": "barcode", "symbology": "ean13", "x_mm": EAN_AT[0], "y_mm": EAN_AT[1],
         "data": f.ean_body, "height_mm": EAN_H_MM, "human_readable": True},
        {"type": "barcode", "symbology": "qr", "x_mm": QR_AT[0], "y_mm": QR_AT[1],
         "data": qr_data(f)},
    ]
    return {"width_mm": WIDTH_MM, "height_mm": HEIGHT_MM, "dpi": DPI, "elements": elements}


# --------------------------------------------------------------------------------------------
# the routes


class Labeld:
    """The daemon's route: one FontBook for the process's lifetime, as `labeld serve` holds."""

    def __init__(self, fonts: FontBook | None = None) -> None:
        self.fonts = fonts or FontBook()
        self.language = ZplLanguage()
        self.options = PrintOptions()

    def render(self, doc: dict[str, Any]) -> Raster:
        return render_label(parse_label(doc, DPI), self.fonts)

    def encode(self, raster: Raster) -> bytes:
        return self.language.encode_raster([raster], ZEBRA, self.options)


class Naive:
    """Pillow + python-barcode ImageWriter + qrcode + zebrafy, as a quick integration does it."""

    def __init__(self) -> None:
        import barcode
        import qrcode
        from barcode.writer import ImageWriter
        from zebrafy import ZebrafyImage

        self._barcode, self._qrcode, self._writer = barcode, qrcode, ImageWriter
        self._zebrafy = ZebrafyImage
        regular = str(SHIPPED_FONTS / "DejaVuSans.ttf")
        bold = str(SHIPPED_FONTS / "DejaVuSans-Bold.ttf")
        self.fonts = {(size, b): ImageFont.truetype(bold if b else regular, round(size * DPI / 72))
                      for f in (fields(0),) for _, size, b in lines(f)}

    @staticmethod
    def dots(mm: float) -> int:
        return round(mm * DPI / 25.4)

    def label(self, f: Fields) -> bytes:
        canvas = Image.new("L", (self.dots(WIDTH_MM), self.dots(HEIGHT_MM)), 255)
        draw = ImageDraw.Draw(canvas)
        for (text, size, bold), y in zip(lines(f), LINE_Y_MM, strict=True):
            draw.text((self.dots(6.0), self.dots(y)), text, font=self.fonts[(size, bold)], fill=0)
        code128 = self._barcode.get("code128", code128_data(f),
                                    writer=self._writer(mode="L", dpi=DPI))
        canvas.paste(code128.render({"module_width": 0.25, "module_height": CODE128_H_MM,
                                     "quiet_zone": 2.5, "write_text": False}),
                     (self.dots(CODE128_AT[0] - 2.5), self.dots(CODE128_AT[1])))
        ean = self._barcode.get("ean13", f.ean_body, writer=self._writer(mode="L", dpi=DPI))
        canvas.paste(ean.render({"module_width": 0.25, "module_height": EAN_H_MM,
                                 "quiet_zone": 2.75, "font_size": 8, "text_distance": 3}),
                     (self.dots(EAN_AT[0] - 2.75), self.dots(EAN_AT[1])))
        qr = self._qrcode.QRCode(error_correction=self._qrcode.constants.ERROR_CORRECT_M,
                                 box_size=4, border=4)
        qr.add_data(qr_data(f))
        qr.make(fit=True)
        canvas.paste(qr.make_image().get_image().convert("L"),
                     (self.dots(QR_AT[0]) - 16, self.dots(QR_AT[1]) - 16))
        return self._zebrafy(canvas, format="Z64").to_zpl().encode("ascii")


# --------------------------------------------------------------------------------------------
# timing


def pin_to_one_core() -> int:
    """Pin this process to one core (core 0 if allowed): the target is "on one core"."""
    allowed = sorted(os.sched_getaffinity(0))
    core = 0 if 0 in allowed else allowed[0]
    os.sched_setaffinity(0, {core})
    return core


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    return {"p50": statistics.median(ordered),
            "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))],
            "mean": statistics.fmean(ordered), "n": len(ordered)}


def time_labeld(route: Labeld, docs: Callable[[int], dict[str, Any]], runs: int,
                warmup: int) -> dict[str, Any]:
    """Per run: the document to a raster (render), then to the bytes (encode); times of both."""
    render_ms: list[float] = []
    encode_ms: list[float] = []
    total_ms: list[float] = []
    clock = time.perf_counter
    gc.collect()
    for i in range(-warmup, runs):
        doc = docs(i)
        t0 = clock()
        raster = route.render(doc)
        t1 = clock()
        route.encode(raster)
        t2 = clock()
        if i >= 0:
            render_ms.append((t1 - t0) * 1e3)
            encode_ms.append((t2 - t1) * 1e3)
            total_ms.append((t2 - t0) * 1e3)
    return {"total": percentiles(total_ms), "render": percentiles(render_ms),
            "encode": percentiles(encode_ms)}


def time_naive(route: Naive, runs: int, warmup: int, first: int) -> dict[str, Any]:
    samples: list[float] = []
    clock = time.perf_counter
    gc.collect()
    for i in range(-warmup, runs):
        f = fields(first + i)
        t0 = clock()
        route.label(f)
        if i >= 0:
            samples.append((clock() - t0) * 1e3)
    return {"total": percentiles(samples)}


# --------------------------------------------------------------------------------------------
# payload sizes and correctness


def zebrafy_sizes(raster: Raster) -> dict[str, dict[str, int]]:
    """zebrafy's encodings of the very raster labeld rendered, per format: the ^GF field
    (`^GFA,...^FS`), its whole job as it writes it by default (`^XA`, `^FO0,0`, the field,
    `^XZ`, no label size), and the whole job with its set_label_size option (`^PW`, `^LL`: the
    label size labeld's jobs always set)."""
    from zebrafy import ZebrafyImage
    from zebrafy.graphic_field import GraphicField

    bits = raster_to_bits(raster)
    image = Image.fromarray(np.where(bits, 0, 255).astype(np.uint8)).convert("1")
    out: dict[str, dict[str, int]] = {}
    for fmt in ZEBRAFY_FORMATS:
        field = GraphicField(image, format=fmt).get_graphic_field().encode("ascii")
        job = ZebrafyImage(image, format=fmt).to_zpl().encode("ascii")
        sized = ZebrafyImage(image, format=fmt, set_label_size=True).to_zpl().encode("ascii")
        out[fmt] = {"field": len(field), "job": len(job), "job_with_size": len(sized)}
    return out


def zebrafy_decodes(payload: bytes, raster: Raster) -> bool:
    """zebrafy, an independent decoder, reads labeld's job back to the identical dots: its one
    graphic field, placed at the job's ^FO on a blank ^PW x ^LL label, is the raster."""
    import re

    from zebrafy.graphic_field import invert_monochrome
    from zebrafy.zebrafy_zpl import ZebrafyZPL

    images = ZebrafyZPL(payload.decode("ascii")).to_images()
    origin = re.search(rb"\^PW(\d+)\^LL(\d+)\^FO(\d+),(\d+)\^GF", payload)
    if len(images) != 1 or origin is None:
        return False
    width, height, x, y = (int(v) for v in origin.groups())
    field = np.asarray(invert_monochrome(images[0].convert("1"))).astype(bool)
    page = np.zeros((height, width + field.shape[1]), dtype=bool)
    page[y:y + field.shape[0], x:x + field.shape[1]] = field
    return (width, height) == (raster.width, raster.height) and \
        np.array_equal(page[:, :width], raster_to_bits(raster))


def gf_field(payload: bytes) -> bytes:
    """The ^GF field of a one-page labeld job, `^GFA,...^FS`, as zebrafy's field is."""
    start = payload.index(b"^GF")
    return payload[start:payload.index(b"^FS", start) + 3]


class WholeLines(FontBook):
    """A FontBook that renders every new line whole with Pillow, as before glyph composition."""

    def glyph_set(self, path: Path, size_px: int) -> None:
        return None


def composed_text_identical(docs: list[dict[str, Any]]) -> bool:
    """Labels drawn with text composed from cached glyphs (the daemon's way) are the very dots
    of the same labels drawn with every line laid out and rendered whole by Pillow."""
    composed, whole = Labeld(), Labeld(WholeLines())
    for doc in docs:
        for _ in range(2):  # the first pass learns kerning pairs, the second composes more
            if composed.render(doc).rows != whole.render(doc).rows:
                return False
    return True


# --------------------------------------------------------------------------------------------
# main


def run(runs: int, naive_runs: int) -> dict[str, Any]:
    core = pin_to_one_core()
    labeld = Labeld()
    same_doc = label_doc(fields(0))
    # all changing documents exist before timing: building dicts is the POS system's work
    changing_docs = [label_doc(fields(i)) for i in range(1, runs + 101)]

    same = time_labeld(labeld, lambda i: same_doc, runs, warmup=50)
    changing = time_labeld(labeld, lambda i: changing_docs[i + 100], runs, warmup=100)
    naive_route = Naive()
    naive = time_naive(naive_route, naive_runs, warmup=10, first=1)

    raster = labeld.render(same_doc)
    payload = labeld.encode(raster)
    naive_payload = naive_route.label(fields(0))
    theirs = zebrafy_sizes(raster)
    smallest = min(theirs, key=lambda k: theirs[k]["field"])
    ours = {"job": len(payload), "field": len(gf_field(payload))}
    decodes = zebrafy_decodes(payload, raster)
    text_same = composed_text_identical(changing_docs[:40])

    naive_p50 = naive["total"]["p50"]
    result: dict[str, Any] = {
        "core": core, "runs": runs, "naive_runs": naive_runs,
        "label": {"dots": [raster.width, raster.height], "bitmap_bytes": len(raster.rows)},
        "labeld_same": same, "labeld_changing": changing, "naive": naive,
        "ratio_same": naive_p50 / same["total"]["p50"],
        "ratio_changing": naive_p50 / changing["total"]["p50"],
        "payload": {"labeld": ours, "zebrafy": theirs, "zebrafy_smallest": smallest,
                    "naive_job": len(naive_payload)},
        "zebrafy_decodes_identical": decodes,
        "composed_text_identical": text_same,
    }
    result["pass"] = {
        "p50_same": same["total"]["p50"] <= TARGET_P50_MS,
        "p50_changing": changing["total"]["p50"] <= TARGET_P50_MS,
        "ratio_same": result["ratio_same"] >= TARGET_RATIO,
        "ratio_changing": result["ratio_changing"] >= TARGET_RATIO,
        "payload": ours["field"] <= theirs[smallest]["field"],
        "decodes": decodes,
        "composed_text": text_same,
    }
    return result


def report(r: dict[str, Any]) -> None:
    w, h = r["label"]["dots"]
    print(f"4x6 in label, {w}x{h} dots at {DPI} dpi ({r['label']['bitmap_bytes']} bytes of "
          f"bitmap): 6 text lines, Code 128, EAN-13, QR; pinned to core {r['core']}")
    print(f"  {'route':<34}{'p50 ms':>9}{'p99 ms':>9}{'render p50':>12}{'encode p50':>12}"
          f"{'naive/x':>9}")
    for key, name, ratio in (("labeld_same", "labeld, same label (warm)", r["ratio_same"]),
                             ("labeld_changing", "labeld, changing label",
                              r["ratio_changing"])):
        row = r[key]
        print(f"  {name:<34}{row['total']['p50']:>9.3f}{row['total']['p99']:>9.3f}"
              f"{row['render']['p50']:>12.3f}{row['encode']['p50']:>12.3f}{ratio:>8.1f}x")
    naive = r["naive"]["total"]
    print(f"  {'naive (ImageWriter+qrcode+zebrafy)':<34}{naive['p50']:>9.3f}"
          f"{naive['p99']:>9.3f}{'':>12}{'':>12}{'1.0x':>9}")
    p = r["payload"]
    z = p["zebrafy"]
    print(f"  payload bytes, ^GF field: labeld {p['labeld']['field']}; zebrafy on the same "
          "raster: " + ", ".join(f"{k} {v['field']}" for k, v in z.items()))
    print(f"  whole job: labeld {p['labeld']['job']} (^PW ^LL ^PQ set); zebrafy "
          f"{p['zebrafy_smallest']} {z[p['zebrafy_smallest']]['job']} (no label size), "
          f"{z[p['zebrafy_smallest']]['job_with_size']} (set_label_size); the naive route's "
          f"job {p['naive_job']}")
    checks = r["pass"]
    for key, name in (("labeld_same", "same"), ("labeld_changing", "changing")):
        ok = checks[f"p50_{name}"]
        print(f"{'PASS' if ok else 'FAIL'} labeld {name} label p50 {r[key]['total']['p50']:.3f} "
              f"ms (target <= {TARGET_P50_MS} ms)")
        ok = checks[f"ratio_{name}"]
        print(f"{'PASS' if ok else 'FAIL'} labeld {name} label {r['ratio_' + name]:.1f}x faster "
              f"than naive (target >= {TARGET_RATIO:.0f}x)")
    smallest = p["zebrafy_smallest"]
    diff = p["labeld"]["field"] - z[smallest]["field"]
    print(f"{'PASS' if checks['payload'] else 'FAIL'} ^GF payload {p['labeld']['field']} bytes, "
          + (f"{-diff} fewer than" if diff < 0 else "as many as" if diff == 0 else
             f"{diff} MORE than")
          + f" zebrafy's smallest ({smallest}, {z[smallest]['field']}) for the same raster")
    print(f"{'PASS' if checks['decodes'] else 'FAIL'} zebrafy decodes labeld's job to the "
          "identical raster")
    print(f"{'PASS' if checks['composed_text'] else 'FAIL'} text composed from cached glyphs "
          "gives the same dots as whole-line rendering (40 changing labels)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="timed runs per labeld route")
    parser.add_argument("--naive-runs", type=int, default=200, help="timed runs, naive route")
    args = parser.parse_args(argv)
    r = run(max(1, args.runs), max(1, args.naive_runs))
    report(r)
    summary = {"python": platform.python_version(), "machine": platform.machine(),
               "cpus": os.cpu_count(), **r, "all_pass": all(r["pass"].values())}
    print("BENCH_JSON " + json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
