"""The morning report: what happened to each printer while the support desk was closed, who did
what about it, and what is still wrong. The default range is a pure function of the clock; the
report itself is built from what labeld recorded, shown here twice: a scripted evening at its
real hours (the event log's clock set, the store real), and an evening of faults played on a
real daemon with real simulators and staff tokens, read through the API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from labeld.config import SupportConfig
from labeld.contracts import Reason, Severity
from labeld.diagnostics import report
from labeld.events import EventHub
from labeld.http import schemas
from labeld.reasons import describe
from labeld.security import AuditLog
from labeld.store import EventLog
from tests.conftest import PATIENT_DELIVERY, printer, token, wait_for, wait_job

BUDAPEST = ZoneInfo("Europe/Budapest")
DESK = SupportConfig(timezone="Europe/Budapest")


def bud(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUDAPEST)


# -- the default range: since the support desk last closed -------------------------------------

@pytest.mark.parametrize(("now", "since"), [
    (bud(2026, 3, 16, 9, 0), bud(2026, 3, 13, 16, 0)),    # Monday morning: since Friday 16:00
    (bud(2026, 3, 17, 7, 0), bud(2026, 3, 16, 16, 0)),    # Tuesday early: since Monday 16:00
    (bud(2026, 3, 17, 10, 0), bud(2026, 3, 16, 16, 0)),   # the desk is open: still Monday's
    (bud(2026, 3, 17, 16, 0), bud(2026, 3, 17, 16, 0)),   # the moment it closes
    (bud(2026, 3, 14, 12, 0), bud(2026, 3, 13, 16, 0)),   # Saturday: since Friday
    (bud(2026, 3, 16, 15, 59), bud(2026, 3, 13, 16, 0)),  # Monday, desk still open
])
def test_the_report_starts_when_the_desk_last_closed(now, since):
    assert report.desk_closed(now, DESK) == since


def test_a_weekend_across_the_change_to_summer_time_is_an_hour_shorter():
    # 29 March 2026: clocks go from 02:00 CET to 03:00 CEST.
    now = bud(2026, 3, 30, 9, 0)
    since = report.desk_closed(now, DESK)
    assert since.astimezone(UTC) == datetime(2026, 3, 27, 15, 0, tzinfo=UTC)  # 16:00 CET
    # (aware datetimes of one zone subtract as wall clocks: compare in UTC)
    assert (now.astimezone(UTC) - since).total_seconds() == (65 - 1) * 3600


def test_a_weekend_across_the_change_to_winter_time_is_an_hour_longer():
    # 25 October 2026: clocks go from 03:00 CEST back to 02:00 CET.
    now = bud(2026, 10, 26, 9, 0)
    since = report.desk_closed(now, DESK)
    assert since.astimezone(UTC) == datetime(2026, 10, 23, 14, 0, tzinfo=UTC)  # 16:00 CEST
    assert (now.astimezone(UTC) - since).total_seconds() == (65 + 1) * 3600


def test_other_hours_and_days_and_times_from_another_zone():
    desk = SupportConfig(hours="09:30-17:30", days=["mon", "wed"], timezone="Europe/Budapest")
    # Tuesday 08:00 UTC is 09:00 in Budapest: the desk closed on Monday at 17:30 there.
    assert report.desk_closed(datetime(2026, 3, 17, 8, 0, tzinfo=UTC), desk) == \
        bud(2026, 3, 16, 17, 30)
    # A wall-clock time without a zone is the shop's.
    assert report.desk_closed(datetime(2026, 3, 19, 9, 0), desk) == bud(2026, 3, 18, 17, 30)


# -- a scripted evening, at its real hours -----------------------------------------------------

class Clock:
    def __init__(self, start: datetime):
        self.now = start.timestamp()

    def at(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now


def status(*reasons: Reason) -> dict:
    """A printer-status event's fields, as the delivery worker records them."""
    return {"code": reasons[0].code if reasons else "ok",
            "message": ", ".join(r.code for r in reasons) or "ready",
            "data": {"reasons": [describe(r) for r in reasons],
                     "state": "stopped" if reasons else "idle"}}


