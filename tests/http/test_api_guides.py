"""Guided fixes over HTTP, against real simulators: each guide's "did it work?" asks the printer
now and tells the truth (the fault set: not fixed, naming what is still reported; cleared:
fixed), records who checked as a `guide` event, and only shop staff and up may use them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from labeld.config import Config, ServerConfig
from labeld.contracts import Guide, Role
from labeld.hookspecs import hookimpl
from labeld.i18n import N_
from labeld.pluginmanager import default_manager
from labeld.server import ServerThread
from tests.conftest import FAST_DELIVERY, PATIENT_DELIVERY, printer, token, wait_for, wait_job
from tests.http.test_api_openapi import check as documented_answer

MODELS = {"zpl": "zebra-generic-203", "escpos": "escpos-generic-80", "tspl": "tsc-generic-203"}

# Every fault a simulator can set whose guide checks the printer's status, with the code the
# printer then reports. `offline` (the simulator stops listening) is the printer switched off.
STATUS_FAULTS = [
    ("zpl", "paper-out", "paper-out"), ("zpl", "head-open", "head-open"),
    ("zpl", "ribbon-out", "ribbon-out"), ("zpl", "paused", "paused"),
    ("zpl", "head-too-hot", "head-too-hot"), ("zpl", "buffer-full", "buffer-full"),
    ("zpl", "offline", "printer-unreachable"),
    ("escpos", "paper-out", "paper-out"), ("escpos", "paper-near-end", "paper-near-end"),
    ("escpos", "cover-open", "cover-open"), ("escpos", "cutter-error", "cutter-error"),
    ("escpos", "unrecoverable-error", "unrecoverable-error"),
    ("escpos", "silent", "no-status-reply"), ("escpos", "offline", "printer-unreachable"),
    ("tspl", "head-open", "head-open"), ("tspl", "paper-jam", "paper-jam"),
    ("tspl", "paper-out", "paper-out"), ("tspl", "ribbon-out", "ribbon-out"),
    ("tspl", "paused", "paused"), ("tspl", "cover-open", "cover-open"),
    ("tspl", "temperature-out-of-range", "temperature-out-of-range"),
]


def events(client, printer_id: str) -> list[dict]:
    return [e for e in client.get(f"/v1/printers/{printer_id}/events").json()["events"]
            if e["kind"] == "guide"]


@pytest.mark.parametrize("language, fault, code", STATUS_FAULTS,
                         ids=[f"{lang}-{fault}" for lang, fault, _ in STATUS_FAULTS])
def test_did_it_work_says_not_fixed_while_the_fault_is_set_and_fixed_once_cleared(
        daemon, simulator, language, fault, code):
    sim = simulator(language)
    client = daemon([printer("p", sim, MODELS[language])])
    staff = {"Authorization": f"Bearer {token(client, 'staff', 'eva')}"}
    sim.set_fault(fault)
    guide = client.get(f"/v1/printers/p/guides/{code}", headers=staff).json()
    assert guide["check"] == "status" and guide["steps"]

    answer = client.post(f"/v1/printers/p/guides/{code}/check", headers=staff).json()
    assert answer["fixed"] is False
    assert code in [r["code"] for r in answer["still"]]
    assert answer["message"]["en"].startswith("Not fixed")

    sim.clear_fault(fault)
    answer = client.post(f"/v1/printers/p/guides/{code}/check", headers=staff).json()
    assert answer == {**answer, "code": code, "fixed": True}
    assert code not in [r["code"] for r in answer["still"]]

    recorded = events(client, "p")
    assert [(e["code"], e["message"], e["data"]["fixed"]) for e in recorded] == [
        (code, "guide check: fixed", True), (code, "guide check: not fixed", False)]
    assert recorded[0]["data"]["by"] == "eva" and recorded[0]["data"]["role"] == "staff"
    assert recorded[1]["data"]["still"] and code in recorded[1]["data"]["still"]


def test_did_it_work_asks_the_printer_now_not_its_last_answer(daemon, zebra):
    """The daemon's last status still says paper-out (nothing polls it in between); the check
    asks again and sees the new roll."""
    client = daemon([printer("shelf", zebra, "zebra-generic-203")],
                    delivery=FAST_DELIVERY.model_copy(update={"watch_idle_s": 3600}))
    zebra.set_fault("paper-out")
    client.get("/v1/printers/shelf/status")
    zebra.clear_fault("paper-out")
    assert any(r["code"] == "paper-out"
               for r in client.get("/v1/printers/shelf").json()["state_reasons"])
    assert client.post("/v1/printers/shelf/guides/paper-out/check").json()["fixed"] is True


def test_the_guides_list_follows_what_the_printer_reports(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    zebra.set_fault("head-open")
    client.get("/v1/printers/shelf/status")
    listed = documented_answer(client.get("/v1/printers/shelf/guides"), "GET",
                               "/v1/printers/{printer_id}/guides").json()["guides"]
    assert [g["code"] for g in listed] == ["head-open"]
    assert listed[0]["source"] == "language"  # the Zebra family's: latches on both sides
    assert listed[0]["drawing"] == "/v1/printers/shelf/guides/head-open/drawing.svg"
    zebra.clear_fault("head-open")
    client.get("/v1/printers/shelf/status")
    assert client.get("/v1/printers/shelf/guides").json() == {"guides": []}


def test_held_jobs_have_a_guide_whose_check_is_the_queue(daemon, till):
    """A receipt printer that stopped reading mid-job may have printed it: the job is held for
    a person. The held-jobs guide is listed, and its check is fixed once nothing is held."""
    client = daemon([printer("till", till, "escpos-generic-80")], delivery=PATIENT_DELIVERY)
    till.set_fault("half-open")
    job = client.post("/v1/jobs", json={"printer": "till", "raw": {"data": "Nyugta\n"}}).json()
    wait_for(lambda: any(r["code"] == "not-taking-data" for r in
                         client.get("/v1/printers/till").json()["state_reasons"]), timeout=10)
    till.clear_faults()
    wait_job(client, job["id"], states=("held",))
    staff = {"Authorization": f"Bearer {token(client, 'staff', 'eva')}"}

    codes = [g["code"] for g in client.get("/v1/printers/till/guides", headers=staff).json()[
        "guides"]]
    assert "jobs-held" in codes
    guide = client.get("/v1/printers/till/guides/jobs-held", headers=staff).json()
    assert guide["check"] == "queue" and guide["source"] == "labeld"

    answer = documented_answer(client.post("/v1/printers/till/guides/jobs-held/check",
                                           headers=staff),
                               "POST", "/v1/printers/{printer_id}/guides/{code}/check").json()
    assert answer["fixed"] is False and "1 job is still held" in answer["message"]["en"]
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 200  # canceled by the admin
    answer = client.post("/v1/printers/till/guides/jobs-held/check", headers=staff).json()
    assert answer["fixed"] is True
    assert [e["data"]["fixed"] for e in events(client, "till")] == [True, False]


def test_a_setting_cannot_be_checked_from_here(client):
    answer = client.post("/v1/printers/shelf/guides/zpl-utf8-without-ci28/check").json()
    assert answer["fixed"] is None and answer["still"] == []
    assert events(client, "shelf")[0]["message"] == "guide check: cannot tell"


def test_the_drawing_is_served_as_svg_that_runs_nothing(client):
    resp = documented_answer(client.get("/v1/printers/shelf/guides/paper-out/drawing.svg"), "GET",
                             "/v1/printers/{printer_id}/guides/{code}/drawing.svg")
    assert resp.headers["content-type"] == "image/svg+xml"
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in resp.headers["content-security-policy"]
    assert resp.content.startswith(b"<svg") and b"<script" not in resp.content
    till = client.get("/v1/printers/till/guides/paper-out/drawing.svg")
    assert till.status_code == 200 and till.content != resp.content  # the receipt printer's
    assert client.get("/v1/printers/shelf/guides/jobs-held/drawing.svg").json()["error"][
        "code"] == "no-drawing"


def test_an_unknown_code_or_printer_is_a_404(client):
    wrong = documented_answer(client.get("/v1/printers/shelf/guides/banana"), "GET",
                              "/v1/printers/{printer_id}/guides/{code}")
    assert wrong.status_code == 404 and wrong.json()["error"]["code"] == "unknown-guide"
    assert client.post("/v1/printers/nope/guides/paper-out/check").json()["error"][
        "code"] == "unknown-printer"


@pytest.mark.parametrize("role, allowed", [("pos", False), ("staff", True), ("tech", True)])
def test_guides_are_for_shop_staff_and_up(client, role, allowed):
    headers = {"Authorization": f"Bearer {token(client, role)}"}
    answers = [client.get("/v1/printers/shelf/guides", headers=headers),
               client.get("/v1/printers/shelf/guides/paper-out", headers=headers),
               client.get("/v1/printers/shelf/guides/paper-out/drawing.svg", headers=headers),
               client.post("/v1/printers/shelf/guides/paper-out/check", headers=headers)]
    assert [a.status_code for a in answers] == [200 if allowed else 403] * 4


# -- a model's guide beats its family's, which beats labeld's -----------------------------------

class ShopGuides:
    """An out-of-tree plugin, as a shop's integrator would write one: its own steps for one
    model, a drawing of its own, and a guide for a code of its own for every printer."""

    def __init__(self, drawing: Path):
        self.drawing = drawing

    @hookimpl
    def labeld_guides(self) -> list[Guide]:
        return [
            Guide("paper-out", (N_("Ask Márta for the labels in the back room."),),
                  drawing=self.drawing, models=("zebra-generic-203",)),
            Guide("paper-out", (N_("Never shown: another model's."),), models=("other",)),
            Guide("shop-scale-offline", (N_("Switch the scale on."),), check="none"),
        ]


@pytest.fixture
def shop_with_plugin(tmp_path, zebra):
    drawing = tmp_path / "roll.svg"
    drawing.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
                       '<circle cx="5" cy="5" r="4"/></svg>')
    plugins = default_manager()
    plugins.register(ShopGuides(drawing), "shop-guides")
    config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"), log_level="warning"),
                    delivery=FAST_DELIVERY,
                    printers=[printer("shelf", zebra, "zebra-generic-203"),
                              printer("big", zebra, "zebra-generic-300")])
    with ServerThread(config, plugins=plugins) as server:
        secret, _ = server.app.state.daemon.token_store.create_sync("staff", Role.STAFF)
        with httpx.Client(base_url=server.url, timeout=10,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            yield client, drawing


def test_the_models_guide_wins_then_the_family_then_labelds(shop_with_plugin):
    client, drawing = shop_with_plugin

    def guide(pid: str, code: str) -> dict:
        return client.get(f"/v1/printers/{pid}/guides/{code}").json()

    mine = guide("shelf", "paper-out")
    assert mine["source"] == "model"
    assert [s["en"] for s in mine["steps"]] == ["Ask Márta for the labels in the back room."]
    assert client.get(mine["drawing"]).content == drawing.read_bytes()
    assert guide("big", "paper-out")["source"] == "language"  # not its model: the Zebra family's
    assert guide("shelf", "head-open")["source"] == "language"
    assert guide("shelf", "cutter-error")["source"] == "labeld"  # no Zebra words for it
    assert guide("shelf", "shop-scale-offline")["source"] == "labeld"
    assert guide("shelf", "shop-scale-offline")["check"] == "none"
    assert guide("shelf", "paper-feed-error")["source"] == "fallback"

