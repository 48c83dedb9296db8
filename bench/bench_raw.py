#!/usr/bin/env python3
"""Benchmark: raw ZPL jobs through labeld, next to a naive one-commit-per-job daemon.

    python bench/bench_raw.py [--jobs N] [--printers 4] [--concurrency C] [--seconds S]

Three kinds of processes, so that no two of them share a GIL:

* the daemon: `labeld serve` (the console script, in its own interpreter) with a
  temporary TOML config and a spool file on disk (WAL, synchronous=FULL, as shipped);
* the simulated printers: by default one helper process that runs all the ZPL simulators on
  a single asyncio loop (`--sim-mode host`); `--sim-mode procs` runs one `labeld simulate zpl`
  process per printer instead. See bench/README.md for why `host` is the default;
* this process: the load generator (asyncio + httpx, HTTP/1.1 keep-alive), and later the naive
  daemon (one thread per printer, plain sqlite3 + blocking sockets).

Per route, two measured phases after a warm-up:

* max load: labeld gets --jobs submissions from --concurrency keep-alive connections, each
  sending its next job as soon as the last got its 202 (closed loop); the naive daemon's four
  printer threads take the same jobs as fast as they go. Gives sustained jobs/s.
* paced (--rate, default 300 jobs/s, the floor's rate): job i is due at i/rate s. Gives the
  latency at a known load; at max load the end-to-end latency mostly measures the backlog that
  builds whenever accepting outruns delivering.

Every job is ~460 bytes of ZPL carrying a unique serial number; the simulators record each
connection's bytes and `time.time()` when the connection ended (the printer saw EOF, so every
byte had arrived). Jobs are matched by their exact bytes, and all timestamps are time.time()
on this one machine, so the simulator's clock and the load generator's clock are the same.

The naive daemon has no HTTP front: its "submit" is the INSERT + COMMIT itself, so it pays
neither HTTP nor JSON. It keeps labeld's durability (WAL, synchronous=FULL, job committed
before its bytes leave), the same bytes, the same simulators and the same delivery handshake.

The whole run is bounded (--budget, default 85 s) and every child runs in its own process group,
killed in a `finally` (and on SIGTERM/Ctrl-C); children also get PR_SET_PDEATHSIG on Linux.
Exit status: 0 when the run completed (the floor verdicts are printed, not enforced), 1 when
something broke (a process died, jobs went missing or arrived corrupted), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (BenchError, Child, Labeld, Printer, arm_budget, cpu_seconds,
                     disarm_budget, free_port)

MODEL = "zebra-generic-203"
FLOOR_P50_MS = 10.0
FLOOR_JOBS_S = 300.0

def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Jobs


def make_job(tag: str, i: int, printer: str) -> bytes:
    """A ~400-byte 4x2" shipping label; `tag`+`i` make the serial, hence the bytes, unique."""
    serial = f"{tag}{i:07d}"
    return (
        "^XA\n"
        "^CI28^PW812^LL406^LH0,0\n"
        "^FO30,25^A0N,42,42^FDLABELD BENCH - SHELF LABEL^FS\n"
        f"^FO30,75^A0N,26,26^FDPrinter {printer}  Lot 2024-07  Line 3^FS\n"
        "^FO30,110^GB750,3,3^FS\n"
        f"^FO40,130^BY2,3,90^BCN,90,Y,N,N^FD{serial}^FS\n"
        f"^FO560,125^BQN,2,4^FDQA,{serial}^FS\n"
        "^FO40,290^A0N,24,24^FDArt. 4711-0815  Qty 12  Best before 2025-12-31^FS\n"
        f"^FO40,325^A0N,24,24^FDSerial {serial}^FS\n"
        "^FO40,360^A0N,20,20^FDPacked by line 3, station B, operator 17^FS\n"
        "^PQ1,0,1,Y\n"
        "^XZ\n"
    ).encode("ascii")


@dataclass
class Sent:
    """One job as the load generator saw it."""

    data: bytes
    printer: int  # index into the printer list
    t_start: float = 0.0  # time.time() just before the submit began
    submit_s: float = 0.0  # submit round trip (perf_counter), the 202 (or the naive commit)
    late_s: float = 0.0  # paced phases: how long after its due time the submit began