PAPER_OUT = Reason("media-empty", "paper-out", Severity.ERROR)
HEAD_OPEN = Reason("cover-open", "head-open", Severity.ERROR)
COVER_OPEN = Reason("cover-open", "cover-open", Severity.ERROR)
NEAR_END = Reason("media-low", "paper-near-end", Severity.WARNING)


def test_a_scripted_evening_of_faults_and_what_staff_did(db):
    clock = Clock(bud(2026, 3, 13, 17, 0))
    log = EventLog(db, clock=clock)
    audit = AuditLog(db, clock=clock)
    hub = EventHub(log)

    async def evening() -> report.Report:
        # Before the desk closed: the receipt printer's paper was running low already.
        clock.at(bud(2026, 3, 13, 15, 0))
        await hub.emit("printer-status", printer="till", **status(NEAR_END))
        clock.at(bud(2026, 3, 13, 18, 30))
        await hub.emit("printer-status", printer="shelf", **status(PAPER_OUT))
        await hub.emit("job", printer="shelf", job_id="a" * 32, code="held",
                       message="Out of paper", data={"outcome": "hold"})
        clock.at(bud(2026, 3, 13, 18, 35))
        await hub.emit("printer-status", printer="shelf", **status(PAPER_OUT, HEAD_OPEN))
        clock.at(bud(2026, 3, 13, 18, 41))
        # guides and maintenance actions are recorded by their own rooms, in this shape
        await hub.emit("guide", printer="shelf", code="paper-out", message="guide followed",
                       data={"fixed": True, "by": "kati", "role": "staff", "still": []})
        await hub.emit("maintenance", printer="shelf", code="calibrate",
                       message="calibrate", data={"by": "kati", "role": "staff",
                                                  "value": None, "prints": 1})
        clock.at(bud(2026, 3, 13, 18, 42))
        await hub.emit("printer-status", printer="shelf", **status(PAPER_OUT))
        clock.at(bud(2026, 3, 13, 18, 50))
        await hub.emit("printer-status", printer="shelf", **status())
        await hub.emit("job", printer="shelf", job_id="a" * 32, code="released",
                       message="released by kati", data={"by": "kati", "role": "staff"})
        clock.at(bud(2026, 3, 13, 19, 5))
        await hub.emit("maintenance", printer="shelf", code="darkness", message="darkness",
                       data={"by": "anna", "role": "tech", "value": 25, "prints": 0})
        # An event from before labeld named people: the audit log knows who it was.
        clock.at(bud(2026, 3, 13, 21, 0))
        await audit.record(who="kati", role="staff", method="DELETE",
                           path="/v1/jobs/" + "b" * 32, target="job_id=" + "b" * 32,
                           status=200)
        await hub.emit("job", printer="till", job_id="b" * 32, code="canceled",
                       message="canceled")
        clock.at(bud(2026, 3, 13, 21, 15))
        await hub.emit("printer-status", printer="till", **status(NEAR_END, COVER_OPEN))
        since, until = bud(2026, 3, 13, 16, 0).timestamp(), bud(2026, 3, 16, 8, 0).timestamp()
        return report.build(
            since, until, await log.between(since, until),
            before=await log.last_before(since, "printer-status"),
            audit=await audit.between(since, until),
            printers={"shelf": report.Now("Shelf Zebra", [], []),
                      "till": report.Now("Till", [COVER_OPEN, NEAR_END], [])},
            timezone="Europe/Budapest")

    made = asyncio.run(evening())
    shelf, till = made.printers
    assert [(f.code, f.started, f.ended, f.duration_s) for f in shelf.faults] == [
        ("paper-out", bud(2026, 3, 13, 18, 30).timestamp(),
         bud(2026, 3, 13, 18, 50).timestamp(), 20 * 60.0),
        ("head-open", bud(2026, 3, 13, 18, 35).timestamp(),
         bud(2026, 3, 13, 18, 42).timestamp(), 7 * 60.0)]
    assert shelf.faults[0].message == describe(PAPER_OUT)["message"]  # both languages
    assert [(a.kind, a.code, a.by, a.role) for a in shelf.actions] == [
        ("guide", "paper-out", "kati", "staff"), ("maintenance", "calibrate", "kati", "staff"),
        ("released", "released", "kati", "staff"), ("maintenance", "darkness", "anna", "tech")]
    assert shelf.actions[0].text["en"] == ("kati followed the guide “Out of paper or labels”: it "
                                           "fixed the fault")
    # a printer whose model no longer declares the action: its id stands for its title
    assert shelf.actions[3].text["en"] == "anna ran “darkness” (25)"
    assert set(shelf.actions[2].text) == {"en", "hu"} and "kati" in shelf.actions[2].text["hu"]
    assert shelf.still_wrong == [] and not shelf.held_jobs

    # The till: low paper since before the desk closed, its cover still open at the end.
    assert [(f.code, f.started, f.ended) for f in till.faults] == [
        ("paper-near-end", bud(2026, 3, 13, 15, 0).timestamp(), None),
        ("cover-open", bud(2026, 3, 13, 21, 15).timestamp(), None)]
    assert till.faults[1].duration_s == (bud(2026, 3, 16, 8, 0)
                                         - bud(2026, 3, 13, 21, 15)).total_seconds()
    assert [(a.kind, a.by, a.role) for a in till.actions] == [("canceled", "kati", "staff")]
    assert [r["code"] for r in till.still_wrong] == ["cover-open", "paper-near-end"]
    body = made.as_json()
    assert body["since"] == "2026-03-13T15:00:00.000+00:00"
    assert body["printers"][1]["faults"][1]["ended"] is None


