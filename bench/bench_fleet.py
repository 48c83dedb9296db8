"""Benchmark: the fleet support channel at scale, many simulated shops against one Mosquitto.

    python bench/bench_fleet.py [--shops 200] [--printers 2]

Starts a Mosquitto on a free loopback port (labeld.fleet.localbroker: password file and the
fleet's ACL, as a vendor would run it), `--shops` SimulatedShops with `--printers` printers each
(lightweight publishers speaking the real protocol, all on one event loop: one MQTT connection
and one task per shop, not a daemon each) and one FleetView as the desk user. Measures:

* cold start: from the view's start until it holds every shop's retained state (presence
  online, every printer's state), and the retained bytes per shop;
* a burst: one printer in every shop runs out of paper at once; per-fault latency (the shop's
  publish to the view holding `stopped`), p50/p95/max, and the time until the view has seen
  all of them; messages per second through the broker during the burst;
* the naive route beside it: the desk asks every shop for `status`, one request/response
  round trip after the other (polling instead of retained state and push), for the time of
  one sweep over the fleet and the ratio to the push route's convergence;
* the broker's CPU seconds in each phase and over the run (/proc/PID/stat utime+stime).

Prints a table and a BENCH_JSON line. Exit 0 when the run completed, 1 when it broke.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import BenchError, arm_budget, cpu_seconds, disarm_budget

from labeld.fleet import protocol
from labeld.fleet.connection import BrokerAccess
from labeld.fleet.localbroker import LocalBroker, fleet_acl, have_mosquitto
from labeld.fleet.simshop import SimPrinter, SimulatedShop
from labeld.fleet.view import Change, FleetView

DESK = "desk"
FAULT = "paper-out"


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] if s else 0.0


class TimedView(FleetView):
    """A FleetView that notes when each change arrived and what each retained message
    weighed (the view itself is unchanged)."""

    def __init__(self, access: BrokerAccess):
        super().__init__(access)
        self.received = 0
        self.retained_bytes: dict[str, int] = {}
        self.stopped_at: dict[str, float] = {}  # shop -> when its first printer was seen stopped
        self.watch: str | None = None  # the printer whose fault the burst sets

    def _receive(self, message: Any) -> None:
        self.received += 1
        if message.retain:
            shop = str(message.topic).split("/")[2]
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            self.retained_bytes[shop] = self.retained_bytes.get(shop, 0) + len(payload)
        super()._receive(message)

    def _notify(self, change: Change) -> None:
        super()._notify(change)
        if change.kind == "printers" and change.printer == self.watch \
                and change.shop not in self.stopped_at:
            p = self._shops[change.shop].printers.get(change.printer)
            if p is not None and p.state == "stopped":
                self.stopped_at[change.shop] = time.perf_counter()

    def complete(self, shops: list[str], printers: int) -> bool:
        """Every shop online with every printer's state known."""
        for sid in shops:
            s = self._shops.get(sid)
            if s is None or s.online is not True or len(s.printers) < printers \
                    or any(p.state == "unknown" for p in s.printers.values()):
                return False
        return True


def printer_ids(n: int) -> tuple[str, ...]:
    base = ("shelf", "till")
    return tuple(base[i] if i < len(base) else f"p{i + 1}" for i in range(n))


async def until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.002)


