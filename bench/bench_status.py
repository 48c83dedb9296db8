"""Benchmark: status query round trip and self-test time against the simulators.

    python bench/bench_status.py [--queries 500]

Measures, through labeld's own code (Printer.query_status: connect, ~HS or DLE EOT, read,
decode), the p50/p99 round trip to a ZPL and an ESC/POS simulator on loopback, next to the
naive route of the same exchange with a blocking socket and a fixed 500 ms read window (what a
client without reply framing does, see the protocol reference, section 6). Then the full
self-test of a healthy printer (without the test print). Prints a table and a BENCH_JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import time

from labeld.config import DeliveryConfig, PrinterConfig
from labeld.config import Config as LabeldConfig
from labeld.diagnostics.selftest import run_selftest
from labeld.pluginmanager import default_manager
from labeld.delivery.printers import build_printers
from labeld.sim import SimulatorThread


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def naive(port: int, query: bytes, window: float, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(query)
            s.settimeout(window)
            deadline = time.monotonic() + window
            while time.monotonic() < deadline:  # no framing: read until the window closes
                try:
                    if not s.recv(4096):
                        break
                except TimeoutError:
                    break
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def measure(printer, n: int) -> list[float]:
    out = []
    for _ in range(n):
        live = await printer.query_status()
        assert live.answered, live.reasons
        out.append(live.latency_ms)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--naive-queries", type=int, default=6)
    ap.add_argument("--selftests", type=int, default=30)
    args = ap.parse_args()
    plugins = default_manager()
    results = {}
    for name, model in (("zpl", "zebra-generic-203"), ("escpos", "escpos-generic-80")):
        with SimulatorThread(plugins.simulators()[name]) as sim:
            config = LabeldConfig(delivery=DeliveryConfig(), printers=[PrinterConfig(
                id="p", uri=f"socket://127.0.0.1:{sim.port}", model=model)])
            printer = build_printers(config, plugins)["p"]
            asyncio.run(measure(printer, 20))  # warm-up
            ours = asyncio.run(measure(printer, args.queries))
            base = naive(sim.port, printer.language.status_query(), 0.5, args.naive_queries)
            extra = plugins.selftest_checks(model)

            async def selftests(printer, extra):
                times = []
                for _ in range(args.selftests):
                    t0 = time.perf_counter()
                    checks = await run_selftest(printer, extra=extra)
                    assert all(c.status in ("ok", "skip") for c in checks), checks
                    times.append((time.perf_counter() - t0) * 1000)
                return times

            st = asyncio.run(selftests(printer, extra))
            results[name] = {
                "status_p50_ms": round(statistics.median(ours), 3),
                "status_p99_ms": round(pct(ours, 0.99), 3),
                "naive_p50_ms": round(statistics.median(base), 1),
                "ratio": round(statistics.median(base) / statistics.median(ours), 1),
                "selftest_p50_ms": round(statistics.median(st), 2),
                "selftest_max_ms": round(max(st), 2),
            }
    print(f"{'language':<9}{'status p50':>12}{'p99':>9}{'naive p50':>12}{'ratio':>8}"
          f"{'selftest p50':>14}{'max':>9}")
    for name, r in results.items():
        print(f"{name:<9}{r['status_p50_ms']:>10.3f}ms{r['status_p99_ms']:>7.3f}ms"
              f"{r['naive_p50_ms']:>10.1f}ms{r['ratio']:>7.0f}x{r['selftest_p50_ms']:>12.2f}ms"
              f"{r['selftest_max_ms']:>7.2f}ms")
    for name, r in results.items():
        print(f"{'PASS' if r['status_p50_ms'] < 2 else 'FAIL'} {name} status p50 "
              f"{r['status_p50_ms']} ms (aim < 2 ms)")
        print(f"{'PASS' if r['selftest_p50_ms'] < 500 else 'FAIL'} {name} self-test p50 "
              f"{r['selftest_p50_ms']} ms (aim < 500 ms)")
    print("BENCH_JSON " + json.dumps({"bench": "status", **results}))


if __name__ == "__main__":
    main()
