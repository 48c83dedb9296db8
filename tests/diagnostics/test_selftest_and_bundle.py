"""Self-test, support bundle and doctor: a technician's one call, bounded, in plain words."""

import io
import json
import re
import time
import zipfile

import pytest
import zxingcpp
from PIL import Image

from labeld.cli import main
from tests.conftest import FAST_DELIVERY, free_port, printer, token, wait_job


@pytest.fixture
def env(daemon, simulator):
    zebra, till = simulator("zpl"), simulator("escpos")
    client = daemon([printer("shelf", zebra, "zebra-generic-203", media_height_mm=155.5),
                     printer("till", till, "escpos-generic-80"),
                     printer("gone", free_port(), "zebra-generic-203")], delivery=FAST_DELIVERY)
    return client, zebra, till


def by_name(result):
    return {c["name"]: c for c in result["checks"]}


def test_a_healthy_zebra_passes_every_check_quickly(env):
    client, *_ = env
    result = client.post("/v1/printers/shelf/selftest").json()
    checks = by_name(result)
    assert result["result"] == "ok", result
    assert list(checks)[:6] == ["transport reachable", "identification", "status",
                                "round-trip latency", "media size", "configuration"]
    assert "ZD421" in checks["identification"]["detail"]
    assert checks["error and warning flags (~HQES)"]["status"] == "ok"  # the Zebra plugin's check
    assert checks["media size"]["status"] == "ok"  # ~HS: 1245 dots at 203 dpi = 155.8 mm
    assert all(c["duration_ms"] >= 0 for c in result["checks"])
    dump = checks["configuration"]["data"]["dump"]  # ^HH, parsed
    assert dump["darkness"] == "+15.0" and dump["print_width"] == "832"
    assert result["duration_ms"] < 500


def test_labels_of_another_size_than_configured_are_a_warning(daemon, simulator):
    zebra = simulator("zpl")
    client = daemon([printer("shelf", zebra, "zebra-generic-203", media_height_mm=30)])
    media = by_name(client.post("/v1/printers/shelf/selftest").json())["media size"]
    assert media["status"] == "warn" and "155.8 mm" in media["detail"] and media["hint"]


def test_a_receipt_printer_identifies_itself(env):
    client, *_ = env
    checks = by_name(client.post("/v1/printers/till/selftest").json())
    assert checks["identification"]["detail"].startswith("EPSON TM-T20III")
    assert checks["media size"]["status"] == "skip"
    dump = checks["configuration"]["data"]["dump"]  # Automatic Status Back, switched on and off
    assert dump["asb"] == "10 00 00 00" and dump["asb_reasons"] == []


def test_a_fault_fails_the_status_check_with_a_hint(env):
    client, zebra, _ = env
    zebra.set_fault("head-open")
    result = client.post("/v1/printers/shelf/selftest").json()
    status = by_name(result)["status"]
    assert result["result"] == "fail" and status["status"] == "fail"
    assert "head" in status["detail"].lower() and status["hint"]
    assert by_name(result)["error and warning flags (~HQES)"]["status"] == "fail"


def test_a_silent_printer_is_bounded_and_says_why(env):
    client, zebra, _ = env
    zebra.set_fault("silent")
    t0 = time.monotonic()
    result = client.post("/v1/printers/shelf/selftest").json()
    assert time.monotonic() - t0 < 10
    checks = by_name(result)
    assert checks["transport reachable"]["status"] == "ok"
    assert checks["identification"]["status"] == "warn"
    assert "emulation" in checks["identification"]["hint"]
    assert checks["status"]["status"] == "warn"


def test_an_unreachable_printer_fails_fast_and_skips_the_rest(env):
    client, *_ = env
    t0 = time.monotonic()
    result = client.post("/v1/printers/gone/selftest").json()
    assert time.monotonic() - t0 < 3
    checks = result["checks"]
    assert checks[0]["status"] == "fail" and "refused" in checks[0]["detail"]
    assert {c["status"] for c in checks[1:]} == {"skip"}


def test_a_wrong_resolution_model_is_caught(daemon, simulator):
    zebra = simulator("zpl")  # reports 8 dots/mm = 203 dpi
    client = daemon([printer("shelf", zebra, "zebra-generic-300")])
    ident = by_name(client.post("/v1/printers/shelf/selftest").json())["identification"]
    assert ident["status"] == "fail" and "203 dpi" in ident["detail"]


