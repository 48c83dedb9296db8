"""The desk's fleet view, against a real Mosquitto (TLS, passwords, the fleet's ACL) and
simulated shops speaking the real protocol."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from labeld.fleet import protocol
from labeld.fleet.connection import BrokerAccess, FleetError
from labeld.fleet.simshop import SimulatedShop
from labeld.fleet.view import FleetView
from tests.fleet.fleetkit import access, fleet_broker, printer_of, shop_of, until, view

LATENCY_FILE = "/tmp/desk/fault-latency.json"


def test_the_view_sees_two_shops_and_their_printers(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with SimulatedShop(access(b, "bp-12"), printers=("shelf", "till"), name="Buda"), \
                SimulatedShop(access(b, "deb-3"), printers=("shelf",)), view(b) as v:
            await v.settle()
            return v.snapshot().as_json()

    snap = asyncio.run(scenario())
    assert snap["connected"] is True
    a, d = shop_of(snap, "bp-12"), shop_of(snap, "deb-3")
    assert a["online"] is True and a["name"] == "Buda" and a["since"]
    assert [p["printer"] for p in a["printers"]] == ["shelf", "till"]
    assert [p["printer"] for p in d["printers"]] == ["shelf"]
    till = printer_of(snap, "bp-12", "till")
    assert till["state"] == "idle" and till["kind"] == "receipt" and till["updated"]
    assert a["queue"] == {"pending": 0, "processing": 0, "held": 0}
    assert not a["failing"] and not d["failing"]


def test_a_fault_in_one_shop_reaches_the_view_within_a_second(broker):
    b = fleet_broker(broker)

    async def scenario() -> list[float]:
        latencies = []
        async with SimulatedShop(access(b, "bp-12")) as shop, \
                SimulatedShop(access(b, "deb-3")), view(b) as v:
            await v.settle()
            async with v.changes() as changes:
                for _ in range(5):
                    t0 = time.perf_counter()
                    await shop.set_fault("shelf", "paper-out")
                    while (await asyncio.wait_for(changes.get(), 1.0)).kind != "printers":
                        pass
                    latencies.append(time.perf_counter() - t0)
                    snap = v.snapshot().as_json()
                    assert printer_of(snap, "bp-12", "shelf")["state"] == "stopped"
                    await shop.clear("shelf")
                    await until(lambda: printer_of(v.snapshot().as_json(), "bp-12",
                                                   "shelf")["state"] == "idle")
            snap = v.snapshot().as_json()
            assert printer_of(snap, "deb-3", "shelf")["state"] == "idle"
        return latencies

    latencies = asyncio.run(scenario())
    with open(LATENCY_FILE, "w") as f:
        json.dump({"seconds": latencies}, f)
    assert max(latencies) < 1.0, latencies


def test_the_reasons_come_in_every_language_and_the_shop_goes_first(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with SimulatedShop(access(b, "bp-12")), \
                SimulatedShop(access(b, "deb-3")) as deb, view(b) as v:
            await v.settle()
            await deb.set_fault("shelf", "paper-out")
            await until(lambda: v.snapshot().shops[0]["shop"] == "deb-3")
            return v.snapshot()

    snap = asyncio.run(scenario())
    shelf = snap.shops[0]["printers"][0]
    assert shelf["failing"] and shelf["reasons"][0]["code"] == "paper-out"
    assert "papír" in shelf["reasons"][0]["message"]["hu"].lower()
    assert [s["shop"] for s in snap.only_failing().shops] == ["deb-3"]


def test_a_shop_that_vanishes_without_goodbye_is_shown_offline(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with view(b) as v:
            shop = await SimulatedShop(access(b, "bp-12")).start()
            await until(lambda: (s := v.shop("bp-12")) and s["online"])
            shop.drop()  # no goodbye: the broker publishes the last will
            await until(lambda: v.shop("bp-12")["online"] is False, timeout=10)
            await shop.stop(goodbye=False)
            return v.snapshot()

    snap = asyncio.run(scenario())
    assert snap.shops[0]["online"] is False and snap.shops[0]["failing"]


def test_what_cannot_be_read_is_skipped(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with view(b) as v, access(b, "bp-12").client() as raw:
            await v.settle()
            for body in (b"not json", b"[1]", json.dumps({"v": 2, "online": True}).encode(),
                         b'{"v":1,"state":"stopped","reasons":"nope","queued":-3}'):
                await raw.publish(protocol.printer("labeld", "bp-12", "shelf"), body, qos=1)
            await raw.publish(protocol.presence("labeld", "bp-12"),
                              protocol.payload({"shop": "bp-12", "online": True,
                                                "name": "Buda", "printers": ["shelf"]}), qos=1)
            await until(lambda: (s := v.shop("bp-12")) and s["online"])
            return v.shop("bp-12")

    shop = asyncio.run(scenario())
    shelf = shop["printers"][0]
    assert shelf["state"] == "stopped" and shelf["reasons"] == [] and shelf["queued"] == 0


def test_a_technician_asks_a_shop_through_the_broker(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with SimulatedShop(access(b, "bp-12"), printers=("shelf", "till")) as shop, \
                view(b) as v:
            await v.settle()
            await shop.set_fault("till", "paper-out")
            status = await v.ask("bp-12", "status", {"printer": "till"})
            test = await v.ask("bp-12", "selftest", {"printer": "till", "print": False})
            with pytest.raises(FleetError) as refused:
                await v.ask("bp-12", "reprint", {"job": "abc"})
            with pytest.raises(FleetError) as unknown:
                await v.ask("bp-12", "selftest", {"printer": "nope"})
            return status, test, refused.value, unknown.value, shop.requests

    status, test, refused, unknown, asked = asyncio.run(scenario())
    assert status["printers"][0]["state"] == "stopped"
    assert test["result"] == "fail" and test["checks"][1]["status"] == "fail"
    assert (refused.code, unknown.code) == ("unknown-op", "unknown-printer")
    assert refused.hint and "There is no printer" in unknown.message
    # the shop knows who asked and in which role from the topic alone
    assert {(a.role, a.user) for a, _ in asked} == {("tech", "anna")}


def test_staff_ask_in_their_own_role(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with SimulatedShop(access(b, "bp-12")) as shop, view(b, "kati") as v:
            await v.settle()
            await v.ask("bp-12", "status", role="staff")
            with pytest.raises(FleetError) as as_tech:  # the ACL drops it: no answer
                await v.ask("bp-12", "status", role="tech", timeout=1)
            return shop.requests, as_tech.value

    asked, as_tech = asyncio.run(scenario())
    assert [(a.role, a.user) for a, _ in asked] == [("staff", "kati")]
    assert as_tech.code == "no-answer"


def test_a_reader_without_the_technicians_rights_gets_a_clear_timeout(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with SimulatedShop(access(b, "bp-12")) as shop, view(b, "eve") as v:
            await v.settle()
            assert v.shop("bp-12")["online"]  # a reader sees the fleet...
            t0 = time.monotonic()
            with pytest.raises(FleetError) as err:  # ...and cannot make a shop act
                await v.ask("bp-12", "selftest", {"printer": "shelf"}, timeout=1.0)
            return err.value, time.monotonic() - t0, shop.requests

    err, waited, asked = asyncio.run(scenario())
    assert err.code == "no-answer" and 1.0 <= waited < 3
    assert "did not answer within 1 s" in err.message and "eve" in err.hint
    assert asked == []


def test_an_offline_shop_is_refused_at_once(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with view(b) as v:
            async with SimulatedShop(access(b, "bp-12")):
                await until(lambda: (s := v.shop("bp-12")) and s["online"])
            await until(lambda: v.shop("bp-12")["online"] is False)
            with pytest.raises(FleetError) as err:
                await v.ask("bp-12", "status")
            return err.value

    assert asyncio.run(scenario()).code == "shop-offline"


def test_a_wrong_password_and_an_absent_broker_are_said_in_words(broker):
    b = fleet_broker(broker)

    async def attempt(a: BrokerAccess) -> FleetError:
        async with FleetView(a, backoff_initial_s=0.1) as v:
            with pytest.raises(FleetError) as err:
                await v.wait_connected(5)
            return err.value

    refused = asyncio.run(attempt(access(b, "anna", "wrong")))
    assert refused.code == "broker-refused" and "anna" in refused.message
    b.stop()
    gone = asyncio.run(attempt(access(b, "anna")))
    assert gone.code == "broker-unreachable"


def test_the_view_comes_back_after_the_broker_restarts(broker):
    b = fleet_broker(broker)

    async def scenario():
        async with view(b) as v:
            await v.wait_connected(5)
            b.stop()
            await until(lambda: not v.connected)
            b.start()
            async with SimulatedShop(access(b, "bp-12")):
                await until(lambda: (s := v.shop("bp-12")) and s["online"], timeout=10)
            return v.attempts

    assert asyncio.run(scenario()) == 0


def test_a_chunked_answer_is_put_back_together(broker):
    """The support bundle comes in chunks with the same correlation data."""
    b = fleet_broker(broker)
    blob = bytes(range(256)) * 40

    class BundleShop(SimulatedShop):
        async def _serve(self):
            import base64

            async for message in self._client.messages:
                props = message.properties
                size, n = len(blob), 4
                step = -(-size // n)
                for i in reversed(range(n)):  # out of order on purpose
                    part = base64.b64encode(blob[i * step:(i + 1) * step]).decode()
                    await self._reply(props.ResponseTopic, props.CorrelationData,
                                      protocol.answer({"chunk": i, "chunks": n, "size": size,
                                                       "data": part}))

    async def scenario():
        async with BundleShop(access(b, "bp-12")), view(b) as v:
            await v.settle()
            return await v.ask("bp-12", "bundle")

    assert asyncio.run(scenario()) == blob
