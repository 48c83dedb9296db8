"""The scheduler listens to the printer: it holds the queue on a fault, resumes by itself, and
calls a job completed only when the printer confirms it."""

import json
import threading
import time

import pytest

from tests.conftest import PATIENT_DELIVERY, printer, wait_for, wait_job

LABEL = "^XA^FO20,20^A0N,30,30^FDheld, not lost^FS^XZ"
SHORT_WINDOW = PATIENT_DELIVERY.model_copy(update={"confirm_window_s": 1.0})


def jobs_of(client, pid):
    return client.get("/v1/jobs", params={"printer": pid}).json()["jobs"]


@pytest.mark.parametrize("fault, code", [("paper-out", "paper-out"), ("head-open", "head-open"),
                                         ("ribbon-out", "ribbon-out"), ("paused", "paused")])
def test_a_zebra_fault_holds_the_queue_and_clearing_it_prints_each_job_once(
        daemon, simulator, fault, code):
    sim = simulator("zpl")
    sim.set_fault(fault)
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    ids = [client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": f"^XA^FD{i}^FS^XZ"}})
           .json()["id"] for i in range(3)]
    held = wait_for(lambda: (js := jobs_of(client, "shelf"))
                    and all(j["state"] == "held" for j in js) and js)
    assert {j["error"]["code"] for j in held} == {code}
    assert sim.jobs() == []  # nothing was sent into a faulted printer
    listed = client.get("/v1/printers/shelf").json()
    assert listed["state"] == "stopped" and [r["code"] for r in listed["state_reasons"]] == [code]
    assert listed["state_reasons"][0]["message"]["hu"]

    sim.clear_faults()
    for jid in ids:
        job = wait_job(client, jid)
        assert job["state"] == "completed" and job["delivery"] == "confirmed"
    # The job the worker had in hand when it saw the fault went back unsent; its log says so.
    first = client.get(f"/v1/jobs/{ids[0]}").json()
    assert [a["outcome"] for a in first["attempt_log"]][-2:] == ["hold", "ok"]
    assert first["attempt_log"][0]["error_code"] == code
    time.sleep(0.3)
    assert [j.data for j in sim.jobs()] == [f"^XA^FD{i}^FS^XZ".encode() for i in range(3)]


@pytest.mark.parametrize("fault, code", [("cover-open", "cover-open"), ("paper-out", "paper-out"),
                                         ("cutter-error", "cutter-error")])
def test_a_receipt_printer_fault_holds_and_resumes(daemon, simulator, fault, code):
    sim = simulator("escpos")
    sim.set_fault(fault)
    client = daemon([printer("till", sim, "escpos-generic-80")], delivery=PATIENT_DELIVERY)
    jid = client.post("/v1/jobs",
                      json={"printer": "till", "raw": {"data": "receipt\n"}}).json()["id"]
    wait_for(lambda: client.get(f"/v1/jobs/{jid}").json()["state"] == "held")
    assert client.get(f"/v1/jobs/{jid}").json()["error"]["code"] == code
    sim.clear_faults()
    assert wait_job(client, jid)["delivery"] == "confirmed"
    assert [j.data for j in sim.wait_jobs(1)] == [b"receipt\n"]


def test_a_fault_that_starts_after_sending_leaves_the_job_unconfirmed_until_it_prints(
        daemon, simulator):
    """Paper runs out right after the printer took the job: labeld must not call it printed,
    and must not send it again: the printer prints it from its buffer once paper is back."""
    sim = simulator("zpl")
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    # A healthy status, trusted for a moment as the next job's preflight; then the paper runs
    # out before the job arrives, so the printer buffers it instead of printing.
    assert client.get("/v1/printers/shelf/status").json()["reasons"] == []
    sim.set_fault("paper-out")
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": LABEL}}).json()["id"]
    wait_for(lambda: sim.jobs())
    time.sleep(1.0)
    job = client.get(f"/v1/jobs/{jid}").json()
    assert job["state"] == "processing" and job["delivery"] == "sent"
    assert sim.jobs()[0].printed is False
    sim.clear_faults()
    assert wait_job(client, jid)["delivery"] == "confirmed"
    assert len(sim.jobs()) == 1 and sim.jobs()[0].printed


