#!/usr/bin/env python3
"""Fault soak: four simulated printers cycling through faults under a steady job load.

    python bench/bench_faults.py [--seconds 300] [--rate 50] [--seed 1] [--budget S] [--keep]

A benchmark, not a timed test: it reports what labeld did while its printers misbehaved, and
fails (exit 1) only when a label went missing, came out twice or was reported printed when it
was not, or when the run itself broke.

* Printers: two Zebras (`zebra-generic-203`), one receipt printer (`escpos-generic-80`) and one
  TSC (`tsc-generic-203`), each a `labeld.sim.SimulatorThread` in this process, so the
  bench sets faults and reads what each printer printed directly.
* The daemon: a real `labeld serve` child (its own process group, killed in `finally`) with a
  temporary TOML config, a spool file on disk, shop-like delivery settings made quicker (see
  DELIVERY), a `pos` token for submitting and a `tech` token for reading and releasing, both
  made with `labeld token create`.
* Faults: each printer goes through its language's faults that stop printing (paper out, head
  or cover open, ...) and the link faults every simulator has (offline, refuse-for 3,
  reset-mid-job 200, reset-on-status, half-open, slow 5000, silent, garbage, drop-after 100),
  in a random order per printer (fixed by --seed), each on for ~8-12 s, then ~4 s clear (both
  scaled down for short runs, so a 12 s run still visits several).
* Load: raw jobs at --rate per second in total, round robin over the printers, each with a
  unique serial (`soak-N`) in its bytes; plus, every second, `GET /v1/printers` and each
  printer's `GET /v1/printers/{id}/status`. Every API answer's latency is kept.
* End: faults cleared, then the bench waits until every accepted job is finished. A job held
  as `not-taking-data` (a half-open receipt or TSC printer: nothing can tell whether it
  printed) is what a person would check: the bench looks in the simulator, releases it when
  its serial did not print (and cancels it if it did), and counts it.

Report: a table and one `BENCH_JSON {...}` line; see bench/README.md for what each number
means. Exit status: 0 when the run completed with nothing lost and nothing printed twice (the
other numbers are printed, not judged), 1 when a label was lost, printed twice, printed on the
wrong printer, or reported printed when it was not, or when something broke (the daemon died,
the budget ran out); 130 on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from harness import BenchError, Labeld, Printer, arm_budget, cpu_seconds, disarm_budget

from labeld.pluginmanager import default_manager
from labeld.sim import SimulatorThread


@dataclass(frozen=True)
class PrinterPlan:
    id: str
    simulator: str  # the simulator's name (`labeld simulate NAME`)
    model: str


PRINTERS: tuple[PrinterPlan, ...] = (
    PrinterPlan("zpl-1", "zpl", "zebra-generic-203"),
    PrinterPlan("zpl-2", "zpl", "zebra-generic-203"),
    PrinterPlan("receipt", "escpos", "escpos-generic-80"),
    PrinterPlan("tsc", "tspl", "tsc-generic-203"),
)

# What a shop would configure, made quicker so that five minutes hold many fault cycles: a
# printer that refuses for 3 s must run through its retries within its window, and a job a
# silent printer took must be settled (as unconfirmed) before the window after next.
DELIVERY: dict[str, float] = {
    "max_attempts": 4, "backoff_initial_s": 0.2, "backoff_max_s": 2.0,
    "connect_timeout_s": 1.0, "write_timeout_s": 2.0, "status_timeout_s": 1.5,
    "confirm_window_s": 5.0,
}

# Link faults every simulator takes, with the value each is set to. The jobs are ~300 bytes
# (see job_bytes) so that drop-after 100 and reset-mid-job 200 really cut every job.
LINK_FAULTS: tuple[tuple[str, bool | int], ...] = (
    ("offline", True), ("refuse-for", 3), ("reset-mid-job", 200), ("reset-on-status", True),
    ("half-open", True), ("slow", 5000), ("silent", True), ("garbage", True),
    ("drop-after", 100),
)

SERIAL = re.compile(rb"soak-(\d+)")
SLOW_ANSWER_S = 3.5  # an API answer slower than this is a misbehaviour worth reporting
BUSY_POLL_PER_S = 4.0  # labeld polls a held printer at most 4/s (0.25 s first pause)
# labeld trusts a printer status younger than 2 s before sending the next job, so for up to 2 s
# after a fault is set it may still send jobs, each with its confirmation queries. Polling rates
# are therefore also counted from this long after the fault was set: the hold's own polling.
SETTLE_S = 2.0
POST_CONNECTIONS = 8  # keep-alive connections submitting jobs


def log(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Jobs


def job_bytes(language: str, n: int) -> bytes:
    """Job n for a printer of `language`: ~300 bytes with serial `soak-n` in the first 100, so
    a job cut by drop-after 100 or reset-mid-job 200 leaves a fragment that names it."""
    serial = f"soak-{n}"
    if language == "zpl":
        return (f"^XA^FO20,20^A0N,30,30^FD{serial}^FS\n"
                "^FO20,60^A0N,24,24^FDLot 2024-07 line 3 station B^FS\n"
                "^FO20,90^A0N,24,24^FDArt. 4711-0815 qty 12 best before 2025-12-31^FS\n"
                "^FO20,120^A0N,24,24^FDPacked by operator 17, shift 2, bay 4^FS\n"
                "^FO20,150^A0N,24,24^FDKeep dry, store below 25 C^FS\n"
                "^XZ\n").encode("ascii")
    if language == "escpos":
        return (f"{serial}\n"
                "Table 12   Cover 2   Server 17\n"
                "1 x Espresso                  2.50\n"
                "2 x Croissant                 5.20\n"
                "1 x Orange juice              3.90\n"
                "1 x Sparkling water 0.5 l     2.80\n"
                "Total                        14.40\n"
                "Thank you, see you soon\n\n\n").encode("ascii") + b"\x1dV\x00"
    if language == "tspl":
        return (f'SIZE 50 mm,30 mm\r\nCLS\r\nTEXT 10,10,"3",0,1,1,"{serial}"\r\n'
                'TEXT 10,50,"2",0,1,1,"Lot 2024-07 line 3"\r\n'
                'TEXT 10,80,"2",0,1,1,"Art. 4711-0815 qty 12"\r\n'
                'TEXT 10,110,"2",0,1,1,"Best before 2025-12-31"\r\n'
                'TEXT 10,140,"2",0,1,1,"Packed by operator 17"\r\n'
                "PRINT 1\r\n").encode("ascii")
    raise ValueError(f"no soak job for language {language!r}")


@dataclass
class Submitted:
    n: int
    printer: str
    status: int | None = None  # HTTP status of the POST; None: no answer (exception)
    job_id: str | None = None
    error: str | None = None


# --------------------------------------------------------------------------------------------
# The daemon


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS) ... of a process in KiB, from /proc; {} where unavailable."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                out[key] = int(value.split()[0])
    return out


class Daemon(Labeld):
    """`labeld serve` (see harness.Labeld) with the soak's printers and DELIVERY, JSON logs at
    `info`, and two tokens made the way an operator makes them: a till submits (`pos`), a
    technician reads and releases (`tech`)."""

    def __init__(self, tmp: Path, sims: dict[str, SimulatorThread]):
        super().__init__(tmp, [Printer(plan.id, sims[plan.id].port, plan.model)
                               for plan in PRINTERS],
                         log_level="info", log_format="json", delivery=DELIVERY)
        self.pos_token = self.make_token("soak-till", "pos")
        self.tech_token = self.make_token("soak-tech", "tech")
        self.start()


# --------------------------------------------------------------------------------------------
# Faults


@dataclass
class Window:
    """One fault on one printer, from set to cleared."""

    printer: str
    fault: str
    value: bool | int
    printing: bool  # a fault that stops printing (paper out...), not a link fault
    t_on: float  # time.time()
    t_off: float = 0.0
    # Status-only connections the simulator accepted in the window, and how many of them were
    # the bench's own status GETs (one connection each): the rest is labeld's polling.
    status_connections: int = 0
    bench_status_gets: int = 0
    # The same from SETTLE_S after t_on (not counted in windows under SETTLE_S + 1 s).
    late_status_connections: int | None = None
    late_bench_status_gets: int | None = None
    # Printing faults: jobs labeld calls `confirmed` while, at the window's end, their bytes
    # still wait unprinted in the printer (a confirmation that came before the label).
    confirmed_unprinted: list[int] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max(self.t_off - self.t_on, 1e-9)

    @property
    def daemon_status_per_s(self) -> float:
        return max(0, self.status_connections - self.bench_status_gets) / self.seconds

    @property
    def late_daemon_status_per_s(self) -> float | None:
        if self.late_status_connections is None or self.late_bench_status_gets is None:
            return None
        return (max(0, self.late_status_connections - self.late_bench_status_gets)
                / max(self.seconds - SETTLE_S, 1e-9))


def fault_menu(sim: SimulatorThread) -> list[tuple[str, bool | int, bool]]:
    """(name, value, stops printing) of every fault this printer cycles through: its language's
    faults that stop printing, then the link faults."""
    device_faults = type(sim.simulator.device).FAULTS
    menu = [(f.name, True, True) for f in device_faults if f.stops_printing]
    known = set(sim.simulator.available_faults)
    menu += [(name, value, False) for name, value in LINK_FAULTS if name in known]
    return menu


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Answer:
    kind: str  # "POST /v1/jobs", "GET /v1/printers/{id}/status", ...
    ms: float
    status: int | None  # None: no answer (timeout, connection error)
    at: float  # time.time() when the request started
    end: float  # time.time() when the answer arrived
    printer: str | None = None
    fault: str | None = None  # the fault set on `printer` when the request started


@dataclass
class Soak:
    args: argparse.Namespace
    sims: dict[str, SimulatorThread]
    daemon: Daemon
    languages: dict[str, str]  # printer id -> language
    submitted: list[Submitted] = field(default_factory=list)
    serial_of: dict[str, int] = field(default_factory=dict)  # job id -> serial
    answers: list[Answer] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    # printer id -> the fault set on it now, so that a slow answer can be told apart
    active: dict[str, str] = field(default_factory=dict)
    late: int = 0  # jobs whose POST started > 50 ms after its due time (all connections busy)
    rss_kib: list[int] = field(default_factory=list)
    rss_start_kib: int = 0
    held_released: list[dict[str, Any]] = field(default_factory=list)
    held_canceled: list[dict[str, Any]] = field(default_factory=list)
    stuck: list[dict[str, Any]] = field(default_factory=list)  # unfinished when time ran out
    finals: dict[str, dict[str, Any]] = field(default_factory=dict)  # job id -> GET answer
    drain_s: float = 0.0
    load_started: float = 0.0  # time.time()
    stop_polling: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self, token: str, **kw: Any) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(base_url=self.daemon.url, limits=limits, timeout=30,
                                 trust_env=False, headers={"Authorization": f"Bearer {token}"},
                                 **kw)

    async def call(self, c: httpx.AsyncClient, method: str, path: str, kind: str, *,
                   printer: str | None = None, **kw: Any) -> httpx.Response | None:
        """One API call, its latency recorded whatever the answer; None if none came."""
        at, p0 = time.time(), time.perf_counter()
        fault = self.active.get(printer) if printer else None
        try:
            resp: httpx.Response | None = await c.request(method, path, **kw)
        except httpx.HTTPError:
            resp = None
        self.answers.append(Answer(kind, (time.perf_counter() - p0) * 1000,
                                   resp.status_code if resp is not None else None, at,
                                   time.time(), printer, fault))
        return resp

    # -- load

    async def load(self, until: float) -> None:
        """Job n is due at start + n/rate and goes to printer n mod 4; POST_CONNECTIONS keep-alive
        connections take them in turn (a job starts late when all of them are busy)."""
        queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
        ids = [p.id for p in PRINTERS]

        async def pacer(t0: float) -> None:
            n = 0
            while (due := t0 + n / self.args.rate) < until:
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                queue.put_nowait((n, due))
                n += 1
            for _ in range(POST_CONNECTIONS):
                queue.put_nowait(None)

        async def worker(c: httpx.AsyncClient) -> None:
            while (item := await queue.get()) is not None:
                n, due = item
                if time.monotonic() - due > 0.05:
                    self.late += 1
                printer = ids[n % len(ids)]
                data = job_bytes(self.languages[printer], n)
                sub = Submitted(n, printer)
                self.submitted.append(sub)
                resp = await self.call(c, "POST", "/v1/jobs", "POST /v1/jobs", printer=printer,
                                       json={"printer": printer, "raw": {
                                           "data": data.decode("ascii"), "encoding": "utf-8"}})
                if resp is None:
                    sub.error = "no answer"
                    continue
                sub.status = resp.status_code
                if resp.status_code == 202:
                    sub.job_id = resp.json()["id"]
                    self.serial_of[sub.job_id] = n
                else:
                    sub.error = resp.text[:300]

        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(self.client(self.daemon.pos_token))
                       for _ in range(POST_CONNECTIONS)]
            await asyncio.gather(pacer(time.monotonic()), *(worker(c) for c in clients))

    # -- polling, as a technician's dashboard would

    async def poll_status(self, printer: str) -> None:
        async with self.client(self.daemon.tech_token) as c:
            while not self.stop_polling.is_set():
                t0 = time.monotonic()
                await self.call(c, "GET", f"/v1/printers/{printer}/status",
                                "GET /v1/printers/{id}/status", printer=printer)
                await self._tick(t0)

    async def poll_printers(self) -> None:
        async with self.client(self.daemon.tech_token) as c:
            while not self.stop_polling.is_set():
                t0 = time.monotonic()
                await self.call(c, "GET", "/v1/printers", "GET /v1/printers")
                self.daemon.check()
                rss = proc_status(self.daemon.pid).get("VmRSS")
                if rss:
                    self.rss_kib.append(rss)
                await self._tick(t0)

    async def _tick(self, t0: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_polling.wait(),
                                   max(0.0, 1.0 - (time.monotonic() - t0)))

    # -- faults

    async def cycle_faults(self, index: int, until: float) -> None:
        """Set this printer's faults one after the other, in a random order (seeded per
        printer), each for on_s (±20 %), with clear_s between; none left set at `until`."""
        plan = PRINTERS[index]
        sim = self.sims[plan.id]
        rng = random.Random(f"{self.args.seed}-{plan.id}")
        menu = fault_menu(sim)
        # 300 s: on 8-12 s, clear 4 s; a 12 s run: ~1.5 s on, 0.8 s clear, ~5 faults a printer.
        on_s = min(10.0, max(1.5, self.args.seconds / 30))
        clear_s = min(4.0, max(0.8, on_s * 0.4))
        order: list[tuple[str, bool | int, bool]] = []
        # Staggered starts, so the four printers do not fault in step.
        await asyncio.sleep(rng.uniform(0.3, clear_s))
        async with self.client(self.daemon.tech_token) as c:
            while True:
                if not order:
                    order = list(menu)
                    rng.shuffle(order)
                name, value, printing = order.pop()
                on = on_s * rng.uniform(0.8, 1.2)
                if time.monotonic() + on > until:
                    return
                window = Window(plan.id, name, value, printing, time.time())
                await asyncio.to_thread(sim.set_fault, name, value)
                self.active[plan.id] = name
                await asyncio.sleep(on)
                # Read before clearing: the polling that the fault caused, not the recovery.
                window.status_connections = await asyncio.to_thread(
                    sim.status_connections_since, window.t_on)
                late = window.t_on + SETTLE_S
                if on >= SETTLE_S + 1.0:
                    window.late_status_connections = await asyncio.to_thread(
                        sim.status_connections_since, late)
                if printing:
                    window.confirmed_unprinted = await self.confirmed_unprinted(plan.id, c)
                window.t_off = time.time()
                await asyncio.to_thread(sim.clear_faults)
                self.active.pop(plan.id, None)
                window.bench_status_gets = self.status_gets(plan.id, window.t_on, window.t_off)
                if window.late_status_connections is not None:
                    window.late_bench_status_gets = self.status_gets(plan.id, late,
                                                                     window.t_off)
                self.windows.append(window)
                await asyncio.sleep(clear_s)

    async def confirmed_unprinted(self, printer: str, c: httpx.AsyncClient) -> list[int]:
        """Serials of jobs that wait unprinted in the printer now but that labeld already calls
        `confirmed` (looked up among its newest 1000 completed jobs of that printer)."""
        waiting = {int(n) for j in await asyncio.to_thread(self.sims[printer].jobs)
                   if j.complete and not j.printed and not j.canceled
                   for n in SERIAL.findall(j.data)}
        if not waiting:
            return []
        resp = await self.call(c, "GET", f"/v1/jobs?printer={printer}&state=completed&limit=1000",
                               "GET /v1/jobs?printer=&state=", printer=printer)
        if resp is None or resp.status_code != 200:
            return []
        return sorted(n for j in resp.json()["jobs"] if j.get("delivery") == "confirmed"
                      and (n := self.serial_of.get(j["id"], -1)) in waiting)

    def status_gets(self, printer: str, since: float, until: float) -> int:
        """The bench's own status GETs to `printer` (one status connection each) that started
        at or after `since` and were answered by `until`."""
        return sum(1 for a in self.answers if a.printer == printer
                   and a.kind.endswith("/status") and a.at >= since and a.end <= until)

    # -- the end

    async def drain(self, deadline: float) -> None:
        """Wait until every accepted job is finished. A job held as not-taking-data waits for a
        person: the bench is that person, and looks at the printer (the simulator) first."""
        handled: set[str] = set()
        async with self.client(self.daemon.tech_token) as c:
            while True:
                self.daemon.check()
                open_jobs: list[dict[str, Any]] = []
                for state in ("pending", "processing", "held"):
                    resp = await self.call(c, "GET", f"/v1/jobs?state={state}&limit=1000",
                                           "GET /v1/jobs?state=")
                    if resp is not None and resp.status_code == 200:
                        open_jobs += resp.json()["jobs"]
                    else:
                        open_jobs.append({"state": "unknown"})  # ask again
                for job in open_jobs:
                    if (job.get("state") == "held" and job["id"] not in handled
                            and (job.get("error") or {}).get("code") == "not-taking-data"):
                        handled.add(job["id"])
                        await self._settle_held(c, job)
                if not open_jobs:
                    return
                if time.monotonic() > deadline:
                    self.stuck = [j for j in open_jobs if "id" in j]
                    log(f"time is up with {len(self.stuck)} job(s) unfinished")
                    return
                await asyncio.sleep(0.5)

    async def _settle_held(self, c: httpx.AsyncClient, job: dict[str, Any]) -> None:
        sub = next((s for s in self.submitted if s.job_id == job["id"]), None)
        serial = sub.n if sub else None
        printed = 0 if serial is None else await asyncio.to_thread(
            self._printed_count, job["printer"], serial)
        record = {"job": job["id"], "printer": job["printer"], "serial": serial,
                  "printed_before": printed, "error": job.get("error")}
        if printed:
            # It did come out: releasing would print it twice. A person would cancel it.
            await self.call(c, "DELETE", f"/v1/jobs/{job['id']}", "DELETE /v1/jobs/{id}")
            self.held_canceled.append(record)
        else:
            await self.call(c, "POST", f"/v1/jobs/{job['id']}/release",
                            "POST /v1/jobs/{id}/release")
            self.held_released.append(record)

    def _printed_count(self, printer: str, serial: int) -> int:
        return sum(1 for j in self.sims[printer].jobs() if j.complete and j.printed
                   and serial in {int(m) for m in SERIAL.findall(j.data)})

    async def fetch_finals(self) -> None:
        """Every accepted job, as the API tells it now (state, delivery, evidence, attempts)."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        for s in self.submitted:
            if s.job_id:
                queue.put_nowait(s.job_id)

        async def worker() -> None:
            async with self.client(self.daemon.tech_token) as c:
                while not queue.empty():
                    job_id = queue.get_nowait()
                    resp = await self.call(c, "GET", f"/v1/jobs/{job_id}", "GET /v1/jobs/{id}")
                    if resp is not None and resp.status_code == 200:
                        self.finals[job_id] = resp.json()

        await asyncio.gather(*(worker() for _ in range(6)))

    async def run(self, budget_deadline: float) -> None:
        pollers = [asyncio.create_task(self.poll_printers())]
        pollers += [asyncio.create_task(self.poll_status(p.id)) for p in PRINTERS]
        self.load_started = time.time()
        until = time.monotonic() + self.args.seconds
        log(f"load: {self.args.rate:g} jobs/s for {self.args.seconds:g} s, faults cycling")
        await asyncio.gather(self.load(until), self.watch_daemon(until),
                             *(self.cycle_faults(k, until) for k in range(len(PRINTERS))))
        for sim in self.sims.values():
            await asyncio.to_thread(sim.clear_faults)
        accepted = sum(1 for s in self.submitted if s.job_id)
        log(f"load done: {len(self.submitted)} submitted, {accepted} accepted; faults cleared, "
            f"waiting for every job to finish")
        t0 = time.monotonic()
        # Room for asking about every job afterwards (~1-2 ms each over 6 connections).
        reserve = 10.0 + accepted * 0.002
        await self.drain(budget_deadline - reserve)
        self.drain_s = time.monotonic() - t0
        self.stop_polling.set()
        await asyncio.gather(*pollers)
        log(f"all finished after {self.drain_s:.1f} s; reading every job back")
        try:
            await asyncio.wait_for(self.fetch_finals(),
                                   max(5.0, budget_deadline - time.monotonic()))
        except TimeoutError:
            # The jobs not read back are reported as `unread`, which fails the run.
            log(f"time is up after reading {len(self.finals)} jobs back")

    async def watch_daemon(self, until: float) -> None:
        """Stop the run as soon as the daemon dies, rather than at the end of the load."""
        while time.monotonic() < until:
            self.daemon.check()
            await asyncio.sleep(0.5)