@dataclass
class PhaseResult:
    route: str
    planned: int
    sent: list[Sent]
    received: dict[bytes, float]  # job bytes -> simulator received_at
    errors: list[str] = field(default_factory=list)
    commits: int | None = None
    cpu: dict[str, float] = field(default_factory=dict)  # process -> CPU seconds in the phase
    submit_wall_s: float = 0.0
    rate: float = 0.0  # offered jobs/s of a paced phase; 0 = as fast as the route accepts

    # -- derived numbers

    def delivered(self) -> list[tuple[Sent, float]]:
        return [(s, self.received[s.data]) for s in self.sent if s.data in self.received]

    def summary(self) -> dict[str, Any]:
        done = self.delivered()
        out: dict[str, Any] = {"route": self.route, "load": f"{self.rate:g}/s" if self.rate
                               else "max", "planned": self.planned,
                               "submitted": len(self.sent), "delivered": len(done),
                               "errors": len(self.errors)}
        if self.rate:
            # Closed-loop generators hide a stalled server (coordinated omission); count the
            # jobs that started late, i.e. when every connection was still busy.
            out["started_late_gt_5ms"] = sum(1 for s in self.sent if s.late_s > 0.005)
        if not done:
            return out
        first = min(s.t_start for s in self.sent)
        last = max(t for _, t in done)
        wall = max(last - first, 1e-9)
        submit = sorted(s.submit_s * 1000 for s in self.sent)
        e2e = sorted((t - s.t_start) * 1000 for s, t in done)
        out.update({
            "wall_s": round(wall, 3),
            "jobs_per_s": round(len(done) / wall, 1),
            "accept_per_s": round(len(self.sent) / max(self.submit_wall_s, 1e-9), 1),
            "submit_p50_ms": round(pct(submit, 50), 2), "submit_p99_ms": round(pct(submit, 99), 2),
            "e2e_p50_ms": round(pct(e2e, 50), 2), "e2e_p99_ms": round(pct(e2e, 99), 2),
            "e2e_max_ms": round(e2e[-1], 2),
        })
        if self.commits is not None:
            out["commits"] = self.commits
            out["jobs_per_commit"] = round(len(done) / self.commits, 2) if self.commits else None
        if self.cpu:
            out["cpu_ms_per_job"] = {k: round(v * 1000 / len(done), 3) for k, v in self.cpu.items()}
            out["cpu_util_cores"] = round(sum(self.cpu.values()) / wall, 2)
        return out


def pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


# --------------------------------------------------------------------------------------------
# Simulators


def sim_host_main(n: int) -> int:
    """`bench_raw.py --serve-simulators N`: N ZPL simulators on one asyncio loop, one process.

    Prints one JSON line with the ports, then runs until stdin closes (the bench went away) or
    SIGTERM."""
    from labeld.pluginmanager import default_manager
    from labeld.sim import Simulator

    spec = default_manager().simulators()["zpl"]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, done.set)
        loop.add_reader(sys.stdin.fileno(), lambda: done.set() if not os.read(0, 4096) else None)
        sims = [Simulator(spec) for _ in range(n)]
        for sim in sims:
            await sim.start()
        print(json.dumps({"ports": [s.port for s in sims],
                          "control_ports": [s.control_port for s in sims]}), flush=True)
        await done.wait()
        for sim in sims:
            await sim.stop()

    asyncio.run(main())
    return 0


