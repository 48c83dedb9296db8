"""Delivery: one asyncio worker per printer takes that printer's jobs from the spool in order.

Printers never wait for each other: each has its own worker, and a worker only ever blocks on
its own printer. A job that fails with a passing fault stays at the head of its printer's queue
(order matters on a label printer) and is tried again after an exponential backoff, until
`max_attempts`; then the printer's `offline_policy` decides: `hold` keeps the queue until the
printer answers again, `abort` gives the job up with the reason.

A job is `confirmed` only on evidence: the printer's label counter moved by the job's labels, or
the printer closed the job's connection (it read every byte) and then reported no error and
nothing of ours waiting. A printer that kept the connection open without reading proves
nothing: its job is sent again when the counter shows it did not print, and held for a person
where nothing can tell.

Each worker runs under a supervisor: a bug is logged, shown on the printer and the worker starts
again, so a queue never stops without a visible reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from labeld.config import DeliveryConfig
from labeld.contracts import Outcome, Reason, TransportError
from labeld.errors import LabeldError
from labeld.delivery.encode import job_bytes, job_labels
from labeld.delivery.printers import LiveStatus, Printer
from labeld.i18n import N_, Catalogues, Message, Number
from labeld.reasons import (
    INTERNAL_ERROR,
    NOT_TAKING_DATA,
    OFFLINE_HOLD,
    PRINTER_UNREACHABLE,
    describe,
)
from labeld.store import MAINTENANCE, Evidence, Finish, Job, JobQueue, JobState

log = logging.getLogger(__name__)
# A printer's state in people's log lines (the API keeps IPP's words: idle, processing, stopped).
STATE_WORDS = {"idle": N_("ready"), "processing": N_("printing"), "stopped": N_("stopped")}
READY = N_("no fault")


Emit = Callable[..., Awaitable[object]]
PREFLIGHT_MAX_AGE_S = 2.0  # a status younger than this is trusted before the next job
CONFIRM_POLL_S = 0.5  # how soon an idle printer is asked to confirm jobs it took
HOLD_POLL_MIN_S = 0.25
HOLD_POLL_MAX_S = 10.0
RESTART_BACKOFF_MAX_S = 30.0


@dataclass
class Sent:
    """A job whose bytes went to the printer, waiting for evidence that it printed."""

    at: float  # when the printer took (or was handed) the last byte
    labels: int | None  # how far it moves the label counter; None: the language cannot tell
    closed: bool  # the printer closed the connection: it read every byte


class PrinterWorker:
    """Delivers one printer's jobs, in order, checking the printer before and after."""

    def __init__(self, printer: Printer, queue: JobQueue, settings: DeliveryConfig, emit: Emit,
                 catalogues: Catalogues):
        self.printer = printer
        self.queue = queue
        self.settings = settings
        self.emit = emit
        self.catalogues = catalogues  # the words of reasons: labeld's and the plugins'
        self._wake = asyncio.Event()
        self._canceled: set[str] = set()  # canceled while in this worker's hands (see canceled)
        self.task: asyncio.Task | None = None
        self._sent: dict[str, Sent] = {}  # in the order the printer got them
        self._counter_base: int | None = None  # the label counter before the first of _sent
        self._counted_at = 0.0  # the status after which the counter was last read
        self._reasons: tuple[str, ...] = ()  # the last reasons announced as an event
        self._offline_delay = HOLD_POLL_MIN_S  # the next pause of an offline hold
        self.restarts = 0

    def wake(self) -> None:
        self._wake.set()

    def canceled(self, job_id: str) -> None:
        """A job was canceled: if this worker holds it (asking the printer's status before
        sending it, which takes up to the status timeout), it must not send it afterwards."""
        self._canceled.add(job_id)
        self._wake.set()

    def _describe(self, reason: Reason) -> dict[str, Any]:
        return describe(reason, self.catalogues)

    def _fault_error(self, reason: Reason) -> dict[str, str]:
        info = self._describe(reason)
        return {"code": info["code"], "message": info["message"]["en"], "hint": info["hint"]["en"]}

    def backoff(self, attempts: int) -> float:
        return min(self.settings.backoff_max_s,
                   self.settings.backoff_initial_s * 2 ** max(0, attempts - 1))

    async def _rest(self) -> None:
        """Nothing to send: wait for a job, and meanwhile keep what labeld shows of the printer
        true. A printer says it ran out of paper or was switched off only when asked, and the
        shop assistant reads the console before printing, not after (watch_idle_s)."""
        every = self.settings.watch_idle_s
        await self._sleep_or_wake(every or None)
        if every and not self._wake.is_set() and self.printer.last.age() >= every:
            await self._observe(await self.printer.query_status())

    async def _sleep_or_wake(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    # -- the supervisor ---------------------------------------------------------------------

    async def supervise(self) -> None:
        """Run the worker; after a bug, say so on the printer and start it again with backoff.
        Jobs it was sending go back to the queue under the printer's crash policy."""
        delay = 1.0
        while True:
            try:
                await self.run()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the point of a supervisor (logged with its traceback)
                self.restarts += 1
                log.exception(N_("printer {printer}: the delivery worker failed; it restarts in "
                                 "{seconds} s", printer=self.printer.id, seconds=Number(delay, 0)),
                              extra={"printer": self.printer.id, "code": "internal-error"})
                self.printer.busy = False
                self.printer.notes["worker"] = INTERNAL_ERROR
                await self._emit_safely("printer-status", printer=self.printer.id,
                                        code=INTERNAL_ERROR.code,
                                        message=f"delivery worker failed: {type(exc).__name__}: "
                                                f"{exc}",
                                        data={"reasons": [self._describe(INTERNAL_ERROR)],
                                              "state": self.printer.state})
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESTART_BACKOFF_MAX_S)
                try:
                    recovered = await self.queue.recover(
                        {self.printer.id: self.printer.crash_policy}, printer=self.printer.id)
                    if any(recovered.values()):
                        log.warning(N_("printer {printer}: jobs interrupted by the failure: "
                                       "{jobs}", printer=self.printer.id, jobs=str(recovered)),
                                    extra={"printer": self.printer.id})
                except Exception:  # the store itself failing: try again later
                    log.exception(N_("printer {printer}: recovering its jobs failed",
                                     printer=self.printer.id))
            else:
                return

    async def _emit_safely(self, kind: str, **fields: object) -> None:
        try:
            await self.emit(kind, **fields)
        except Exception:  # announcing a failure must not fail the supervisor
            log.exception("printer %s: recording an event failed", self.printer.id)

    def _healthy(self) -> None:
        """The worker got through a round: whatever made it restart is over."""
        self.printer.notes.pop("worker", None)

    # -- the worker ---------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            # Cleared before looking at the queue: a job submitted after this point either shows
            # up in claim_next or sets the event again, so no wake-up is ever lost.
            self._wake.clear()
            if self.printer.paused:
                self.printer.busy = False
                await self._rest()
                continue
            # Cancels known before this claim are for jobs the store already kept from it (or
            # that were retried since): only one that comes while a job is in hand counts.
            known_cancels = set(self._canceled)
            claimed = await self.queue.claim_next(self.printer.id)
            if claimed is None:
                self.printer.busy = False
                self._healthy()
                if self._sent:  # idle with jobs the printer has not confirmed: ask soon
                    await self._sleep_or_wake(CONFIRM_POLL_S)
                    if not self._wake.is_set() or self.printer.last.age() >= CONFIRM_POLL_S:
                        # A new job goes first without a question of its own when the printer
                        # was asked a moment ago: a steady trickle of jobs costs at most two
                        # status questions a second, not one per job.
                        await self._observe(await self.printer.query_status())
                else:
                    await self._rest()
                continue
            if isinstance(claimed, float):  # the head job is backing off until then
                await self._sleep_or_wake(max(0.0, claimed - time.time()))
                continue
            self._canceled -= known_cancels
            if claimed.kind == MAINTENANCE and claimed.payload.get("prints"):
                await self._finish_printing()
            status = await self.printer.recent_status(PREFLIGHT_MAX_AGE_S)
            await self._observe(status)
            if status.fault is not None:
                # Give the job back, unsent, and wait with the rest of the queue.
                await self.queue.finish_attempt(Finish(claimed.id, JobState.PENDING, Outcome.HOLD,
                                                       error=self._fault_error(status.fault)))
                await self._hold(status, status.fault, lambda s: s.fault is None)
                continue
            if not self._sent:
                # The counter before this job: what it must have moved past once the job printed.
                # Read outside the job's own error handling: a failure here is not the job's.
                # Not asked of a printer that did not answer its status just now: it would only
                # cost another status timeout before every job.
                self._counter_base = (await self.printer.read_counter() if status.answered
                                      else None)
            if claimed.id in self._canceled:  # canceled while the printer was being asked
                # Closes the attempt; the store keeps the cancel (or, if the job was retried
                # in the meantime, puts it back in the queue).
                await self.queue.finish_attempt(Finish(claimed.id, JobState.PENDING,
                                                       Outcome.HOLD))
                continue
            self.printer.busy = True
            try:
                done = await self.deliver(claimed)
            except Exception:  # a bug in one job must not stop the printer's queue
                log.exception("printer %s: delivering job %s failed", self.printer.id, claimed.id,
                              extra={"printer": self.printer.id, "job": claimed.id})
                done = Finish(claimed.id, JobState.ABORTED, Outcome.ABORT, error={
                    "code": "internal-error", "message": "labeld failed on this job.",
                    "hint": "See the labeld log; report it with the support bundle."})
            # Recorded at once, not with the next claim: a crash after the printer took the job
            # must find it `sent`, or the job would print again after the restart.
            await self.queue.finish_attempt(done)
            self._healthy()
            await self._announce_job(claimed, done)
            if done.outcome == Outcome.HOLD:  # the printer stayed away through the retry budget
                self.printer.notes["hold"] = OFFLINE_HOLD
                try:
                    # Asked again after a pause even if its last status looked fine (a printer
                    # that answers status but resets every job), with a pause that keeps growing
                    # until a job gets through.
                    self._offline_delay = await self._hold(
                        self.printer.last, OFFLINE_HOLD, _reachable, self._offline_delay,
                        wait_first=True)
                finally:
                    self.printer.notes.pop("hold", None)
            elif claimed.id in self._sent and not self._sent[claimed.id].closed:
                await self._resolve_unproven(claimed.id)

    async def _finish_printing(self) -> None:
        """Before a maintenance action that uses media: wait until the printer has printed
        what it took. A printer may act on such a command as it arrives (a Zebra's `~JC` does
        not wait for the label being printed), so "never in the middle of a job" means after
        the evidence, not only after the bytes. Actions without media are not held back:
        emptying the printer's buffer (`~JA`) is for the labels still in it. Bounded: a sent
        job is settled, one way or the other, within the confirmation window; a fault ends the
        wait and the preflight holds the action."""
        while self._sent:
            await asyncio.sleep(CONFIRM_POLL_S)
            status = await self.printer.query_status()
            await self._observe(status)
            if status.fault is not None:
                return

    async def deliver(self, job: Job) -> Finish:
        """Send one job; say how the attempt ended (the caller records it)."""
        try:
            # Encoding pages (Z64, many PDF pages) is CPU work: off the event loop, as rendering
            # is at submit; a raw job is its bytes already.
            data = (await asyncio.to_thread(job_bytes, self.printer, job) if job.pages
                    else job_bytes(self.printer, job))
        except LabeldError as exc:
            return Finish(job.id, JobState.ABORTED, Outcome.ABORT, error=exc.as_dict())
        try:
            async with self.printer.connect() as transport:
                await transport.write(data)
                closed = await transport.finish()
        except TransportError as exc:
            self.printer.note_delivery_error(exc)
            return self._failed(job, exc)
        self.printer.note_delivery_ok()
        self._offline_delay = HOLD_POLL_MIN_S
        # Taken by the printer is not yet printed: the job stays processing until evidence
        # confirms it (see _observe), and it is never sent again unless evidence says it did
        # not print.
        self._sent[job.id] = Sent(time.time(), job_labels(self.printer, job), closed)
        return Finish(job.id, JobState.PROCESSING, Outcome.OK, bytes_sent=len(data),
                      delivery="sent")

    def _failed(self, job: Job, exc: TransportError) -> Finish:
        error = {"code": exc.code, "message": exc.message,
                 "hint": "labeld retries by itself; check the printer's power, cable and network."}
        if exc.retryable and job.failures < self.settings.max_attempts:
            delay = self.backoff(job.failures)
            log.info(N_("printer {printer}: job {job}, attempt {attempt} failed ({code}); next "
                        "try in {seconds} s", printer=self.printer.id, job=job.id,
                        attempt=job.attempts, code=exc.code, seconds=Number(delay, 1)),
                     extra={"printer": self.printer.id, "job": job.id, "code": exc.code})
            return Finish(job.id, JobState.PENDING, Outcome.RETRY, error=error,
                          bytes_sent=exc.sent, retry_at=time.time() + delay)
        if exc.retryable and self.printer.config.offline_policy == "hold":
            # A printer switched off for the night: keep the work, wait for it.
            info = self._describe(OFFLINE_HOLD)
            return Finish(job.id, JobState.PENDING, Outcome.HOLD, bytes_sent=exc.sent, error={
                "code": OFFLINE_HOLD.code,
                "message": f"{info['message']['en']} (after {job.failures} attempt(s): "
                           f"{exc.message})",
                "hint": info["hint"]["en"]})
        error["message"] = f"Gave up after {job.failures} attempt(s): {exc.message}"
        error["hint"] = "Fix the printer, then retry the job (POST /v1/jobs/ID/retry)."
        return Finish(job.id, JobState.ABORTED, Outcome.ABORT, error=error, bytes_sent=exc.sent)

    # -- evidence -------------------------------------------------------------------------------

    async def _observe(self, status: LiveStatus) -> None:
        """Learn from a status: announce changed reasons, confirm or give up on sent jobs."""
        reasons = tuple(r.code for r in self.printer.reasons)
        if reasons != self._reasons:
            self._reasons = reasons
            log.info(N_("printer {printer}: {state} ({reasons})", printer=self.printer.id,
                        state=STATE_WORDS.get(self.printer.state, self.printer.state),
                        reasons=", ".join(reasons) or READY),
                     extra={"printer": self.printer.id, "code": reasons[0] if reasons else "ok"})
            await self.emit("printer-status", printer=self.printer.id,
                            code=reasons[0] if reasons else "ok",
                            message=", ".join(reasons) or "ready",
                            data={"reasons": [self._describe(r) for r in self.printer.reasons],
                                  "state": self.printer.state})
        if not self._sent:
            return
        window = self.settings.confirm_window_s
        if status.settled and status.checked_at:
            checked_at = status.checked_at

            def taken() -> dict[str, Sent]:  # read again after each settle: it shrinks _sent
                return {j: s for j, s in self._sent.items() if s.closed and s.at <= checked_at}

            # One counter question per fresh status, not per look at a cached one (a busy queue
            # looks at the status before every job); None: the counter cannot speak.
            counted: list[str] | None = [] if self._can_count() else None
            if counted is not None and checked_at > self._counted_at:
                self._counted_at = checked_at
                counted = await self._counted()
            if counted is not None:
                await self._settle(counted, "confirmed", Evidence.COUNTER)
                # A job that prints no label (settings, a blank receipt) cannot move a counter.
                await self._settle([j for j, s in taken().items() if s.labels == 0],
                                   "confirmed", Evidence.STATUS)
                # Closed and settled but the counter has not moved for it: a printer counts a
                # label once it is out, so wait; past the window, say it is not proven.
                await self._settle([j for j, s in taken().items() if time.time() - s.at > window],
                                   "unconfirmed", Evidence.NONE)
            else:
                await self._settle(list(taken()), "confirmed", Evidence.STATUS)
        elif not status.settled and not status.stopped:
            # Silent or garbled: the printer cannot confirm; after the window, say so.
            stale = [j for j, s in self._sent.items()
                     if s.closed and time.time() - s.at > window]
            await self._settle(stale, "unconfirmed", Evidence.NONE)

    async def _counted(self) -> list[str] | None:
        """The sent jobs the label counter accounts for, oldest first, or None when there is no
        counter to read. The printer prints in the order it got the jobs, so the counter's
        advance covers a prefix of them."""
        if not self._can_count():
            return None
        now = await self.printer.read_counter()
        if now is None:
            return None
        advance, covered, need = now - self._counter_base, [], 0
        for job_id, sent in self._sent.items():
            if not sent.labels:
                continue  # nothing to count; confirmed by status, see _observe
            need += sent.labels
            if advance < need:
                break
            covered.append(job_id)
        self._counter_base += sum(self._sent[j].labels for j in covered)
        return covered

    def _can_count(self) -> bool:
        """Whether the counter can speak for the jobs sent: it was read before the first of them
        and every one of them says how many labels it prints."""
        return (self._counter_base is not None
                and all(s.labels is not None for s in self._sent.values()))

    async def _settle(self, job_ids: list[str], delivery: str, evidence: Evidence) -> None:
        if not job_ids:
            return
        await self.queue.settle(job_ids, delivery, evidence)
        if evidence is not Evidence.COUNTER and any(self._sent[j].labels != 0 for j in job_ids):
            # Settled without the counter, these jobs may or may not have moved it: what it
            # shows from now on cannot be credited to the jobs after them.
            self._counter_base = None
        for jid in job_ids:
            self._sent.pop(jid, None)
            log.info(N_("printer {printer}: job {job} printed ({delivery}, by {evidence})",
                        printer=self.printer.id, job=jid, delivery=delivery,
                        evidence=str(evidence)), extra={"printer": self.printer.id, "job": jid,
                                      "code": "completed", "delivery": delivery,
                                      "evidence": str(evidence)})
        # Issued together, the events reach the spool's queue together and share one commit
        # (group commit), instead of one fsync each; they are queued, and numbered, in order.
        await asyncio.gather(*(
            self.emit("job", printer=self.printer.id, job_id=jid, code="completed",
                      message=f"completed ({delivery})",
                      data={"delivery": delivery, "evidence": str(evidence)})
            for jid in job_ids))

    async def _resolve_unproven(self, job_id: str) -> None:
        """The printer kept the connection open and never showed that it read the job. Nothing
        more is sent (a later job's label would be counted for this one) until the printer
        answers again and the evidence decides: the counter moved, or the job goes back to the
        head of the queue, or, with no counter to ask, it waits for a person."""
        self.printer.notes["delivery"] = NOT_TAKING_DATA
        self.printer.busy = False
        await self._observe(self.printer.last)
        delay = HOLD_POLL_MIN_S
        try:
            while job_id in self._sent:
                status = await self.printer.query_status()
                await self._observe(status)
                if job_id not in self._sent:
                    return  # the counter confirmed it
                if status.settled:
                    error = self._fault_error(NOT_TAKING_DATA)
                    # Still in _sent after _observe read the counter: it did not move for it.
                    if self._can_count() and await self.printer.read_counter() is not None:
                        error["message"] += "; its label counter shows the job did not print"
                        error["hint"] = "labeld sends it again by itself."
                        hold = False
                    else:
                        error["message"] += "; nothing shows whether the job printed"
                        error["hint"] = ("Check whether the label came out, then release the job "
                                         "(POST /v1/jobs/ID/release) to print it, or cancel it.")
                        hold = True
                    self._sent.pop(job_id, None)
                    if await self.queue.unsend(job_id, error, hold=hold):
                        log.warning(N_("printer {printer}: job {job} was not taken; it is held",
                                       printer=self.printer.id, job=job_id) if hold else
                                    N_("printer {printer}: job {job} was not taken; it goes "
                                       "again", printer=self.printer.id, job=job_id),
                                    extra={"printer": self.printer.id, "job": job_id,
                                           "code": NOT_TAKING_DATA.code})
                        await self.emit("job", printer=self.printer.id, job_id=job_id,
                                        code="held" if hold else "pending",
                                        message=error["message"], data={"outcome": "not-taken"})
                    return
                # A plain sleep: neither new jobs nor a pause change what must be found out.
                await asyncio.sleep(delay)
                delay = min(delay * 2, HOLD_POLL_MAX_S)
        finally:
            self.printer.notes.pop("delivery", None)

    # -- holding the queue ----------------------------------------------------------------------

    async def _hold(self, status: LiveStatus, cause: Reason, ready: Callable[[LiveStatus], bool],
                    delay: float = HOLD_POLL_MIN_S, *, wait_first: bool = False) -> float:
        """Hold the queue until `ready(status)`: poll the printer with backoff (one question per
        interval, however many jobs arrive meanwhile) and release the jobs in order after.
        Returns the pause the next poll would have waited."""
        self.printer.busy = False
        error = self._fault_error(cause)
        while (wait_first or not ready(status)) and not self.printer.paused:
            wait_first = False
            held = await self.queue.hold_printer(self.printer.id, error)
            if held:
                log.info(Message.ngettext("printer {printer}: {code}; {n} job held",
                                          "printer {printer}: {code}; {n} jobs held", held,
                                          printer=self.printer.id, code=cause.code),
                         extra={"printer": self.printer.id, "code": cause.code})
            await self._pause_for(delay, error)
            delay = min(delay * 2, HOLD_POLL_MAX_S)
            status = await self.printer.query_status()
            await self._observe(status)
            if status.fault is not None:
                cause, error = status.fault, self._fault_error(status.fault)
        released = await self.queue.release_printer(self.printer.id)
        if released:
            log.info(Message.ngettext("printer {printer}: ready again; {n} job released",
                                      "printer {printer}: ready again; {n} jobs released",
                                      released, printer=self.printer.id),
                     extra={"printer": self.printer.id, "code": "released"})
        return delay

    async def _pause_for(self, seconds: float, hold: dict[str, str]) -> None:
        """Wait `seconds` without asking the printer. Wake-ups (a new job, a resume) do not cut
        the wait short, or a busy shop would poll a held printer once per job; a new job is held
        at once instead, so that it shows why it waits. Pausing the printer ends the wait."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self.printer.paused:
            self._wake.clear()
            await self._sleep_or_wake(left)
            if self._wake.is_set():
                await self.queue.hold_printer(self.printer.id, hold)

    async def _announce_job(self, job: Job, done: Finish) -> None:
        if done.state is JobState.PROCESSING:
            return
        code = done.state.value if done.outcome != Outcome.HOLD else "held"
        message = (done.error or {}).get("message") or done.state.value
        level = logging.WARNING if done.outcome in (Outcome.ABORT, Outcome.HOLD) else logging.INFO
        log.log(level, "printer %s: job %s %s (%s)", self.printer.id, job.id, code,
                done.outcome, extra={"printer": self.printer.id, "job": job.id,
                                     "code": (done.error or {}).get("code") or code})
        await self.emit("job", printer=self.printer.id, job_id=done.job_id, code=code,
                        message=message, data={"outcome": done.outcome})


def _reachable(status: LiveStatus) -> bool:
    """An offline hold ends when the printer can be reached and has no fault."""
    return status.fault is None and not any(r.code == PRINTER_UNREACHABLE.code
                                            for r in status.reasons)


class Scheduler:
    def __init__(self, queue: JobQueue, printers: dict[str, Printer], settings: DeliveryConfig,
                 emit: Emit, catalogues: Catalogues):
        self.queue = queue
        self.printers = printers
        self.workers = {pid: PrinterWorker(p, queue, settings, emit, catalogues)
                        for pid, p in printers.items()}
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        recovered = await self.queue.recover(
            {pid: p.crash_policy for pid, p in self.printers.items()})
        if any(recovered.values()):
            log.warning(N_("recovered jobs interrupted by a stop: {jobs}", jobs=str(recovered)))
        # A printer paused for maintenance must not start printing because labeld restarted.
        for pid in await self.queue.paused_printers() & self.printers.keys():
            self.printers[pid].paused = True
            log.info(N_("printer {printer}: paused (since before the restart)", printer=pid))
        for pid, worker in self.workers.items():
            worker.task = asyncio.create_task(worker.supervise(), name=f"labeld-worker-{pid}")
            self._tasks.append(worker.task)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def wake(self, printer_id: str) -> None:
        worker = self.workers.get(printer_id)
        if worker:
            worker.wake()

    def canceled(self, printer_id: str, job_id: str) -> None:
        worker = self.workers.get(printer_id)
        if worker:
            worker.canceled(job_id)
