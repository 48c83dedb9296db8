"""An accepted job survives `kill -9` of the daemon and is delivered after restart, once."""

import time

import pytest

from tests.conftest import DaemonProcess, wait_for

ZPL = "^XA^FO20,20^A0N,30,30^FDsurvives a crash^FS^XZ"


def write_config(tmp_path, port: int, model: str, write_timeout: float = 15) -> object:
    f = tmp_path / "labeld.toml"
    f.write_text(f"""
[server]
spool = "{tmp_path / 'spool.db'}"
log_level = "warning"

[delivery]
max_attempts = 1000
backoff_initial_s = 0.05
backoff_max_s = 0.2
write_timeout_s = {write_timeout}

[[printers]]
id = "p"
uri = "socket://127.0.0.1:{port}"
model = "{model}"
""")
    return f


@pytest.fixture
def processes():
    started: list[DaemonProcess] = []

    def start(config_file) -> DaemonProcess:
        d = DaemonProcess(config_file)
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()


def test_a_job_accepted_before_a_kill_is_delivered_after_restart_once(tmp_path, simulator,
                                                                       processes):
    sim = simulator("zpl")
    sim.set_fault("offline")  # keep the job undelivered while the daemon dies
    cfg = write_config(tmp_path, sim.port, "zebra-generic-203")
    first = processes(cfg)
    resp = first.client.post("/v1/jobs", json={"printer": "p", "raw": {"data": ZPL}})
    assert resp.status_code == 202
    jid = resp.json()["id"]
    first.kill()

    sim.clear_faults()
    second = processes(cfg)
    job = wait_for(lambda: (j := second.client.get(f"/v1/jobs/{jid}").json())["state"]
                   == "completed" and j)
    assert job["attempts"] >= 1
    time.sleep(0.3)
    assert [j.data for j in sim.jobs()] == [ZPL.encode()]


@pytest.mark.parametrize("model, expect", [("zebra-generic-203", "completed"),
                                           ("escpos-generic-80", "held")])
def test_a_job_cut_off_mid_send_is_retried_for_labels_and_held_for_receipts(
        tmp_path, simulator, processes, model, expect):
    sim = simulator("zpl" if model.startswith("zebra") else "escpos")
    sim.set_fault("slow", 2000)  # ~2 kB/s: the send is still under way when we kill
    cfg = write_config(tmp_path, sim.port, model, write_timeout=60)
    first = processes(cfg)
    data = "X" * 6_000_000  # more than loopback socket buffers hold
    jid = first.client.post("/v1/jobs", json={"printer": "p", "raw": {"data": data}}).json()["id"]
    wait_for(lambda: first.client.get(f"/v1/jobs/{jid}").json()["state"] == "processing")
    first.kill()

    sim.clear_faults()
    second = processes(cfg)
    job = wait_for(lambda: (j := second.client.get(f"/v1/jobs/{jid}").json())["state"]
                   in ("completed", "held") and j, timeout=20)
    assert job["state"] == expect
    outcomes = [a["outcome"] for a in job["attempt_log"]]
    assert outcomes[0] == "interrupted"
    if expect == "held":
        assert job["error"]["code"] == "interrupted"
        released = second.client.post(f"/v1/jobs/{jid}/release").json()
        assert released["state"] == "pending"
        wait_for(lambda: second.client.get(f"/v1/jobs/{jid}").json()["state"] == "completed",
                 timeout=20)
    wait_for(lambda: [j for j in sim.jobs() if j.complete and j.data == data.encode()], timeout=20)


def test_a_paused_printer_stays_paused_across_a_restart(tmp_path, simulator, processes):
    # A technician pauses a printer for maintenance; labeld restarts (an update, a reboot).
    # Nothing may print until someone resumes it.
    sim = simulator("zpl")
    cfg = write_config(tmp_path, sim.port, "zebra-generic-203")
    first = processes(cfg)
    assert first.client.post("/v1/printers/p/pause").json()["state"] == "stopped"
    jid = first.client.post("/v1/jobs", json={"printer": "p", "raw": {"data": ZPL}}).json()["id"]
    first.kill()

    second = processes(cfg)
    assert second.client.get("/v1/printers/p").json()["state"] == "stopped"
    time.sleep(0.5)
    assert second.client.get(f"/v1/jobs/{jid}").json()["state"] == "pending"
    assert sim.jobs() == []
    second.client.post("/v1/printers/p/resume")
    wait_for(lambda: second.client.get(f"/v1/jobs/{jid}").json()["state"] == "completed")
    second.stop()

    third = processes(cfg)  # and resumed stays resumed
    assert third.client.get("/v1/printers/p").json()["state"] != "stopped"


def test_a_job_the_printer_took_is_on_disk_as_sent_and_a_kill_never_prints_it_again(
        tmp_path, simulator, processes):
    # A silent printer takes the job (it closes the connection) but cannot confirm it, so the
    # job waits as `sent`. The API reads `sent` from the spool, so it is on disk; a kill now
    # must not print the job again.
    sim = simulator("zpl")
    sim.set_fault("silent")
    cfg = write_config(tmp_path, sim.port, "zebra-generic-203")
    first = processes(cfg)
    jid = first.client.post("/v1/jobs", json={"printer": "p", "raw": {"data": ZPL}}).json()["id"]
    sim.wait_jobs(1, timeout=10)  # after one silent status question
    sent = wait_for(lambda: (j := first.client.get(f"/v1/jobs/{jid}").json())["delivery"] == "sent"
                    and j)
    assert sent["state"] == "processing"
    first.kill()

    second = processes(cfg)
    job = second.client.get(f"/v1/jobs/{jid}").json()
    assert (job["state"], job["delivery"], job["evidence"]) == ("completed", "unconfirmed", "none")
    time.sleep(0.5)
    assert [j.data for j in sim.jobs()] == [ZPL.encode()]  # printed once
