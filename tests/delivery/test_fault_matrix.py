"""The fault matrix: every fault our simulators can inject, on a ZPL, an ESC/POS and a TSPL
printer at once, with one and with several jobs queued.

For every row the daemon must:
- answer the API within 3.5 s while the fault lasts (printer, live status, submit, job);
- show the reason the fault causes, on the printer or on the waiting jobs;
- not poll a printer faster than its backoff allows (status connections counted at the
  simulator, while the fault lasts);
- once the fault clears, deliver every job: none lost, none printed twice, in order;
- say truthfully how it knows each job printed: `confirmed` only with evidence (the label
  counter on Zebras, a closed connection then a clean status elsewhere), `unconfirmed` where the
  printer could not say.

Each row is one daemon with three printers, so the three languages meet the fault together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from labeld.sim import SimulatorThread
from tests.conftest import FAST_DELIVERY, printer, wait_for

MODELS = {"zpl": "zebra-generic-203", "escpos": "escpos-generic-80", "tspl": "tsc-generic-203"}
# Quick retries, a short confirmation window and a one-second wait for the close, so that
# every row finishes in seconds; the mechanisms are the production ones.
MATRIX_DELIVERY = FAST_DELIVERY.model_copy(update={"confirm_window_s": 1.0})
API_BOUND_S = 3.5
FAULT_WINDOW_S = 1.5
HOLD_POLL_MIN_S = 0.25  # the scheduler's shortest pause between two questions to a held printer


def job_bytes(language: str, tag: str) -> str:
    """A small raw job of one label (or one receipt) that carries `tag`."""
    if language == "zpl":
        return f"^XA^FO20,20^A0N,30,30^FD{tag}^FS^XZ"
    if language == "escpos":
        return f"\x1b@{tag}\n\n\n\x1dV\x01"
    return f'SIZE 50 mm,30 mm\r\nCLS\r\nTEXT 10,10,"3",0,1,1,"{tag}"\r\nPRINT 1\r\n'


@dataclass(frozen=True)
class Row:
    fault: str
    value: bool | int = True
    languages: tuple[str, ...] = ("zpl", "escpos", "tspl")
    # While the fault lasts: the reason codes any of which the printer or its jobs must show.
    shows: frozenset[str] = frozenset()
    # The fault stops printing: nothing may reach the printer while it lasts.
    holds: bool = False
    # Afterwards: how each language's jobs end (delivery, evidence).
    ends: Callable[[str], tuple[str, str]] = lambda lang: (
        "confirmed", "counter" if lang == "zpl" else "status")
    # Jobs a person must release afterwards (the printer took a job without proof).
    released_by_hand: bool = False
    clears_itself: bool = False
    extra: dict = field(default_factory=dict)


def _unconfirmed(_: str) -> tuple[str, str]:
    return "unconfirmed", "none"


NOT_FAULTS = frozenset({"busy"})


def _printing_rows() -> list[Row]:
    """The faults that need a person at the printer, each on the languages whose simulator has
    it; the printer shows the fault by its own name."""
    by_fault: dict[str, list[str]] = {}
    from labeld.pluginmanager import default_manager

    for language in MODELS:
        device = default_manager().simulators()[language].factory()
        for spec in device.FAULTS:
            # `busy` stops printing without being a fault: a Zebra working through a long
            # batch, which reports nothing wrong (tests/delivery/test_maintenance_queue.py).
            if spec.stops_printing and spec.name not in NOT_FAULTS:
                by_fault.setdefault(spec.name, []).append(language)
    return [Row(name, languages=tuple(langs), shows=frozenset({name}), holds=True)
            for name, langs in sorted(by_fault.items())]


LINK_ROWS = [
    # Nothing listens: retried, then held (offline_policy = hold) until it answers.
    Row("offline", shows=frozenset({"printer-unreachable", "printer-off", "connection-refused"}),
        holds=True),
    # Switched off for three seconds: back by itself, the queue with it.
    Row("refuse-for", 3, shows=frozenset({"printer-unreachable", "printer-off",
                                          "connection-refused"}), holds=True, clears_itself=True),
    # Every connection is reset after a few bytes: a fragment never prints, the job is retried
    # whole, and after the budget the queue waits for the printer.
    Row("reset-mid-job", 8, shows=frozenset({"connection-lost", "printer-off"})),
    # Closed after a few bytes: the same, with a FIN instead of a reset.
    Row("drop-after", 8, shows=frozenset({"connection-lost", "printer-off"})),
    # Status questions are answered with a reset: jobs print, but nothing can confirm them.
    Row("reset-on-status", shows=frozenset({"no-status-reply", "status-timeout"}),
        ends=_unconfirmed),
    # Accepts, never reads, never closes: the job is not taken; nothing proves either way, so
    # the job waits for a person, and nothing else is sent meanwhile.
    Row("half-open", shows=frozenset({"not-taking-data"}), released_by_hand=True),
    # Takes data slowly: waited for, delivered once.
    Row("slow", 2000),
    # Never answers status / answers nonsense: jobs print, nobody can confirm them.
    Row("silent", shows=frozenset({"no-status-reply", "status-timeout"}), ends=_unconfirmed),
    Row("garbage", shows=frozenset({"garbled-status-reply"}), ends=_unconfirmed),
]
ROWS = _printing_rows() + LINK_ROWS


class Timed:
    """An API client that remembers its slowest answer."""

    def __init__(self, client: httpx.Client):
        self.client = client
        self.slowest = 0.0, ""

    def __call__(self, method: str, path: str, **kw) -> httpx.Response:
        t0 = time.monotonic()
        response = self.client.request(method, path, **kw)
        took = time.monotonic() - t0
        if took > self.slowest[0]:
            self.slowest = took, f"{method} {path}"
        assert response.status_code < 400, (path, response.text)
        return response


def shown_codes(api: Timed, pid: str, ids: list[str]) -> set[str]:
    codes = {r["code"] for r in api("GET", f"/v1/printers/{pid}").json()["state_reasons"]}
    for jid in ids:
        job = api("GET", f"/v1/jobs/{jid}").json()
        codes |= {job["error"]["code"]} if job["error"] else set()
        codes |= {a["error_code"] for a in job.get("attempt_log", []) if a["error_code"]}
    return codes


def printed(sim: SimulatorThread) -> list[bytes]:
    return [j.data for j in sim.jobs() if j.complete and j.printed]


@pytest.mark.parametrize("depth", [1, 3], ids=["one-job", "three-jobs"])
@pytest.mark.parametrize("row", ROWS, ids=[r.fault for r in ROWS])
def test_fault(row: Row, depth: int, daemon, simulator):
    sims = {lang: simulator(lang) for lang in row.languages}
    for sim in sims.values():
        sim.set_fault(row.fault, row.value)
    client = daemon([printer(lang, sim, MODELS[lang]) for lang, sim in sims.items()],
                    delivery=MATRIX_DELIVERY)
    api = Timed(client)
    started = time.time()
    datas = {lang: [job_bytes(lang, f"{row.fault}-{lang}-{n}") for n in range(depth)]
             for lang in sims}
    ids = {lang: [api("POST", "/v1/jobs", json={"printer": lang, "raw": {"data": d}}).json()["id"]
                  for d in datas[lang]] for lang in sims}

    # While the fault lasts: the reason shows, the API answers, the printer is not hammered.
    if row.shows:
        for lang in sims:
            wait_for(lambda lang=lang: shown_codes(api, lang, ids[lang]) & row.shows, timeout=8,
                     interval=0.1)
    window_start = time.time()
    while time.time() - window_start < FAULT_WINDOW_S:
        for lang in sims:
            api("GET", f"/v1/printers/{lang}")
            api("GET", f"/v1/jobs/{ids[lang][0]}")
        time.sleep(0.2)
    for lang in sims:
        api("GET", f"/v1/printers/{lang}/status")  # asks the faulted printer itself
    window = time.time() - window_start
    for lang, sim in sims.items():
        asked = sim.status_connections_since(window_start)
        # One question per pause at the quickest, plus the one above and one in flight.
        assert asked <= window / HOLD_POLL_MIN_S + 2, (lang, asked, window)
        if row.holds:
            assert printed(sim) == [], lang  # nothing went into a printer that cannot print
            # and nothing is called printed while it cannot print
            states = {api("GET", f"/v1/jobs/{jid}").json()["state"] for jid in ids[lang]}
            assert "completed" not in states, (lang, states)

    if not row.clears_itself:
        for sim in sims.values():
            sim.clear_faults()
    if row.released_by_hand:
        # The first job is held for a person (nothing proves whether it printed); release it.
        for lang in sims:
            held = wait_for(lambda lang=lang: (j := api("GET", f"/v1/jobs/{ids[lang][0]}").json())
                            ["state"] == "held" and j, timeout=10, interval=0.1)
            assert held["error"]["code"] == "not-taking-data"
            api("POST", f"/v1/jobs/{ids[lang][0]}/release")

    for lang, sim in sims.items():
        for jid in ids[lang]:
            job = wait_for(lambda jid=jid: (j := api("GET", f"/v1/jobs/{jid}").json())["state"]
                           == "completed" and j, timeout=15, interval=0.1)
            assert (job["delivery"], job["evidence"]) == row.ends(lang), (lang, job)
        wait_for(lambda sim=sim, lang=lang: len(printed(sim)) >= depth, timeout=5)
        time.sleep(0.2)  # anything printed twice would show by now
        got = printed(sim)
        expected = [d.encode("latin-1") for d in datas[lang]]
        assert sorted(got) == sorted(expected), lang  # each job once: none lost, none twice
        if not row.released_by_hand:
            assert got == expected, lang  # and in the order they were submitted
    assert api.slowest[0] < API_BOUND_S, api.slowest
    assert time.time() - started < 60
