"""Configured printers, bound to the plugins that drive them, and their live status.

A `Printer` joins a config entry with its model, language and transport class (all found through
the plugin manager, never imported by name) and remembers the last status it learnt, from a
status query or from a delivery that failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from labeld.config import Config, DeliveryConfig, PrinterConfig
from labeld.contracts import (Language, Model, Reason, Severity, StatusReport, Timeouts, Transport,
                              TransportError)
from labeld.errors import ConfigError
from labeld.pluginmanager import PluginManager
from labeld.reasons import GARBLED_STATUS_REPLY as GARBLED
from labeld.reasons import PRINTER_UNREACHABLE as UNREACHABLE
from labeld.reasons import STATUS_FAILED, STATUS_TIMEOUT

log = logging.getLogger(__name__)
# Transport error codes that mean "nothing could be sent at all" (the printer is off or away),
# as opposed to a link that opened and then failed.
UNREACHABLE_CODES = frozenset({"connection-refused", "connect-timeout", "connect-failed"})


@dataclass
class LiveStatus:
    """What the API reports about a printer's condition."""

    reasons: list[Reason] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    checked_at: float | None = None
    latency_ms: float | None = None
    answered: bool = False
    reply: bytes = b""
    jobs_in_printer: int | None = None

    @property
    def stopped(self) -> bool:
        return any(r.severity is Severity.ERROR for r in self.reasons)

    @property
    def fault(self) -> Reason | None:
        """The first fault that needs a person at the printer (paper, head, ribbon, pause...).
        An unreachable printer is not a fault here: delivery retries it by itself."""
        for r in self.reasons:
            if r.severity is Severity.ERROR and r.keyword != "offline-report":
                return r
        return None

    @property
    def settled(self) -> bool:
        """The printer answered sensibly, has nothing wrong and holds no unprinted job of ours.
        A garbled reply confirms nothing."""
        return (self.answered and not self.stopped and not self.jobs_in_printer
                and not any(r.code == GARBLED.code for r in self.reasons))

    def age(self) -> float:
        return time.time() - self.checked_at if self.checked_at else float("inf")


