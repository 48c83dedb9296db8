"""Raster jobs through real sockets: the ZPL and ESC/POS simulators decode ^GF and GS v 0 with
their own decoders and show what they would print as PNG on the control interface; the PNG
must equal the bitmap that was sent, dot for dot."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import ClassVar

import httpx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from labeld.contracts import Model, PrintOptions, Raster, SimulatorSpec
from labeld.drivers.escpos.language import EscposLanguage
from labeld.drivers.escpos.simulator import SPEC as ESCPOS_SPEC
from labeld.drivers.escpos.simulator import render_receipts
from labeld.drivers.zpl.graphics import encode_gf
from labeld.drivers.zpl.language import ZplLanguage
from labeld.drivers.zpl.simulator import SPEC as ZPL_SPEC
from labeld.drivers.zpl.simulator import render_formats
from labeld.sim import Device, FaultSpec, Session, SimJob, SimulatorThread, mono_png
from tests.drivers.samples import DESIGNER_Z64

ZEBRA = Model("zebra-test", "Zebra", "zpl", 203, 812)
RECEIPT = Model("tm-t20", "TM-T20", "escpos", 203, 576, printer_type="receipt", cutter=True)



def pack(bits: np.ndarray, dpi: int = 203) -> Raster:
    height, width = bits.shape
    return Raster(width, height, np.packbits(bits, axis=1).tobytes(), dpi)


def bits_of(raster: Raster) -> np.ndarray:
    rows = np.frombuffer(raster.rows, np.uint8).reshape(raster.height, raster.row_bytes)
    return np.unpackbits(rows, axis=1)[:, :raster.width].astype(bool)


def png_bits(png: bytes) -> np.ndarray:
    """Black = True, from a PNG as any reader sees it."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("L")) < 128


def random_raster(width: int, height: int, seed: int, density: float = 0.4) -> Raster:
    """Random dots, without a DLE (0x10) byte: the ESC/POS encoder changes a dot wherever image
    data would read DLE EOT/ENQ/DC4 (test_raster_carries_no_commands.py), and these tests
    compare every dot."""
    packed = np.packbits(np.random.default_rng(seed).random((height, width)) < density, axis=1)
    packed[packed == 0x10] = 0
    return Raster(width, height, packed.tobytes(), 203)


def send(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)


@pytest.fixture
def zebra() -> Iterator[SimulatorThread]:
    with SimulatorThread(ZPL_SPEC) as sim:
        yield sim


@pytest.fixture
def epson() -> Iterator[SimulatorThread]:
    with SimulatorThread(ESCPOS_SPEC) as sim:
        yield sim


def pages(sim: SimulatorThread, job: int = 1) -> list[np.ndarray]:
    """The pages the simulator drew for its job number `job` (from 1), as bit arrays."""
    with httpx.Client(base_url=sim.control_url, timeout=10) as client:
        count = client.get(f"/jobs/{job}/pages")
        assert count.status_code == 200, count.text
        assert count.json()["number"] == job
        out = []
        for n in range(1, count.json()["pages"] + 1):
            page = client.get(f"/jobs/{job}/page/{n}.png")
            assert page.status_code == 200 and page.headers["content-type"] == "image/png"
            out.append(png_bits(page.content))
        return out


# --------------------------------------------------------------------------------------------
# ZPL through the socket


def test_zpl_pages_equal_the_rasters_sent(zebra):
    rasters = [random_raster(812, 1218, seed=1), random_raster(203, 57, seed=2),
               random_raster(9, 3, seed=3)]
    send(zebra.port, ZplLanguage().encode_raster(rasters, ZEBRA, PrintOptions(copies=2)))
    zebra.wait_jobs(1)
    images = pages(zebra)
    assert len(images) == len(rasters)
    for image, raster in zip(images, rasters, strict=True):
        assert image.shape == (raster.height, raster.width)
        assert (image == bits_of(raster)).all()
    assert zebra.state()["counters"]["labels_printed"] == 6


@pytest.mark.parametrize("compression", ["ascii", "b64", "z64"])
@pytest.mark.parametrize("width", [1, 7, 8, 13, 300])
def test_zpl_every_encoding_and_odd_widths(zebra, compression, width):
    raster = random_raster(width, 40, seed=width)
    send(zebra.port, b"^XA^PW%d^LL40^FO0,0%s^FS^XZ" % (width, encode_gf(raster, compression)))
    zebra.wait_jobs(1)
    (image,) = pages(zebra)
    assert (image == bits_of(raster)).all()


