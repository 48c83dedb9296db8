"""Delivery: one asyncio worker per printer takes that printer's jobs from the spool in order.

Printers never wait for each other: each has its own worker, and a worker only ever blocks on
its own printer. A job that fails with a passing fault stays at the head of its printer's queue
(order matters on a label printer) and is tried again after an exponential backoff, until
`max_attempts`, then it is aborted with the reason.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import Callable

from labeld.config import DeliveryConfig
from labeld.contracts import Outcome, TransportError
from labeld.errors import Invalid, LabeldError
from labeld.printers import Printer
from labeld.spool import Finish, Job, JobState, Spool

log = logging.getLogger(__name__)
PRUNE_EVERY_S = 3600.0


def job_bytes(printer: Printer, job: Job) -> bytes:
    """The exact bytes a job sends. Raises LabeldError for a payload that can never print."""
    if job.kind == "raw":
        raw = job.payload
        data = (base64.b64decode(raw["data"]) if raw.get("encoding") == "base64"
                else raw["data"].encode("utf-8"))
        return printer.language.raw_job(data, job.copies)
    raise Invalid("payload-not-supported", f"Jobs of kind {job.kind!r} cannot be printed yet.",
                  "Send a raw job in the printer's language.")


class PrinterWorker:
    def __init__(self, printer: Printer, spool: Spool, delivery: DeliveryConfig,
                 on_change: Callable[[Job], None] | None = None):
        self.printer = printer
        self.spool = spool
        self.delivery = delivery
        self._wake = asyncio.Event()
        self._on_change = on_change or (lambda job: None)
        self.task: asyncio.Task | None = None

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
                await self._sleep_or_wake(None)
                continue
            if isinstance(claimed, float):  # the head job is backing off until then
                await self._sleep_or_wake(max(0.0, claimed - time.time()))
                continue
            self.printer.busy = True
            try:
                done = await self.deliver(claimed)
            except Exception:  # a bug in one job must not stop the printer's queue
                log.exception("printer %s: delivering job %s failed", self.printer.id, claimed.id)
                done = Finish(claimed.id, JobState.ABORTED, Outcome.ABORT, error={
                    "code": "internal-error", "message": "labeld failed on this job.",
                    "hint": "See the labeld log; report it with the support bundle."})

    async def deliver(self, job: Job) -> Finish:
        """Send one job; say how the attempt ended (the caller records it)."""
        try:
            data = job_bytes(self.printer, job)
        except LabeldError as exc:
            return Finish(job.id, JobState.ABORTED, Outcome.ABORT, error=exc.as_dict())
        try:
            async with self.printer.transport() as transport:
                await transport.write(data)
                await transport.finish()
        except TransportError as exc:
            self.printer.note_delivery_error(exc)
            return self._failed(job, exc)
        self.printer.note_delivery_ok()
        return Finish(job.id, JobState.COMPLETED, Outcome.OK, bytes_sent=len(data))

    def _failed(self, job: Job, exc: TransportError) -> Finish:
        error = {"code": exc.code, "message": exc.message,
                 "hint": "labeld retries by itself; check the printer's power, cable and network."}
        if exc.retryable and job.attempts < self.delivery.max_attempts:
            delay = self.backoff(job.attempts)
            log.info("printer %s: job %s attempt %d failed (%s); retry in %.1f s",
                     self.printer.id, job.id, job.attempts, exc.code, delay)
            return Finish(job.id, JobState.PENDING, Outcome.RETRY, error=error,
                          bytes_sent=exc.sent, retry_at=time.time() + delay)
        error["message"] = f"Gave up after {job.attempts} attempt(s): {exc.message}"
        error["hint"] = "Fix the printer, then submit the job again."
        log.warning("printer %s: job %s aborted: %s", self.printer.id, job.id, exc.message)
        return Finish(job.id, JobState.ABORTED, Outcome.ABORT, error=error, bytes_sent=exc.sent)


class Scheduler:
    def __init__(self, spool: Spool, printers: dict[str, Printer], delivery: DeliveryConfig,
                 keep_finished_s: float):
        self.spool = spool
        self.printers = printers
        self.keep_finished_s = keep_finished_s
        self.workers = {pid: PrinterWorker(p, spool, delivery) for pid, p in printers.items()}
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        recovered = await self.spool.recover({pid: p.crash_policy for pid, p in self.printers.items()})
        if any(recovered.values()):
            log.warning("recovered jobs interrupted by a stop: %s", recovered)
        for pid, worker in self.workers.items():
            worker.task = asyncio.create_task(worker.run(), name=f"labeld-worker-{pid}")
            self._tasks.append(worker.task)
        self._tasks.append(asyncio.create_task(self._prune_forever(), name="labeld-prune"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def wake(self, printer_id: str) -> None:
        worker = self.workers.get(printer_id)
        if worker:
            worker.wake()

    async def _prune_forever(self) -> None:
        while True:
            removed = await self.spool.prune(self.keep_finished_s)
            if removed:
                log.info("pruned %d finished job(s)", removed)
            await asyncio.sleep(PRUNE_EVERY_S)
