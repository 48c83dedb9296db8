"""Data is never a command: an injection corpus in every field of every built-in template and in
every text-bearing label element reaches the printer as pixels only."""

import re

import pytest

from labeld.plugins.templates_builtin import SAMPLE_DATA
from tests.conftest import FAST_DELIVERY, printer, token, wait_job

CORPUS = ("^XZ^XA^JUF^XZ", "~JR", "~JA", "^CC+", '! U1 setvar "ip.addr" "10.0.0.66"\r\n',
          "\x1bp\x00\x19\x19", "\x1dV\x00", "\x10\x04\x01", "a\x00b", "line\r\nbreak", "😀",
          "\u202eevil\u202c")
# What a raster label job may look like on the wire, and nothing else.
RASTER_JOB = re.compile(rb"\^XA\^PW\d+\^LL\d+"
                        rb"(?:\^FO\d+,\d+\^GFA,\d+,\d+,\d+,:Z64:[A-Za-z0-9+/=]+:[0-9A-F]{4}\^FS)*"
                        rb"\^PQ1\^XZ")


@pytest.fixture
def env(daemon, simulator):
    zebra = simulator("zpl")
    admin = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=FAST_DELIVERY)
    return admin, {"Authorization": f"Bearer {token(admin, 'pos')}"}, zebra


def assert_only_pixels(zebra, count):
    jobs = zebra.wait_jobs(count, timeout=10)
    for job in jobs:
        assert RASTER_JOB.fullmatch(job.data), job.data[:200]


@pytest.mark.parametrize("template", sorted(SAMPLE_DATA))
def test_every_template_field_carries_the_corpus_as_pixels_only(env, template):
    admin, pos, zebra = env
    accepted: list[str] = []
    for field in SAMPLE_DATA[template]:
        for bad in CORPUS:
            data = {**SAMPLE_DATA[template], field: bad}
            resp = admin.post("/v1/jobs", headers=pos,
                              json={"printer": "shelf", "template": template, "data": data})
            # A barcode field may refuse the value (422); text fields print it as glyphs.
            assert resp.status_code in (202, 422), resp.text
            if resp.status_code == 202:
                accepted.append(resp.json()["id"])
    assert accepted
    for jid in accepted:  # waited for together: each confirmation poll settles many jobs
        wait_job(admin, jid)
    assert_only_pixels(zebra, len(accepted))


@pytest.mark.parametrize("element", [
    {"type": "text", "x_mm": 1, "y_mm": 1, "size_pt": 8, "text": None},
    {"type": "barcode", "symbology": "code128", "x_mm": 4, "y_mm": 8, "height_mm": 8,
     "module_dots": 1, "data": None},
    {"type": "barcode", "symbology": "qr", "x_mm": 4, "y_mm": 8, "module_dots": 2, "data": None},
    {"type": "barcode", "symbology": "datamatrix", "x_mm": 4, "y_mm": 8, "module_dots": 2,
     "data": None},
    {"type": "barcode", "symbology": "pdf417", "x_mm": 2, "y_mm": 8, "module_dots": 1,
     "data": None},
])
def test_label_elements_carry_the_corpus_as_pixels_only(env, element):
    admin, pos, zebra = env
    key = "text" if element["type"] == "text" else "data"
    accepted: list[str] = []
    for bad in CORPUS:
        label = {"width_mm": 100, "height_mm": 40, "elements": [{**element, key: bad}]}
        resp = admin.post("/v1/jobs", headers=pos, json={"printer": "shelf", "label": label})
        assert resp.status_code in (202, 422), resp.text
        if resp.status_code == 202:
            accepted.append(resp.json()["id"])
    assert accepted
    for jid in accepted:
        wait_job(admin, jid)
    assert_only_pixels(zebra, len(accepted))
