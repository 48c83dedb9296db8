"""Delivery: one asyncio worker per printer takes that printer's jobs from the spool in order.

Printers never wait for each other: each has its own worker, and a worker only ever blocks on
its own printer. A job that fails with a passing fault stays at the head of its printer's queue
(order matters on a label printer) and is tried again after an exponential backoff, until
`max_attempts`, then it is aborted with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from labeld.config import DeliveryConfig
from labeld.contracts import Outcome, Reason, TransportError
from labeld.errors import LabeldError
from labeld.jobs import job_bytes
from labeld.printers import LiveStatus, Printer
from labeld.reasons import describe
from labeld.spool import Finish, Job, JobState, Spool

log = logging.getLogger(__name__)


Emit = Callable[..., Awaitable[object]]
PREFLIGHT_MAX_AGE_S = 2.0  # a status younger than this is trusted before the next job
CONFIRM_POLL_S = 0.5  # how soon an idle printer is asked to confirm jobs it took
HOLD_POLL_MAX_S = 10.0


def _fault_error(reason: Reason) -> dict[str, str]:
    info = describe(reason)
    return {"code": info["code"], "message": info["message"]["en"], "hint": info["hint"]["en"]}


class PrinterWorker:
    """Delivers one printer's jobs, in order, checking the printer before and after."""

    def __init__(self, printer: Printer, spool: Spool, delivery: DeliveryConfig, emit: Emit):
        self.printer = printer
        self.spool = spool
        self.delivery = delivery
        self.emit = emit
        self._wake = asyncio.Event()
        self.task: asyncio.Task | None = None
        self._sent: dict[str, float] = {}  # job id -> when the printer took its bytes
        self._reasons: tuple[str, ...] = ()  # the last reasons announced as an event

    def wake(self) -> None:
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        return min(self.delivery.backoff_max_s,
                   self.delivery.backoff_initial_s * 2 ** max(0, attempts - 1))

    async def _sleep_or_wake(self, seconds: float | None) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        done: Finish | None = None  # the last attempt's end, committed with the next claim
        while True:
            # Cleared before looking at the queue: a job submitted after this point either shows
            # up in claim_next or sets the event again, so no wake-up is ever lost.
            self._wake.clear()
            if self.printer.paused:
                if done is not None:
                    await self.spool.finish_attempt(done)
                    done = None
                self.printer.busy = False
                await self._sleep_or_wake(None)
                continue
            claimed = await self.spool.claim_next(self.printer.id, finish=done)
            done = None
            if claimed is None:
                self.printer.busy = False
                if self._sent:  # idle with jobs the printer has not confirmed: ask soon
                    await self._sleep_or_wake(CONFIRM_POLL_S)
                    await self._observe(await self.printer.query_status())
                else:
                    await self._sleep_or_wake(None)
                continue
            if isinstance(claimed, float):  # the head job is backing off until then
                await self._sleep_or_wake(max(0.0, claimed - time.time()))
                continue
            status = await self.printer.status(PREFLIGHT_MAX_AGE_S)
            await self._observe(status)
            if status.fault is not None:
                # Give the job back, unsent, and wait with the rest of the queue.
                await self.spool.finish_attempt(Finish(claimed.id, JobState.PENDING, Outcome.HOLD,
                                                       error=_fault_error(status.fault)))
                await self._hold(status)
                continue
            self.printer.busy = True
            try:
                done = await self.deliver(claimed)
            except Exception:  # a bug in one job must not stop the printer's queue
                log.exception("printer %s: delivering job %s failed", self.printer.id, claimed.id)
                done = Finish(claimed.id, JobState.ABORTED, Outcome.ABORT, error={
                    "code": "internal-error", "message": "labeld failed on this job.",
                    "hint": "See the labeld log; report it with the support bundle."})
            await self._announce_job(done)

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
                await transport.finish()
        except TransportError as exc:
            self.printer.note_delivery_error(exc)
            return self._failed(job, exc)
        self.printer.note_delivery_ok()
        # Taken by the printer is not yet printed: the job stays processing until a status
        # check confirms it (see _observe), and it is never sent again.
        self._sent[job.id] = time.time()
        return Finish(job.id, JobState.PROCESSING, Outcome.OK, bytes_sent=len(data),
                      delivery="sent")

    def _failed(self, job: Job, exc: TransportError) -> Finish:
        error = {"code": exc.code, "message": exc.message,
                 "hint": "labeld retries by itself; check the printer's power, cable and network."}
        if exc.retryable and job.failures < self.delivery.max_attempts:
            delay = self.backoff(job.failures)
            log.info("printer %s: job %s attempt %d failed (%s); retry in %.1f s",
                     self.printer.id, job.id, job.attempts, exc.code, delay)
            return Finish(job.id, JobState.PENDING, Outcome.RETRY, error=error,
                          bytes_sent=exc.sent, retry_at=time.time() + delay)
        error["message"] = f"Gave up after {job.failures} attempt(s): {exc.message}"
        error["hint"] = "Fix the printer, then submit the job again."
        log.warning("printer %s: job %s aborted: %s", self.printer.id, job.id, exc.message)
        return Finish(job.id, JobState.ABORTED, Outcome.ABORT, error=error, bytes_sent=exc.sent)

    async def _observe(self, status: LiveStatus) -> None:
        """Learn from a status: announce changed reasons, confirm or give up on sent jobs."""
        reasons = tuple(r.code for r in status.reasons)
        if reasons != self._reasons:
            self._reasons = reasons
            await self.emit("printer-status", printer=self.printer.id,
                            code=reasons[0] if reasons else "ok",
                            message=", ".join(reasons) or "ready",
                            data={"reasons": [describe(r) for r in status.reasons],
                                  "state": self.printer.state})
        if not self._sent:
            return
        if status.settled and status.checked_at:
            taken = [j for j, t in self._sent.items() if t <= status.checked_at]
            await self._settle(taken, "confirmed")
        elif not status.settled and not status.stopped:
            # Silent or garbled: the printer cannot confirm; after the window, say so.
            window = self.delivery.confirm_window_s
            stale = [j for j, t in self._sent.items() if time.time() - t > window]
            await self._settle(stale, "unconfirmed")

    async def _settle(self, job_ids: list[str], delivery: str) -> None:
        if not job_ids:
            return
        await self.spool.settle(job_ids, delivery)
        for jid in job_ids:
            self._sent.pop(jid, None)
        # Issued together, the events reach the spool's queue together and share one commit
        # (group commit), instead of one fsync each; they are queued, and numbered, in order.
        await asyncio.gather(*(
            self.emit("job", printer=self.printer.id, job_id=jid, code="completed",
                      message=f"completed ({delivery})", data={"delivery": delivery})
            for jid in job_ids))

    async def _hold(self, status: LiveStatus) -> None:
        """Hold the queue while the printer has a fault; resume by itself when it clears."""
        self.printer.busy = False
        delay = 0.25
        while status.fault is not None and not self.printer.paused:
            held = await self.spool.hold_printer(self.printer.id, _fault_error(status.fault))
            if held:
                log.info("printer %s: %s; %d job(s) held", self.printer.id, status.fault.code, held)
            await self._sleep_or_wake(delay)
            delay = min(delay * 2, HOLD_POLL_MAX_S)
            status = await self.printer.query_status()
            await self._observe(status)
        released = await self.spool.release_printer(self.printer.id)
        if released:
            log.info("printer %s: fault cleared; %d job(s) released", self.printer.id, released)

    async def _announce_job(self, done: Finish | None) -> None:
        if done is None or done.state is JobState.PROCESSING:
            return
        await self.emit("job", printer=self.printer.id, job_id=done.job_id, code=done.state.value,
                        message=(done.error or {}).get("message") or done.state.value,
                        data={"outcome": done.outcome})


class Scheduler:
    def __init__(self, spool: Spool, printers: dict[str, Printer], delivery: DeliveryConfig,
                 emit: Emit):
        self.spool = spool
        self.printers = printers
        self.workers = {pid: PrinterWorker(p, spool, delivery, emit) for pid, p in printers.items()}
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        recovered = await self.spool.recover({pid: p.crash_policy for pid, p in self.printers.items()})
        if any(recovered.values()):
            log.warning("recovered jobs interrupted by a stop: %s", recovered)
        # A printer paused for maintenance must not start printing because labeld restarted.
        for pid in await self.spool.paused_printers() & self.printers.keys():
            self.printers[pid].paused = True
            log.info("printer %s: paused (since before the restart)", pid)
        for pid, worker in self.workers.items():
            worker.task = asyncio.create_task(worker.run(), name=f"labeld-worker-{pid}")
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
