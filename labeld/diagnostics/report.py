"""The morning report: what happened to each printer while the support desk was closed.

For a time range (by default since the desk last closed, `desk_closed`), per printer: the
faults that happened (when, for how long, or still on), what people did about them (a guided
fix followed, a maintenance action run, jobs released or canceled, and by whom), and what is
still wrong or held now. The technician reads it first thing; the shop's staff were alone.

Everything comes from what labeld recorded as it happened, never from anyone's memory:
`printer-status` events give the fault intervals (each carries the printer's full list of
reasons, so an interval is exact per reason code even when two faults overlap), `job` events
`released`/`canceled` (labeld.daemon names the caller in `data.by`), `guide` events (`data`:
`fixed`, `by`, `role`, `still`) and `maintenance` events (`code`: the action's id; `data`:
`by`, `role`, `value`, `prints`). An event without `by` (recorded before labeld named people)
takes its person from the audit log, which has every staff and technician request.

`build` is a pure function of those records, so a scripted evening is a unit test; the daemon
fetches them and adds the printers' state now (`Daemon.report`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from labeld import i18n
from labeld.config import WEEKDAYS, SupportConfig
from labeld.contracts import Reason, Severity
from labeld.diagnostics import guides
from labeld.i18n import N_, Catalogues, Message
from labeld.reasons import describe, error_json
from labeld.security.audit import AuditEntry
from labeld.store import Event, Job
from labeld.views import iso

# How far apart an event and the audit entry of the request that caused it may be.
AUDIT_MATCH_S = 10.0
# Reasons that are only information (a report, not a fault) are left out of the faults.
FAULT_SEVERITIES = (Severity.ERROR.value, Severity.WARNING.value)
ACTION_KINDS = ("guide", "maintenance")
PERSON_JOB_CODES = ("released", "canceled")
# a printer paused or resumed by a person (a `printer` event naming who)
PERSON_PRINTER_CODES = ("paused", "resumed")


# -- the default range ---------------------------------------------------------------------------

def zone(support: SupportConfig) -> tzinfo | None:
    """The shop's time zone: the configured one, or None for this machine's local zone."""
    return ZoneInfo(support.timezone) if support.timezone else None


def _wall(day: date, at: time, tz: tzinfo | None) -> datetime:
    """A wall-clock time of the shop on `day`, as an aware datetime. Without a zone name the
    machine's own rules decide the offset of that very day (naive `astimezone()`), so a
    summer-time change between then and now is counted right."""
    if tz is not None:
        return datetime.combine(day, at, tzinfo=tz)
    return datetime.combine(day, at).astimezone()


def aware(moment: datetime, support: SupportConfig) -> datetime:
    """A time without a zone is the shop's wall clock."""
    if moment.tzinfo is not None:
        return moment
    tz = zone(support)
    return moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()


def desk_closed(now: datetime, support: SupportConfig) -> datetime:
    """When the last support-desk day before `now` ended: Monday 09:00 -> Friday 16:00,
    Tuesday 07:00 -> Monday 16:00, and while the desk is open (Tuesday 10:00) still Monday
    16:00, so the morning's report does not shrink as the morning goes on."""
    now = aware(now, support)
    tz = zone(support)
    today = now.astimezone(tz).date() if tz is not None else now.astimezone().date()
    hour, minute = support.closes
    for back in range(8):  # a desk open one day a week closed at most 7 days ago
        day = today - timedelta(days=back)
        if WEEKDAYS[day.weekday()] in support.days:
            closed = _wall(day, time(hour, minute), tz)
            if closed <= now:
                return closed
    raise AssertionError("SupportConfig guarantees at least one day")  # pragma: no cover


# -- what the report holds -----------------------------------------------------------------------

@dataclass(frozen=True)
class Fault:
    """One reason a printer had, from when it appeared to when it went (None: still on at the
    end of the range). `started` may lie before the range: the fault was on when it began."""

    code: str
    keyword: str
    severity: str
    message: dict[str, str]  # in every language
    hint: dict[str, str]
    started: float
    ended: float | None
    duration_s: float  # to `ended`, or to the end of the range while still on