@dataclass
class Printer:
    config: PrinterConfig
    model: Model
    language: Language
    transport_cls: type[Transport]
    timeouts: Timeouts
    status_timeout: float
    last: LiveStatus = field(default_factory=LiveStatus)
    busy: bool = False
    paused: bool = False
    # Reasons the delivery worker adds to what the printer says, by who set them (see reasons).
    notes: dict[str, Reason] = field(default_factory=dict)
    # Taken around every use of an exclusive transport (USB: one claim of the interface at a
    # time); other transports open as many connections as they like.
    _in_use: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def crash_policy(self) -> str:
        return self.config.crash_policy or self.model.crash_policy

    def transport(self) -> Transport:
        return self.transport_cls(self.config.uri, self.timeouts)

    @property
    def exclusive(self) -> bool:
        return getattr(self.transport_cls, "exclusive", False)

    @contextlib.asynccontextmanager
    async def connect(self, timeouts: Timeouts | None = None) -> AsyncIterator[Transport]:
        """An open transport to the printer, closed on exit; waits its turn on an exclusive
        transport.

        Whatever a transport raises while it is in use becomes a TransportError: the contract
        says transports raise nothing else, but a plugin's transport (or an event loop's
        wording of a reset) must not take a printer's worker down with a bare OSError."""
        transport = self.transport()
        if timeouts is not None:
            transport.timeouts = timeouts
        try:
            in_use = self._in_use if self.exclusive else contextlib.nullcontext()
            async with in_use, transport:
                yield transport
        except (OSError, RuntimeError) as exc:
            raise TransportError("link-failed", f"The link to the printer failed: "
                                 f"{getattr(exc, 'strerror', None) or exc or type(exc).__name__}.",
                                 sent=0) from exc

    @property
    def reasons(self) -> list[Reason]:
        """What is wrong with the printer: its last status, then what its worker knows (a
        queue held because the printer is off, a worker restarting after a bug)."""
        return [*self.last.reasons, *(r for r in self.notes.values() if r not in self.last.reasons)]

    @property
    def state(self) -> str:
        """IPP printer-state: idle, processing or stopped."""
        if self.paused or any(r.severity is Severity.ERROR for r in self.reasons):
            return "stopped"
        return "processing" if self.busy else "idle"

    def note_delivery_error(self, error: TransportError) -> None:
        """A failed delivery tells us something about the printer too; keep it until the next
        successful contact."""
        if error.code in UNREACHABLE_CODES:
            self.last = LiveStatus(reasons=[UNREACHABLE], checked_at=time.time(),
                                   fields={"error": error.message})

    def note_delivery_ok(self) -> None:
        if any(r.code == UNREACHABLE.code for r in self.last.reasons):
            self.last = LiveStatus()  # reachable again: ask afresh before trusting anything

    async def query_status(self) -> LiveStatus:
        """Ask the device, bounded by the status timeout: a dead or silent printer answers with
        a reason, never by hanging the caller."""
        if self.exclusive and self._in_use.locked() and self.last.checked_at:
            # A job (or another question) has the printer: asking would only queue behind it,
            # so the last answer stands.
            return self.last
        t0 = time.perf_counter()
        try:
            report = await asyncio.wait_for(self._query(), self.status_timeout + 0.5)
        except TimeoutError:
            report = StatusReport(answered=False, reasons=[STATUS_TIMEOUT])
        except TransportError as exc:
            reason = UNREACHABLE if exc.code in UNREACHABLE_CODES else STATUS_TIMEOUT
            report = StatusReport(answered=False, reasons=[reason],
                                  fields={"error": exc.message, "error_code": exc.code})
        except Exception as exc:  # a decoder bug must not become a 500
            log.exception("printer %s: reading its status failed", self.id)
            report = StatusReport(answered=False, reasons=[STATUS_FAILED],
                                  fields={"error": f"{type(exc).__name__}: {exc}"})
        self.last = LiveStatus(reasons=report.reasons, fields=report.fields, checked_at=time.time(),
                               latency_ms=round((time.perf_counter() - t0) * 1000, 3),
                               answered=report.answered, reply=report.reply,
                               jobs_in_printer=report.jobs_in_printer)
        return self.last

    async def recent_status(self, max_age: float) -> LiveStatus:
        """The last status if it is fresh enough, else a new query. A printer that did not
        answer is asked less often, since each silent query costs the whole status timeout."""
        limit = max_age if self.last.answered else max_age * 10
        if self.last.age() <= limit:
            return self.last
        return await self.query_status()

    async def _query(self) -> StatusReport:
        timeout = self.status_timeout
        async with self.connect(self._question_timeouts(timeout)) as transport:
            if not transport.can_answer:  # what the link knows is all there is
                return await transport.line_status() or StatusReport(
                    answered=False, fields={"link": "the printer cannot answer on this link"})
            await transport.write(self.language.status_query())
            reply = await transport.read_until(self.language.status_complete, timeout)
        return self.language.decode_status(reply)

    async def read_counter(self) -> int | None:
        """The printer's lifetime label counter, or None where the language has none, the link
        cannot answer or the printer did not say."""
        query = self.language.counter_query()
        if query is None:
            return None
        try:
            reply = await asyncio.wait_for(
                self.ask(query, self.language.counter_complete, self.status_timeout),
                self.status_timeout + 0.5)
        except (TimeoutError, TransportError):
            return None
        return self.language.decode_counter(reply)

    async def ask(self, query: bytes, complete: Callable[[bytes], bool], timeout: float) -> bytes:
        """One query on a connection of its own; the reply as far as it came within `timeout`
        (status, identification, configuration: the printer's back channel)."""
        async with self.connect(self._question_timeouts(timeout)) as transport:
            if not transport.can_answer:
                return b""
            await transport.write(query)
            return await transport.read_until(complete, timeout)

    def _question_timeouts(self, timeout: float) -> Timeouts:
        # The connect timeout may not eat the whole budget of the question.
        return Timeouts(connect=min(self.timeouts.connect, timeout), write=timeout, read=timeout)


def build_printers(config: Config, plugins: PluginManager) -> dict[str, Printer]:
    """Bind every configured printer to its plugins; any mismatch is a config error at start."""
    models, languages, transports = plugins.models(), plugins.languages(), plugins.transports()
    delivery: DeliveryConfig = config.delivery
    timeouts = Timeouts(connect=delivery.connect_timeout_s, write=delivery.write_timeout_s,
                        read=delivery.status_timeout_s)
    printers: dict[str, Printer] = {}
    for i, pc in enumerate(config.printers):
        where = f"printers[{i}] ({pc.id})"
        model = models.get(pc.model)
        if model is None:
            raise ConfigError("unknown-model",
                              f"{where}.model: no plugin provides model {pc.model!r}.",
                              f"Known models: {', '.join(sorted(models)) or 'none'}"
                              " (see GET /v1/plugins).")
        language = languages.get(model.language)
        if language is None:
            raise ConfigError("unknown-language",
                              f"{where}: model {model.id!r} needs language {model.language!r}, "
                              "which no loaded plugin provides.",
                              "See GET /v1/plugins for load errors.")
        scheme = pc.uri.partition(":")[0]
        transport_cls = transports.get(scheme)
        if transport_cls is None:
            raise ConfigError("unknown-transport", f"{where}.uri: no transport for {scheme!r}.",
                              f"Known schemes: {', '.join(sorted(transports)) or 'none'}.")
        try:
            transport_cls.validate_uri(pc.uri)
        except ValueError as exc:
            raise ConfigError("invalid-uri", f"{where}.uri: {exc}", "") from None
        printers[pc.id] = Printer(config=pc, model=model, language=language,
                                  transport_cls=transport_cls, timeouts=timeouts,
                                  status_timeout=delivery.status_timeout_s)
    return printers