async def run(args: argparse.Namespace, broker: LocalBroker, passwords: dict[str, str],
              shop_ids: list[str]) -> dict[str, Any]:
    pid = broker.pid or 0
    cpu0 = cpu_seconds(pid)
    printers = printer_ids(args.printers)
    gate = asyncio.Semaphore(50)  # connections being made at once

    async def open_shop(sid: str) -> SimulatedShop:
        async with gate:
            return await SimulatedShop(BrokerAccess.from_url(broker.url, sid, passwords[sid]),
                                       printers=printers, name=f"Shop {sid}").start()

    t0 = time.perf_counter()
    shops = await asyncio.gather(*(open_shop(sid) for sid in shop_ids))
    connect_s = time.perf_counter() - t0
    view = TimedView(BrokerAccess.from_url(broker.url, DESK, passwords[DESK]))
    view.watch = printers[0]
    try:
        # (a) cold start: the view connects to a broker holding every shop's retained state
        cpu1 = cpu_seconds(pid)
        t0 = time.perf_counter()
        await view.start()
        await until(lambda: view.complete(shop_ids, len(printers)), args.timeout,
                    "the view to hold every shop's retained state")
        cold_s = time.perf_counter() - t0
        cold_messages = view.received
        cpu_cold = cpu_seconds(pid) - cpu1
        # the reasons' words in every language are loaded on a fault's first use: not timed
        SimPrinter("warm-up", "Warm-up", faults=[FAULT]).reasons()
        await asyncio.sleep(0.2)  # nothing more should come; let the loop be quiet

        # (b) the burst: one printer in every shop out of paper at once
        published_at: dict[str, float] = {}

        async def fault(shop: SimulatedShop) -> None:
            published_at[shop.shop] = time.perf_counter()
            await shop.set_fault(printers[0], FAULT)

        received0, cpu2 = view.received, cpu_seconds(pid)
        t0 = time.perf_counter()
        await asyncio.gather(*(fault(s) for s in shops))
        await until(lambda: len(view.stopped_at) == len(shop_ids), args.timeout,
                    "the view to see every shop's fault")
        burst_s = time.perf_counter() - t0
        # the events (not retained) that follow each fault still count as traffic
        await until(lambda: view.received - received0 >= 2 * len(shop_ids), 5,
                    "the burst's events")
        burst_all_s = time.perf_counter() - t0
        cpu_burst = cpu_seconds(pid) - cpu2
        latencies = [(view.stopped_at[s] - published_at[s]) * 1000 for s in shop_ids]
        burst_messages = 2 * len(shop_ids)  # published by the shops: printer state, event
        delivered = view.received - received0

        # what a shop keeps retained with that fault (its reasons' words in en and hu)
        first = shops[0]
        p = first.printers[printers[0]]
        faulted = view.retained_bytes.get(first.shop, 0) \
            + len(protocol.payload(first.printer_body(p))) \
            - len(protocol.payload(first.printer_body(dataclasses.replace(p, faults=[]))))

        # the naive route: the desk asks each shop for status, one after the other
        cpu3 = cpu_seconds(pid)
        rtts = []
        t0 = time.perf_counter()
        for sid in shop_ids[:args.poll_shops or None]:
            t1 = time.perf_counter()
            answer = await view.ask(sid, "status", timeout=10)
            rtts.append((time.perf_counter() - t1) * 1000)
            assert isinstance(answer, dict) and answer["printers"], answer
        polled = len(rtts)
        poll_s = (time.perf_counter() - t0) * len(shop_ids) / polled  # a whole sweep
        cpu_poll = cpu_seconds(pid) - cpu3
    finally:
        await view.stop()
        await asyncio.gather(*(s.stop() for s in shops), return_exceptions=True)
    retained = [view.retained_bytes.get(s, 0) for s in shop_ids]
    return {
        "bench": "fleet", "shops": len(shop_ids), "printers_per_shop": len(printers),
        "connect_all_s": round(connect_s, 3),
        "cold_start_s": round(cold_s, 3), "cold_messages": cold_messages,
        "retained_bytes_per_shop_mean": round(statistics.mean(retained)),
        "retained_bytes_per_shop_max": max(retained),
        "retained_bytes_per_shop_one_fault": faulted,
        "burst_faults": len(latencies),
        "fault_p50_ms": round(statistics.median(latencies), 2),
        "fault_p95_ms": round(pct(latencies, 0.95), 2),
        "fault_max_ms": round(max(latencies), 2),
        "burst_convergence_s": round(burst_s, 3),
        "burst_msgs_in_per_s": round(burst_messages / burst_all_s),
        "burst_msgs_out_per_s": round(delivered / burst_all_s),
        "poll_shops": polled, "poll_rtt_p50_ms": round(statistics.median(rtts), 2),
        "poll_rtt_p95_ms": round(pct(rtts, 0.95), 2),
        "poll_sweep_s": round(poll_s, 3),
        "poll_vs_push": round(poll_s / burst_s, 1),
        "poll_messages_per_sweep": 2 * len(shop_ids),
        "broker_cpu_s": {"cold_start": round(cpu_cold, 3), "burst": round(cpu_burst, 3),
                         "poll_sweep": round(cpu_poll, 3),
                         "run": round(cpu_seconds(pid) - cpu0, 3)},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shops", type=int, default=200)
    ap.add_argument("--printers", type=int, default=2, help="printers per shop")
    ap.add_argument("--poll-shops", type=int, default=0,
                    help="shops the naive sweep asks (0: all); the sweep time is scaled to all")
    ap.add_argument("--timeout", type=float, default=60.0, help="per phase, seconds")
    ap.add_argument("--budget", type=float, default=300.0, help="the whole run, seconds")
    args = ap.parse_args()
    if not have_mosquitto():
        print("Mosquitto is not installed: sudo apt-get install mosquitto", file=sys.stderr)
        return 1
    shop_ids = [f"shop-{i:04d}" for i in range(1, args.shops + 1)]
    passwords = {u: secrets.token_urlsafe(12) for u in [*shop_ids, DESK]}
    arm_budget(args.budget)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp, \
                LocalBroker(Path(tmp), passwords, fleet_acl(shop_ids, techs=[DESK])) as broker:
            r = asyncio.run(run(args, broker, passwords, shop_ids))
    except BenchError as exc:
        print(f"broke: {exc}", file=sys.stderr)
        return 1
    finally:
        disarm_budget()
    cpu = r["broker_cpu_s"]
    print(f"fleet: {r['shops']} simulated shops x {r['printers_per_shop']} printers, one "
          f"Mosquitto, one FleetView (all shops connected in {r['connect_all_s']:.2f} s)")
    rows = [
        ("cold start: view holds all retained state", f"{r['cold_start_s'] * 1000:.0f} ms",
         f"{r['cold_messages']} msgs, broker CPU {cpu['cold_start']:.3f} s"),
        ("retained bytes per shop (mean / max)",
         f"{r['retained_bytes_per_shop_mean']} B",
         (f"max {r['retained_bytes_per_shop_max']} B; "
          f"{r['retained_bytes_per_shop_one_fault']} B with one printer out of paper")),
        (f"burst: {r['burst_faults']} faults at once, p50 / p95 / max",
         f"{r['fault_p50_ms']:.1f} ms", f"{r['fault_p95_ms']:.1f} / {r['fault_max_ms']:.1f} ms"),
        ("burst: the view has seen every fault", f"{r['burst_convergence_s'] * 1000:.0f} ms",
         f"broker CPU {cpu['burst']:.3f} s"),
        ("burst: messages/s into / out of the broker", f"{r['burst_msgs_in_per_s']}",
         f"{r['burst_msgs_out_per_s']}"),
        (f"naive: status polled shop by shop ({r['poll_shops']} asked)",
         f"{r['poll_sweep_s'] * 1000:.0f} ms",
         (f"rtt p50 {r['poll_rtt_p50_ms']:.2f} / p95 {r['poll_rtt_p95_ms']:.2f} ms, "
          f"broker CPU {cpu['poll_sweep']:.3f} s")),
        ("naive sweep / push convergence", f"{r['poll_vs_push']:.1f}x",
         f"{r['poll_messages_per_sweep']} msgs per sweep, even when nothing changed"),
        ("broker CPU over the whole run", f"{cpu['run']:.3f} s", ""),
    ]
    for what, value, more in rows:
        print(f"  {what:<46}{value:>10}   {more}")
    print("BENCH_JSON " + json.dumps(r))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
