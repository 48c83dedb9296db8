"""A job belongs to the token that submitted it: a pos token cancels and follows its own jobs,
reads everyone's; staff, tech and admin act on every job. Against a real server and
simulators."""

import json
import threading
import time

import httpx
import pytest

from tests.conftest import PATIENT_DELIVERY, printer, token, wait_for, wait_job

ZPL = "^XA^FO20,20^A0N,30,30^FDok^FS^XZ"


@pytest.fixture
def shop(daemon, simulator):
    """A paused Zebra (jobs stay pending until resumed), two tills' pos tokens and a tech."""
    zebra = simulator("zpl")
    admin = daemon([printer("front", zebra, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    admin.post("/v1/printers/front/pause").raise_for_status()
    clients = {}
    for name, role in (("till-1", "pos"), ("till-2", "pos"), ("anna", "tech")):
        clients[name] = httpx.Client(base_url=admin.base_url, timeout=10, headers={
            "Authorization": f"Bearer {token(admin, role, name)}"})
    yield admin, clients
    for c in clients.values():
        c.close()


def submit(client, data=ZPL, **extra):
    resp = client.post("/v1/jobs", json={"printer": "front", "raw": {"data": data}}, **extra)
    assert resp.status_code in (200, 202), resp.text
    return resp.json()


def test_a_job_names_the_token_that_submitted_it(shop):
    admin, tills = shop
    job = submit(tills["till-1"])
    assert job["owner"] == "till-1"
    assert admin.get(f"/v1/jobs/{job['id']}").json()["owner"] == "till-1"
    assert submit(admin)["owner"] == "test-admin"


def test_a_pos_token_cancels_its_own_job(shop):
    _, tills = shop
    job = submit(tills["till-1"])
    resp = tills["till-1"].delete(f"/v1/jobs/{job['id']}")
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "canceled"


def test_a_pos_token_cannot_cancel_another_tokens_job(shop):
    admin, tills = shop
    job = submit(tills["till-1"])
    for other in (tills["till-2"], tills["till-2"]):  # refused, and refused again: no side effect
        resp = other.delete(f"/v1/jobs/{job['id']}")
        assert resp.status_code == 403, resp.text
        err = resp.json()["error"]
        assert err["code"] == "not-your-job" and job["id"] in err["message"] and err["hint"]
    assert admin.get(f"/v1/jobs/{job['id']}").json()["state"] == "pending"
    # nor an admin's job
    assert tills["till-2"].delete(f"/v1/jobs/{submit(admin)['id']}").status_code == 403


def test_tech_and_admin_cancel_any_job(shop):
    admin, tills = shop
    first, second = submit(tills["till-1"]), submit(tills["till-2"])
    assert tills["anna"].delete(f"/v1/jobs/{first['id']}").json()["state"] == "canceled"
    assert admin.delete(f"/v1/jobs/{second['id']}").json()["state"] == "canceled"


def test_shop_staff_cancel_and_release_any_job_and_the_events_name_them(daemon, simulator):
    zebra = simulator("zpl")
    zebra.set_fault("paper-out")
    admin = daemon([printer("front", zebra, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    till = httpx.Client(base_url=admin.base_url, timeout=10,
                        headers={"Authorization": f"Bearer {token(admin, 'pos', 'till-1')}"})
    kati = httpx.Client(base_url=admin.base_url, timeout=10,
                        headers={"Authorization": f"Bearer {token(admin, 'staff', 'kati')}"})
    first, second = submit(till), submit(till)
    wait_for(lambda: admin.get(f"/v1/jobs/{second['id']}").json()["state"] == "held")
    assert kati.delete(f"/v1/jobs/{first['id']}").json()["state"] == "canceled"
    released = kati.post(f"/v1/jobs/{second['id']}/release")  # a person's word, paper or not
    assert released.status_code == 200, released.text
    zebra.clear_fault("paper-out")
    wait_job(admin, second["id"], ("completed",))
    events = kati.get("/v1/printers/front/events").json()["events"]
    said = [(e["job"], e["code"], e["data"]) for e in events if e["data"].get("by")]
    assert said == [(second["id"], "released", {"by": "kati", "role": "staff"}),
                    (first["id"], "canceled", {"by": "kati", "role": "staff"})]
    # and a till's own cancel names the till
    third = submit(till)
    till.delete(f"/v1/jobs/{third['id']}").raise_for_status()
    newest = admin.get("/v1/printers/front/events", params={"limit": 1}).json()["events"][0]
    assert (newest["code"], newest["data"]) == ("canceled", {"by": "till-1", "role": "pos"})
    till.close()
    kati.close()


def test_an_unknown_job_is_404_for_a_pos_token_too(shop):
    _, tills = shop
    resp = tills["till-1"].delete("/v1/jobs/no-such-job")
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown-job"


def test_a_finished_job_is_still_409_for_its_owner(shop):
    _, tills = shop
    job = submit(tills["till-1"])
    tills["till-1"].delete(f"/v1/jobs/{job['id']}")
    again = tills["till-1"].delete(f"/v1/jobs/{job['id']}")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job-finished"


def test_every_token_reads_every_job_and_mine_lists_its_own(shop):
    _, tills = shop
    one, two = submit(tills["till-1"]), submit(tills["till-2"])
    # GET /v1/jobs/{id} of another token's job stays allowed for pos
    assert tills["till-2"].get(f"/v1/jobs/{one['id']}").json()["id"] == one["id"]
    everyone = [j["id"] for j in tills["till-1"].get("/v1/jobs").json()["jobs"]]
    assert everyone[:2] == [two["id"], one["id"]]
    mine = tills["till-1"].get("/v1/jobs", params={"mine": "true"}).json()["jobs"]
    assert [j["id"] for j in mine] == [one["id"]]
    assert tills["till-2"].get("/v1/jobs?mine=true&state=pending").json()["jobs"][0]["id"] == \
        two["id"]
    assert tills["anna"].get("/v1/jobs?mine=true").json()["jobs"] == []
    assert len(tills["anna"].get("/v1/jobs?mine=false").json()["jobs"]) == 2


def test_cancels_are_audited_whoever_makes_them(shop):
    admin, tills = shop
    mine, theirs = submit(tills["till-1"]), submit(tills["till-2"])
    tills["till-1"].delete(f"/v1/jobs/{mine['id']}")
    tills["till-1"].delete(f"/v1/jobs/{theirs['id']}")
    entries = [e for e in admin.get("/v1/audit", params={"who": "till-1"}).json()["entries"]
               if e["method"] == "DELETE"]
    assert [(e["role"], e["status"], e["target"]) for e in reversed(entries)] == [
        ("pos", 200, f"job_id={mine['id']}"), ("pos", 403, f"job_id={theirs['id']}")]


def test_an_idempotency_key_of_another_token_never_hands_over_its_job(shop):
    _, tills = shop
    key = {"Idempotency-Key": "sale-1042"}
    first = submit(tills["till-1"], headers=key)
    assert submit(tills["till-1"], headers=key)["id"] == first["id"]  # its own repeat: 200
    other = tills["till-2"].post("/v1/jobs", headers=key,
                                 json={"printer": "front", "raw": {"data": ZPL}})
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "idempotency-key-reused"


def test_a_reprint_belongs_to_whoever_asked_for_it(shop):
    admin, tills = shop
    job = submit(tills["till-1"])
    admin.post("/v1/printers/front/resume")
    wait_job(admin, job["id"])
    again = tills["anna"].post(f"/v1/jobs/{job['id']}/reprint")
    assert again.status_code == 202 and again.json()["owner"] == "anna"


def listen(client, got, stop_when, ready):
    with client.stream("GET", "/v1/events") as resp:
        assert resp.status_code == 200, resp.read()
        ready.set()
        for line in resp.iter_lines():
            if line.startswith("data: ") and line != "data: {}":
                got.append(json.loads(line[6:]))
                if stop_when(got):
                    return


def test_a_pos_token_follows_only_its_own_jobs_events(shop):
    admin, tills = shop
    theirs = submit(tills["till-2"])  # queued first: its outcome comes first
    mine = submit(tills["till-1"])
    seen_by_pos, seen_by_tech = [], []
    ready = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=listen, daemon=True, args=(
            tills["till-1"], seen_by_pos,
            lambda got: any(e["job"] == mine["id"] for e in got), ready[0])),
        threading.Thread(target=listen, daemon=True, args=(
            tills["anna"], seen_by_tech,
            lambda got: any(e["job"] == mine["id"] for e in got), ready[1])),
    ]
    for t in threads:
        t.start()
    assert all(r.wait(5) for r in ready)
    time.sleep(0.2)
    admin.post("/v1/printers/front/resume")
    for t in threads:
        t.join(15)
    assert [(e["kind"], e["job"]) for e in seen_by_pos] == [("job", mine["id"])]
    assert seen_by_pos[0]["code"] == "completed"
    # the technician's stream has everything: the other till's job and the printer's status
    tech_jobs = [e["job"] for e in seen_by_tech if e["kind"] == "job"]
    assert tech_jobs.index(theirs["id"]) < tech_jobs.index(mine["id"])


def test_a_pos_tokens_event_stream_of_an_unknown_printer_is_404(shop):
    _, tills = shop
    resp = tills["till-1"].get("/v1/events", params={"printer": "nope"})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "unknown-printer"
