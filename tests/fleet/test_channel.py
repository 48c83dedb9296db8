"""The shop's side of the fleet support channel, against a real Mosquitto (TLS, passwords, the
fleet ACL), real labeld daemons and simulated printers: what a technician sees of two shops,
what they may make a shop do, and what happens when the broker goes away."""

from __future__ import annotations

import asyncio
import base64
import io
import time
import zipfile
from datetime import UTC, datetime

import pytest

from labeld.fleet import protocol
from tests.conftest import FAST_DELIVERY, printer, wait_for, wait_job
from tests.fleet.broker import PREFIX
from tests.fleet.technician import ACL, USERS, Technician, support

# The idle watch asks each printer often, so a fault shows without a job in the queue.
WATCHFUL = FAST_DELIVERY.model_copy(update={"watch_idle_s": 0.1})
ZPL = "^XA^FO20,20^A0N,30,30^FDchannel^FS^XZ"
LABEL = {"width_mm": 40, "height_mm": 20,
         "elements": [{"type": "text", "x_mm": 2, "y_mm": 2, "text": "Alma 299 Ft"}]}


@pytest.fixture
def fleet(broker):
    return broker(USERS, ACL)


@pytest.fixture
def shop(daemon, simulator, fleet, tmp_path):
    """shop("a", **support options): a daemon with a Zebra `shelf` in the fleet; returns its
    admin client and its simulator."""

    def start(shop_id: str, delivery=WATCHFUL, **options):
        sim = simulator("zpl")
        client = daemon([printer("shelf", sim, "zebra-generic-203")], delivery=delivery,
                        spool=tmp_path / f"{shop_id}.db",
                        support=support(fleet, shop_id, **options))
        return client, sim

    return start


def run(coro):
    return asyncio.run(coro)


def test_two_shops_are_seen_and_a_fault_reaches_the_technician_within_a_second(shop, fleet):
    _, sim_a = shop("a")
    shop("b")

    async def scenario() -> float:
        async with Technician(fleet, "anna") as anna:
            for s in ("a", "b"):
                presence = await anna.until(lambda s=s: anna.presence(s))
                assert presence["online"] is True and presence["printers"] == ["shelf"]
                assert presence["name"] == f"Shop {s.upper()}" and presence["version"]
                shelf = await anna.until(lambda s=s: anna.printer(s, "shelf"))
                assert shelf["state"] == "idle" and shelf["reasons"] == []
                assert shelf["model"] == "zebra-generic-203" and shelf["language"] == "zpl"
                # the queue's retained message may come after the printer's
                queue = await anna.until(lambda s=s: anna.state.get(protocol.queue(PREFIX, s)))
                assert queue == {"v": 1, "shop": s, "pending": 0, "processing": 0, "held": 0}

            # Three faults, each cleared again: the median is the channel's latency, robust to
            # one scheduling hiccup of a loaded test machine (the worst is bounded too).
            latencies = []
            for _ in range(3):
                t0 = time.monotonic()
                await asyncio.to_thread(sim_a.set_fault, "paper-out")
                shelf = await anna.until(lambda: (p := anna.printer("a", "shelf"))
                                         and p["reasons"] and p, timeout=5)
                latencies.append(anna.arrived[protocol.printer(PREFIX, "a", "shelf")] - t0)
                await asyncio.to_thread(sim_a.clear_fault, "paper-out")
                await anna.until(lambda: (p := anna.printer("a", "shelf")) and not p["reasons"],
                                 timeout=5)
            await asyncio.to_thread(sim_a.set_fault, "paper-out")  # as it stands below
            shelf = await anna.until(lambda: (p := anna.printer("a", "shelf"))
                                     and p["reasons"] and p, timeout=5)
            latency = sorted(latencies)[1]
            reason = shelf["reasons"][0]
            assert reason["code"] == "paper-out" and reason["keyword"] == "media-empty"
            assert reason["message"]["en"] and reason["message"]["hu"]
            assert reason["message"]["hu"] != reason["message"]["en"]
            assert reason["hint"]["hu"]
            assert anna.printer("b", "shelf")["reasons"] == []  # the other shop is fine
            # the event went out too, not retained, with the shop it came from
            await anna.until(lambda: any(e["kind"] == "printer-status" and e["shop"] == "a"
                                         and e["code"] == "paper-out" for e in anna.events))
            return latency

    latency = run(scenario())
    print(f"\nfault-to-technician latency, median of 3: {latency * 1000:.0f} ms")
    assert latency < 1.0


def test_a_remote_selftest_runs_and_answers_and_jobs_come_with_previews(shop, fleet):
    a, sim = shop("a")
    job = a.post("/v1/jobs", json={"printer": "shelf", "label": LABEL}).json()["id"]
    wait_job(a, job)
    sim.clear_jobs()

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna:
            correlation = await anna.send("a", "selftest", {"printer": "shelf", "print": True})
            [answer] = await anna.answers_to(correlation, timeout=30)
            assert answer["ok"] is True, answer
            report = answer["result"]
            assert report["printer"] == "shelf" and report["result"] in ("ok", "warning")
            names = [c["name"] for c in report["checks"]]
            assert "reachable" in " ".join(names).lower() and report["checks"][0]["name_i18n"]
            await asyncio.to_thread(sim.wait_jobs, 1, 10)  # the diagnostic label printed

            listed = await anna.ask("a", "jobs", {"printer": "shelf", "limit": 5,
                                                  "previews": True})
            assert listed["ok"] is True
            first = next(j for j in listed["result"]["jobs"] if j["id"] == job)
            assert base64.b64decode(first["preview"]).startswith(b"\x89PNG")

    run(scenario())


