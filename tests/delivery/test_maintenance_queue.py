"""Where a maintenance action runs in a printer's queue: before the jobs still waiting (someone
stands at the printer for it), never inside the job being sent, nor while the printer is still
printing what it took (a Zebra acts on `~JC` and `~JA` the moment they arrive)."""

from __future__ import annotations

from tests.conftest import PATIENT_DELIVERY, printer, wait_for, wait_job

SQUARE = "^FO10,10^GB80,80,80^FS"


def label(n: int, padding: int = 0) -> str:
    # ^FX is a comment: a long one makes a job that takes seconds to reach a slow printer.
    return f"^XA^FXjob {n} {'x' * padding}^FS{SQUARE}^XZ"


def submit(c, data: str) -> dict:
    answer = c.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": data}})
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_an_action_waits_for_the_job_being_sent_then_goes_before_the_waiting_ones(daemon,
                                                                                   zebra):
    c = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    zebra.set_fault("slow", 20_000)  # bytes a second: the long job takes about 2 s
    long_job = submit(c, label(1, padding=40_000))
    waiting = [submit(c, label(n)) for n in (2, 3)]
    wait_for(lambda: c.get(f"/v1/jobs/{long_job['id']}").json()["state"] == "processing")
    action = c.post("/v1/printers/shelf/actions/calibrate", json={}).json()
    assert action["state"] == "pending"
    for job in (long_job, action, *waiting):
        assert wait_job(c, job["id"], timeout=20)["state"] == "completed"
    zebra.clear_fault("slow")
    received = zebra.jobs()
    # The long job arrived whole, on its own connection, before the action's bytes; the action
    # went before the jobs that were waiting when it was asked for.
    assert [j.data for j in received] == [label(1, padding=40_000).encode(), b"~JC",
                                          label(2).encode(), label(3).encode()]
    assert all(j.complete for j in received)
    assert zebra.state()["counters"]["calibrations"] == 1


def test_an_action_runs_before_jobs_queued_earlier(daemon, zebra):
    c = daemon([printer("shelf", zebra, "zebra-generic-203")])
    c.post("/v1/printers/shelf/pause")
    earlier = [submit(c, label(n)) for n in (1, 2)]
    feed = c.post("/v1/printers/shelf/actions/feed", json={}).json()
    config = c.post("/v1/printers/shelf/actions/config-label", json={}).json()
    c.post("/v1/printers/shelf/resume")
    for job in (*earlier, feed, config):
        wait_job(c, job["id"])
    # Two actions keep the order they were asked in; both go first.
    assert [j.data for j in zebra.jobs()] == [b"~PH", b"~WC", label(1).encode(),
                                             label(2).encode()]


def test_an_action_waits_while_the_printer_has_a_fault(daemon, zebra):
    c = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=PATIENT_DELIVERY)
    zebra.set_fault("head-open")
    action = c.post("/v1/printers/shelf/actions/calibrate", json={}).json()
    held = wait_job(c, action["id"], states=("held",))
    assert held["error"]["code"] == "head-open"
    assert zebra.jobs() == []
    zebra.clear_fault("head-open")
    assert wait_job(c, action["id"])["state"] == "completed"
    assert [j.data for j in zebra.jobs()] == [b"~JC"]


def test_an_action_that_uses_labels_waits_until_the_printer_has_printed_what_it_took(daemon,
                                                                                    zebra):
    c = daemon([printer("shelf", zebra, "zebra-generic-203")])
    zebra.set_fault("busy")  # it took the job but is still printing: no error, a full buffer
    job = submit(c, label(1))
    zebra.wait_jobs(1)
    action = c.post("/v1/printers/shelf/actions/calibrate", json={}).json()
    wait_for(lambda: c.get(f"/v1/jobs/{action['id']}").json()["state"] == "processing")
    zebra.wait_until(lambda s: s.connection_counts()["status_connections"] >= 3)
    assert len(zebra.jobs()) == 1  # asked the printer again and again; sent nothing
    zebra.clear_fault("busy")  # the label is out
    assert wait_job(c, job["id"])["delivery"] == "confirmed"
    wait_job(c, action["id"])
    assert [j.data for j in zebra.jobs()] == [label(1).encode(), b"~JC"]
