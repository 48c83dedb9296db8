"""The daemon: one object that owns a running labeld, and the operations its front doors call.

Every front door (the HTTP API now; the CLI, a web console, the MQTT support channel and IPP
later) calls these operations and nothing else: no door touches the store, a printer or the
scheduler itself. An operation checks its input (a `LabeldError` with a reason code when it
is wrong), acts, and returns plain data: labeld's own dataclasses (`Job`, `Event`,
`TokenInfo`...), the small result types below, or the JSON-ready views of labeld.views where a
thing has no dataclass of its own (a printer is live state, not a record). Turning any of it
into HTTP (status codes, headers, JSON errors) is the door's business.

Lifecycle: `Daemon.build(config)` makes every part (config errors surface there, before
anything listens); `await daemon.start()` opens the store, recovers and starts the printers'
workers and the pruning; `await daemon.stop()` undoes it in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeld import i18n
from labeld.i18n import N_, Message
from labeld.config import Config
from labeld.contracts import CheckStatus, Language, MaintenanceAction
from labeld.delivery.printers import Printer, build_printers
from labeld.delivery.scheduler import Scheduler
from labeld.diagnostics import guides as guided
from labeld.diagnostics.bundle import install_log_ring, support_bundle
from labeld.diagnostics import report as morning
from labeld.diagnostics.metrics import MetricSource, render_metrics
from labeld.diagnostics.selftest import Check, diagnostic_label, run_selftest, worst
from labeld.errors import Invalid, LabeldError, NotFound
from labeld.events import EventHub, Subscription
from labeld.intake.placeholders import fields as template_fields
from labeld.intake.policy import policy_table
from labeld.intake.prepare import prepare
from labeld.intake.render import FontBook, raster_to_png
from labeld.intake.templates import TemplateStore
from labeld.pluginmanager import PluginManager, default_manager
from labeld.security import AuditLog, Forbidden, Role, TokenInfo, TokenStore
from labeld.security.roles import role_required
from labeld.security.audit import AuditEntry
from labeld.store import (MAINTENANCE, Database, Event, EventLog, Job, JobQueue, JobState, NewJob,
                          SubmitResult)
from labeld.views import printer_json, reasons_json, text_profile_json

log = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
DISCOVERY_TIMEOUT_S = 10.0
PAYLOADS = ("raw", "label", "template", "document", "receipt")
# A feed remembers this many jobs' owners (they never change) before it starts over.
FEED_OWNERS_KEPT = 4096


# -- what a front door hands in ----------------------------------------------------------------

@dataclass(frozen=True)
class RawInput:
    """Bytes in the printer's own language, as they go to the printer. Each door decodes its
    own wire form (HTTP: UTF-8 text or base64) once; from here on they stay bytes."""

    data: bytes


@dataclass(frozen=True)
class DocumentInput:
    """A PDF, PNG or JPEG file, base64-encoded, and how to dither it to 1 bit."""

    content_type: str
    data: str
    dither: str = "floyd-steinberg"


@dataclass(frozen=True)
class JobInput:
    """A print job as any front door hands it in: the printer, copies and exactly one payload
    (`raw`, `label`, `template` with its `data`, or `document`). Doors check the shape of their
    own input (HTTP: pydantic); `Daemon.submit` checks what the job means."""

    printer: str
    copies: int = 1
    raw: RawInput | None = None
    label: dict[str, Any] | None = None
    template: str | None = None
    data: dict[str, Any] | None = None
    document: DocumentInput | None = None
    receipt: dict[str, Any] | None = None  # {"blocks": [...]}, see labeld.intake.render.receipt

    @property
    def kind(self) -> str:
        given = [k for k in PAYLOADS if getattr(self, k) is not None]
        if len(given) != 1:
            raise Invalid("invalid-request", "Give exactly one payload: raw, label, template "
                          f"(with data), document or receipt; got {', '.join(given) or 'none'}.")
        return given[0]

    def as_request(self) -> dict[str, Any]:
        """The plain-data form intake's `prepare` reads. Shallow (asdict would deep-copy a
        label document and up to 16 MiB of raw bytes on every submit)."""
        return {f.name: (vars(v) if is_dataclass(v) else v)
                for f in fields(self) if (v := getattr(self, f.name)) is not None}


# -- what the operations hand back -------------------------------------------------------------

@dataclass(frozen=True)
class SelfTestReport:
    printer: str
    result: CheckStatus  # the worst check's status
    duration_ms: float
    checks: list[Check]


@dataclass(frozen=True)
class Preview:
    png: bytes
    pages: int  # how many pages the job has


@dataclass(frozen=True)
class Discovered:
    """A printer found on this machine's buses; `configured` names the printer entry that
    already uses its URI."""

    uri: str
    description: str
    model: str | None
    configured: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    fields: list[str]  # the placeholders a job's `data` fills
    document: dict[str, Any]
    sample: dict[str, Any]  # data that fills them, where the template's plugin gave some


@dataclass(frozen=True)
class SavedTemplate:
    name: str
    fields: list[str]
    created: bool  # False: it replaced a template of that name


@dataclass(frozen=True)
class NewToken:
    secret: str  # exists only here: the store keeps its hash
    info: TokenInfo


def sees_every_job(caller: TokenInfo | None) -> bool:
    """Whether `caller` may act on and follow every job (staff, tech and admin), or only its
    own (pos). Staff look after the whole shop's printers, whichever till sent a job. None is
    an in-process caller (the demo, tests): trusted."""
    return caller is None or caller.role.covers(Role.STAFF)


def _local_zone_name() -> str:
    """This machine's zone as people read it (CET), for a report that names no zone."""
    return datetime.now().astimezone().tzname() or "local"


