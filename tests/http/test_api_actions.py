"""Maintenance actions over the API: a printer lists what its model declares, a declared
action's bytes reach the printer through its queue, and everything else is refused before a
byte is sent: an undeclared action (404), a role below the action's (403), a value outside its
range (422). Every run is an event and an audit entry; the raw-command policy is unchanged."""

from __future__ import annotations

import time

import pytest

from labeld.drivers.zpl.simulator import SPEC as ZPL
from labeld.i18n import translator
from labeld.sim import SimulatorThread
from tests.conftest import printer, send_job, token, wait_job

ZEBRA_ACTIONS = ["calibrate", "config-label", "feed", "darkness", "cancel-buffer"]


@pytest.fixture
def shop(daemon, zebra, till, simulator):
    tsc = simulator("tspl")
    c = daemon([printer("shelf", zebra, "zebra-generic-203"),
                printer("till", till, "escpos-generic-80"),
                printer("tsc", tsc, "tsc-generic-203")])
    c.sims = {"shelf": zebra, "till": till, "tsc": tsc}
    return c


def as_role(c, role: str, name: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(c, role, name)}"}


def run(c, printer_id: str, action: str, value=None, headers=None):
    return c.post(f"/v1/printers/{printer_id}/actions/{action}",
                  json={"value": value}, headers=headers or {})


def data_jobs(sim) -> list[bytes]:
    return [j.data for j in sim.jobs()]


def test_a_zebra_lists_its_actions_in_both_languages_with_their_roles(shop):
    got = shop.get("/v1/printers/shelf/actions", headers=as_role(shop, "staff"))
    assert got.status_code == 200
    actions = {a["id"]: a for a in got.json()["actions"]}
    assert list(actions) == ZEBRA_ACTIONS
    calibrate = actions["calibrate"]
    assert calibrate["role"] == "staff" and calibrate["prints"] is True
    assert calibrate["title"]["en"] == "Calibrate the labels"
    # The Hungarian is the catalogue's (labeld/locale), as for every word a person reads.
    hu = translator("hu")
    assert calibrate["title"]["hu"] == hu.gettext("Calibrate the labels")
    assert calibrate["explanation"]["hu"] == hu.gettext(calibrate["explanation"]["en"])
    assert actions["cancel-buffer"]["prints"] is False
    darkness = actions["darkness"]
    assert darkness["role"] == "tech"
    assert {k: darkness["param"][k] for k in ("name", "minimum", "maximum", "default")} == {
        "name": "darkness", "minimum": 10, "maximum": 25, "default": 15}
    assert "command" not in darkness  # a caller names an action; it never sees or sends bytes


def test_each_family_offers_its_own(shop):
    ids = {pid: [a["id"] for a in shop.get(f"/v1/printers/{pid}/actions").json()["actions"]]
           for pid in ("till", "tsc")}
    assert ids == {"till": ["test-print", "feed-cut"], "tsc": ["gap-calibrate", "self-test"]}


@pytest.mark.parametrize("action, value, sent", [
    ("calibrate", None, b"~JC"),
    ("config-label", None, b"~WC"),
    ("feed", None, b"~PH"),
    ("darkness", 20, b"~SD20"),
    ("darkness", None, b"~SD15"),  # no value: the action's default
])
def test_each_zebra_actions_exact_bytes_reach_the_printer(shop, action, value, sent):
    zebra = shop.sims["shelf"]
    answer = run(shop, "shelf", action, value)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert job["kind"] == "maintenance" and job["action"] == action
    assert answer.headers["Location"] == f"/v1/jobs/{job['id']}"
    done = wait_job(shop, job["id"])
    assert done["state"] == "completed" and done["action"] == action
    assert data_jobs(zebra) == [sent]


def test_the_zebra_acts_on_them(daemon):
    with SimulatorThread(ZPL, options={"media_length": 406}) as zebra:
        c = daemon([printer("shelf", zebra, "zebra-generic-203")])
        for action, value in (("calibrate", None), ("darkness", 22), ("config-label", None),
                              ("feed", None)):
            wait_job(c, run(c, "shelf", action, value).json()["id"])
        state = zebra.state()
        assert state["settings"]["measured_length_dots"] == 406  # calibrated to the new roll
        assert state["settings"]["darkness"] == 22
        assert state["counters"]["config_labels"] == 1
        assert state["counters"]["labels_fed"] == 2 + 1  # calibration's, then one label
        # The self-test's media check reads what the calibration measured: 406 dots = 50.8 mm.
        media = next(ch for ch in c.post("/v1/printers/shelf/selftest").json()["checks"]
                     if ch["name"] == "media size")
        assert media["data"]["printer_label_length_mm"] == 50.8


def test_cancel_buffer_empties_a_busy_printers_buffer(shop):
    zebra = shop.sims["shelf"]
    zebra.set_fault("busy")  # printing a long batch another computer sent
    for _ in range(3):
        send_job(zebra.port, b"^XA^FO10,10^GB100,100,100^FS^XZ")
    zebra.wait_jobs(3)
    job = run(shop, "shelf", "cancel-buffer").json()
    zebra.wait_until(lambda s: not s.device.buffered)
    assert zebra.state()["settings"]["control_commands"][-1] == "~JA"
    assert wait_job(shop, job["id"])["state"] == "completed"
    zebra.clear_fault("busy")
    assert [j.canceled for j in zebra.jobs()] == [True, True, True]
    assert zebra.state()["counters"]["labels_printed"] == 0