class Simulators:
    """The simulated printers, whichever processes host them, through their control HTTP."""

    def __init__(self, mode: str, n: int, tmp: Path):
        self.children: list[Child] = []
        self.ports: list[int] = []
        self.control_ports: list[int] = []
        if mode == "host":
            child = Child("simulators", [sys.executable, os.path.abspath(__file__),
                                         "--serve-simulators", str(n)],
                          tmp / "simulators.log", stdout_pipe=True)
            self.children.append(child)
            line = _readline_with_timeout(child, 20)
            info = json.loads(line)
            self.ports, self.control_ports = info["ports"], info["control_ports"]
        else:
            for k in range(n):
                port, control = free_port(), free_port()
                self.children.append(Child(
                    f"simulator-{k}", [sys.executable, "-m", "labeld", "simulate", "zpl",
                                       "--port", str(port), "--control-port", str(control)],
                    tmp / f"simulator-{k}.log"))
                self.ports.append(port)
                self.control_ports.append(control)
        import httpx

        self.http = httpx.Client(timeout=10, trust_env=False)
        deadline = time.monotonic() + 20
        for cp in self.control_ports:
            while True:
                for c in self.children:
                    c.check()
                with contextlib.suppress(httpx.HTTPError):
                    if self.http.get(f"http://127.0.0.1:{cp}/state").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"simulator control port {cp} did not answer")
                time.sleep(0.05)

    @property
    def pids(self) -> list[int]:
        return [c.pid for c in self.children]

    def check(self) -> None:
        for c in self.children:
            c.check()

    def count(self) -> int:
        return sum(self.http.get(f"http://127.0.0.1:{cp}/state").json()["jobs"]
                   for cp in self.control_ports)

    def clear(self) -> None:
        for cp in self.control_ports:
            self.http.delete(f"http://127.0.0.1:{cp}/jobs").raise_for_status()

    def jobs(self) -> list[tuple[int, bytes, float, bool]]:
        """(printer index, bytes, received_at, complete) of every recorded job."""
        out = []
        for k, cp in enumerate(self.control_ports):
            resp = self.http.get(f"http://127.0.0.1:{cp}/jobs")
            resp.raise_for_status()
            for j in resp.json():
                out.append((k, base64.b64decode(j["data_b64"]), float(j["received_at"]),
                            bool(j["complete"])))
        return out

    def wait_for(self, n: int, deadline: float) -> int:
        """Poll until n jobs have arrived or the deadline; returns the count reached."""
        while True:
            self.check()
            got = self.count()
            if got >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.05)

    def close(self, grace: float = 5.0) -> None:
        with contextlib.suppress(Exception):
            self.http.close()
        for c in self.children:
            c.stop(grace)


def _readline_with_timeout(child: Child, timeout: float) -> str:
    box: list[bytes] = []
    t = threading.Thread(target=lambda: box.append(child.proc.stdout.readline()), daemon=True)
    t.start()
    t.join(timeout)
    if not box or not box[0]:
        child.check()
        raise BenchError(f"{child.name} printed no ports within {timeout} s:\n{child.tail()}")
    return box[0].decode()


# --------------------------------------------------------------------------------------------
# labeld


class Daemon(Labeld):
    """labeld serve, one ZPL printer per simulator, a `pos` token for the load generator;
    /metrics open (without a token) for the spool's commit counter."""

    def __init__(self, tmp: Path, sim_ports: list[int]):
        self.printer_ids = [f"zpl-{k + 1}" for k in range(len(sim_ports))]
        super().__init__(tmp, [Printer(pid, port, MODEL)
                               for pid, port in zip(self.printer_ids, sim_ports, strict=True)],
                         log_level="warning", metrics_open=True)
        self.token = self.make_token("bench", "pos")
        self.start()

    def commits(self) -> int | None:
        """The spool's commit counter (labeld_spool_commits_total on /metrics), including the
        transaction of this scrape's own read; None if it cannot be read."""
        try:
            return int(self.metrics()["labeld_spool_commits_total"])
        except Exception:  # noqa: BLE001 - the report says "-" rather than the run failing
            return None


