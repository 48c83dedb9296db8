"""Receipt jobs through the API: printed as text by a simulated ESC/POS printer over loopback,
previewed, refused by name when a character cannot print; raster on a label printer."""

import base64
import io

import numpy as np
import zxingcpp
from PIL import Image

from tests.conftest import FAST_DELIVERY, printer, wait_job

SAMPLE = "Árvíztűrő tükörfúrógép ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"


def logo() -> str:
    im = Image.new("L", (120, 40), 255)
    im.paste(0, (10, 10, 110, 30))
    out = io.BytesIO()
    im.save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


RECEIPT = {"blocks": [
    {"type": "image", "data": logo(), "align": "center"},
    {"type": "text", "text": "Árvíztűrő Bolt Kft.", "align": "center", "bold": True},
    {"type": "separator"},
    {"type": "row", "columns": ["Őszibarack", "2 x 645", "1 290 Ft"]},
    {"type": "row", "columns": ["ÖSSZESEN", "1 290 Ft"], "bold": True},
    {"type": "text", "text": SAMPLE},
    {"type": "qr", "data": "https://example.com/r/1", "module_dots": 5},
    {"type": "feed", "lines": 2},
    {"type": "cut", "mode": "partial"},
    {"type": "drawer", "pin": 2},
]}


def test_a_receipt_prints_as_text_and_the_preview_shows_it(daemon, simulator):
    till = simulator("escpos")
    client = daemon([printer("till", till, "escpos-generic-80")], delivery=FAST_DELIVERY)
    resp = client.post("/v1/jobs", json={"printer": "till", "receipt": RECEIPT})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["kind"] == "receipt"
    preview = client.get(f"/v1/jobs/{job['id']}/preview.png")
    assert preview.status_code == 200
    assert wait_job(client, job["id"])["state"] == "completed"
    [sim_job] = till.wait_jobs(1)
    assert len(sim_job.data) < 6000  # text, not a 34 KB image
    from labeld.drivers.escpos.simulator import render_receipts

    [receipt] = render_receipts(sim_job.data, 576)
    assert SAMPLE in receipt.text and "Árvíztűrő Bolt Kft." in receipt.text
    grey = np.asarray(Image.open(io.BytesIO(till.simulator.device.render(sim_job)[0])).convert("L"))
    assert [r.text for r in zxingcpp.read_barcodes(np.pad(grey, 40, constant_values=255))] == [
        "https://example.com/r/1"]
    shown = np.asarray(Image.open(io.BytesIO(preview.content)).convert("L"))
    text_rows = slice(0, grey.shape[0] - 200)  # logo and text: the same dots
    assert np.array_equal(shown[text_rows] < 128, grey[text_rows] < 128)


def test_a_character_nothing_prints_is_a_422_naming_it(daemon, simulator):
    client = daemon([printer("till", simulator("escpos"), "escpos-generic-80")])
    resp = client.post("/v1/jobs", json={"printer": "till", "receipt": {"blocks": [
        {"type": "text", "text": "Köszönjük 😀"}]}})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "unprintable-character" and "U+1F600" in error["message"]


def test_a_receipt_on_a_label_printer_prints_as_an_image(daemon, simulator):
    zebra = simulator("zpl")
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    resp = client.post("/v1/jobs", json={"printer": "shelf", "receipt": {"blocks": [
        {"type": "text", "text": SAMPLE}, {"type": "qr", "data": "x-1"}]}})
    assert resp.status_code == 202, resp.text
    assert wait_job(client, resp.json()["id"])["state"] == "completed"


def test_the_plugins_list_the_profiles_with_their_code_pages(daemon, simulator):
    client = daemon([printer("till", simulator("escpos"), "escpos-generic-80")])
    models = {m["id"]: m for m in client.get("/v1/plugins").json()["models"]}
    t88 = models["escpos-tm-t88v"]["text"]
    assert {"table": 18, "name": "CP852"} in t88["code_pages"]
    assert t88["columns"] == 42 and t88["qr"] is True
    assert models["zebra-generic-203"]["text"] is None


def test_the_selftest_prints_the_code_page_sample_and_names_the_fault(daemon, simulator):
    till = simulator("escpos")
    client = daemon([printer("till", till, "escpos-generic-80")])
    result = client.post("/v1/printers/till/selftest", params={"print": "true"}).json()
    [check] = [c for c in result["checks"] if c["name"] == "code page"]
    assert SAMPLE in check["detail"] and check["data"]["printed"] is True
    assert check["data"]["if_it_differs"]["code"] == "wrong-code-page"
    sample = [j for j in till.wait_jobs(2) if SAMPLE.encode("cp852") in j.data]
    assert sample, "the sample line went out in CP852 (ESC t 18 on the generic model)"
    from labeld.drivers.escpos.simulator import render_receipts

    assert SAMPLE in render_receipts(sample[0].data, 576)[0].text
    # without print=true the check still shows the line to read out
    again = client.post("/v1/printers/till/selftest").json()
    [check] = [c for c in again["checks"] if c["name"] == "code page"]
    assert SAMPLE in check["detail"] and check["data"]["printed"] is False