# --------------------------------------------------------------------------------------------
# Report


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def log_levels(path: Path) -> tuple[Counter[str], list[str]]:
    """Lines per level in the daemon's JSON log, and the first error lines."""
    levels: Counter[str] = Counter()
    errors: list[str] = []
    with contextlib.suppress(OSError), open(path, errors="replace") as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                levels["unparsed"] += 1
                continue
            level = str(entry.get("level", "?"))
            levels[level] += 1
            if level in ("error", "critical") and len(errors) < 5:
                errors.append(f"{entry.get('message')} {entry.get('exception', '')[-400:]}")
    return levels, errors


def log_lines_for(path: Path, job_ids: list[str], limit: int = 12) -> list[str]:
    """The daemon's log lines naming any of `job_ids` (evidence for the report)."""
    wanted, out = set(job_ids), []
    with contextlib.suppress(OSError), open(path, errors="replace") as f:
        for line in f:
            with contextlib.suppress(ValueError):
                if json.loads(line).get("job") in wanted:
                    out.append(line.strip())
                    if len(out) >= limit:
                        break
    return out


def analyse(soak: Soak, elapsed: float) -> dict[str, Any]:
    by_serial = {s.n: s for s in soak.submitted}
    accepted = [s for s in soak.submitted if s.job_id]
    # What each printer printed: whole jobs only (a cut job is recorded incomplete and never
    # prints); serial -> the printers it came out of, once per print.
    printed: dict[int, list[str]] = defaultdict(list)
    partial: Counter[str] = Counter()
    partial_printed = stray = merged = 0
    last_print = 0.0
    per_printer: dict[str, dict[str, Any]] = {}
    for plan in PRINTERS:
        jobs = soak.sims[plan.id].jobs()
        # All connections of the run, and those that only asked (status, label counter).
        per_printer[plan.id] = {"model": plan.model, "sim_jobs": len(jobs),
                                **soak.sims[plan.id].connection_counts()}
        for j in jobs:
            serials = {int(m) for m in SERIAL.findall(j.data)}
            if not j.complete:
                partial[plan.id] += 1
                partial_printed += j.printed  # never, by the simulator's own rule
                continue
            if not serials:
                stray += 1
                continue
            if len(serials) > 1:
                merged += 1  # two jobs in one connection: not how labeld sends
            if j.printed:
                last_print = max(last_print, j.received_at)
                for n in serials:
                    printed[n].append(plan.id)

    states: Counter[str] = Counter()
    completed_by: Counter[str] = Counter()
    attempts: list[int] = []
    lost: list[int] = []  # accepted, never printed, not completed
    completed_not_printed: list[int] = []  # labeld says completed; nothing came out
    twice: list[int] = []
    wrong_printer: list[int] = []
    unread = 0
    for s in accepted:
        final = soak.finals.get(s.job_id or "")
        state = final["state"] if final else "unread"
        unread += final is None
        states[state] += 1
        if final:
            attempts.append(int(final.get("attempts") or 0))
        if state == "completed":
            completed_by[f"{final.get('delivery')}/{final.get('evidence')}"] += 1
        where = printed.get(s.n, [])
        if not where:
            (completed_not_printed if state == "completed" else lost).append(s.n)
        if len(where) > 1:
            twice.append(s.n)
        if any(p != s.printer for p in where):
            wrong_printer.append(s.n)
    # Serials printed that no 202 accounts for: a POST that got no answer may still have been
    # accepted; anything else is a job from nowhere.
    unanswered = {s.n for s in soak.submitted if s.status is None}
    printed_unaccepted = [n for n in printed if by_serial.get(n) is None
                          or (by_serial[n].job_id is None and n not in unanswered)]

    def evidence(serials: list[int]) -> list[dict[str, Any]]:
        out = []
        for n in serials[:5]:
            s = by_serial[n]
            final = soak.finals.get(s.job_id or "", {})
            out.append({"serial": n, "printer": s.printer, "job": s.job_id,
                        "state": final.get("state"), "delivery": final.get("delivery"),
                        "evidence": final.get("evidence"), "printed_at": printed.get(n, []),
                        "attempt_log": final.get("attempt_log", [])[-6:],
                        "log": log_lines_for(soak.daemon.log_path, [s.job_id or ""], 8)})
        return out

    # API answers, by endpoint kind
    api: dict[str, dict[str, Any]] = {}
    kinds = sorted({a.kind for a in soak.answers})
    for kind in kinds + ["all"]:
        these = [a for a in soak.answers if kind in ("all", a.kind)]
        ms = sorted(a.ms for a in these)
        worst = max(these, key=lambda a: a.ms)
        api[kind] = {"n": len(ms), "p50_ms": round(pct(ms, 50), 1),
                     "p99_ms": round(pct(ms, 99), 1), "max_ms": round(ms[-1], 1),
                     "over_3500ms": sum(1 for v in ms if v > SLOW_ANSWER_S * 1000),
                     "no_answer": sum(1 for a in these if a.status is None),
                     "http_5xx": sum(1 for a in these if a.status and a.status >= 500),
                     "worst_at_s": round(worst.at - soak.load_started, 1),
                     "worst_printer": worst.printer, "worst_fault": worst.fault}
    slowest = sorted(soak.answers, key=lambda a: -a.ms)[:5]

    # Status connections during the faults that stop printing
    polls: dict[str, dict[str, Any]] = {}
    printing_windows = [w for w in soak.windows if w.printing]
    for plan in PRINTERS:
        ws = [w for w in printing_windows if w.printer == plan.id]
        if ws:
            rates = [w.daemon_status_per_s for w in ws]
            raw = [w.status_connections / w.seconds for w in ws]
            late = [r for w in ws if (r := w.late_daemon_status_per_s) is not None]
            polls[plan.id] = {"windows": len(ws), "max_per_s": round(max(rates), 2),
                              "mean_per_s": round(sum(rates) / len(rates), 2),
                              "max_with_bench_per_s": round(max(raw), 2),
                              "late_max_per_s": round(max(late), 2) if late else None,
                              "late_mean_per_s": round(sum(late) / len(late), 2) if late
                              else None}
    all_rates = [w.daemon_status_per_s for w in printing_windows]
    all_late = [r for w in printing_windows if (r := w.late_daemon_status_per_s) is not None]

    status_end = proc_status(soak.daemon.pid)
    delivered = len([n for n in printed if n in by_serial])
    span = max(last_print - soak.load_started, 1e-9)
    cpu = cpu_seconds(soak.daemon.pid)
    levels, error_lines = log_levels(soak.daemon.log_path)
    warnings: list[str] = []
    if api["all"]["over_3500ms"]:
        warnings.append(f"{api['all']['over_3500ms']} API answer(s) took over "
                        f"{SLOW_ANSWER_S:g} s (slowest {api['all']['max_ms']:.0f} ms)")
    # Judged after SETTLE_S: before that, labeld may rightly still be sending jobs.
    busy = [w for w in printing_windows
            if (w.late_daemon_status_per_s or 0.0) > BUSY_POLL_PER_S]
    if busy:
        warnings.append(f"labeld asked a faulted printer more than {BUSY_POLL_PER_S:g} times "
                        f"a second in {len(busy)} window(s), {SETTLE_S:g} s after the fault: "
                        + ", ".join(f"{w.printer} {w.fault} {w.late_daemon_status_per_s:.1f}/s"
                                    for w in busy[:5]))
    premature = [w for w in soak.windows if w.confirmed_unprinted]
    if premature:
        warnings.append(
            "labeld confirmed jobs still waiting unprinted in a faulted printer: " + ", ".join(
                f"{w.printer} {w.fault} {len(w.confirmed_unprinted)} (e.g. soak-"
                f"{w.confirmed_unprinted[0]})" for w in premature[:5]))
    if soak.held_canceled:
        warnings.append(f"{len(soak.held_canceled)} job(s) held as not-taking-data had printed")
    if soak.stuck:
        warnings.append(f"{len(soak.stuck)} job(s) unfinished at the end: " + ", ".join(
            f"{j['id']} {j.get('printer')} {j.get('state')} "
            f"{(j.get('error') or {}).get('code')}" for j in soak.stuck[:5]))
    if levels.get("error") or levels.get("critical"):
        warnings.append(f"daemon logged {levels.get('error', 0) + levels.get('critical', 0)} "
                        "error line(s)")

    for plan in PRINTERS:
        mine = [s for s in accepted if s.printer == plan.id]
        ws = [w for w in soak.windows if w.printer == plan.id]
        per_printer[plan.id].update({
            "accepted": len(mine),
            "completed": sum(1 for s in mine
                             if soak.finals.get(s.job_id or "", {}).get("state") == "completed"),
            "printed": sum(1 for s in mine if printed.get(s.n)),
            "printed_twice": sum(1 for s in mine if len(printed.get(s.n, [])) > 1),
            "partial": partial[plan.id], "fault_windows": len(ws),
            "faults": [w.fault for w in ws]})
        # The bench's own status GETs are status connections too; the rest is labeld's.
        own = sum(1 for a in soak.answers if a.printer == plan.id and a.kind.endswith("/status"))
        per_printer[plan.id]["daemon_status_per_job"] = round(
            (per_printer[plan.id]["status_connections"] - own) / len(mine), 2) if mine else None

    return {
        "bench": "fault_soak", "seconds": soak.args.seconds, "rate": soak.args.rate,
        "seed": soak.args.seed, "cpus": os.cpu_count(), "elapsed_s": round(elapsed, 1),
        "delivery_config": DELIVERY,
        "printers": per_printer,
        "submitted": len(soak.submitted), "accepted": len(accepted),
        "refused": dict(Counter(str(s.status) for s in soak.submitted
                                if s.status is not None and s.status != 202)),
        "unanswered": len(unanswered), "started_late": soak.late,
        "states": dict(states), "completed_by": dict(completed_by), "unread": unread,
        "held_not_taking_data": len(soak.held_released) + len(soak.held_canceled),
        "held_released": len(soak.held_released), "held_canceled": len(soak.held_canceled),
        "held_jobs": (soak.held_released + soak.held_canceled)[:10],
        "lost": len(lost), "completed_not_printed": len(completed_not_printed),
        "printed_twice": len(twice), "wrong_printer": len(wrong_printer),
        "printed_unaccepted": len(printed_unaccepted), "stray_sim_jobs": stray,
        "merged_sim_jobs": merged, "partial_prints": sum(partial.values()),
        "partial_printed": partial_printed,
        "confirmed_before_printed": sum(len(w.confirmed_unprinted) for w in soak.windows),
        "attempts_max": max(attempts, default=0),
        "attempts_mean": round(sum(attempts) / len(attempts), 2) if attempts else None,
        "evidence": {"lost": evidence(lost), "completed_not_printed":
                     evidence(completed_not_printed), "printed_twice": evidence(twice),
                     "wrong_printer": evidence(wrong_printer)},
        "drain_s": round(soak.drain_s, 1),
        "delivered_per_s": round(delivered / span, 1) if delivered else 0.0,
        "api": api,
        "api_slowest": [{"kind": a.kind, "ms": round(a.ms, 1), "status": a.status,
                         "printer": a.printer, "fault": a.fault,
                         "at_s": round(a.at - soak.load_started, 1)}
                        for a in slowest],
        "faults_visited": sorted({w.fault for w in soak.windows}),
        "fault_windows": len(soak.windows),
        "windows": [{"printer": w.printer, "fault": w.fault, "value": w.value,
                     "printing": w.printing, "on_s": round(w.t_on - soak.load_started, 1),
                     "seconds": round(w.seconds, 1), "status_connections": w.status_connections,
                     "bench_status_gets": w.bench_status_gets,
                     "late_status_connections": w.late_status_connections,
                     "late_bench_status_gets": w.late_bench_status_gets,
                     "confirmed_unprinted": len(w.confirmed_unprinted)}
                    for w in soak.windows],
        "status_polls_in_printing_faults": {
            "per_printer": polls,
            "max_per_s": round(max(all_rates), 2) if all_rates else None,
            "mean_per_s": round(sum(all_rates) / len(all_rates), 2) if all_rates else None,
            "late_max_per_s": round(max(all_late), 2) if all_late else None,
            "late_mean_per_s": round(sum(all_late) / len(all_late), 2) if all_late else None},
        "daemon": {"rss_start_mib": round(soak.rss_start_kib / 1024, 1),
                   "rss_end_mib": round(status_end.get("VmRSS", 0) / 1024, 1),
                   "rss_peak_mib": round(status_end.get("VmHWM", 0) / 1024, 1),
                   "rss_sampled_max_mib": round(max(soak.rss_kib, default=0) / 1024, 1),
                   "cpu_s": round(cpu, 1),
                   "cpu_ms_per_job": round(cpu * 1000 / len(accepted), 2) if accepted else None,
                   "log_lines": dict(levels), "log_errors": error_lines},
        "warnings": warnings,
    }