async def submit_all(url: str, printers: list[str], jobs: list[Sent], concurrency: int,
                     seconds: float, rate: float = 0.0, token: str = ""
                     ) -> tuple[list[Sent], list[str], float]:
    """Submit `jobs` over `concurrency` keep-alive connections for at most `seconds`; returns
    (submitted, errors, seconds from the first submit until the last answer).

    rate 0: closed loop, each connection sends its next job as soon as the last one got its
    202. rate R: job i is due at start + i/R and is sent then by a free connection (if none is
    free it starts late, which is counted). The clock starts once the clients exist (creating
an httpx client builds an SSL context: ~20 ms each).

    One AsyncClient per connection (each with a pool of one): httpx's connection pool spends
    CPU in proportion to the requests waiting on it, so one client with 24 connections costs
    ~2.4 ms of CPU per request here against ~0.85 ms sharded, and on 2 cores the load
    generator's CPU is taken from the daemon."""
    import httpx

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    sent: list[Sent] = []
    errors: list[str] = []
    queue: asyncio.Queue[tuple[Sent, float] | None] = asyncio.Queue()
    t0 = stop_at = 0.0

    async def pacer() -> None:
        for i, job in enumerate(jobs):
            due = t0 + i / rate if rate else t0
            if due >= stop_at:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((job, due))
        for _ in range(concurrency):
            queue.put_nowait(None)

    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(
            httpx.AsyncClient(base_url=url, limits=limits, timeout=30, trust_env=False,
                              headers={"Authorization": f"Bearer {token}"}))
            for _ in range(concurrency)]

        async def worker(c: httpx.AsyncClient) -> None:
            while (item := await queue.get()) is not None:
                job, due = item
                if time.monotonic() >= stop_at:
                    continue
                body = {"printer": printers[job.printer],
                        "raw": {"data": job.data.decode("ascii"), "encoding": "utf-8"}}
                job.late_s = max(0.0, time.monotonic() - due) if rate else 0.0
                job.t_start = time.time()
                p0 = time.perf_counter()
                try:
                    resp = await c.post("/v1/jobs", json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                job.submit_s = time.perf_counter() - p0
                if resp.status_code != 202:
                    errors.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
                    continue
                sent.append(job)

        t0 = time.monotonic()
        stop_at = t0 + seconds
        await asyncio.gather(pacer(), *(worker(c) for c in clients))
        wall = time.monotonic() - t0
    return sent, errors, wall


def labeld_warmup(daemon: Daemon, sims: Simulators, warmup: list[Sent],
                  args: argparse.Namespace, hard_deadline: float) -> None:
    """Imports, code paths, connections and SQLite pages, then a clean slate."""
    asyncio.run(submit_all(daemon.url, daemon.printer_ids, warmup, args.concurrency,
                           max(1.0, hard_deadline - 10 - time.monotonic()),
                           token=daemon.token))
    sims.wait_for(len(warmup), min(hard_deadline, time.monotonic() + 15))
    sims.clear()


def start_profiler(args: argparse.Namespace, pid: int, name: str, tmp: Path) -> Child | None:
    """--profile DIR: py-spy samples the daemon during the phase (collapsed stacks, one line per
    stack and thread, for flamegraph.pl or speedscope)."""
    if not args.profile:
        return None
    spy = Path(sys.executable).with_name("py-spy")
    if not spy.exists():
        log("--profile: py-spy not found next to this python; pip install py-spy")
        return None
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    child = Child("py-spy", [str(spy), "record", "--pid", str(pid), "--rate", "250",
                             "--threads", "--nonblocking", "--format", "raw",
                             "-o", str(out / f"{name}.txt")], tmp / f"py-spy-{name}.log")
    time.sleep(0.5)  # attach before the phase starts
    return child


def stop_profiler(child: Child | None) -> None:
    if child is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGINT)  # py-spy writes its file on SIGINT
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.proc.wait(10)
    child.stop()


def run_labeld(daemon: Daemon, sims: Simulators, jobs: list[Sent], args: argparse.Namespace,
               hard_deadline: float, rate: float, seconds: float) -> PhaseResult:
    profiler = start_profiler(args, daemon.pid, f"labeld-{rate:g}" if rate else
                              "labeld-max", daemon.spool.parent)
    commits0 = daemon.commits()
    pids = {"labeld": daemon.pid, "simulators": sims.pids, "loadgen": os.getpid()}
    cpu0 = _cpu_snapshot(pids)
    seconds = max(1.0, min(seconds, hard_deadline - 10 - time.monotonic()))
    sent, errors, submit_wall = asyncio.run(submit_all(daemon.url, daemon.printer_ids, jobs,
                                                       args.concurrency, seconds, rate,
                                                       token=daemon.token))
    sims.wait_for(len(sent), min(hard_deadline, time.monotonic() + max(10.0, seconds)))
    cpu1 = _cpu_snapshot(pids)
    commits1 = daemon.commits()
    stop_profiler(profiler)
    daemon.check()
    result = _collect("labeld", jobs, sent, errors, sims)
    result.submit_wall_s, result.rate = submit_wall, rate
    result.cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    if commits0 is not None and commits1 is not None:
        # Each reading includes its scrape's own read transaction: the commits between the two
        # readings, as the report counts them, leave out the second one's.
        result.commits = commits1 - commits0 - 1
    sims.clear()
    return result