def test_zpl_crc_mismatch_drops_the_graphic(zebra):
    field = encode_gf(pack(np.ones((10, 16), dtype=bool)), "z64")
    crc = field[-4:]
    broken = field[:-4] + (b"0000" if crc != b"0000" else b"FFFF")
    send(zebra.port, b"^XA^PW16^LL10^FO0,0" + broken + b"^FS^XZ")
    zebra.wait_jobs(1)
    (image,) = pages(zebra)
    assert image.shape == (10, 16) and not image.any()


def test_zpl_text_only_job_and_status_queries(zebra):
    send(zebra.port, b"^XA^FO10,10^A0N,30,30^FDhello^FS^XZ")
    zebra.wait_jobs(1)
    assert pages(zebra) == []  # no size, no graphics: nothing drawn (rasters only)
    with httpx.Client(base_url=zebra.control_url) as client:
        missing = client.get("/jobs/1/page/1.png")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown-page"
        assert client.get("/jobs/5/pages").json()["error"]["code"] == "unknown-job"


# --------------------------------------------------------------------------------------------
# ZPL decoder details (no socket)


def canvas(page) -> np.ndarray:
    return bits_of(Raster(page.width, page.height, page.rows, 203))


def test_zpl_positions_fo_ft_and_lh():
    mark = encode_gf(pack(np.ones((2, 3), dtype=bool)), "ascii")
    job = (b"^XA^PW20^LL12^LH1,1^FO2,0" + mark + b"^FS^FT10,11" + mark + b"^FS^XZ")
    (page,) = render_formats(job)
    expected = np.zeros((12, 20), dtype=bool)
    expected[1:3, 3:6] = True  # ^FO is the top left, plus ^LH
    expected[10:12, 11:14] = True  # ^FT is the bottom left: rows 11-2+1 .. 11+1
    assert (canvas(page) == expected).all()


def test_zpl_graphics_or_together_and_are_clipped_to_pw_ll():
    a = encode_gf(pack(np.array([[1, 0, 1, 0]], dtype=bool)), "b64")
    b = encode_gf(pack(np.array([[0, 1, 0, 0, 1, 1]], dtype=bool)), "z64")
    (page,) = render_formats(b"^XA^PW5^LL1^FO0,0" + a + b"^FS^FO0,0" + b + b"^FS^XZ")
    assert canvas(page).tolist() == [[True, True, True, False, True]]


def test_zpl_size_falls_back_to_the_graphics_bounding_box():
    mark = encode_gf(pack(np.ones((3, 8), dtype=bool)), "ascii")
    (page,) = render_formats(b"^XA^FO4,5" + mark + b"^FS^XZ")
    assert (page.width, page.height) == (12, 8)


def test_zpl_zebradesigner_z64_sample():
    (page,) = render_formats(b"^XA^FO0,0^GFA,371,371,7,:Z64:" + DESIGNER_Z64 + b":3890^FS^XZ")
    assert (page.width, page.height) == (56, 53) and canvas(page).any()


@pytest.mark.parametrize("data, bang, row", [
    (b"!", b"1", "11"), (b"!", b"F", "FF"), (b"8!", b"1", "81"), (b",", b"1", "00"),
    (b"H8", b"1", "88"), (b"8,", b"1", "80"), (b"A", b"1", "A0"),
])
def test_zpl_row_fill_characters(data, bang, row):
    (page,) = render_formats(b"^XA^PW8^LL1^FO0,0^GFA,1,1,1," + data + b"^FS^XZ", bang)
    assert page.rows == bytes.fromhex(row)


def test_zpl_repeat_row_and_counts():
    # row 1: 8 nibbles F (NF); row 2: the same (:); row 3: g = 20 x 0 is longer than the
    # 8-nibble row, so it fills row 3 and runs on into rows 4 and 5 (4 nibbles there).
    (page,) = render_formats(b"^XA^PW32^LL5^FO0,0^GFA,20,20,4,NF:g0^FS^XZ")
    assert page.rows == bytes.fromhex("FFFFFFFFFFFFFFFF" + "00" * 12)


def test_zpl_binary_graphic_field():
    data = bytes([0b10100000, 0x1E, 0x5E])  # contains ^ and ~ bytes: binary must not care
    (page,) = render_formats(b"^XA^PW8^LL3^FO0,0^GFB,3,3,1," + data + b"^FS^XZ")
    assert page.rows == data


@settings(max_examples=150, deadline=None)
@given(width=st.integers(1, 300), height=st.integers(1, 30), seed=st.integers(0, 2**32 - 1),
       density=st.floats(0, 1), compression=st.sampled_from(["ascii", "b64", "z64"]))