def print_report(r: dict[str, Any]) -> None:
    print()
    print(f"fault soak: {len(r['printers'])} printers, {r['seconds']:g} s at {r['rate']:g} "
          f"jobs/s, seed {r['seed']}, {r['cpus']} CPUs, {r['elapsed_s']:.0f} s in all")
    print(f"{'printer':<9}{'model':<19}{'accepted':>9}{'completed':>10}{'printed':>8}"
          f"{'twice':>6}{'partial':>8}{'faults':>7}{'status conn/job':>16}")
    for pid, p in r["printers"].items():
        print(f"{pid:<9}{p['model']:<19}{p['accepted']:>9}{p['completed']:>10}{p['printed']:>8}"
              f"{p['printed_twice']:>6}{p['partial']:>8}{p['fault_windows']:>7}"
              f"{p['daemon_status_per_job']:>16}")
    refused = ", ".join(f"{k}: {v}" for k, v in r["refused"].items()) or "none"
    print(f"jobs: {r['submitted']} submitted, {r['accepted']} accepted (refused {refused}, "
          f"no answer {r['unanswered']}, started late {r['started_late']})")
    print("states: " + ", ".join(f"{k} {v}" for k, v in sorted(r["states"].items()))
          + "; completed as " + (", ".join(f"{k} {v}" for k, v in
                                           sorted(r["completed_by"].items())) or "-"))
    print(f"held as not-taking-data (for a person): {r['held_not_taking_data']} "
          f"({r['held_released']} released, had not printed; {r['held_canceled']} canceled, "
          f"had printed)")
    print(f"LOST {r['lost']}   PRINTED TWICE {r['printed_twice']}   completed but never printed "
          f"{r['completed_not_printed']}   wrong printer {r['wrong_printer']}   "
          f"partial prints {r['partial_prints']} (printed: {r['partial_printed']})")
    print(f"confirmed while still waiting unprinted in a faulted printer: "
          f"{r['confirmed_before_printed']}")
    print(f"delivered {r['delivered_per_s']:g} jobs/s; attempts per job mean "
          f"{r['attempts_mean']}, max {r['attempts_max']}; drain after the load "
          f"{r['drain_s']:g} s")
    print(f"faults: {r['fault_windows']} windows, {len(r['faults_visited'])} distinct: "
          + ", ".join(r["faults_visited"]))
    print(f"{'API answers':<32}{'n':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'>3.5s':>6}"
          f"{'none':>6}{'5xx':>5}")
    for kind, a in r["api"].items():
        where = f"  ({a['worst_printer']}, {a['worst_fault'] or 'no fault'})" \
            if a["worst_printer"] else ""
        print(f"{kind:<32}{a['n']:>7}{a['p50_ms']:>9.1f}{a['p99_ms']:>9.1f}{a['max_ms']:>9.1f}"
              f"{a['over_3500ms']:>6}{a['no_answer']:>6}{a['http_5xx']:>5}{where}")
    def rate(v: float | None) -> str:
        return "-" if v is None else f"{v:g}/s"

    polls = r["status_polls_in_printing_faults"]
    print("status connections/s during paper-out etc. (labeld's own: the bench's 1/s status "
          f"GET taken out): whole windows max {rate(polls['max_per_s'])}, mean "
          f"{rate(polls['mean_per_s'])}; from {SETTLE_S:g} s after the fault max "
          f"{rate(polls['late_max_per_s'])}, mean {rate(polls['late_mean_per_s'])}")
    for pid, p in polls["per_printer"].items():
        print(f"  {pid:<9} {p['windows']} windows: max {rate(p['max_per_s'])}, mean "
              f"{rate(p['mean_per_s'])} (with the bench's: max {rate(p['max_with_bench_per_s'])})"
              f"; after {SETTLE_S:g} s max {rate(p['late_max_per_s'])}, mean "
              f"{rate(p['late_mean_per_s'])}")
    d = r["daemon"]
    print(f"daemon: RSS {d['rss_start_mib']} MiB at start, {d['rss_end_mib']} MiB at end, peak "
          f"(VmHWM) {d['rss_peak_mib']} MiB; CPU {d['cpu_s']} s ({d['cpu_ms_per_job']} ms/job);"
          " log lines " + ", ".join(f"{k} {v}" for k, v in sorted(d["log_lines"].items())))
    for w in r["warnings"]:
        print(f"WARN {w}")
    for kind, items in r["evidence"].items():
        for item in items:
            print(f"EVIDENCE {kind}: {json.dumps(item)}")


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=300.0,
                   help="how long jobs are submitted and faults cycle (300)")
    p.add_argument("--rate", type=float, default=50.0, help="jobs per second, in total (50)")
    p.add_argument("--seed", type=int, default=1, help="fixes each printer's fault order (1)")
    p.add_argument("--budget", type=float, default=None,
                   help="hard limit for the whole run, seconds (--seconds + 120)")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary directory (config, spool, daemon log); it is kept "
                        "anyway when a label was lost or printed twice")
    args = p.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0:
        p.error("--seconds and --rate must be positive")
    if args.budget is None:
        args.budget = args.seconds + 120
    if args.budget <= args.seconds:
        p.error("--budget must be longer than --seconds: the jobs still need to finish")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()

    # The run winds itself down before the budget (drain deadline); the alarm is the backstop.
    arm_budget(args.budget)
    tmp = Path(tempfile.mkdtemp(prefix="labeld-soak-"))
    sims: dict[str, SimulatorThread] = {}
    daemon: Daemon | None = None
    status = 0
    keep = args.keep
    try:
        log(f"temporary directory {tmp}")
        specs = default_manager().simulators()
        for plan in PRINTERS:
            sims[plan.id] = SimulatorThread(specs[plan.simulator]).start()
        daemon = Daemon(tmp, sims)
        log(f"labeld serve on {daemon.url} (pid {daemon.pid}); printers on ports "
            + ", ".join(f"{pid} {s.port}" for pid, s in sims.items()))
        languages = {p.id: specs[p.simulator].language for p in PRINTERS}
        soak = Soak(args, sims, daemon, languages)
        soak.rss_start_kib = proc_status(daemon.pid).get("VmRSS", 0)
        asyncio.run(soak.run(started + args.budget - 2))
        daemon.check()
        result = analyse(soak, time.monotonic() - started)
        print_report(result)
        print("BENCH_JSON " + json.dumps(result, separators=(",", ":"), default=str))
        broke = {k: result[k] for k in ("lost", "printed_twice", "completed_not_printed",
                                        "wrong_printer", "printed_unaccepted", "unread")
                 if result[k]}
        if broke:
            log("FAILED: " + ", ".join(f"{k} {v}" for k, v in broke.items()))
            status, keep = 1, True
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        status = 130
    except BenchError as exc:
        log(f"FAILED: {exc}")
        status, keep = 1, True
    finally:
        disarm_budget()
        if daemon is not None:
            daemon.stop(5.0 if status == 0 else 1.0)
        for sim in sims.values():
            with contextlib.suppress(Exception):
                sim.stop()
        if keep:
            log(f"kept {tmp} (labeld.toml, spool.db, labeld.log)")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