def _cpu_snapshot(pids: dict[str, int | list[int]]) -> dict[str, float]:
    return {name: sum(cpu_seconds(p) for p in (pid if isinstance(pid, list) else [pid]))
            for name, pid in pids.items()}


def _collect(route: str, planned: list[Sent], sent: list[Sent], errors: list[str],
             sims: Simulators) -> PhaseResult:
    expected = {s.data: s for s in sent}
    received: dict[bytes, float] = {}
    for k, data, at, complete in sims.jobs():
        job = expected.get(data)
        if job is None:
            errors.append(f"printer {k}: unexpected or corrupted job of {len(data)} bytes")
        elif data in received:
            errors.append(f"printer {k}: job delivered twice")
        elif job.printer != k:
            errors.append(f"printer {k}: job for printer {job.printer} arrived here")
        elif not complete:
            errors.append(f"printer {k}: job connection ended without an orderly close")
        else:
            received[data] = at
    missing = len(sent) - len(received)
    if missing:
        errors.append(f"{missing} submitted job(s) never reached a simulator")
    return PhaseResult(route, len(planned), sent, received, errors)


# --------------------------------------------------------------------------------------------
# The naive daemon


NAIVE_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, printer TEXT NOT NULL, state TEXT NOT NULL,
    payload TEXT NOT NULL, created_at REAL NOT NULL, finished_at REAL
)"""


def naive_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # the same durability as labeld's spool
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute(NAIVE_SCHEMA)
    return conn


def probe_commit_ms(tmp: Path, n: int = 200) -> float:
    """What one durable commit costs on the spool's disk: group commit matters in proportion."""
    db = tmp / "probe.db"
    conn = naive_connect(db)
    try:
        t0 = time.perf_counter()
        for i in range(n):
            conn.execute("INSERT INTO jobs (id, printer, state, payload, created_at)"
                         " VALUES (?,?,?,?,?)", (str(i), "p", "pending", "x" * 460, time.time()))
        return (time.perf_counter() - t0) * 1000 / n
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def naive_send(port: int, data: bytes, timeout: float = 15.0) -> None:
    """One job, one connection: send, half-close, wait for the printer's EOF (as labeld does)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass


def naive_printer_loop(db: Path, lock: threading.Lock | None, printer: str, port: int,
                       jobs: list[tuple[float, Sent]], mark_done: bool, stop_at: float,
                       sent: list[Sent], errors: list[str]) -> None:
    """The naive daemon's worker for one printer: for each job, INSERT + COMMIT (its own
    fsync), then deliver it; optionally a second commit to record that it printed.
    `jobs` holds (due time, job): a job is not started before it is due."""
    conn = naive_connect(db)
    guard = lock or contextlib.nullcontext()
    try:
        for due, job in jobs:
            if due >= stop_at or time.monotonic() >= stop_at:
                return
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            job.late_s = max(0.0, time.monotonic() - due)
            job.t_start = time.time()
            p0 = time.perf_counter()
            job_id = uuid.uuid4().hex
            with guard:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO jobs (id, printer, state, payload, created_at)"
                             " VALUES (?,?,?,?,?)",
                             (job_id, printer, "pending", job.data.decode("ascii"), job.t_start))
                conn.execute("COMMIT")
            job.submit_s = time.perf_counter() - p0
            sent.append(job)
            try:
                naive_send(port, job.data)
            except OSError as exc:
                errors.append(f"{printer}: {exc}")
                continue
            if mark_done:
                with guard:
                    conn.execute("UPDATE jobs SET state='completed', finished_at=? WHERE id=?",
                                 (time.time(), job_id))
    finally:
        conn.close()


def run_naive_jobs(db: Path, sims: Simulators, jobs: list[Sent], args: argparse.Namespace,
                   stop_at: float, rate: float = 0.0) -> tuple[list[Sent], list[str]]:
    """The same jobs, the same order per printer; rate R: job i is not started before
    start + i/R (the naive daemon takes it as soon as its printer's thread is free)."""
    lock = threading.Lock() if args.naive_lock else None
    per_printer: list[list[tuple[float, Sent]]] = [[] for _ in sims.ports]
    t0 = time.monotonic()
    for i, job in enumerate(jobs):
        per_printer[job.printer].append((t0 + i / rate if rate else t0, job))
    sent: list[Sent] = []
    errors: list[str] = []
    threads = [threading.Thread(target=naive_printer_loop, name=f"naive-{k}", daemon=True,
                                args=(db, lock, f"zpl-{k + 1}", port, per_printer[k],
                                      args.naive_mark_done, stop_at, sent, errors))
               for k, port in enumerate(sims.ports)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, stop_at - time.monotonic()) + 20)
    return sent, errors


