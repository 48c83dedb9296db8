"""The TSPL simulator: `<ESC>!?` answered byte for byte (reference 3), `~!@` with its mileage,
jobs rendered as a TSC prints them, so that labeld's TSPL route can be tested end to end
without a TSC."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeld.contracts import PrintOptions, Raster
from labeld.drivers.tspl.language import (STATUS_QUERY, TsplLanguage, bitmap_data,
                                          decode_status_byte)
from labeld.drivers.tspl.simulator import MILEAGE_QUERY, TsplDevice, render_labels
from labeld.intake.render import png_to_raster, raster_to_bits
from tests.conftest import ask, connect, printer, send_job, wait_for, wait_job
from tests.drivers.test_tspl import TSC

pytestmark = pytest.mark.timeout(60)


def pack(bits: np.ndarray) -> Raster:
    return Raster(bits.shape[1], bits.shape[0], np.packbits(bits, axis=1).tobytes(), 203)


def rendered(data: bytes) -> list[np.ndarray]:
    return [raster_to_bits(png_to_raster(png)) for png in render_labels(data, 203)]


@pytest.mark.parametrize("faults, byte", [
    ((), 0x00),
    (("paper-out",), 0x04),
    (("head-open", "paper-out"), 0x05),  # the reference's own example: bits OR together
    (("ribbon-out", "paper-out"), 0x0C),
    (("paused",), 0x10),
    (("cover-open",), 0x40),
    (("temperature-out-of-range",), 0x80),
])
def test_status_byte_for_byte_over_tcp(simulator, faults, byte):
    tsc = simulator("tspl")
    for fault in faults:
        tsc.set_fault(fault)
    assert ask(tsc.port, STATUS_QUERY, 1) == bytes([byte])
    assert tsc.jobs() == []  # a status query is not a job


def test_the_language_reads_the_simulators_answer(simulator):
    tsc = simulator("tspl")
    tsc.set_fault("paper-jam")
    report = decode_status_byte(ask(tsc.port, STATUS_QUERY, 1))
    assert [r.code for r in report.reasons] == ["paper-jam"]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 120), st.integers(1, 40), st.data())
def test_encoded_pages_render_to_the_same_dots(width, height, data):
    # Bytes unpacked to bits: a list of 4800 booleans drawn one by one made this test take
    # tens of seconds on a loaded machine, the same dots in a few bytes do not.
    size = width * height
    raw = data.draw(st.binary(min_size=(size + 7) // 8, max_size=(size + 7) // 8))
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8))[:size].astype(bool)
    bits = bits.reshape(height, width)
    raster = pack(bits)
    job = TsplLanguage().encode_raster([raster], TSC, PrintOptions(copies=2))
    (page,) = rendered(job)  # PRINT 1,2: one image, printed twice
    # What was sent may differ from the label by one dot per `ESC !` the data would have held
    # (a TSC acts on those even inside BITMAP data: break_immediate_commands).
    sent = np.frombuffer(bitmap_data(raster), np.uint8).reshape(height, raster.row_bytes)
    sent_black = np.unpackbits(sent, axis=1)[:, :width] == 0
    assert np.array_equal(page[:height, :width], sent_black)
    polarity = np.bitwise_not(np.frombuffer(raster.rows, np.uint8)).reshape(height, -1)
    polarity[:, -1] |= (1 << (raster.row_bytes * 8 - width)) - 1  # padding: white
    assert (sent_black != bits).sum() <= polarity.tobytes().count(b"\x1b!")


def test_image_bytes_that_read_like_a_query_are_image():
    # Written by hand: labeld's encoder no longer sends ESC ! in image data at all (see
    # test_raster_carries_no_commands), but a client's raw job still may.
    payload = b"\x1b!?" * 5  # 3 bytes a row, 5 rows, in TSPL polarity (0 = black)
    job = (b"SIZE 3 mm,1 mm\r\nCLS\r\nBITMAP 0,0,3,5,0," + payload + b"\r\nPRINT 1\r\n")
    session = TsplDevice().new_session()
    reply, data = session.feed(job)
    assert reply == b"" and data == job
    row = np.unpackbits(np.frombuffer(b"\x1b!?", dtype=np.uint8)) == 0
    assert np.array_equal(rendered(job)[0][:5, :24], np.tile(row, (5, 1)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_reads_may_split_anywhere(cuts):
    bits = np.eye(24, 40, dtype=bool) | np.eye(24, 40, 3, dtype=bool)
    job = (STATUS_QUERY + TsplLanguage().encode_raster([pack(bits)], TSC, PrintOptions())
           + STATUS_QUERY)
    device = TsplDevice()
    device.set_fault("paused")
    session = device.new_session()
    replies, data, i = b"", b"", 0
    for n in cuts * (len(job) // sum(cuts) + 1):
        reply, part = session.feed(job[i:i + n])
        replies, data, i = replies + reply, data + part, i + n
        if i >= len(job):
            break
    data += session.finish()
    assert replies == b"\x10\x10"  # both queries answered, nothing else
    assert data == job.replace(STATUS_QUERY, b"")


def test_a_label_through_the_daemon_prints_on_the_tsc_and_scans(daemon, simulator):
    zxingcpp = pytest.importorskip("zxingcpp")
    tsc = simulator("tspl")
    client = daemon([printer("tsc", tsc, "tsc-generic-203")])
    label = {"width_mm": 60, "height_mm": 30, "elements": [
        {"type": "text", "x_mm": 3, "y_mm": 2, "text": "Árvíztűrő TSC", "size_pt": 10},
        {"type": "barcode", "symbology": "qr", "data": "https://shop.example/tsc", "x_mm": 40,
         "y_mm": 8}]}
    job = client.post("/v1/jobs", json={"printer": "tsc", "label": label}).json()
    done = wait_job(client, job["id"])
    assert done["state"] == "completed" and done["delivery"] == "confirmed"
    (page,) = tsc.simulator.device.render(wait_for(lambda: tsc.jobs())[0])
    bits = raster_to_bits(png_to_raster(page))
    preview = raster_to_bits(png_to_raster(client.get(f"/v1/jobs/{job['id']}/preview.png").content))
    assert np.array_equal(bits[:preview.shape[0], :preview.shape[1]], preview)
    image = np.where(bits, 0, 255).astype(np.uint8)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == ["https://shop.example/tsc"]


def test_a_tsc_out_of_paper_holds_the_queue_until_paper_is_back(daemon, simulator):
    tsc = simulator("tspl")
    tsc.set_fault("paper-out")
    client = daemon([printer("tsc", tsc, "tsc-generic-203")])
    job = client.post("/v1/jobs", json={"printer": "tsc", "raw": {"data": "CLS\r\nPRINT 1\r\n"}})
    jid = job.json()["id"]
    held = wait_job(client, jid, states=("held",))
    assert held["error"]["code"] == "paper-out"
    assert tsc.jobs() == []
    tsc.clear_faults()
    assert wait_job(client, jid)["state"] == "completed"
    assert [j.data for j in tsc.jobs()] == [b"CLS\r\nPRINT 1\r\n"]


# --- mileage, and why there is no label counter

LABEL_50X30 = b"SIZE 50 mm,30 mm\r\nGAP 2 mm,0\r\nCLS\r\n"


def mileage(port: int) -> bytes:
    with connect(port) as sock:
        sock.sendall(MILEAGE_QUERY)
        sock.settimeout(2)
        reply = b""
        while not reply.endswith(b"\r") and (chunk := sock.recv(100)):
            reply += chunk
        return reply


def test_mileage_is_the_printed_length_in_metres_then_cr(simulator):
    tsc = simulator("tspl")
    assert mileage(tsc.port) == b"0.0\r"
    # 30 mm at 203 dpi is 240 dots; PRINT 10,5 prints 50 labels: 50 x 240 / 203 in = 1.50 m
    send_job(tsc.port, LABEL_50X30 + b"PRINT 10,5\r\n")
    wait_for(lambda: tsc.jobs())
    assert mileage(tsc.port) == b"1.5\r"
    assert tsc.state()["counters"]["labels_printed"] == 50
    assert tsc.jobs()[0].data == LABEL_50X30 + b"PRINT 10,5\r\n"  # the queries are not in it


def test_mileage_does_not_move_while_a_fault_holds_the_job(simulator):
    tsc = simulator("tspl")
    tsc.set_fault("paper-out")
    send_job(tsc.port, LABEL_50X30 + b"PRINT 100\r\n")
    wait_for(lambda: tsc.jobs())
    assert mileage(tsc.port) == b"0.0\r"
    tsc.clear_faults()
    assert mileage(tsc.port) == b"3.0\r"
    assert tsc.state()["counters"]["labels_printed"] == 100


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 16), min_size=1, max_size=30))
def test_mileage_and_status_queries_split_anywhere_are_answered(cuts):
    job = (STATUS_QUERY + LABEL_50X30 + MILEAGE_QUERY + b"PRINT 1\r\n" + MILEAGE_QUERY
           + STATUS_QUERY)
    session = TsplDevice().new_session()
    replies, data, i = b"", b"", 0
    for n in cuts * (len(job) // sum(cuts) + 1):
        reply, part = session.feed(job[i:i + n])
        replies, data, i = replies + reply, data + part, i + n
        if i >= len(job):
            break
    data += session.finish()
    assert replies == b"\x00" + b"0.0\r" * 2 + b"\x00"  # the job prints when it has ended
    assert data == LABEL_50X30 + b"PRINT 1\r\n"


def test_tspl_names_no_label_counter():
    """~!@ moves by length, not by labels: it cannot confirm a job's labels one by one."""
    tspl = TsplLanguage()
    assert tspl.counter_query() is None
    assert tspl.labels_in_raw(LABEL_50X30 + b"PRINT 1\r\n") is None


# the raw TSPL route must keep working when sent straight to the simulator
def test_raw_bytes_sent_to_the_simulator_are_recorded(simulator):
    tsc = simulator("tspl")
    send_job(tsc.port, b"SIZE 50 mm,30 mm\r\nCLS\r\nPRINT 1\r\n")
    assert wait_for(lambda: tsc.jobs())[0].data.startswith(b"SIZE 50 mm")