def test_without_the_broker_the_shop_prints_and_on_its_return_republishes(shop, fleet):
    a, sim = shop("a")

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna:
            await anna.until(lambda: anna.printer("a", "shelf"))
        fleet.stop()  # no persistence: the broker forgets every retained message
        job = await asyncio.to_thread(
            lambda: a.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": ZPL}}))
        assert job.status_code == 202
        done = await asyncio.to_thread(wait_job, a, job.json()["id"])
        assert done["state"] == "completed"
        assert b"channel" in sim.jobs()[-1].data
        await asyncio.to_thread(sim.set_fault, "head-open")  # the state moves on meanwhile
        await asyncio.sleep(0.5)
        fleet.start()
        async with Technician(fleet, "anna") as anna:
            presence = await anna.until(lambda: anna.presence("a"), timeout=40)
            assert presence["online"] is True
            # the state as it is now: the republished printer, or the news right after it if
            # the shop reconnected before its idle watch had seen the open head
            shelf = await anna.until(lambda: (p := anna.printer("a", "shelf")) and p["reasons"]
                                     and p)
            assert [r["code"] for r in shelf["reasons"]] == ["head-open"]
            queue = await anna.until(lambda: anna.state.get(protocol.queue(PREFIX, "a")))
            assert queue["pending"] == 0

    run(scenario())


def test_a_shop_that_vanishes_is_marked_offline_by_its_last_will(fleet, simulator, tmp_path):
    from tests.conftest import DaemonProcess

    sim = simulator("zpl")
    config = tmp_path / "labeld.toml"
    config.write_text(f"""
[server]
spool = "{tmp_path / 'spool.db'}"
log_level = "warning"

[support]
broker = "{fleet.tls_url}"
shop_id = "a"
username = "a"
password = "{USERS['a']}"
ca_file = "{fleet.ca_file}"

[[printers]]
id = "shelf"
uri = "socket://127.0.0.1:{sim.port}"
model = "zebra-generic-203"
""")
    process = DaemonProcess(config)
    try:
        async def scenario() -> None:
            async with Technician(fleet, "anna") as anna:
                await anna.until(lambda: (anna.presence("a") or {}).get("online"), timeout=20)
                await asyncio.to_thread(process.kill)  # no goodbye: the broker says it
                await anna.until(lambda: anna.presence("a")["online"] is False, timeout=10)
                assert anna.presence("a") == {"v": 1, "shop": "a", "online": False}

        run(scenario())
    finally:
        process.stop()


def test_only_a_technician_can_make_a_shop_act(shop, fleet):
    a, _ = shop("a")

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna, Technician(fleet, "kati") as kati, \
                Technician(fleet, "eve") as eve:
            await anna.until(lambda: anna.printer("a", "shelf"))
            # a reader's request never reaches the shop: the broker's ACL drops it
            await eve.send("a", "pause", {"printer": "shelf"}, role="tech")
            # a staff member may look, not pause
            refused = await kati.ask("a", "pause", {"printer": "shelf"})
            assert refused["ok"] is False
            assert refused["error"]["code"] == "insufficient-role"
            looked = await kati.ask("a", "status", {"printer": "shelf"})
            assert looked["ok"] is True and looked["result"]["live"]["answered"] is True
            assert a.get("/v1/printers/shelf").json()["paused"] is False

            paused = await anna.ask("a", "pause", {"printer": "shelf"})
            assert paused["ok"] is True and paused["result"]["paused"] is True
            await anna.until(lambda: anna.printer("a", "shelf")["paused"] is True, timeout=2)
            assert (await anna.ask("a", "resume", {"printer": "shelf"}))["ok"] is True

        audit = a.get("/v1/audit", params={"limit": 50}).json()["entries"]
        whos = [(e["who"], e["path"], e["status"]) for e in audit if e["method"] == "MQTT"]
        assert ("mqtt:kati", "pause", 403) in whos
        assert ("mqtt:anna", "pause", 200) in whos
        assert not any(who == "mqtt:eve" for who, *_ in whos)

    run(scenario())


def test_a_shop_serves_no_more_than_its_highest_role(shop, fleet):
    a, _ = shop("a", max_role="staff")

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna:
            refused = await anna.ask("a", "pause", {"printer": "shelf"})
            assert refused["error"]["code"] == "insufficient-role"
            assert (await anna.ask("a", "status", {}))["ok"] is True

    run(scenario())
    assert a.get("/v1/printers/shelf").json()["paused"] is False


def test_a_flood_of_requests_is_rate_limited_per_user(shop, fleet):
    a, _ = shop("a", requests_per_minute=20)

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna, Technician(fleet, "kati") as kati:
            sent = [await anna.send("a", "status", {}) for _ in range(100)]
            answers = [(await anna.answers_to(c, timeout=30))[0] for c in sent]
            served = [x for x in answers if x["ok"]]
            limited = [x for x in answers if not x["ok"]]
            assert 20 <= len(served) <= 22, len(served)
            assert {x["error"]["code"] for x in limited} == {"rate-limited"}
            # someone else is still served, and the shop still prints
            assert (await kati.ask("a", "status", {}))["ok"] is True

    run(scenario())
    assert a.get("/healthz").status_code == 200
    job = a.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": ZPL}}).json()
    assert wait_job(a, job["id"])["state"] == "completed"
    statuses = [e["status"] for e in a.get("/v1/audit", params={"limit": 200}).json()["entries"]
                if e["who"] == "mqtt:anna"]
    assert statuses.count(429) >= 78 and statuses.count(200) >= 20
    metrics = a.get("/metrics").text
    assert 'labeld_fleet_requests_total{status="429"}' in metrics
    assert "labeld_fleet_connected 1.0" in metrics


@pytest.mark.parametrize("request_, code", [
    (b"not json at all", "malformed-request"),
    (b'{"v": 2, "op": "status", "args": {}}', "malformed-request"),
    (b'["status"]', "malformed-request"),
    (b'{"v": 1, "op": "format-disk", "args": {}}', "unknown-op"),
    (b'{"v": 1, "op": "raw", "args": {"data": "^XA^JUF^XZ"}}', "unknown-op"),
    (b'{"v": 1, "args": {}}', "unknown-op"),
    (b'{"v": 1, "op": "pause", "args": {}}', "invalid-args"),
    (b'{"v": 1, "op": "pause", "args": {"printer": 7}}', "invalid-args"),
    (b'{"v": 1, "op": "jobs", "args": {"limit": 500}}', "invalid-args"),
    (b'{"v": 1, "op": "selftest", "args": {"printer": "shelf", "zpl": "~JR"}}', "invalid-args"),
    (b'{"v": 1, "op": "pause", "args": {"printer": "nope"}}', "unknown-printer"),
    (b'{"v": 1, "op": "cancel", "args": {"job": "no-such-job"}}', "unknown-job"),
], ids=lambda x: x if isinstance(x, str) else None)
def test_a_bad_request_gets_a_refusal_and_the_next_one_is_served(shop, fleet, request_, code):
    shop("a")

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna:
            refused = await anna.ask("a", raw=request_)
            assert refused["ok"] is False and refused["error"]["code"] == code, refused
            assert refused["error"]["message"]
            assert (await anna.ask("a", "status", {}))["ok"] is True

    run(scenario())


def test_answers_go_only_to_the_askers_own_topic(shop, fleet):
    shop("a")

    async def scenario() -> None:
        async with Technician(fleet, "anna") as anna, Technician(fleet, "kati") as kati:
            stolen = await anna.send("a", "status", {}, response_topic=kati.responses)
            [refused] = await anna.answers_to(stolen)  # told why, on anna's own topic
            assert refused["error"]["code"] == "bad-response-topic"
            await anna.ask("a", "status", {})  # later than anything the shop sent before
            assert kati.answers == {}

    run(scenario())


def test_the_support_bundle_comes_in_chunks_that_make_the_zip(shop, fleet):
    shop("a")

    async def scenario() -> bytes:
        async with Technician(fleet, "anna") as anna:
            correlation = await anna.send("a", "bundle", {})
            first = (await anna.answers_to(correlation, timeout=30))[0]
            assert first["ok"] is True, first
            n = first["result"]["chunks"]
            parts = await anna.answers_to(correlation, n, timeout=30)
            assert all(len(p["result"]["data"]) <= 64 * 1024 for p in parts)
            return protocol.reassemble([p["result"] for p in parts])

    data = run(scenario())
    assert data is not None
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None and z.namelist()


def test_the_desk_reads_a_shops_morning_report_over_the_channel(shop, fleet):
    a, sim = shop("a")
    since = datetime.now(UTC).isoformat()
    sim.set_fault("paper-out")
    wait_for(lambda: a.get("/v1/printers/shelf").json()["state"] == "stopped")
    sim.clear_fault("paper-out")
    wait_for(lambda: a.get("/v1/printers/shelf").json()["state"] == "idle")

    async def scenario() -> tuple[dict, dict]:
        async with Technician(fleet, "anna") as anna, Technician(fleet, "kati") as kati:
            await anna.until(lambda: anna.printer("a", "shelf"))
            return (await anna.ask("a", "report", {"since": since}),
                    await kati.ask("a", "report", {}))

    report, refused = run(scenario())
    assert report["ok"] is True, report
    (shelf,) = report["result"]["printers"]
    paper = [f for f in shelf["faults"] if f["code"] == "paper-out"]
    assert len(paper) == 1 and paper[0]["ended"] and paper[0]["message"]["hu"]
    # the report names people and what they did: the technician's reading, as over HTTP
    assert refused["ok"] is False and refused["error"]["code"] == "insufficient-role"