def naive_warmup(db: Path, sims: Simulators, warmup: list[Sent], args: argparse.Namespace,
                 hard_deadline: float) -> None:
    naive_connect(db).close()
    run_naive_jobs(db, sims, warmup, args, hard_deadline - 10)
    sims.wait_for(len(warmup), min(hard_deadline, time.monotonic() + 10))
    sims.clear()


def run_naive(db: Path, sims: Simulators, jobs: list[Sent], args: argparse.Namespace,
              hard_deadline: float, rate: float, seconds: float) -> PhaseResult:
    pids = {"naive+loadgen": os.getpid(), "simulators": sims.pids}
    cpu0 = _cpu_snapshot(pids)
    t0 = time.monotonic()
    sent, errors = run_naive_jobs(db, sims, jobs, args, min(t0 + seconds, hard_deadline - 10),
                                  rate)
    submit_wall = time.monotonic() - t0
    sims.wait_for(len(sent), min(hard_deadline, time.monotonic() + 10))
    cpu1 = _cpu_snapshot(pids)
    result = _collect("naive", jobs, sent, errors, sims)
    result.submit_wall_s, result.rate = submit_wall, rate
    result.cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
    result.commits = len(sent) * (2 if args.naive_mark_done else 1)
    sims.clear()
    return result


# --------------------------------------------------------------------------------------------
# Report


def fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return "-"
    return format(v, spec) if isinstance(v, (int, float)) else str(v)


