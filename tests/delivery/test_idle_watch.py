"""An idle printer is watched: what labeld shows of it stays true while nothing prints."""

import time

from tests.conftest import FAST_DELIVERY, printer, wait_for

WATCHFUL = FAST_DELIVERY.model_copy(update={"watch_idle_s": 0.2})


def state(client, pid="shelf"):
    return client.get(f"/v1/printers/{pid}").json()


def test_paper_running_out_on_an_idle_printer_shows_without_a_job(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=WATCHFUL)
    wait_for(lambda: state(client)["status_checked_at"] is not None)
    assert state(client)["state"] == "idle"

    zebra.set_fault("paper-out")
    shown = wait_for(lambda: (s := state(client))["state"] == "stopped" and s, timeout=5)
    assert [r["code"] for r in shown["state_reasons"]] == ["paper-out"]
    events = client.get("/v1/printers/shelf/events").json()["events"]
    assert any(e["kind"] == "printer-status" and e["code"] != "ok" for e in events)

    zebra.clear_fault("paper-out")
    wait_for(lambda: state(client)["state"] == "idle", timeout=5)


def test_the_watch_asks_once_per_interval_not_more(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=WATCHFUL)
    wait_for(lambda: state(client)["status_checked_at"] is not None)
    t0 = time.time()
    time.sleep(2.0)
    asked = zebra.status_connections_since(t0)
    assert 5 <= asked <= 12, asked  # every 0.2 s, plus the time a question takes


def test_watch_idle_s_0_asks_an_idle_printer_nothing(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")],
                    delivery=FAST_DELIVERY.model_copy(update={"watch_idle_s": 0}))
    client.get("/v1/printers").raise_for_status()
    time.sleep(0.3)  # the worker's start-up is over
    t0 = time.time()
    time.sleep(1.0)
    assert zebra.status_connections_since(t0) == 0
