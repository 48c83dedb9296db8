"""What the benchmarks that drive a real `labeld serve` share: its child process and the run's
budget.

Kept in one place because these are the parts that must not differ between benchmarks and are
easy to get subtly wrong: a child in its own process group, so that stopping it stops whatever
it started too; PR_SET_PDEATHSIG, so that a SIGKILLed bench leaves nothing behind; the daemon
set up the way an operator would (a TOML config, tokens from `labeld token create`, ready once
/healthz answers); and SIGTERM, Ctrl-C and the --budget alarm turned into exceptions that reach
the benchmark's `finally`. What a benchmark measures stays in the benchmark.

Imported by sibling scripts (`python bench/bench_raw.py` puts bench/ on sys.path); standard
library only at import time, so a helper process started from a benchmark stays quick to start.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

# The `labeld` console script, run by this interpreter (the venv's, whatever PATH says).
LABELD: tuple[str, ...] = (sys.executable, "-m", "labeld")


class BenchError(Exception):
    """The run broke (as opposed to: the numbers are bad)."""


# --------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the daemon and simulators are told which to use, so
    that runs side by side do not collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process (all its threads), from /proc; 0.0 where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _pdeathsig() -> None:
    """preexec_fn: die with the bench even if it is SIGKILLed (Linux only, best effort)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A child in its own process group (start_new_session): stop() kills the whole group, so
    nothing it started outlives the bench. stdout and stderr go to `log_path` (stdout to a pipe
    with `stdout_pipe`, for a child that reports something on it)."""

    def __init__(self, name: str, cmd: Sequence[str], log_path: Path, *,
                 stdout_pipe: bool = False, stdin: int = subprocess.PIPE):
        self.name = name
        self.log_path = log_path
        linux = platform.system() == "Linux"
        # The child gets its own copy of the log's descriptor: the bench's can close at once.
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                list(cmd), stdin=stdin, stdout=subprocess.PIPE if stdout_pipe else log,
                stderr=log, start_new_session=True, preexec_fn=_pdeathsig if linux else None)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check(self) -> None:
        """Raise BenchError, with the end of the log, if the child has exited."""
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with status {self.proc.returncode}; "
                             f"log {self.log_path}:\n{self.tail()}")

    def tail(self, n: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        else:
            # The leader is gone; anything it left in the group goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                if stream:
                    stream.close()


# --------------------------------------------------------------------------------------------
# labeld serve


class Printer(NamedTuple):
    """One `[[printers]]` entry: a simulated printer listening on 127.0.0.1:port."""

    id: str
    port: int
    model: str


class Labeld:
    """`labeld serve` with a temporary TOML config (labeld.toml), spool (spool.db) and log
    (labeld.log) in `tmp`. Construct, make tokens with make_token(), then start().

    The per-token rate limit is lifted: at its default (50/s) it would refuse the benchmark's
    load, measuring the limiter instead of delivery; a shop's tills each stay far below it.
    `metrics_open` serves /metrics without a token (`security.metrics_open`, as for a local
    Prometheus): a scrape then costs the daemon one spool read, and no token lookup or audit
    entry that would land among the transactions a benchmark counts."""

    def __init__(self, tmp: Path, printers: Sequence[Printer], *, log_level: str,
                 log_format: str | None = None, delivery: Mapping[str, Any] | None = None,
                 metrics_open: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.spool = tmp / "spool.db"
        self.config = tmp / "labeld.toml"
        self.log_path = tmp / "labeld.log"
        self._child: Child | None = None
        lines = ["[server]", f'listen = "127.0.0.1:{self.port}"', f'spool = "{self.spool}"',
                 f'log_level = "{log_level}"']
        if log_format is not None:
            lines.append(f'log_format = "{log_format}"')
        lines += ["", "[security]", "rate_per_second = 100000.0", "burst = 100000.0"]
        if metrics_open:
            lines.append("metrics_open = true")
        lines.append("")
        if delivery:
            lines += ["[delivery]", *(f"{k} = {v}" for k, v in delivery.items()), ""]
        for p in printers:
            lines += ["[[printers]]", f'id = "{p.id}"', f'uri = "socket://127.0.0.1:{p.port}"',
                      f'model = "{p.model}"', ""]
        self.config.write_text("\n".join(lines))

    def make_token(self, name: str, role: str) -> str:
        """A token made the way an operator makes one: `labeld token create` on the config."""
        made = subprocess.run([*LABELD, "token", "create", "--name", name, "--role", role,
                               "--config", str(self.config)],
                              capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise BenchError(f"labeld token create --role {role} failed: {made.stderr}")
        return made.stdout.strip().splitlines()[-1]

    def start(self, launcher: Sequence[str] = LABELD, timeout: float = 30.0) -> None:
        """Run `<launcher> serve` and wait until /healthz answers 200. `launcher` is what stands
        for the `labeld` command (a benchmark may wrap the CLI, e.g. under a profiler)."""
        import httpx  # not at import time: see the module docstring

        self._child = Child("labeld serve", [*launcher, "serve", "--config", str(self.config),
                                             "--listen", f"127.0.0.1:{self.port}"],
                            self.log_path, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=2, trust_env=False) as c:
            while True:
                self.check()
                with contextlib.suppress(httpx.HTTPError):
                    if c.get(self.url + "/healthz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    message = f"labeld did not answer /healthz:\n{self.tail()}"
                    self.stop()  # the caller holds no daemon yet: nobody else would stop it
                    raise BenchError(message)
                time.sleep(0.05)

    def metrics(self, token: str | None = None, timeout: float = 5.0) -> dict[str, float]:
        """One scrape of GET /metrics (with a `tech` token, or none under `metrics_open`): every
        sample by its name with its labels as printed, e.g. `labeld_spool_commits_total` or
        `labeld_jobs{printer="zpl-1",state="completed"}`."""
        import httpx  # not at import time: see the module docstring

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = httpx.get(self.url + "/metrics", headers=headers, timeout=timeout,
                         trust_env=False)
        resp.raise_for_status()
        samples: dict[str, float] = {}
        for line in resp.text.splitlines():
            if line and not line.startswith("#"):
                # The value is the last field; a label value may hold spaces, the value never.
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    @property
    def child(self) -> Child:
        if self._child is None:
            raise BenchError("labeld serve was not started")
        return self._child

    @property
    def pid(self) -> int:
        return self.child.pid

    def check(self) -> None:
        self.child.check()

    def tail(self, n: int = 15) -> str:
        return self.child.tail(n)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the daemon's process group, SIGKILL after `grace` seconds."""
        if self._child is not None:
            self._child.stop(grace)


# --------------------------------------------------------------------------------------------
# The run


def arm_budget(budget: float) -> None:
    """Make every way a run ends go through the benchmark's `finally`, which stops the children:
    SIGTERM raises KeyboardInterrupt, Ctrl-C does too even when the bench was started with SIGINT
    ignored (a background job of a script), and after `budget` seconds SIGALRM raises BenchError.
    disarm_budget() in the `finally`."""

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def on_alarm(_signum: int, _frame: Any) -> None:
        raise BenchError(f"the run took longer than --budget {budget:g} s")

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(max(1, int(budget + 0.999)))


def disarm_budget() -> None:
    """Cancel the budget alarm, so that it cannot interrupt the clean-up."""
    signal.alarm(0)