@dataclass(frozen=True)
class Action:
    """Something a person did about a printer: `kind` is guide, maintenance, released or
    canceled; `code` the guide's or action's id, or the job event's code."""

    at: float
    kind: str
    code: str | None
    job: str | None
    by: str | None
    role: str | None
    text: dict[str, str]  # what was done, in every language
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PrinterReport:
    printer: str
    name: str
    faults: list[Fault]
    actions: list[Action]
    still_wrong: list[dict[str, Any]]  # the printer's reasons now, as labeld.reasons words them
    held_jobs: list[dict[str, Any]]  # held now: id, created_at, error in every language

    @property
    def quiet(self) -> bool:
        """Nothing happened and nothing is wrong."""
        return not (self.faults or self.actions or self.still_wrong or self.held_jobs)


@dataclass(frozen=True)
class Report:
    since: float
    until: float
    timezone: str  # the shop's zone the times are read in (an IANA name or the local one)
    printers: list[PrinterReport]

    def as_json(self) -> dict[str, Any]:
        """The API's shape (GET /v1/report, the support bundle's report.json): times as
        ISO 8601 UTC, every text in every language."""
        return {
            "since": iso(self.since), "until": iso(self.until), "timezone": self.timezone,
            "printers": [{
                "printer": p.printer, "name": p.name,
                "faults": [{"code": f.code, "keyword": f.keyword, "severity": f.severity,
                            "message": f.message, "hint": f.hint, "started": iso(f.started),
                            "ended": iso(f.ended), "duration_s": round(f.duration_s, 1)}
                           for f in p.faults],
                "actions": [{"at": iso(a.at), "kind": a.kind, "code": a.code, "job": a.job,
                             "by": a.by, "role": a.role, "text": a.text, "data": a.data}
                            for a in p.actions],
                "still_wrong": p.still_wrong, "held_jobs": p.held_jobs,
            } for p in self.printers]}


@dataclass(frozen=True)
class Now:
    """A printer as it is when the report is made."""

    name: str
    reasons: Sequence[Reason]
    held: Sequence[Job]
    # the titles of the maintenance actions its model declares, by id: a report names what
    # was run as the console's button does, not by the plugin's id
    action_titles: Mapping[str, str] = field(default_factory=dict)


# -- building it -----------------------------------------------------------------------------

def build(since: float, until: float, events: Iterable[Event], *, before: Iterable[Event] = (),
          audit: Sequence[AuditEntry] = (), printers: Mapping[str, Now] | None = None,
          catalogues: Catalogues = i18n.CORE, timezone: str = "") -> Report:
    """The report for [since, until]: `events` are those recorded in the range (any order),
    `before` the last `printer-status` event of each printer before it (the faults already on
    at `since`), `audit` the audit entries around the range, `printers` the configured
    printers as they are now. Texts are worded by `catalogues` (the daemon's)."""
    printers = dict(printers or {})
    ordered = sorted(events, key=lambda e: e.seq)
    ids = list(printers) + sorted({e.printer for e in ordered if e.printer} - printers.keys())
    seeds = {e.printer: e for e in before if e.kind == "printer-status"}
    out = []
    for pid in ids:
        mine = [e for e in ordered if e.printer == pid]
        now = printers.get(pid)
        out.append(PrinterReport(
            printer=pid, name=now.name if now else pid,
            faults=_faults(seeds.get(pid), mine, until, catalogues),
            actions=[a for e in mine
                     if (a := _action(e, audit, catalogues,
                                      now.action_titles if now else {})) is not None],
            still_wrong=[describe(r, catalogues) for r in (now.reasons if now else ())],
            held_jobs=[{"id": j.id, "created_at": iso(j.created_at), "owner": j.owner,
                        "error": error_json(j.error, catalogues)}
                       for j in (now.held if now else ())]))
    return Report(since, until, timezone, out)