def report(results: list[PhaseResult], args: argparse.Namespace, elapsed: float) -> dict:
    rows = [r.summary() for r in results]
    key = {(r["route"], r["load"]): r for r in rows}
    print()
    print(f"raw ZPL delivery: {args.printers} simulated printers, {os.cpu_count()} CPUs, "
          f"simulators: {args.sim_mode}, labeld client: {args.concurrency} keep-alive "
          f"connections, {len(results[0].sent[0].data) if results and results[0].sent else '?'}"
          f"-byte jobs, one durable commit {getattr(args, 'commit_ms', float('nan')):.2f} ms")
    head = (f"{'route':<8}{'load':>7}{'deliv':>7}{'jobs/s':>8}{'accept/s':>9}{'submit p50':>11}"
            f"{'p99':>8}{'e2e p50':>9}{'p99':>9}{'max':>8}{'commits':>8}{'jobs/cmt':>9}"
            f"{'late':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['route']:<8}{r['load']:>7}{r['delivered']:>7}{fmt(r.get('jobs_per_s')):>8}"
              f"{fmt(r.get('accept_per_s')):>9}{fmt(r.get('submit_p50_ms'), '.2f'):>11}"
              f"{fmt(r.get('submit_p99_ms'), '.2f'):>8}{fmt(r.get('e2e_p50_ms'), '.2f'):>9}"
              f"{fmt(r.get('e2e_p99_ms'), '.2f'):>9}{fmt(r.get('e2e_max_ms'), '.0f'):>8}"
              f"{fmt(r.get('commits'), 'd'):>8}{fmt(r.get('jobs_per_commit'), '.2f'):>9}"
              f"{fmt(r.get('started_late_gt_5ms'), 'd'):>6}")
    print("ms. submit: labeld = POST /v1/jobs until the 202 (job committed); naive = INSERT+COMMIT."
          "\ne2e: submit start -> connection closed at the simulator (all bytes in), both "
          "time.time() on this host.\njobs/s: delivered / (first submit -> last byte at the "
          "simulators). load max: closed loop; N/s: paced, job i due at i/N s\n(late: jobs "
          "that started >5 ms after their due time).")
    for r in rows:
        if r.get("cpu_ms_per_job"):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in r["cpu_ms_per_job"].items())
            print(f"CPU ms/job {r['route']} @{r['load']}: {parts} (busy {r['cpu_util_cores']:.2f}"
                  f" of {os.cpu_count()} cores)")
    ratio = None
    lab, naive = key.get(("labeld", "max")), key.get(("naive", "max"))
    if lab and naive and naive.get("jobs_per_s"):
        ratio = round(lab.get("jobs_per_s", 0) / naive["jobs_per_s"], 2)
        print(f"ratio labeld/naive jobs/s at max load: {ratio:.2f}x")
    floor: dict[str, Any] = {}
    if lab:
        rate = lab.get("jobs_per_s")
        floor["jobs_per_s"] = rate
        floor["jobs_per_s_ok"] = rate is not None and rate >= FLOOR_JOBS_S
        print(f"{'PASS' if floor['jobs_per_s_ok'] else 'FAIL'} labeld sustained {fmt(rate)} "
              f"jobs/s at max load (floor >= {FLOOR_JOBS_S:g})")
        paced = next((r for r in rows if r["route"] == "labeld" and r["load"] != "max"), None)
        at = paced or lab
        p50 = at.get("e2e_p50_ms")
        floor["e2e_p50_ms"], floor["e2e_p50_load"] = p50, at["load"]
        floor["e2e_p50_ok"] = p50 is not None and p50 < FLOOR_P50_MS
        print(f"{'PASS' if floor['e2e_p50_ok'] else 'FAIL'} labeld e2e p50 {fmt(p50, '.2f')} ms "
              f"at {at['load']} load (floor < {FLOOR_P50_MS:g} ms)")
        if paced:
            p50_max = lab.get("e2e_p50_ms")
            floor["e2e_p50_ms_at_max"] = p50_max
            print(f"{'PASS' if p50_max is not None and p50_max < FLOOR_P50_MS else 'FAIL'} "
                  f"(strict) labeld e2e p50 {fmt(p50_max, '.2f')} ms at max load, where jobs "
                  f"queue if accepting outruns delivery")
    for r in results:
        for e in r.errors[:5]:
            print(f"ERROR {r.route}: {e}")
        if len(r.errors) > 5:
            print(f"ERROR {r.route}: ... {len(r.errors) - 5} more")
    floor_pass = bool(floor) and floor["jobs_per_s_ok"] and floor["e2e_p50_ok"]
    summary = {"bench": "raw_zpl", "printers": args.printers, "jobs": args.jobs,
               "concurrency": args.concurrency, "sim_mode": args.sim_mode,
               "cpus": os.cpu_count(), "elapsed_s": round(elapsed, 1),
               "commit_ms": round(getattr(args, "commit_ms", float("nan")), 3),
               "naive_lock": args.naive_lock, "naive_mark_done": args.naive_mark_done,
               "results": rows, "ratio_jobs_per_s": ratio,
               "floor": {"e2e_p50_ms_lt": FLOOR_P50_MS, "jobs_per_s_ge": FLOOR_JOBS_S, **floor,
                         "pass": floor_pass if floor else None}}
    print("BENCH_JSON " + json.dumps(summary, separators=(",", ":")))
    return summary


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=3000, help="measured jobs per route (3000)")
    p.add_argument("--printers", type=int, default=4, help="simulated ZPL printers (4)")
    p.add_argument("--concurrency", type=int, default=24,
                   help="labeld client: concurrent keep-alive HTTP connections (24)")
    p.add_argument("--seconds", type=float, default=25.0,
                   help="per phase: stop submitting after this long even if --jobs is not "
                        "reached (25)")
    p.add_argument("--warmup", type=int, default=200, help="unmeasured jobs first (200)")
    p.add_argument("--rate", type=float, default=FLOOR_JOBS_S,
                   help="also run a paced phase per route at this many jobs/s, for latency "
                        f"at a known load ({FLOOR_JOBS_S:g}, the floor; 0 = skip)")
    p.add_argument("--paced-seconds", type=float, default=5.0,
                   help="length of the paced phase (5 s; at most --jobs jobs)")
    p.add_argument("--routes", default="labeld,naive", help="comma list: labeld, naive")
    p.add_argument("--sim-mode", choices=("host", "procs"), default="host",
                   help="host: one helper process, all simulators on one event loop (default);"
                        " procs: one `labeld simulate` process per printer")
    p.add_argument("--naive-mark-done", action="store_true",
                   help="naive: also commit the job's completion (a second fsync per job)")
    p.add_argument("--naive-no-lock", dest="naive_lock", action="store_false",
                   help="naive: let the printer threads' writes collide in SQLite (its busy "
                        "handler sleeps 1, 2, 5, 10 ... ms) instead of queueing on a lock")
    p.add_argument("--budget", type=float, default=85.0,
                   help="hard limit for the whole run, seconds (85)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--profile", metavar="DIR",
                   help="record py-spy stacks of the daemon during each labeld phase into DIR "
                        "(needs py-spy installed next to this python)")
    p.add_argument("--serve-simulators", type=int, metavar="N", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve_simulators is None:
        if args.jobs < 1 or args.printers < 1 or args.concurrency < 1 or args.seconds <= 0:
            p.error("--jobs, --printers, --concurrency and --seconds must be positive")
        routes = [r.strip() for r in args.routes.split(",") if r.strip()]
        if not routes or set(routes) - {"labeld", "naive"}:
            p.error("--routes takes labeld and/or naive")
        args.route_list = routes
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_simulators is not None:
        return sim_host_main(args.serve_simulators)

    started = time.monotonic()
    hard_deadline = started + args.budget

    arm_budget(args.budget)
    tmp = Path(tempfile.mkdtemp(prefix="labeld-bench-"))
    sims: Simulators | None = None
    daemon: Daemon | None = None
    results: list[PhaseResult] = []
    status = 0
    completed = False
    try:
        run_tag = uuid.uuid4().hex[:6]
        log(f"temporary directory {tmp}")
        args.commit_ms = probe_commit_ms(tmp)
        log(f"one synchronous=FULL WAL commit on this disk: {args.commit_ms:.2f} ms")
        sims = Simulators(args.sim_mode, args.printers, tmp)
        log(f"{args.printers} ZPL simulators on ports {sims.ports}")

        def jobs_for(phase: str, n: int) -> list[Sent]:
            """Unique jobs: run tag + phase + number make each serial, hence each job's bytes,
            unique; job i goes to printer i mod P (round robin)."""
            tag = f"{run_tag}-{phase}-"
            return [Sent(make_job(tag, i, f"zpl-{i % args.printers + 1}"), i % args.printers)
                    for i in range(n)]

        paced_n = min(args.jobs, int(args.rate * args.paced_seconds)) if args.rate else 0
        for route in args.route_list:
            tag = route[0].upper()
            if route == "labeld":
                daemon = Daemon(tmp, sims.ports)
                log(f"labeld serve on {daemon.url}, spool {daemon.spool}")
                labeld_warmup(daemon, sims, jobs_for(tag + "W", args.warmup), args, hard_deadline)
                log(f"labeld: {args.jobs} jobs at max load")
                results.append(run_labeld(daemon, sims, jobs_for(tag + "M", args.jobs), args,
                                          hard_deadline, 0.0, args.seconds))
                if paced_n:
                    log(f"labeld: {paced_n} jobs at {args.rate:g}/s")
                    results.append(run_labeld(daemon, sims, jobs_for(tag + "P", paced_n), args,
                                              hard_deadline, args.rate, args.seconds))
                daemon.stop()
                daemon = None
            else:
                db = tmp / "naive.db"
                naive_warmup(db, sims, jobs_for(tag + "W", min(args.warmup, 40)), args,
                             hard_deadline)
                log(f"naive: {args.jobs} jobs at max load, one thread per printer")
                results.append(run_naive(db, sims, jobs_for(tag + "M", args.jobs), args,
                                         hard_deadline, 0.0, args.seconds))
                if paced_n:
                    log(f"naive: {paced_n} jobs at {args.rate:g}/s")
                    results.append(run_naive(db, sims, jobs_for(tag + "P", paced_n), args,
                                             hard_deadline, args.rate, args.seconds))
        sims.check()
        report(results, args, time.monotonic() - started)
        completed = True
        if any(r.errors for r in results):
            status = 1
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        status = 130
    except BenchError as exc:
        log(f"FAILED: {exc}")
        status = 1
    finally:
        disarm_budget()
        # After a failure or Ctrl-C, do not wait out uvicorn's graceful shutdown (5 s) for
        # keep-alive connections the interrupted client left open.
        grace = 5.0 if completed else 1.0
        if daemon is not None:
            daemon.stop(grace)
        if sims is not None:
            sims.close(grace)
        if args.keep:
            log(f"kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
