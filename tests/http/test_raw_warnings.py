"""Raw jobs a printer would misprint are accepted with `warnings`: in the 202 answer, stored on
the job, and in every answer about it. Each language finds its own (`Language.looks_like`,
`Language.raw_warnings`); a clean job has none."""

import base64

import pytest

from labeld.intake.prepare import raw_warnings
from tests.conftest import PATIENT_DELIVERY, printer, wait_job

ESC_AT, CUT = b"\x1b@", b"\x1dVA\x03"
RECEIPT = ESC_AT + b"Hello\n" + CUT
TSPL = "SIZE 60 mm, 40 mm\r\nGAP 2 mm, 0 mm\r\nCLS\r\nTEXT 10,10,\"3\",0,1,1,\"ok\"\r\nPRINT 1\r\n"


@pytest.fixture
def shop(daemon, simulator):
    """A Zebra, a receipt printer and a TSC, all paused: the jobs only need to be accepted."""
    client = daemon([printer("zebra", simulator("zpl"), "zebra-generic-203"),
                     printer("till", simulator("escpos"), "escpos-generic-80"),
                     printer("tsc", simulator("tspl"), "tsc-generic-203")],
                    delivery=PATIENT_DELIVERY)
    for p in ("zebra", "till", "tsc"):
        client.post(f"/v1/printers/{p}/pause").raise_for_status()
    return client


def raw(client, printer_id, data: bytes | str, **extra):
    body = ({"data": base64.b64encode(data).decode(), "encoding": "base64"}
            if isinstance(data, bytes) else {"data": data})
    resp = client.post("/v1/jobs", json={"printer": printer_id, "raw": body}, **extra)
    assert resp.status_code in (200, 202), resp.text
    return resp.json()


def codes(job):
    return [w["code"] for w in job["warnings"]]


# -- ZPL: UTF-8 text without ^CI28 --------------------------------------------------------------

def test_zpl_with_utf8_text_and_no_ci28_is_accepted_with_a_warning(shop):
    job = raw(shop, "zebra", "^XA^FO50,50^A0N,40,40^FDÁrvíztűrő tükörfúrógép^FS^XZ")
    assert job["state"] == "pending"
    (warning,) = job["warnings"]
    assert warning["code"] == "zpl-utf8-without-ci28"
    assert "Árvíztűrő" in warning["message"] and "^CI28" in warning["message"]
    assert "^XA^CI28" in warning["hint"]
    # stored: the job keeps it, in the list too
    assert shop.get(f"/v1/jobs/{job['id']}").json()["warnings"] == [warning]
    assert shop.get("/v1/jobs").json()["jobs"][0]["warnings"] == [warning]


def test_zpl_warnings_come_back_with_an_idempotent_repeat(shop):
    body = "^XA^FDŐrző^FS^XZ"
    first = raw(shop, "zebra", body, headers={"Idempotency-Key": "k-1"})
    again = shop.post("/v1/jobs", headers={"Idempotency-Key": "k-1"},
                      json={"printer": "zebra", "raw": {"data": body}})
    assert again.status_code == 200
    assert again.json()["warnings"] == first["warnings"] and codes(first) == [
        "zpl-utf8-without-ci28"]


@pytest.mark.parametrize("data", [
    "^XA^CI28^FO50,50^A0N,40,40^FDÁrvíztűrő^FS^XZ",  # UTF-8 selected first
    "^XA^ci28^FDÁrvíztűrő^FS^XZ",  # in any case
    "^XA^CI28,^FDÁrvíztűrő^FS^XZ^XA^FDŐrző^FS^XZ",  # ^CI stays until changed
    "^XA^FO50,50^A0N,40,40^FDHello^FS^XZ",  # ASCII only
    "^XA^FH^FDprice_5E 100^FS^XZ",  # an ASCII escape
])
def test_zpl_that_prints_as_written_has_no_warning(shop, data):
    assert raw(shop, "zebra", data)["warnings"] == []


@pytest.mark.parametrize("data", [
    "^XA^FDÁrvíztűrő^FS^CI28^XZ",  # ^CI28 too late for the field before it
    "^XA^CI28^FDok^FS^CI0^FDŐrző^FS^XZ",  # switched back to a code page
    "^XA^FH^FD_C3_81rv_C3_ADzt_C5_B1r_C5_91^FS^XZ",  # UTF-8 as ^FH hex escapes
    "^XA^FO10,10^FVÁrvíztűrő^FS^XZ",  # a field variable
])
def test_zpl_utf8_text_the_printer_reads_in_a_code_page_is_found(shop, data):
    assert codes(raw(shop, "zebra", data)) == ["zpl-utf8-without-ci28"]


