"""Label, template and document jobs: rendered by labeld, previewed, printed, and scanned back."""

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import FAST_DELIVERY, printer, token, wait_job

SHELF = {"width_mm": 60, "height_mm": 40, "elements": [
    {"type": "text", "x_mm": 3, "y_mm": 3, "text": "Árvíztűrő tükörfúrógép", "size_pt": 10,
     "bold": True},
    {"type": "barcode", "symbology": "ean13", "data": "5901234123457", "x_mm": 8, "y_mm": 12,
     "height_mm": 15, "module_dots": 2, "human_readable": True},
]}


def decode(png: bytes) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]


def pixels(png: bytes) -> bytes:
    return Image.open(io.BytesIO(png)).convert("1").tobytes()


@pytest.fixture
def env(daemon, simulator):
    zebra, till = simulator("zpl"), simulator("escpos")
    client = daemon([printer("shelf", zebra, "zebra-generic-203"),
                     printer("till", till, "escpos-generic-80")], delivery=FAST_DELIVERY)
    return client, zebra, till


@pytest.mark.parametrize("pid", ["shelf", "till"])
def test_a_label_prints_what_the_preview_shows_and_it_scans(env, pid):
    client, zebra, till = env
    sim = zebra if pid == "shelf" else till
    resp = client.post("/v1/jobs", json={"printer": pid, "label": SHELF})
    assert resp.status_code == 202, resp.text
    jid = resp.json()["id"]
    preview = client.get(f"/v1/jobs/{jid}/preview.png")
    assert preview.headers["content-type"] == "image/png"
    assert decode(preview.content) == ["5901234123457"]
    assert wait_job(client, jid)["state"] == "completed"
    [job] = sim.wait_jobs(1)
    printed = sim.simulator.device.render(job)
    assert len(printed) == 1
    assert decode(printed[0]) == ["5901234123457"]
    # What the printer rendered is the preview, pixel for pixel (ESC/POS pads to paper width).
    a, b = Image.open(io.BytesIO(preview.content)), Image.open(io.BytesIO(printed[0]))
    assert b.crop((0, 0) + a.size).convert("1").tobytes() == a.convert("1").tobytes()


def test_a_raw_job_has_no_preview(env):
    client, *_ = env
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": "^XA^XZ"}}).json()["id"]
    resp = client.get(f"/v1/jobs/{jid}/preview.png")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "no-preview"


def png_of(width, height, colour=0) -> str:
    buf = io.BytesIO()
    Image.new("L", (width, height), colour).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def test_a_png_document_is_scaled_to_the_print_width(env):
    client, _, _ = env
    resp = client.post("/v1/jobs", json={"printer": "till", "document": {
        "content_type": "image/png", "data": png_of(200, 100), "dither": "threshold"}})
    assert resp.status_code == 202, resp.text
    jid = resp.json()["id"]
    preview = Image.open(io.BytesIO(client.get(f"/v1/jobs/{jid}/preview.png").content))
    assert preview.size[0] == 576
    assert wait_job(client, jid)["state"] == "completed"


def test_a_multipage_pdf_prints_every_page(env):
    client, zebra, _ = env
    pages = [Image.new("L", (400, 300), 255) for _ in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=100)
    body = {"printer": "shelf", "document": {"content_type": "application/pdf",
                                             "data": base64.b64encode(buf.getvalue()).decode()}}
    resp = client.post("/v1/jobs", json=body)
    assert resp.status_code == 202, resp.text
    jid = resp.json()["id"]
    assert client.get(f"/v1/jobs/{jid}/preview.png").headers["x-labeld-pages"] == "3"
    assert client.get(f"/v1/jobs/{jid}/preview.png?page=4").status_code == 404
    wait_job(client, jid)
    [job] = zebra.wait_jobs(1)
    assert len(zebra.simulator.device.render(job)) == 3


def bad(element):
    return {"width_mm": 50, "height_mm": 30, "elements": [element]}


