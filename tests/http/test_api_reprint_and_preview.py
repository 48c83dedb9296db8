"""POST /v1/jobs/{id}/reprint prints a finished job again as a new job; POST /v1/preview shows
what a job would print without printing it."""

import io

from PIL import Image

from tests.conftest import token, wait_job

LABEL = {"printer": "shelf", "template": "product-label",
         "data": {"name": "Pálinka 0,5 l", "sku": "PAL-05", "ean": "5998200123450"}}


def test_a_finished_job_is_printed_again_as_a_new_job(client, zebra):
    first = client.post("/v1/jobs", json=LABEL).json()
    assert wait_job(client, first["id"])["state"] == "completed"
    sent = zebra.wait_jobs(1)[0]

    resp = client.post(f"/v1/jobs/{first['id']}/reprint")
    assert resp.status_code == 202
    again = resp.json()
    assert again["id"] != first["id"] and resp.headers["location"] == f"/v1/jobs/{again['id']}"
    assert wait_job(client, again["id"])["state"] == "completed"
    assert zebra.wait_jobs(2)[1].data == sent.data  # the same bytes, printed twice
    assert client.get(f"/v1/jobs/{first['id']}").json()["state"] == "completed"


def test_a_raw_job_is_reprinted_byte_for_byte(client, till):
    first = client.post("/v1/jobs", json={"printer": "till", "raw": {"data": "Nyugta\n"}}).json()
    wait_job(client, first["id"])
    again = client.post(f"/v1/jobs/{first['id']}/reprint").json()
    wait_job(client, again["id"])
    jobs = till.wait_jobs(2)
    assert jobs[0].data == jobs[1].data and b"Nyugta\n" in jobs[1].data


def test_a_job_that_has_not_printed_cannot_be_reprinted(client):
    client.post("/v1/printers/shelf/pause")
    job = client.post("/v1/jobs", json=LABEL).json()
    resp = client.post(f"/v1/jobs/{job['id']}/reprint")
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "job-not-finished"


def test_reprint_is_for_technicians(client):
    job = client.post("/v1/jobs", json=LABEL).json()
    wait_job(client, job["id"])
    shop = {"Authorization": f"Bearer {token(client, 'pos')}"}
    assert client.post(f"/v1/jobs/{job['id']}/reprint", headers=shop).status_code == 403


def test_a_preview_is_the_png_of_the_page_and_prints_nothing(client, zebra):
    shop = {"Authorization": f"Bearer {token(client, 'pos')}"}
    resp = client.post("/v1/preview", json=LABEL, headers=shop)
    assert resp.status_code == 200 and resp.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(resp.content))
    assert image.size[0] <= 832 and resp.headers["x-labeld-pages"] == "1"
    assert client.get("/v1/jobs").json()["jobs"] == []
    assert zebra.jobs() == []


def test_a_preview_of_bad_input_is_the_same_422_as_a_job(client):
    bad = {**LABEL, "data": {"name": "x", "sku": "y", "ean": "123"}}
    preview = client.post("/v1/preview", json=bad)
    job = client.post("/v1/jobs", json=bad)
    assert preview.status_code == job.status_code == 422
    assert preview.json()["error"]["code"] == job.json()["error"]["code"]


def test_a_raw_job_has_no_preview(client):
    resp = client.post("/v1/preview", json={"printer": "till", "raw": {"data": "x"}})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "no-preview"


def test_a_built_in_templates_sample_fills_every_field_and_renders(client):
    for name in [t["name"] for t in client.get("/v1/templates").json()["templates"]]:
        info = client.get(f"/v1/templates/{name}").json()
        assert set(info["sample"]) == set(info["fields"]), name
        resp = client.post("/v1/preview", json={"printer": "shelf", "template": name,
                                                 "data": info["sample"]})
        assert resp.status_code in (200, 422), name
        if resp.status_code == 422:  # a 4x6 in label does not fit a 2 in wide test printer
            assert resp.json()["error"]["code"] == "does-not-fit", name
