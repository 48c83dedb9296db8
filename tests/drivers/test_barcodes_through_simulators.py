"""Scan proof end to end: every symbology labeld draws, encoded by the ZPL (203 and 300 dpi) and
ESC/POS (203 dpi) drivers, sent over a real TCP socket to the simulated printer, decoded by that
printer's own ^GF / GS v 0 parser and rendered to PNG, scans with an independent decoder
(zxing-cpp) as exactly the data that was put in.

What zxing-cpp reports is compared with the input after one documented normalisation:

* UPC-A: its bars are exactly those of an EAN-13 whose first digit is 0, and zxing-cpp reports
  it as that EAN-13 (13 digits, leading 0). For a UPC-A label that one leading 0 is dropped.
* GS1-128: in its default (HRI) text mode zxing-cpp writes application identifiers in
  parentheses, which is the form labeld takes as input, so the text is compared as it is.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from labeld.contracts import Language, Model, PrintOptions
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.simulator import SPEC as ESCPOS_SPEC
from labeld.drivers.zpl.language import ZplLanguage
from labeld.drivers.zpl.simulator import SPEC as ZPL_SPEC
from labeld.plugins.escpos_generic import MODELS as ESCPOS_MODELS
from labeld.plugins.zebra import MODELS as ZEBRA_MODELS
from labeld.intake.render import SYMBOLOGIES, FontBook, parse_label, raster_to_bits, render_label
from labeld.sim import SimulatorThread
from tests.conftest import send_and_read

F = zxingcpp.BarcodeFormat
MODELS = {m.id: m for m in ZEBRA_MODELS + ESCPOS_MODELS}

# symbology: (data sent, zxing formats that count as that symbology)
CASES: dict[str, tuple[str, tuple[F, ...]]] = {
    "code128": ("Hello-World 0123456789", (F.Code128,)),
    "gs1-128": ("(01)09501101530003(10)AB-123", (F.Code128,)),
    "ean13": ("5901234123457", (F.EAN13,)),
    "ean8": ("96385074", (F.EAN8,)),
    "upca": ("036000291452", (F.UPCA, F.EAN13)),
    "code39": ("LBD-42 $/+%.", (F.Code39, F.Code39Std)),
    "itf14": ("15400141288763", (F.ITF, F.ITF14)),
    "qr": ("https://example.com/p/123?q=Árvíztűrő", (F.QRCode,)),
    "datamatrix": ("Árvíztűrő tükörfúrógép 0123", (F.DataMatrix,)),
    "pdf417": ("LABELD pdf417 test 1234567890", (F.PDF417,)),
}

# (language, model id): a 70 x 40 mm label, narrower than the 72 mm a receipt printer prints
ROUTES = [("zpl", "zebra-generic-203"), ("zpl", "zebra-generic-300"),
          ("escpos", "escpos-generic-80")]
LABEL_MM = (70.0, 40.0)


def test_every_symbology_has_a_case():
    assert set(CASES) == set(SYMBOLOGIES)


@pytest.fixture(scope="module")
def fonts() -> FontBook:
    return FontBook()


@pytest.fixture(scope="module")
def printers() -> Iterator[dict[str, tuple[SimulatorThread, Language]]]:
    """One simulated printer per language for the whole module."""
    with SimulatorThread(ZPL_SPEC) as zebra, SimulatorThread(ESCPOS_SPEC) as epson:
        yield {"zpl": (zebra, ZplLanguage()), "escpos": (epson, EscposLanguage())}




def printed_page(sim: SimulatorThread) -> np.ndarray:
    """The simulator's rendering of its only job, from the control interface, as grey pixels."""
    sim.wait_jobs(1)
    with httpx.Client(base_url=sim.control_url, timeout=10) as client:
        pages = client.get("/jobs/1/pages").json()["pages"]
        assert pages == 1
        png = client.get("/jobs/1/page/1.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as im:
        return np.asarray(im.convert("L"))


def normalise(symbology: str, text: str) -> str:
    if symbology == "upca" and len(text) == 13 and text.startswith("0"):
        return text[1:]
    return text


@pytest.mark.parametrize("language,model_id", ROUTES, ids=[m for _, m in ROUTES])
@pytest.mark.parametrize("symbology", list(CASES))
def test_what_the_printer_prints_scans_as_the_data_sent(printers, fonts, symbology, language,
                                                        model_id):
    data, formats = CASES[symbology]
    model: Model = MODELS[model_id]
    assert model.language == language
    element = {"type": "barcode", "symbology": symbology, "data": data, "x_mm": 4, "y_mm": 4}
    if symbology not in ("qr", "datamatrix", "pdf417"):
        element["height_mm"] = 15
    label = parse_label({"width_mm": LABEL_MM[0], "height_mm": LABEL_MM[1],
                         "elements": [element]}, default_dpi=model.dpi)
    raster = render_label(label, fonts)
    assert raster.dpi == model.dpi and raster.width <= model.print_width_dots

    sim, lang = printers[language]
    sim.clear_jobs()
    job = lang.encode_raster([raster], model, PrintOptions(copies=1))
    assert send_and_read(sim.port, job) == b""  # a print job gets no answer
    page = printed_page(sim)

    # The printer put every dot where it was sent and nothing else: a ZPL page is as wide as
    # ^PW says, a receipt as wide as the paper with the image at its left edge, followed by the
    # feed to the cutter.
    assert page.shape[1] == (raster.width if language == "zpl" else model.print_width_dots)
    black = page < 128
    assert (black[:raster.height, :raster.width] == raster_to_bits(raster)).all()
    assert not black[raster.height:].any() and not black[:, raster.width:].any()

    found = zxingcpp.read_barcodes(page)
    assert [(normalise(symbology, r.text), r.format in formats) for r in found] == \
        [(data, True)], [(r.text, r.format) for r in found]