@pytest.mark.parametrize("body, code", [
    ({"label": bad({"type": "barcode", "symbology": "ean13", "data": "5901234123458",
                    "x_mm": 5, "y_mm": 5})}, "bad-check-digit"),
    ({"label": bad({"type": "barcode", "symbology": "ean8", "data": "12ab",
                    "x_mm": 5, "y_mm": 5})}, None),
    ({"label": bad({"type": "barcode", "symbology": "code128", "data": "X" * 60,
                    "x_mm": 5, "y_mm": 5})}, "does-not-fit"),
    ({"label": bad({"type": "text", "text": "x", "x_mm": 1, "y_mm": 1, "size_pt": 10,
                    "font": "NoSuchFont"})}, "unknown-font"),
    ({"label": bad({"type": "image", "data": png_of(6000, 6000), "x_mm": 0, "y_mm": 0,
                    "width_mm": 10})}, "image-too-large"),
    ({"label": bad({"type": "image", "data": base64.b64encode(b"\x89PNG\r\n\x1a\nbroken").decode(),
                    "x_mm": 0, "y_mm": 0, "width_mm": 10})}, "invalid-image"),
    ({"label": {"width_mm": 200, "height_mm": 30, "elements": []}}, "does-not-fit"),
    ({"label": {"width_mm": 50, "height_mm": 30, "dpi": 300, "elements": []}}, "dpi-mismatch"),
    ({"document": {"content_type": "application/pdf",
                   "data": base64.b64encode(b"%PDF-1.4 garbage").decode()}}, "invalid-document"),
    ({"document": {"content_type": "image/png", "data": "!!notbase64"}}, "invalid-document"),
    ({"template": "no-such-template", "data": {}}, "unknown-template"),
])
def test_bad_label_input_is_a_422_with_a_code_never_a_job(env, body, code):
    client, zebra, _ = env
    resp = client.post("/v1/jobs", json={"printer": "shelf", **body})
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    assert err["message"]
    if code:
        assert err["code"] == code
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert zebra.jobs() == []


def test_templates_can_be_stored_used_listed_and_deleted(env):
    client, _, _ = env
    doc = {"width_mm": 50, "height_mm": 30, "elements": [
        {"type": "text", "x_mm": 2, "y_mm": 2, "text": "{{ name }}", "size_pt": 10},
        {"type": "barcode", "symbology": "code128", "data": "{{ sku }}", "x_mm": 4, "y_mm": 10,
         "height_mm": 12, "module_dots": 2}]}
    assert client.put("/v1/templates/my-tag", json=doc).status_code == 201
    assert client.put("/v1/templates/my-tag", json=doc).status_code == 200
    got = client.get("/v1/templates/my-tag").json()
    assert got["fields"] == ["name", "sku"]
    names = {t["name"]: t for t in client.get("/v1/templates").json()["templates"]}
    assert names["my-tag"]["source"] == "folder"

    missing = client.post("/v1/jobs", json={"printer": "shelf", "template": "my-tag",
                                            "data": {"name": "Kifli"}})
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert error["code"] == "missing-field" and "sku" in error["message"]

    jid = client.post("/v1/jobs", json={"printer": "shelf", "template": "my-tag",
                                        "data": {"name": "Kifli", "sku": "KIF-0042"}}).json()["id"]
    assert decode(client.get(f"/v1/jobs/{jid}/preview.png").content) == ["KIF-0042"]
    assert wait_job(client, jid)["state"] == "completed"

    pos = token(client, "pos")
    refused = client.put("/v1/templates/x", json=doc, headers={"Authorization": f"Bearer {pos}"})
    assert refused.status_code == 403
    assert client.delete("/v1/templates/my-tag").status_code == 200
    assert client.get("/v1/templates/my-tag").status_code == 404


@pytest.mark.parametrize("doc, code", [
    ({"width_mm": 50}, "invalid-template"),
    ({"width_mm": 50, "height_mm": 30, "elements": [{"type": "text", "text": "{{ 1bad }}",
                                                     "x_mm": 1, "y_mm": 1, "size_pt": 9}]},
     "invalid-template"),
])
def test_a_malformed_template_is_refused(env, doc, code):
    client, *_ = env
    resp = client.put("/v1/templates/broken", json=doc)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == code