# -- an evening on a real daemon, read through the API -------------------------------------------

def test_an_evening_of_faults_on_a_real_daemon(daemon, simulator):
    zebra, receipt = simulator("zpl"), simulator("escpos")
    admin = daemon([printer("shelf", zebra, "zebra-generic-203"),
                    printer("till", receipt, "escpos-generic-80")], delivery=PATIENT_DELIVERY)
    started = datetime.now(UTC)

    def client(role: str, name: str) -> httpx.Client:
        return httpx.Client(base_url=admin.base_url, timeout=30,
                            headers={"Authorization": f"Bearer {token(admin, role, name)}"})

    till, kati, anna = client("pos", "till-1"), client("staff", "kati"), client("tech", "anna")
    job = {"printer": "shelf", "raw": {"data": "^XA^FDok^FS^XZ"}}

    # Paper runs out on the label printer; two labels wait for it.
    zebra.set_fault("paper-out")
    first, second = (till.post("/v1/jobs", json=job).json() for _ in range(2))
    wait_for(lambda: admin.get(f"/v1/jobs/{second['id']}").json()["state"] == "held")
    # Kati cancels one, puts paper in and releases the other, which then prints.
    kati.delete(f"/v1/jobs/{first['id']}").raise_for_status()
    kati.post(f"/v1/jobs/{second['id']}/release").raise_for_status()
    # She follows the guide: "did it work?" before the roll is in, and after.
    check = "/v1/printers/shelf/guides/paper-out/check"
    assert kati.post(check).json()["fixed"] is False
    zebra.clear_fault("paper-out")
    assert kati.post(check).json()["fixed"] is True
    wait_job(admin, second["id"], ("completed",))
    # A new kind of roll: she calibrates the labels from the Diagnose page's actions.
    calibration = kati.post("/v1/printers/shelf/actions/calibrate", json={})
    assert calibration.status_code == 202, calibration.text
    wait_job(admin, calibration.json()["id"], ("completed",))
    # Later the receipt printer's cover is left open, with a receipt waiting.
    receipt.set_fault("cover-open")
    held = till.post("/v1/jobs", json={"printer": "till", "raw": {"data": "thanks\n"}}).json()
    wait_for(lambda: admin.get(f"/v1/jobs/{held['id']}").json()["state"] == "held")

    assert kati.get("/v1/report").status_code == 403  # the technician's reading
    got = anna.get("/v1/report", params={"since": started.isoformat()})
    assert got.status_code == 200, got.text
    body = got.json()
    schemas.Report.model_validate(body, extra="forbid")  # as the API document describes it
    shelf, receipts = body["printers"]
    events = admin.get("/v1/printers/shelf/events", params={"limit": 1000}).json()["events"]
    turns = [e for e in reversed(events) if e["kind"] == "printer-status"]
    went_out = next(e for e in turns if "paper-out" in [r["code"] for r in e["data"]["reasons"]])
    came_back = next(e for e in turns if e["seq"] > went_out["seq"]
                     and "paper-out" not in [r["code"] for r in e["data"]["reasons"]])
    paper = [f for f in shelf["faults"] if f["code"] == "paper-out"]
    assert [(f["started"], f["ended"]) for f in paper] == [(went_out["at"], came_back["at"])]
    lasted = (datetime.fromisoformat(came_back["at"])
              - datetime.fromisoformat(went_out["at"])).total_seconds()
    assert paper[0]["duration_s"] == pytest.approx(lasted, abs=0.1)
    assert paper[0]["message"]["hu"] and paper[0]["message"]["en"] == "Out of paper or labels"
    assert [(a["kind"], a["code"], a["by"], a["role"]) for a in shelf["actions"]] == [
        ("canceled", "canceled", "kati", "staff"), ("released", "released", "kati", "staff"),
        ("guide", "paper-out", "kati", "staff"), ("guide", "paper-out", "kati", "staff"),
        ("maintenance", "calibrate", "kati", "staff")]
    canceled, released, not_yet, fixed, calibrated = shelf["actions"]
    assert (canceled["job"], released["job"]) == (first["id"], second["id"])
    assert (not_yet["data"]["fixed"], fixed["data"]["fixed"]) == (False, True)
    assert calibrated["job"] == calibration.json()["id"] and calibrated["data"]["prints"]
    # what was run and followed is named as the console names it, in both languages
    assert calibrated["text"] == {"en": "kati ran “Calibrate the labels”",
                                  "hu": "kati elindította ezt a karbantartást: „Címkék "
                                        "kalibrálása”"}
    assert fixed["text"]["en"] == ("kati followed the guide “Out of paper or labels”: it fixed "
                                   "the fault")
    assert fixed["text"]["hu"].startswith("kati végigment az útmutatón („")
    assert shelf["still_wrong"] == [] and shelf["held_jobs"] == []

    cover = [f for f in receipts["faults"] if f["code"] == "cover-open"]
    assert len(cover) == 1 and cover[0]["ended"] is None
    assert "cover-open" in [r["code"] for r in receipts["still_wrong"]]
    assert [j["id"] for j in receipts["held_jobs"]] == [held["id"]]
    assert receipts["held_jobs"][0]["error"]["message_i18n"]["hu"]
    for c in (till, kati, anna):
        c.close()