def _reasons(event: Event) -> dict[str, Reason]:
    """The printer's reasons after a printer-status event, by code. Each event carries the
    full list (`data.reasons`); one without it names only its first code (`code`)."""
    listed = event.data.get("reasons")
    if isinstance(listed, list):
        found = {}
        for r in listed:
            if isinstance(r, dict) and r.get("code"):
                found[str(r["code"])] = Reason(str(r.get("keyword") or "other"), str(r["code"]),
                                               _severity(r.get("severity")))
        return found
    if event.code and event.code != "ok":
        return {event.code: Reason("other", event.code, Severity.ERROR)}
    return {}


def _severity(value: object) -> Severity:
    try:
        return Severity(str(value))
    except ValueError:
        return Severity.ERROR


def _faults(seed: Event | None, events: list[Event], until: float,
            catalogues: Catalogues) -> list[Fault]:
    on: dict[str, tuple[Reason, float]] = {}  # code -> (reason, since when)
    if seed is not None:
        on = {c: (r, seed.at) for c, r in _reasons(seed).items()}
    done: list[Fault] = []

    def close(code: str, ended: float | None) -> None:
        reason, started = on.pop(code)
        if reason.severity.value not in FAULT_SEVERITIES:
            return
        words = describe(reason, catalogues)
        done.append(Fault(code, reason.keyword, reason.severity.value, words["message"],
                          words["hint"], started, ended,
                          max(0.0, (ended if ended is not None else until) - started)))

    for event in events:
        if event.kind != "printer-status":
            continue
        now = _reasons(event)
        for code in [c for c in on if c not in now]:
            close(code, event.at)
        for code, reason in now.items():
            if code not in on:
                on[code] = (reason, event.at)
    for code in list(on):
        close(code, None)
    return sorted(done, key=lambda f: (f.started, f.code))


def _who(event: Event, audit: Sequence[AuditEntry]) -> tuple[str | None, str | None]:
    """The person behind an event: its own `by`, else the nearest successful audited request
    about the same job (or, for a guide or an action, the same printer)."""
    if event.data.get("by"):
        role = event.data.get("role")
        return str(event.data["by"]), str(role) if role else None
    if event.job_id:
        target = f"job_id={event.job_id}"
    elif event.printer:
        target = f"printer_id={event.printer}"
    else:
        return None, None
    near = [a for a in audit if a.status < 400 and target in a.target.split(",")
            and abs(a.at - event.at) <= AUDIT_MATCH_S]
    if not near:
        return None, None
    best = min(near, key=lambda a: abs(a.at - event.at))
    return best.who, best.role


def _action(event: Event, audit: Sequence[AuditEntry], catalogues: Catalogues,
            action_titles: Mapping[str, str]) -> Action | None:
    if (event.kind == "job" and event.code in PERSON_JOB_CODES) or (
            event.kind == "printer" and event.code in PERSON_PRINTER_CODES):
        kind = str(event.code)
    elif event.kind in ACTION_KINDS:
        kind = event.kind
    else:
        return None
    by, role = _who(event, audit)
    who = by or N_("someone")
    data = dict(event.data)
    job = (event.job_id or "")[:8]
    text: Message
    if kind == "released":
        text = N_("{who} released job {job}", who=who, job=job)
    elif kind == "canceled":
        text = N_("{who} canceled job {job}", who=who, job=job)
    elif kind == "paused":
        text = N_("{who} paused the printer", who=who)
    elif kind == "resumed":
        text = N_("{who} resumed the printer", who=who)
    elif kind == "guide":
        # the guide as its page is headed: the fault's words, in the reader's language
        guide = guides.title(event.code or "", catalogues)
        fixed = data.get("fixed")
        text = (N_("{who} followed the guide “{guide}”: it fixed the fault", who=who,
                   guide=guide)
                if fixed is True else
                N_("{who} followed the guide “{guide}”: the fault is still there", who=who,
                   guide=guide) if fixed is False else
                N_("{who} followed the guide “{guide}”", who=who, guide=guide))
    else:
        action = action_titles.get(event.code or "", event.code or "")
        text = (N_("{who} ran “{action}” ({value})", who=who, action=action,
                   value=str(data["value"]))
                if data.get("value") is not None else
                N_("{who} ran “{action}”", who=who, action=action))
    return Action(event.at, kind, event.code, event.job_id, by, role,
                  i18n.words(text, catalogues), data)