def test_zpl_in_a_code_page_the_job_selects_is_not_called_utf8(shop):
    cp852 = "^XA^CI13^FDÁrvíztűrő^FS^XZ".encode("cp852")  # not UTF-8: the site's own choice
    assert raw(shop, "zebra", cp852)["warnings"] == []


# -- another printer's language -----------------------------------------------------------------

@pytest.mark.parametrize("printer_id, data, like, speaks", [
    ("till", "^XA^FO50,50^A0N,40,40^FDHello^FS^XZ", "zpl", "escpos"),
    ("zebra", RECEIPT, "escpos", "zpl"),
    ("zebra", TSPL, "tspl", "zpl"),
    ("tsc", "^XA^FDHello^FS^XZ", "zpl", "tspl"),
    ("till", TSPL, "tspl", "escpos"),
])
def test_a_job_in_another_printers_language_is_accepted_with_a_warning(shop, printer_id, data,
                                                                       like, speaks):
    job = raw(shop, printer_id, data)
    (warning,) = job["warnings"]
    assert warning["code"] == "language-mismatch"
    assert f"looks like {like}" in warning["message"]
    assert f"printer {printer_id} speaks {speaks}" in warning["message"]
    assert warning["hint"]
    assert shop.get(f"/v1/jobs/{job['id']}").json()["warnings"] == [warning]


@pytest.mark.parametrize("printer_id, data", [
    ("till", RECEIPT),
    ("till", b"Hello\n" + CUT),
    ("till", "Thank you, SIZE M\n"),  # text, not a TSPL line
    ("zebra", "^XA^FO20,20^A0N,30,30^FDok^FS^XZ"),
    ("zebra", "~JA"),  # a ZPL control command nobody else claims either
    ("tsc", TSPL),
])
def test_a_clean_raw_job_has_no_warnings(shop, printer_id, data):
    job = raw(shop, printer_id, data)
    assert job["warnings"] == []
    assert shop.get(f"/v1/jobs/{job['id']}").json()["warnings"] == []


def test_rendered_jobs_have_no_warnings(shop):
    label = {"width_mm": 20, "height_mm": 10,
             "elements": [{"type": "text", "x_mm": 1, "y_mm": 1, "text": "Árvíztűrő"}]}
    job = shop.post("/v1/jobs", json={"printer": "zebra", "label": label}).json()
    assert job["warnings"] == [] and job["kind"] == "label"


def test_a_warned_job_prints_as_sent(daemon, simulator):
    zebra = simulator("zpl")
    client = daemon([printer("zebra", zebra, "zebra-generic-203")])
    data = "^XA^FDŐrző^FS^XZ"
    job = raw(client, "zebra", data)
    assert codes(job) == ["zpl-utf8-without-ci28"]
    assert wait_job(client, job["id"])["state"] == "completed"
    assert [j.data for j in zebra.jobs()] == [data.encode()]


def test_a_reprint_keeps_the_warnings(daemon, simulator):
    client = daemon([printer("zebra", simulator("zpl"), "zebra-generic-203")])
    job = raw(client, "zebra", "^XA^FDŐrző^FS^XZ")
    wait_job(client, job["id"])
    again = client.post(f"/v1/jobs/{job['id']}/reprint").json()
    assert again["warnings"] == job["warnings"] != []


def test_the_core_names_no_language_a_plugin_language_takes_part(plugins):
    """The mismatch check asks every loaded language, by its own method."""

    class Fake:
        name = "acme"

        def looks_like(self, data):
            return data.startswith(b"ACME")

        def raw_warnings(self, data):
            return []

    class Target:
        id = "p1"
        language = plugins.languages()["zpl"]

    found = raw_warnings(b"ACME PRINT", Target, {**plugins.languages(), "acme": Fake()})
    assert [(w.code, "looks like acme" in w.message) for w in found] == [
        ("language-mismatch", True)]
    assert raw_warnings(b"ACME PRINT", Target, None) == []


def test_a_failing_language_check_costs_a_warning_never_the_job(plugins, caplog):
    class Broken:
        name = "broken"

        def looks_like(self, data):
            raise ValueError("a plugin's bug")

        def raw_warnings(self, data):
            raise ValueError("a plugin's bug")

    class OnBroken:
        id = "p1"
        language = Broken()

    class OnZebra:
        id = "p2"
        language = plugins.languages()["zpl"]

    assert raw_warnings(b"^XA^XZ", OnBroken, plugins.languages()) == []
    assert raw_warnings(b"^XA^XZ", OnZebra, {**plugins.languages(), "broken": Broken()}) == []
    assert "language broken failed" in caplog.text