def test_zpl_decoder_inverts_the_encoder(width, height, seed, density, compression):
    raster = random_raster(width, height, seed, density)
    (page,) = render_formats(b"^XA^PW%d^LL%d^FO0,0%s^FS^XZ"
                             % (width, height, encode_gf(raster, compression)))
    assert page.rows == raster.rows


# --------------------------------------------------------------------------------------------
# ESC/POS through the socket


def test_escpos_receipts_equal_the_rasters_sent(epson):
    rasters = [random_raster(576, 800, seed=4), random_raster(203, 61, seed=5)]
    job = EscposLanguage().encode_raster(rasters, RECEIPT, PrintOptions(copies=2, feed_dots=120))
    send(epson.port, job)
    epson.wait_jobs(1)
    images = pages(epson)
    assert len(images) == 4  # one per cut
    for image, raster in zip(images, rasters * 2, strict=True):
        assert image.shape == (raster.height + 120, 576)
        assert (image[:raster.height, :raster.width] == bits_of(raster)).all()
        assert not image[:raster.height, raster.width:].any(), "no stripe right of the image"
        assert not image[raster.height:].any(), "the feed is white"
    assert epson.state()["counters"]["receipts_printed"] == 4


@pytest.mark.parametrize("width", [1, 7, 9, 575])
def test_escpos_odd_widths(epson, width):
    raster = random_raster(width, 300, seed=width, density=0.9)
    send(epson.port, EscposLanguage().encode_raster([raster], RECEIPT, PrintOptions()))
    epson.wait_jobs(1)
    (image,) = pages(epson)
    assert (image[:, :width] == bits_of(raster)).all() and not image[:, width:].any()


def test_escpos_justification_and_scaling():
    band = b"\x1dv0\x03\x01\x00\x01\x00\xc0"  # 1 byte x 1 row, double width and height
    (receipt,) = render_receipts(b"\x1b@\x1ba\x01" + band + b"\x1dVB\x00", print_width=32)
    image = canvas(receipt)
    assert image.shape == (2, 32)
    expected = np.zeros(32, dtype=bool)
    expected[8:12] = True  # 16 dots wide, centred on 32: starts at 8; 11 doubled to 1111
    assert (image == expected).all()


def test_escpos_text_prints_a_page_of_its_lines():
    # The simulator prints text now (receipts as text): one line of Font A, 30 dots of paper.
    [receipt] = render_receipts(b"\x1b@hello\n\x1dVB\x00")
    assert receipt.text == ["hello"] and receipt.height == 30
    assert any(receipt.rows)


@settings(max_examples=60, deadline=None)
@given(width=st.integers(1, 576), height=st.integers(1, 600), seed=st.integers(0, 2**32 - 1),
       feed_dots=st.integers(0, 300))
def test_escpos_decoder_inverts_the_encoder(width, height, seed, feed_dots):
    raster = random_raster(width, height, seed)
    job = EscposLanguage().encode_raster([raster], RECEIPT, PrintOptions(feed_dots=feed_dots))
    (receipt,) = render_receipts(job)
    image = canvas(receipt)
    assert image.shape == (height + feed_dots, 576)
    assert (image[:height, :width] == bits_of(raster)).all()
    assert not image[:height, width:].any() and not image[height:].any()


# --------------------------------------------------------------------------------------------
# the engine's part: routes, a device that does not render, a device that fails


class _Quiet(Session):
    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        return b"", chunk


class _Plain(Device):
    def new_session(self) -> Session:
        return _Quiet()


class _Broken(_Plain):
    FAULTS: ClassVar[tuple[FaultSpec, ...]] = ()

    def render(self, job: SimJob) -> list[bytes]:
        raise RuntimeError("boom")


@pytest.mark.parametrize("device, status, code", [(_Plain, 404, "no-rendering"),
                                                  (_Broken, 500, "render-failed")])
def test_engine_render_routes(device, status, code):
    spec = SimulatorSpec(name="plain", language="plain", description="", faults=(),
                         factory=device)
    with SimulatorThread(spec) as sim:
        send(sim.port, b"data")
        sim.wait_jobs(1)
        with httpx.Client(base_url=sim.control_url) as client:
            for path in ("/jobs/1/pages", "/jobs/1/page/1.png"):
                reply = client.get(path)
                assert reply.status_code == status and reply.json()["error"]["code"] == code
            assert client.get("/jobs/1/data").content == b"data"


def test_mono_png_round_trip():
    raster = random_raster(13, 5, seed=9)
    assert (png_bits(mono_png(raster.width, raster.height, raster.rows)) == bits_of(raster)).all()
    with pytest.raises(ValueError):
        mono_png(13, 5, b"short")