def test_the_diagnostic_label_prints_and_its_barcodes_scan(env):
    client, zebra, _ = env
    result = client.post("/v1/printers/shelf/selftest?print=true").json()
    assert by_name(result)["test print"]["status"] == "ok"
    [job] = zebra.wait_jobs(1)
    [page] = zebra.simulator.device.render(job)
    image = Image.open(io.BytesIO(page)).convert("L")
    found = sorted(r.text for r in zxingcpp.read_barcodes(image))
    assert {"LABELD-2", "LABELD-3"} <= set(found)


def printers_of(z: zipfile.ZipFile) -> list[str]:
    return [p["id"] for p in json.loads(z.read("printers.json"))]


def test_the_support_bundle_has_everything_and_no_secrets(env):
    client, _, _ = env
    jid = client.post("/v1/jobs", json={"printer": "shelf", "label": {
        "width_mm": 40, "height_mm": 20, "elements": [
            {"type": "text", "x_mm": 2, "y_mm": 2, "text": "bundle", "size_pt": 8}]}}).json()["id"]
    wait_job(client, jid)
    resp = client.get("/v1/support-bundle", timeout=60)
    assert resp.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(resp.content))
    names = set(z.namelist())
    assert {"version.json", "plugins.json", "config.json", "printers.json", "jobs.json",
            "events.json", "report.json", "log.txt", f"previews/{jid}-1.png"} <= names
    report = json.loads(z.read("report.json"))  # the morning report, since the desk closed
    assert report["until"] > report["since"]
    assert [p["printer"] for p in report["printers"]] == list(printers_of(z))
    printers = {p["id"]: p for p in json.loads(z.read("printers.json"))}
    assert printers["shelf"]["selftest"][0]["status"] == "ok"
    assert printers["gone"]["state_reasons"] or printers["gone"]["selftest"][0]["status"] == "fail"
    config = json.loads(z.read("config.json"))
    assert config["security"]["tls_key"] is None
    everything = b"".join(z.read(n) for n in names)
    secret = client.headers["authorization"].split()[1].encode()
    assert secret not in everything


def test_doctor_prints_a_readable_diagnosis(env, capsys, monkeypatch):
    client, zebra, _ = env
    zebra.set_fault("paper-out")
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    code = main(["doctor", "--url", str(client.base_url)])
    out = capsys.readouterr().out
    assert code == 1  # something failed: scripts can tell
    assert re.search(r"^shelf\s+Needs attention", out, re.M)
    assert re.search(r"^till\s+Ready", out, re.M) and re.search(r"^gone\s+", out, re.M)
    assert re.search(r"Failed\s+status\s+Out of paper or labels\s+"
                     r"Put in a new roll and close the cover\.", out)


def test_selftest_command_reports_one_printer(env, capsys, monkeypatch):
    client, *_ = env
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    assert main(["selftest", "till", "--url", str(client.base_url)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Self-test of till: OK in ") and re.search(r"OK\s+identification", out)
    assert main(["selftest", "gone", "--url", str(client.base_url)]) == 1
    assert re.search(r"Failed\s+transport reachable", capsys.readouterr().out)



def test_a_model_plugins_check_answers_with_a_check_result(simulator, plugins):
    """The contract of labeld_selftest_checks: run(printer) -> CheckResult, bounded and named."""
    import asyncio

    from labeld.config import Config
    from labeld.contracts import CheckResult, SelfTestCheck
    from labeld.delivery.printers import build_printers
    from labeld.reasons import INTERNAL_ERROR
    from labeld.diagnostics.selftest import run_selftest, verdict, worst

    async def model_answer(p):
        return CheckResult("warn", f"{p.model.id} is fine, mostly", "Look at it.", {"n": 1})

    async def never(_):
        await asyncio.sleep(60)

    zebra = simulator("zpl")
    shelf = build_printers(Config(delivery=FAST_DELIVERY,
                                  printers=[printer("shelf", zebra, "zebra-generic-203")]),
                           plugins)["shelf"]
    checks = asyncio.run(run_selftest(shelf, extra=[SelfTestCheck("model", model_answer),
                                                    SelfTestCheck("stuck", never)]))
    by = {c.name: c for c in checks}
    assert (by["model"].status, by["model"].detail, by["model"].hint, by["model"].data) == \
        ("warn", "zebra-generic-203 is fine, mostly", "Look at it.", {"n": 1})
    assert by["stuck"].status == "fail" and "no answer within" in by["stuck"].detail
    assert worst(checks) == "fail"

    assert verdict([], {}, "all good") == CheckResult("ok", "all good", "",
                                                      {"reasons": [], "fields": {}})
    failed = verdict([INTERNAL_ERROR], {"x": 1}, "all good")  # an error: the check fails
    assert failed.status == "fail" and failed.hint and failed.data["fields"] == {"x": 1}