def test_tsc_and_receipt_actions_reach_their_printers(shop):
    for pid, action in (("tsc", "gap-calibrate"), ("tsc", "self-test"),
                        ("till", "test-print"), ("till", "feed-cut")):
        wait_job(shop, run(shop, pid, action).json()["id"])
    assert data_jobs(shop.sims["tsc"]) == [b"GAPDETECT\r\n", b"SELFTEST\r\n"]
    tsc = shop.sims["tsc"].state()["counters"]
    assert tsc["gap_calibrations"] == 1 and tsc["self_tests"] == 1
    receipts = data_jobs(shop.sims["till"])
    assert receipts[0].startswith(b"\x1b@") and receipts[0].endswith(b"\x1bd\x05\x1dV\x00")
    assert b"TEST / TESZT" in receipts[0]
    assert receipts[1] == b"\x1bd\x05\x1dV\x00"
    till = shop.sims["till"].state()["counters"]
    assert till["receipts_printed"] == 2 and till["lines_fed"] == 10


def wait_quiet(seconds: float = 0.5) -> None:
    time.sleep(seconds)  # long enough for a queued job to reach the printer, had it been queued


def test_an_undeclared_action_is_404_and_nothing_is_sent(shop):
    zebra = shop.sims["shelf"]
    for action in ("format-disk", "self-test"):  # nothing, and a TSC's action
        answer = run(shop, "shelf", action)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "unknown-action"
        assert "calibrate" in answer.json()["error"]["hint"]
    assert run(shop, "nowhere", "calibrate").json()["error"]["code"] == "unknown-printer"
    wait_quiet()
    assert zebra.jobs() == [] and shop.get("/v1/jobs").json()["jobs"] == []


@pytest.mark.parametrize("value", [9, 26, 99, -1])
def test_darkness_outside_its_safe_range_is_422_and_nothing_is_sent(shop, value):
    answer = run(shop, "shelf", "darkness", value)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "value-out-of-range"
    assert "10 to 25" in answer.json()["error"]["message"]
    wait_quiet(0.3)
    assert shop.sims["shelf"].jobs() == []


def test_a_value_for_an_action_without_one_is_refused(shop):
    answer = run(shop, "shelf", "calibrate", 5)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "unexpected-value"
    assert run(shop, "shelf", "darkness", "dark").status_code == 422  # not a number


def test_roles_pos_never_staff_the_safe_ones_tech_all(shop):
    pos, staff, tech = (as_role(shop, r) for r in ("pos", "staff", "tech"))
    refused = shop.get("/v1/printers/shelf/actions", headers=pos)
    assert refused.status_code == 403
    assert run(shop, "shelf", "calibrate", headers=pos).status_code == 403
    assert run(shop, "shelf", "calibrate", headers=staff).status_code == 202
    darkness = run(shop, "shelf", "darkness", 18, headers=staff)
    assert darkness.status_code == 403
    assert darkness.json()["error"]["code"] == "insufficient-role"
    assert "tech" in darkness.json()["error"]["message"]
    assert run(shop, "shelf", "darkness", 18, headers=tech).status_code == 202
    shop.sims["shelf"].wait_jobs(2)
    wait_quiet(0.3)
    assert data_jobs(shop.sims["shelf"]) == [b"~JC", b"~SD18"]


def test_the_raw_policy_still_refuses_the_same_commands_as_a_raw_job(shop):
    staff = as_role(shop, "staff")
    for data in ("~JC", "~WC", "~SD20"):
        raw = shop.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": data}},
                        headers=staff)
        assert raw.status_code == 403, data
        assert raw.json()["error"]["code"] == "forbidden-command"
    assert run(shop, "shelf", "calibrate", headers=staff).status_code == 202


def test_a_run_is_an_event_and_an_audit_entry(shop):
    staff = as_role(shop, "staff", "anna-staff")
    job = run(shop, "shelf", "calibrate", headers=staff).json()
    assert job["owner"] == "anna-staff"
    wait_job(shop, job["id"])
    events = shop.get("/v1/printers/shelf/events").json()["events"]
    event = next(e for e in events if e["kind"] == "maintenance")
    assert event["job"] == job["id"] and event["code"] == "calibrate"
    assert event["data"] == {"by": "anna-staff", "role": "staff", "value": None,
                             "prints": True}
    run(shop, "shelf", "darkness", 18, headers=staff)  # refused: tech only
    run(shop, "shelf", "darkness", 30)  # refused: out of range (as admin)
    audit = shop.get("/v1/audit?limit=10").json()["entries"]
    by_path = [(e["who"], e["target"], e["status"]) for e in reversed(audit)
               if e["path"].startswith("/v1/printers/shelf/actions/")]
    assert by_path == [
        ("anna-staff", "printer_id=shelf,action_id=calibrate", 202),
        ("anna-staff", "printer_id=shelf,action_id=darkness,value=18", 403),
        ("test-admin", "printer_id=shelf,action_id=darkness,value=30", 422),
    ]


def test_a_maintenance_job_is_not_reprinted(shop):
    job = run(shop, "shelf", "feed").json()
    wait_job(shop, job["id"])
    again = shop.post(f"/v1/jobs/{job['id']}/reprint")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job-not-reprintable"