def test_a_printer_that_never_answers_status_completes_jobs_as_unconfirmed(daemon, simulator):
    sim = simulator("zpl")
    sim.set_fault("silent")
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=SHORT_WINDOW)
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": LABEL}}).json()["id"]
    job = wait_job(client, jid, timeout=15)
    assert job["state"] == "completed" and job["delivery"] == "unconfirmed"
    assert [j.data for j in sim.jobs()] == [LABEL.encode()]


def test_events_record_status_changes_and_job_outcomes(daemon, simulator):
    sim = simulator("zpl")
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    sim.set_fault("head-open")
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": LABEL}}).json()["id"]
    wait_for(lambda: client.get(f"/v1/jobs/{jid}").json()["state"] == "held")
    sim.clear_faults()
    wait_job(client, jid)
    events = client.get("/v1/printers/shelf/events").json()["events"]
    kinds = [(e["kind"], e["code"]) for e in reversed(events)]
    assert ("printer-status", "head-open") in kinds
    assert ("printer-status", "ok") in kinds
    assert ("job", "completed") in kinds
    assert kinds.index(("printer-status", "head-open")) < kinds.index(("job", "completed"))
    assert client.get("/v1/printers/nope/events").status_code == 404


def test_live_events_stream_as_server_sent_events(daemon, simulator):
    sim = simulator("zpl")
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    got: list[dict] = []

    def listen():
        with client.stream("GET", "/v1/events") as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            for line in resp.iter_lines():
                if line.startswith("data: ") and line != "data: {}":
                    got.append(json.loads(line[6:]))
                    if any(e["kind"] == "job" and e["code"] == "completed" for e in got):
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(0.3)
    client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": LABEL}})
    t.join(10)
    assert any(e["kind"] == "job" and e["code"] == "completed" and e["printer"] == "shelf"
               for e in got)


def test_a_garbled_status_reply_confirms_nothing(daemon, simulator):
    sim = simulator("zpl")
    sim.set_fault("garbage")
    client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=SHORT_WINDOW)
    status = client.get("/v1/printers/shelf/status").json()
    assert [r["code"] for r in status["reasons"]] == ["garbled-status-reply"]
    assert status["reasons"][0]["message"]["hu"]
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": LABEL}}).json()["id"]
    job = wait_job(client, jid, timeout=15)
    assert job["state"] == "completed" and job["delivery"] == "unconfirmed"
    assert [j.data for j in sim.jobs()] == [LABEL.encode()]


def test_a_slow_reader_gets_the_whole_job_once(daemon, simulator):
    """A printer that takes data slowly is waited for (within the write timeout), not resent."""
    sim = simulator("escpos")
    sim.set_fault("slow", 20000)
    client = daemon([printer("till", sim, "escpos-generic-80")], delivery=PATIENT_DELIVERY)
    receipt = "x" * 30000
    jid = client.post("/v1/jobs", json={"printer": "till", "raw": {"data": receipt}}).json()["id"]
    job = wait_job(client, jid, timeout=20)
    assert job["state"] == "completed" and job["attempts"] == 1
    # The tail may still be crossing the socket buffers to the slow printer: wait for it.
    assert [j.data for j in sim.wait_jobs(1, timeout=10)] == [receipt.encode()]
    time.sleep(0.3)
    assert len(sim.jobs()) == 1


def test_a_reader_slower_than_the_write_timeout_is_retried_then_delivered_once_complete(
        daemon, simulator):
    sim = simulator("zpl")
    sim.set_fault("slow", 1)  # practically stalled: the write times out
    client = daemon([printer("shelf", sim, "zebra-generic-203")],
                    delivery=PATIENT_DELIVERY.model_copy(update={"write_timeout_s": 0.5}))
    big = "^XA" + "^FO10,10^FDxxxxxxxxxxxxxxxxxxxxxxxx^FS" * 200_000 + "^XZ"  # > socket buffers
    jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": big}}).json()["id"]
    stalled = wait_for(lambda: (j := client.get(f"/v1/jobs/{jid}").json())["attempts"] >= 1
                       and j["error"] and j, timeout=15)
    assert stalled["error"]["code"] == "write-timeout"
    sim.clear_faults()
    assert wait_job(client, jid, timeout=30)["state"] == "completed"
    complete = [j for j in sim.jobs() if j.complete and j.data == big.encode()]
    assert len(complete) == 1