def test_a_range_that_ends_before_it_starts_is_refused(daemon):
    c = daemon([])
    resp = c.get("/v1/report", params={"since": "2026-03-14T10:00:00+01:00",
                                       "until": "2026-03-14T09:00:00+01:00"})
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid-range"


def test_who_paused_and_resumed_a_printer_is_in_the_report_and_on_the_live_events(daemon, zebra):
    admin = daemon([printer("shelf", zebra, "zebra-generic-203")])
    anna = httpx.Client(base_url=admin.base_url, timeout=30,
                        headers={"Authorization": f"Bearer {token(admin, 'tech', 'anna')}"})
    started = datetime.now(UTC)
    anna.post("/v1/printers/shelf/pause").raise_for_status()
    anna.post("/v1/printers/shelf/resume").raise_for_status()
    events = admin.get("/v1/printers/shelf/events").json()["events"]
    assert [(e["code"], e["data"]["by"]) for e in reversed(events) if e["kind"] == "printer"] == [
        ("paused", "anna"), ("resumed", "anna")]
    shelf = anna.get("/v1/report", params={"since": started.isoformat()}).json()["printers"][0]
    assert [(a["kind"], a["by"], a["text"]["en"]) for a in shelf["actions"]] == [
        ("paused", "anna", "anna paused the printer"),
        ("resumed", "anna", "anna resumed the printer")]
    anna.close()
