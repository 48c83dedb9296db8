"""Benchmark: the web console's first paint and page weight, next to FastAPI's Swagger UI page.

    python bench/bench_console.py [--runs 20]

A daemon with a simulated Zebra and an ESC/POS printer on loopback, Debian's Chromium driven by
Playwright. Each run opens the page in a fresh browser context (nothing cached, as a shop PC
after a restart): the console's printers page (/ui/printers, signed in) and, as the naive route,
the Swagger UI page FastAPI offers every app (/docs, the same daemon, bundled assets). Reported:
first contentful paint, the load event, and the bytes transferred (the page and everything it
loads). Prints a table and a BENCH_JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from labeld.config import Config, PrinterConfig, ServerConfig
from labeld.pluginmanager import default_manager
from labeld.security import Role
from labeld.server import ServerThread
from labeld.sim import SimulatorThread

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TARGET_FCP_MS = 300.0
# Paint, load and what the page and its resources weighed on the wire.
MEASURE = """() => {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const nav = performance.getEntriesByType('navigation')[0];
  const bytes = performance.getEntriesByType('resource')
      .reduce((sum, r) => sum + r.transferSize, nav.transferSize);
  return {fcp: paint ? paint.startTime : null, load: nav.loadEventEnd, bytes};
}"""


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def measure(browser, url: str, cookie: dict | None, runs: int, ready: str) -> dict:
    fcps, loads, weights = [], [], []
    for _ in range(runs):
        context = browser.new_context()
        if cookie:
            context.add_cookies([cookie])
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector(ready)
        page.wait_for_function("performance.getEntriesByName('first-contentful-paint').length")
        m = page.evaluate(MEASURE)
        fcps.append(m["fcp"])
        loads.append(m["load"])
        weights.append(m["bytes"])
        context.close()
    return {"fcp_p50_ms": round(statistics.median(fcps), 1), "fcp_p95_ms": round(pct(fcps, .95), 1),
            "load_p50_ms": round(statistics.median(loads), 1),
            "bytes": int(statistics.median(weights))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    chromium = os.environ.get("LABELD_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        print("bench_console needs Debian's chromium: apt-get install chromium", file=sys.stderr)
        return 1
    plugins = default_manager()
    with tempfile.TemporaryDirectory() as tmp, \
            SimulatorThread(plugins.simulators()["zpl"]) as zebra, \
            SimulatorThread(plugins.simulators()["escpos"]) as till:
        config = Config(server=ServerConfig(spool=str(Path(tmp) / "spool.db"), log_level="warning"),
                        printers=[PrinterConfig(id="shelf", uri=f"socket://127.0.0.1:{zebra.port}",
                                                model="zebra-generic-203"),
                                  PrinterConfig(id="till", uri=f"socket://127.0.0.1:{till.port}",
                                                model="escpos-generic-80")])
        server = ServerThread(config, plugins=plugins).start()
        try:
            secret, _ = server.app.state.daemon.token_store.create_sync("bench", Role.TECH)
            cookie = {"name": "labeld_session", "value": secret, "url": server.url}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                # One untimed load of each: the daemon's first request builds its templates.
                measure(browser, f"{server.url}/ui/printers", cookie, 1, "[data-printer]")
                measure(browser, f"{server.url}/docs", None, 1, ".swagger-ui .info")
                console = measure(browser, f"{server.url}/ui/printers", cookie, args.runs,
                                  "[data-printer]")
                docs = measure(browser, f"{server.url}/docs", None, args.runs,
                               ".swagger-ui .info")
                browser.close()
        finally:
            server.stop()
    print(f"console first paint and weight: {args.runs} cold loads each, Chromium on loopback")
    print(f"{'page':<22}{'FCP p50':>9}{'FCP p95':>9}{'load p50':>10}{'bytes':>10}")
    for name, r in (("console /ui/printers", console), ("naive: Swagger /docs", docs)):
        print(f"{name:<22}{r['fcp_p50_ms']:>9}{r['fcp_p95_ms']:>9}{r['load_p50_ms']:>10}"
              f"{r['bytes']:>10}")
    ratio_bytes = round(docs["bytes"] / console["bytes"], 1)
    ratio_fcp = round(docs["fcp_p50_ms"] / console["fcp_p50_ms"], 1)
    print(f"ratio /docs / console: {ratio_bytes}x the bytes, {ratio_fcp}x the first paint")
    ok = console["fcp_p50_ms"] < TARGET_FCP_MS
    print(f"{'PASS' if ok else 'FAIL'} console first paint p50 {console['fcp_p50_ms']} ms "
          f"(target < {TARGET_FCP_MS:g} ms)")
    print("BENCH_JSON " + json.dumps({"bench": "console", "runs": args.runs, "console": console,
                                      "docs": docs, "ratio_bytes": ratio_bytes,
                                      "ratio_fcp": ratio_fcp, "pass": ok}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