class EventFeed:
    """A live subscription as one caller may see it: the events of one printer or of all,
    every event (a technician) or only those of the caller's own jobs (a pos token), and the
    hub's markers (GAP, CLOSED) as they come. Unsubscribe it when done."""

    def __init__(self, queue: Subscription, printer: str | None, owner: str | None,
                 owner_of: Callable[[str], Awaitable[str | None]]):
        self.queue = queue
        self.printer = printer
        self.owner = owner  # None: every job's events
        self._owner_of = owner_of
        self._owners: dict[str, str | None] = {}  # job id -> owner, as far as looked up

    async def next(self, timeout: float) -> Event | str | None:
        """The next event this caller may see or a marker; None when `timeout` passes
        without one. The wait is bounded, never the owner lookup, so no event is lost to a
        timeout that strikes mid-lookup."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(self.queue.get(), left)
            except TimeoutError:
                return None
            if isinstance(item, str) or await self.shows(item):
                return item
        return None

    async def shows(self, event: Event) -> bool:
        if self.printer is not None and event.printer != self.printer:
            return False
        if self.owner is None:
            return True
        if event.job_id is None:
            return False  # a printer's status, a self-test: not a job of the caller's
        if event.job_id not in self._owners:
            if len(self._owners) >= FEED_OWNERS_KEPT:
                self._owners.clear()
            self._owners[event.job_id] = await self._owner_of(event.job_id)
        return self._owners[event.job_id] == self.owner


class Daemon:
    """Everything one running labeld owns. Hung on the front door (the HTTP app's state), never
    in a global.

    The parts are attributes for the few callers that must reach one: the HTTP edge's role
    check and audit trail (`token_store`, `audit_log`), and in-process setup in the demo and
    tests (`token_store.create_sync`). Everything else goes through the operations."""

    def __init__(self, config: Config, plugins: PluginManager, printers: dict[str, Printer],
                 db: Database, fonts: FontBook, template_store: TemplateStore):
        self.config = config
        self.plugins = plugins
        # The words of reasons: labeld's catalogues and those the plugins bring for their own
        # codes (labeld_locale_dirs); everything that words a reason for people takes these.
        self.catalogues = i18n.CORE.with_dirs(plugins.locale_dirs())
        self.db = db
        # The rooms register their tables on the Database before it opens.
        self.queue = JobQueue(db)
        self.event_log = EventLog(db)
        self.token_store = TokenStore(db)
        self.audit_log = AuditLog(db)
        self.hub = EventHub(self.event_log)
        self.scheduler = Scheduler(self.queue, printers, config.delivery, emit=self.hub.emit,
                                   catalogues=self.catalogues)
        self.fonts = fonts
        self.template_store = template_store
        self._printers = printers
        self._pruning: asyncio.Task[None] | None = None
        self._languages: dict[str, Language] | None = None
        # Doors that count things of their own (the fleet channel) add them to /metrics here.
        self.metric_sources: list[MetricSource] = []

    @classmethod
    def build(cls, config: Config, plugins: PluginManager | None = None) -> Daemon:
        plugins = plugins or default_manager()
        printers = build_printers(config, plugins)  # config errors surface before anything listens
        templates_dir = (config.server.templates_dir
                         or str(Path(config.server.spool).parent / "templates"))
        install_log_ring()  # recent log lines for the support bundle
        return cls(config, plugins, printers, Database(config.server.spool),
                   FontBook(config.server.font_dirs),
                   TemplateStore(templates_dir, plugins.templates()))

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store, recover interrupted jobs and start a worker per printer, then keep
        the store pruned."""
        self.db.open()
        try:
            await self.scheduler.start()
        except BaseException:
            self.db.close()
            raise
        self._pruning = asyncio.create_task(self._prune_forever(), name="labeld-prune")

    async def stop(self) -> None:
        """The reverse of start: pruning, live subscribers, workers, then the store."""
        if self._pruning is not None:
            self._pruning.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pruning
            self._pruning = None
        self.hub.close()
        await self.scheduler.stop()
        self.db.close()

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _prune_forever(self) -> None:
        """Keep the store bounded on a PC that runs for years: finished jobs, old events, old
        audit entries."""
        while True:
            try:
                removed = await self.queue.prune(self.config.server.keep_finished_hours * 3600)
                await self.event_log.prune()
                await self.audit_log.prune(self.config.security.audit_keep_days * 86400)
                if removed:
                    log.info(Message.ngettext("{n} finished job removed from the spool",
                                              "{n} finished jobs removed from the spool",
                                              removed))
            except Exception:  # a failed prune must not end pruning for the daemon's lifetime
                log.exception(N_("removing finished jobs from the spool failed"))
            await asyncio.sleep(PRUNE_EVERY_S)

    # -- printers ----------------------------------------------------------------------------

    def _printer(self, printer_id: str) -> Printer:
        try:
            return self._printers[printer_id]
        except KeyError:
            raise NotFound("unknown-printer", f"There is no printer {printer_id!r}.",
                           "Configured printers: "
                           f"{', '.join(sorted(self._printers)) or 'none'}.") from None

    async def printers(self) -> list[dict[str, Any]]:
        """Every configured printer as labeld.views.printer_json shows it."""
        counts = await self.queue.queued_counts()
        return [printer_json(p, counts.get(pid, 0), self.catalogues)
                for pid, p in self._printers.items()]

    async def job_counts(self) -> dict[str, dict[str, int]]:
        """Unfinished jobs per printer and state (pending, processing, held): every configured
        printer, zeros included (the fleet channel's queue counts)."""
        open_states = (JobState.PENDING, JobState.PROCESSING, JobState.HELD)
        counts = {pid: {s.value: 0 for s in open_states} for pid in self._printers}
        for pid, state, n in await self.queue.counts_by_printer_and_state():
            if pid in counts and state in open_states:
                counts[pid][state.value] = n
        return counts

    async def printer(self, printer_id: str) -> dict[str, Any]:
        p = self._printer(printer_id)
        return printer_json(p, (await self.queue.queued_counts()).get(printer_id, 0),
                            self.catalogues)

    async def printer_status(self, printer_id: str) -> dict[str, Any]:
        """Ask the device now; answers within the status timeout even if the printer is dead."""
        p = self._printer(printer_id)
        live = await p.query_status()
        return {"printer": p.id, "state": p.state, "answered": live.answered,
                "reasons": reasons_json(live.reasons, self.catalogues), "fields": live.fields,
                "latency_ms": live.latency_ms, "reply_hex": live.reply.hex(" ")}

    async def selftest(self, printer_id: str, print_label: bool = False) -> SelfTestReport:
        """The ordered checks of labeld.diagnostics.selftest plus the model plugins' checks,
        with `print_label` a diagnostic label; the result is announced as an event."""
        p = self._printer(printer_id)
        t0 = time.perf_counter()
        checks = await run_selftest(p, print_label=print_label,
                                    extra=self.plugins.selftest_checks(p.model.id),
                                    catalogues=self.catalogues,
                                    label=lambda: diagnostic_label(
                                        p, self.fonts, self.config.server.language,
                                        catalogues=self.catalogues))
        result = worst(checks)
        await self.hub.emit("selftest", printer=printer_id, code=result,
                            message=f"self-test: {result}")
        return SelfTestReport(printer_id, result, round((time.perf_counter() - t0) * 1000, 1),
                              checks)

    async def pause(self, printer_id: str, caller: TokenInfo | None = None) -> dict[str, Any]:
        """Hold the printer's queue (across restarts too); a `printer` event `paused` says who,
        so the live views (console, fleet channel) and the morning report know at once."""
        p = self._printer(printer_id)
        await self.queue.set_paused(printer_id, True)  # kept across restarts
        p.paused = True
        await self._printer_event(printer_id, "paused", caller)
        return await self.printer(printer_id)

    async def resume(self, printer_id: str, caller: TokenInfo | None = None) -> dict[str, Any]:
        p = self._printer(printer_id)
        await self.queue.set_paused(printer_id, False)
        p.paused = False
        self.scheduler.wake(printer_id)
        await self._printer_event(printer_id, "resumed", caller)
        return await self.printer(printer_id)

    async def _printer_event(self, printer_id: str, code: str, caller: TokenInfo | None) -> None:
        await self.hub.emit("printer", printer=printer_id, code=code, message=f"printer {code}",
                            data={"by": caller.name if caller else None,
                                  "role": str(caller.role) if caller else None})

    # -- guided fixes ------------------------------------------------------------------------

    def _guide(self, p: Printer, code: str) -> guided.ResolvedGuide:
        plugin_guides = self.plugins.guides()
        if code not in guided.known_codes(plugin_guides, self.catalogues) and not any(
                r.code == code for r in p.reasons):
            raise NotFound("unknown-guide", f"There is no guide for {code!r}.",
                           f"GET /v1/printers/{p.id}/guides lists the guides for what the "
                           "printer reports now.")
        return guided.resolve(code, p.model.id, p.model.language, plugin_guides,
                              self.catalogues)

    async def guides(self, printer_id: str) -> list[dict[str, Any]]:
        """The guides for what the printer reports now (as last seen), in its reasons' order,
        and the held-jobs guide when jobs wait for a person."""
        p = self._printer(printer_id)
        found = list(dict.fromkeys(r.code for r in p.reasons))
        if await self.queue.list(printer=printer_id, state=JobState.HELD.value, limit=1):
            found.append(guided.JOBS_HELD)
        return [guided.guide_json(self._guide(p, code), printer_id, self.catalogues)
                for code in found]

    async def guide(self, printer_id: str, code: str) -> dict[str, Any]:
        """The guide for `code` on this printer: its model's, its family's, or labeld's."""
        p = self._printer(printer_id)
        return guided.guide_json(self._guide(p, code), printer_id, self.catalogues)

    async def guide_drawing(self, printer_id: str, code: str) -> bytes:
        """The SVG the guide's plugin ships (where the latch, the sensor, the button is)."""
        p = self._printer(printer_id)
        drawing = self._guide(p, code).drawing
        if drawing is None:
            raise NotFound("no-drawing", f"The guide for {code!r} on {printer_id} has no "
                           "drawing.", "")
        return await asyncio.to_thread(drawing.read_bytes)

    async def check_guide(self, printer_id: str, code: str,
                          caller: TokenInfo) -> guided.CheckOutcome:
        """Did it work? For a `status` guide the printer is asked now (not its last answer)
        and the fault is fixed when its code is gone; for `queue` when no job is held; `none`
        cannot tell. Announced as a `guide` event with who asked: the technician reads in the
        morning what was fixed alone."""
        p = self._printer(printer_id)
        guide = self._guide(p, code)
        if guide.check == "status":
            live = await p.query_status()
            outcome = guided.status_outcome(code, live.reasons, live.answered)
        elif guide.check == "queue":
            held = await self.queue.list(printer=printer_id, state=JobState.HELD.value,
                                         limit=1000)
            outcome = guided.queue_outcome(code, len(held))
        else:
            outcome = guided.uncheckable(code)
        if outcome.fixed:
            self.scheduler.wake(printer_id)  # its waiting jobs go now, not at the next poll
        await self.hub.emit("guide", printer=printer_id, code=code,
                            message=f"guide check: {outcome.word}",
                            data={"fixed": outcome.fixed, "by": caller.name,
                                  "role": str(caller.role),
                                  "still": [r.code for r in outcome.still]})
        return outcome

    async def discover(self) -> list[Discovered]:
        """Printers connected to this machine now (USB), with the model that matches."""
        try:
            found = await asyncio.wait_for(asyncio.to_thread(self.plugins.discover),
                                           DISCOVERY_TIMEOUT_S)
        except TimeoutError:
            raise LabeldError("discovery-timeout", "Scanning the buses took too long.",
                              "Try again; if it keeps happening, see the labeld log.",
                              status=504) from None
        uses = {p.config.uri: p.id for p in self._printers.values()}
        return [Discovered(d.uri, d.description, d.model, uses.get(d.uri), d.details)
                for d in found]

    # -- jobs --------------------------------------------------------------------------------

    def languages(self) -> dict[str, Language]:
        """Every loaded language by name (asked of the plugins once)."""
        if self._languages is None:
            self._languages = self.plugins.languages()
        return self._languages

    async def submit(self, job: JobInput, role: Role,
                     idempotency_key: str | None = None, owner: str | None = None,
                     ) -> SubmitResult:
        """Check, render and store a job, then wake its printer's worker. `role` is the
        caller's: the language's raw-command policy decides what it may send. `owner` (the
        caller's token name) owns the job: a pos token cancels and follows only its own. The
        same `idempotency_key` within a day returns the first job (`created` False). A raw job
        the printer would misprint is stored with its `warnings`."""
        printer = self._printer(job.printer)
        kind, request = job.kind, job.as_request()

        # Scanning up to 16 MiB of raw commands or rendering is CPU work: off the event loop,
        # so status calls stay quick meanwhile.
        prepared = await asyncio.to_thread(prepare, kind, request, printer, self.fonts,
                                           self.template_store, role=role,
                                           languages=self.languages())
        result = await self.queue.submit(
            NewJob(printer=job.printer, kind=prepared.kind, payload=prepared.payload,
                   copies=job.copies, idem_key=idempotency_key, pages=prepared.pages,
                   raw=prepared.raw, owner=owner,
                   warnings=[w.as_dict() for w in prepared.warnings]),
            max_queue=printer.config.max_queue)
        if result.created:
            self.scheduler.wake(job.printer)
        return result

    async def jobs(self, printer: str | None = None, state: JobState | None = None,
                   limit: int = 100, owner: str | None = None) -> list[Job]:
        """Newest first; `owner`: only the jobs that token (by name) submitted."""
        if printer is not None:
            self._printer(printer)
        return await self.queue.list(printer=printer, state=state.value if state else None,
                                     limit=limit, owner=owner)

    async def job(self, job_id: str) -> Job:
        """The job with its attempts."""
        return await self.queue.get(job_id, with_attempts=True)

    async def preview(self, job_id: str, page: int = 1) -> Preview:
        """Page `page` (from 1) as PNG: the raster exactly as it is encoded for the printer."""
        job = await self.queue.get(job_id)
        pages = await self.queue.pages(job_id)
        if not pages:
            raise NotFound("no-preview", f"Job {job_id} is a {job.kind} job: its bytes go to the "
                           "printer as they are, there is no raster to show.", "")
        if page > len(pages):
            raise NotFound("unknown-page", f"Job {job_id} has {len(pages)} page(s).", "")
        png = await asyncio.to_thread(raster_to_png, pages[page - 1])
        return Preview(png, len(pages))

    async def render(self, job: JobInput, role: Role, page: int = 1) -> Preview:
        """What a job would print, without storing or printing it: page `page` as PNG, checked
        and rendered exactly as `submit` would (a test-label form's live preview)."""
        printer = self._printer(job.printer)
        if job.kind == "raw":
            raise Invalid("no-preview", "A raw job's bytes go to the printer as they are: there "
                          "is no raster to show.", "Preview a label, template or document.")
        prepared = await asyncio.to_thread(prepare, job.kind, job.as_request(), printer,
                                           self.fonts, self.template_store, role=role)
        if page > len(prepared.pages):
            raise Invalid("unknown-page", f"The job has {len(prepared.pages)} page(s).", "")
        png = await asyncio.to_thread(raster_to_png, prepared.pages[page - 1])
        return Preview(png, len(prepared.pages))

    async def cancel(self, job_id: str, caller: TokenInfo | None = None) -> Job:
        """Cancel a job that has not finished. A pos `caller` may cancel only the jobs its
        token submitted (403 `not-your-job`); staff, tech and admin any (None: trusted). The
        cancel is an event naming the caller (the morning report reads who did it)."""
        if caller is not None and not sees_every_job(caller):
            owner = (await self.queue.get(job_id)).owner  # an unknown job is a 404 first
            if owner is None or owner != caller.name:
                raise Forbidden("not-your-job",
                                f"Job {job_id} was submitted by another token; a pos token may "
                                "cancel only its own jobs.",
                                "Cancel it with the token that submitted it, or ask someone "
                                "with a staff or tech token.")
        job = await self.queue.cancel(job_id)
        # The printer's worker may hold the job, asking the printer's status before sending
        # it; and one backing off on this job moves on.
        self.scheduler.canceled(job.printer, job_id)
        await self._job_done_by(job, "canceled", caller)
        return job

    async def retry(self, job_id: str) -> Job:
        """Queue an aborted or canceled job again: same id, its original place in the queue, a
        fresh retry budget."""
        job = await self.queue.restart(job_id)
        self.scheduler.wake(job.printer)
        return job

    async def release(self, job_id: str, caller: TokenInfo | None = None) -> Job:
        """Let a held job print; the release is an event naming `caller` (None: in-process)."""
        job = await self.queue.release(job_id)
        self.scheduler.wake(job.printer)
        await self._job_done_by(job, "released", caller)
        return job

    async def _job_done_by(self, job: Job, code: str, caller: TokenInfo | None) -> None:
        """A person's act on a job, as an event: the delivery worker announces only what it
        did itself, and the morning report must say who released or canceled what (the audit
        log has the request, not the printer it was about)."""
        await self.hub.emit("job", printer=job.printer, job_id=job.id, code=code,
                            message=f"{code} by {caller.name if caller else 'labeld'}",
                            data={"by": caller.name if caller else None,
                                  "role": str(caller.role) if caller else None})

    async def reprint(self, job_id: str, owner: str | None = None) -> Job:
        """Print a finished job again, as a new job (same printer, pages or raw bytes, copies,
        warnings), owned by `owner` (None: the original's owner)."""
        job = await self.queue.reprint(job_id, owner)
        self.scheduler.wake(job.printer)
        return job

    # -- maintenance actions -----------------------------------------------------------------

    def actions(self, printer_id: str) -> list[MaintenanceAction]:
        """The maintenance actions the printer's model declares (its plugins'), whatever the
        caller's role; a door shows each with the role it needs."""
        return self.plugins.maintenance_actions(self._printer(printer_id).model)

    async def run_action(self, printer_id: str, action_id: str, value: int | None,
                         caller: TokenInfo) -> Job:
        """Queue a declared maintenance action on the printer: its bytes become a job of kind
        `maintenance`, owned by `caller`, which the printer's worker runs before the jobs
        waiting but only after the job in progress has printed. Refused, with nothing sent:
        an action the model does not declare (404 `unknown-action`), a caller whose role is
        below the action's (403 `insufficient-role`), a value outside the action's range or
        given to an action that takes none (422). The bytes skip the raw-command policy: a
        plugin declared them, the caller only names the action. Announced as a `maintenance`
        event; the HTTP door's audit records who asked."""
        printer = self._printer(printer_id)
        declared = {a.id: a for a in self.plugins.maintenance_actions(printer.model)}
        action = declared.get(action_id)
        if action is None:
            raise NotFound("unknown-action",
                           f"Printer {printer_id!r} ({printer.model.id}) has no maintenance "
                           f"action {action_id!r}.",
                           f"Its actions: {', '.join(sorted(declared)) or 'none'} (GET "
                           f"/v1/printers/{printer_id}/actions).")
        if not caller.role.covers(action.role):
            raise role_required(action.role, caller.role, f"The action {action_id!r}")
        param = action.param
        if param is None and value is not None:
            raise Invalid("unexpected-value", f"The action {action_id!r} takes no value.",
                          "Send {\"value\": null} or no body.")
        if param is not None:
            value = param.default if value is None else value
            if not param.minimum <= value <= param.maximum:
                raise Invalid("value-out-of-range",
                              f"{param.name} must be {param.minimum} to {param.maximum} for "
                              f"this printer; got {value}.",
                              f"The default is {param.default}; a value outside the range "
                              "needs a technician at the printer's own menu.")
        data = action.command(value)
        # `prints` tells the worker to let the printer finish what it is printing first.
        payload = {"action": action_id, "value": value, "prints": action.prints}
        result = await self.queue.submit(NewJob(printer=printer_id, kind=MAINTENANCE,
                                                payload=payload, raw=data, owner=caller.name))
        job = result.job
        self.scheduler.wake(printer_id)
        log.info(N_("printer {printer}: maintenance action {action} queued by {who}",
                    printer=printer_id, action=action_id, who=caller.name),
                 extra={"printer": printer_id, "job": job.id, "code": action_id})
        await self.hub.emit("maintenance", printer=printer_id, job_id=job.id, code=action_id,
                            message=f"{action_id} queued by {caller.name}",
                            data={"by": caller.name, "role": str(caller.role), "value": value,
                                  "prints": action.prints})
        return job

    # -- events ------------------------------------------------------------------------------

    async def events(self, printer: str | None = None, limit: int = 100,
                     after: int = 0) -> list[Event]:
        """Status changes and job outcomes, newest first: at most `limit` with a seq above
        `after`."""
        if printer is not None:
            self._printer(printer)
        return await self.event_log.list(printer, limit=limit, after=after)

    def subscribe(self, printer: str | None = None,
                  caller: TokenInfo | None = None) -> EventFeed:
        """Every event from now on (of `printer`, or all) that `caller` may see, and the GAP /
        CLOSED markers: a pos caller sees only the events of its own jobs, tech and admin
        everything. Unsubscribe when done."""
        if printer is not None:
            self._printer(printer)
        owner = None if caller is None or sees_every_job(caller) else caller.name
        return EventFeed(self.hub.subscribe(), printer, owner, self.queue.owner)

    def unsubscribe(self, feed: EventFeed) -> None:
        self.hub.unsubscribe(feed.queue)

    # -- the morning report ------------------------------------------------------------------

    async def report(self, since: datetime | None = None,
                     until: datetime | None = None) -> morning.Report:
        """Per printer: the faults between `since` and `until`, what people did about them and
        by whom, and what is still wrong or held now. `until` defaults to now, `since` to when
        the support desk last closed before `until` ([support]); a time without a zone is the
        shop's wall clock."""
        support = self.config.support
        end = morning.aware(until, support) if until else datetime.now(UTC)
        start = morning.aware(since, support) if since else morning.desk_closed(end, support)
        if start >= end:
            raise Invalid("invalid-range", f"The report's start ({start.isoformat()}) is not "
                          f"before its end ({end.isoformat()}).",
                          "Give since= earlier than until= (ISO 8601, e.g. "
                          "2026-03-13T16:00+01:00).")
        t0, t1 = start.timestamp(), end.timestamp()
        events = await self.event_log.between(t0, t1)
        before = await self.event_log.last_before(t0, "printer-status")
        audit = await self.audit_log.between(t0 - morning.AUDIT_MATCH_S,
                                             t1 + morning.AUDIT_MATCH_S)
        held = await self.queue.list(state=JobState.HELD.value, limit=1000)
        now = {pid: morning.Now(p.config.name or p.model.name, list(p.reasons),
                                [j for j in held if j.printer == pid],
                                {a.id: a.title for a in self.plugins.maintenance_actions(p.model)})
               for pid, p in self._printers.items()}
        return morning.build(t0, t1, events, before=before, audit=audit, printers=now,
                             catalogues=self.catalogues,
                             timezone=support.timezone or _local_zone_name())

    # -- templates ---------------------------------------------------------------------------

    async def templates(self) -> list[dict[str, Any]]:
        """Every template: name, source (builtin or folder), description, fields."""
        return self.template_store.names()

    async def template(self, name: str) -> TemplateInfo:
        doc = self.template_store.get(name)
        return TemplateInfo(name, sorted(template_fields(doc)), doc,
                            self.template_store.sample(name))

    async def put_template(self, name: str, document: dict[str, Any]) -> SavedTemplate:
        created = self.template_store.put(name, document)
        return SavedTemplate(name, sorted(template_fields(document)), created)

    async def delete_template(self, name: str) -> None:
        self.template_store.delete(name)

    # -- security ----------------------------------------------------------------------------

    async def policy(self, language: str) -> list[dict[str, Any]]:
        """Which raw printer commands of `language` need which role."""
        languages = self.plugins.languages()
        if language not in languages:
            raise NotFound("unknown-language", f"No language {language!r}.",
                           f"Known: {', '.join(sorted(languages))}.")
        return policy_table(languages[language])

    async def tokens(self) -> list[TokenInfo]:
        return await self.token_store.list()

    async def create_token(self, name: str, role: Role) -> NewToken:
        secret, info = await self.token_store.create(name, role)
        return NewToken(secret, info)

    async def revoke_token(self, name_or_id: str) -> TokenInfo:
        return await self.token_store.revoke(name_or_id)

    async def audit(self, limit: int = 100, who: str | None = None) -> list[AuditEntry]:
        """Newest first."""
        return await self.audit_log.list(limit=limit, who=who)

    # -- service -----------------------------------------------------------------------------

    async def plugins_info(self) -> dict[str, Any]:
        """Loaded plugins (with their errors), models, languages and transports."""
        owners = self.plugins.model_owners()
        return {
            "plugins": [{"name": i.name, "module": i.module, "distribution": i.distribution,
                         "version": i.version, "hooks": i.hooks, "errors": i.errors,
                         "ok": not i.errors} for i in self.plugins.infos()],
            "models": [{"id": m.id, "name": m.name, "language": m.language, "dpi": m.dpi,
                        "print_width_dots": m.print_width_dots, "kind": m.printer_type,
                        "plugin": owners.get(m.id), "text": text_profile_json(m.text)}
                       for m in self.plugins.models().values()],
            "languages": sorted(self.plugins.languages()),
            "transports": sorted(self.plugins.transports()),
        }

    async def metrics(self) -> bytes:
        """Prometheus text format (labeld.diagnostics.metrics.METRICS_CONTENT_TYPE)."""
        return await render_metrics(self.queue, self.db, self._printers, self.metric_sources)

    async def support_bundle(self) -> bytes:
        """The support bundle zip (labeld.diagnostics.bundle)."""
        return await support_bundle(self.config, self.plugins, self._printers, self.queue,
                                    self.event_log, self.catalogues, report=await self.report())
