"""A simulated shop on the fleet channel: no daemon, no printers, only the protocol.

`SimulatedShop` connects as a shop's broker user with the last will the channel sets
(`online: false`), publishes its presence, its printers and its queue (retained, the shapes of
labeld.fleet.protocol and README's "Fleet support channel"), and answers requests: `status`
with its printers, `selftest` with a few checks that follow the printer's fault, every other op
with the refusal `unknown-op`. `set_fault(printer, code)` and `clear(printer)` change a
printer the way a real one would be seen (the reason's words from labeld.reasons.describe, in
every language). Tests, the fleet benchmark and the demo run many of them on one event loop:
each is one connection and one task.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labeld import __version__
from labeld.contracts import Reason, Severity
from labeld.fleet import protocol
from labeld.fleet.connection import BrokerAccess
from labeld.reasons import describe

if TYPE_CHECKING:
    import aiomqtt

# What a simulated fault says: the IPP keyword and severity of labeld's reason code (the
# drivers decode the same codes from real printers).
FAULTS: dict[str, tuple[str, Severity]] = {
    "paper-out": ("media-empty-error", Severity.ERROR),
    "ribbon-out": ("marker-supply-empty-error", Severity.ERROR),
    "head-open": ("cover-open-error", Severity.ERROR),
    "cover-open": ("cover-open-error", Severity.ERROR),
    "paper-jam": ("media-jam-error", Severity.ERROR),
    "paper-near-end": ("media-low-warning", Severity.WARNING),
    "printer-unreachable": ("offline-report", Severity.ERROR),
}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SimPrinter:
    id: str
    name: str
    model: str = "zebra-generic-203"
    language: str = "zpl"
    kind: str = "label"
    faults: list[str] = field(default_factory=list)
    paused: bool = False
    queued: int = 0
    held: int = 0

    def reasons(self) -> list[dict[str, Any]]:
        out = []
        for code in self.faults:
            keyword, severity = FAULTS.get(code, ("other", Severity.ERROR))
            out.append(describe(Reason(keyword, code, severity)))
        return out

    def state(self) -> str:
        if any(FAULTS.get(c, ("", Severity.ERROR))[1] == Severity.ERROR for c in self.faults):
            return "stopped"
        return "processing" if self.queued else "idle"


class SimulatedShop:
    """One shop: `async with SimulatedShop(access, "bp-12", printers=("shelf", "till"))`."""

    def __init__(self, access: BrokerAccess, shop: str | None = None, *,
                 printers: tuple[str, ...] | list[str] = ("shelf",), name: str = ""):
        self.access = access
        self.shop = shop or access.username  # a shop's user name is its id (the fleet's ACL)
        self.prefix = access.prefix
        self.name = name or self.shop
        self.printers = {p: SimPrinter(p, p.capitalize(),
                                       **({"model": "escpos-generic-80", "language": "escpos",
                                           "kind": "receipt"} if "till" in p else {}))
                         for p in printers}
        self.since = _now()
        self.requests: list[tuple[protocol.Asker, dict[str, Any]]] = []  # what was asked
        self._client: aiomqtt.Client | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._dropped = False

    async def start(self) -> SimulatedShop:
        import aiomqtt

        will = aiomqtt.Will(protocol.presence(self.prefix, self.shop),
                            protocol.payload({"shop": self.shop, "online": False}), qos=1,
                            retain=True)
        self._stack = contextlib.AsyncExitStack()
        self._client = await self._stack.enter_async_context(
            self.access.client(will=will, identifier=f"sim-{self.shop}", timeout=10))
        await self._client.subscribe(protocol.requests_of(self.prefix, self.shop), qos=1)
        for p in self.printers.values():
            await self._publish_printer(p)
        await self._publish_queue()
        await self._client.publish(protocol.presence(self.prefix, self.shop), protocol.payload({
            "shop": self.shop, "name": self.name, "online": True, "since": self.since,
            "version": __version__, "printers": list(self.printers)}), qos=1, retain=True)
        self._task = asyncio.create_task(self._serve(), name=f"simshop-{self.shop}")
        return self

    async def stop(self, goodbye: bool = True) -> None:
        """Leave: with `goodbye`, publish offline presence first, as a shop stopping does."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._client is not None and goodbye and not self._dropped:
            with contextlib.suppress(Exception):
                await self._client.publish(protocol.presence(self.prefix, self.shop),
                                           protocol.payload({"shop": self.shop,
                                                             "online": False}),
                                           qos=1, retain=True)
        if self._stack is not None:
            # a dropped connection may never answer the DISCONNECT: do not wait for it long
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._stack.aclose(), 2)
        if self._client is not None and self._dropped:
            # and its paho client lets go of the socket now, while this loop runs (later, its
            # finalizer would ask a closed loop to stop watching it)
            with contextlib.suppress(Exception):
                self._client._client._reset_sockets()
        self._stack = self._client = None

    def drop(self) -> None:
        """Vanish without a goodbye (a power cut, a cable pulled): the socket closes under the
        client, and the broker publishes the last will."""
        self._dropped = True
        if self._task is not None:
            self._task.cancel()
            self._task = None
        client = self._client
        if client is not None:
            # the paho client underneath: its socket closed, as a cut cable would
            sock = client._client.socket()
            if sock is not None:
                sock.close()

    async def __aenter__(self) -> SimulatedShop:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the shop changes ----------------------------------------------------------------

    async def set_fault(self, printer: str, code: str) -> None:
        p = self.printers[printer]
        if code not in p.faults:
            p.faults.append(code)
        await self._publish_printer(p)
        await self._event(printer, "printer-status", p.state())

    async def clear(self, printer: str) -> None:
        p = self.printers[printer]
        p.faults.clear()
        await self._publish_printer(p)
        await self._event(printer, "printer-status", p.state())

    async def set_jobs(self, printer: str, queued: int = 0, held: int = 0) -> None:
        p = self.printers[printer]
        p.queued, p.held = queued, held
        await self._publish_printer(p)
        await self._publish_queue()

    # -- publishing ----------------------------------------------------------------------

    def printer_body(self, p: SimPrinter) -> dict[str, Any]:
        return {"shop": self.shop, "printer": p.id, "name": p.name, "model": p.model,
                "language": p.language, "kind": p.kind, "state": p.state(),
                "reasons": p.reasons(), "paused": p.paused, "queued": p.queued, "held": p.held,
                "checked_at": _now()}

    async def _publish_printer(self, p: SimPrinter) -> None:
        assert self._client is not None, "start() the shop first"
        await self._client.publish(protocol.printer(self.prefix, self.shop, p.id),
                                   protocol.payload(self.printer_body(p)), qos=1, retain=True)

    async def _publish_queue(self) -> None:
        assert self._client is not None
        held = sum(p.held for p in self.printers.values())
        pending = sum(p.queued for p in self.printers.values()) - held
        await self._client.publish(protocol.queue(self.prefix, self.shop), protocol.payload({
            "shop": self.shop, "pending": max(pending, 0), "processing": 0, "held": held}),
            qos=1, retain=True)

    async def _event(self, printer: str, kind: str, code: str) -> None:
        assert self._client is not None
        self._seq += 1
        p = self.printers[printer]
        await self._client.publish(protocol.events(self.prefix, self.shop), protocol.payload({
            "shop": self.shop, "seq": self._seq, "at": _now(), "printer": printer, "job": None,
            "kind": kind, "code": code, "message": code,
            "data": {"state": p.state(), "reasons": p.reasons()}}), qos=1)

    # -- answering -----------------------------------------------------------------------

    async def _serve(self) -> None:
        assert self._client is not None
        async for message in self._client.messages:
            asker = protocol.parse_request_topic(self.prefix, str(message.topic))
            if asker is None or asker.shop != self.shop:
                continue
            props = message.properties
            reply_to = getattr(props, "ResponseTopic", None)
            correlation = getattr(props, "CorrelationData", None)
            if not reply_to:
                continue
            body = protocol.read(message.payload if isinstance(message.payload, bytes) else b"")
            answer = self.answer(asker, body)
            await self._reply(reply_to, correlation, answer)

    def answer(self, asker: protocol.Asker, body: dict[str, Any] | None) -> bytes:
        """What this shop answers a request (the payload of the reply)."""
        if body is None or not isinstance(body.get("op"), str):
            return protocol.refusal("bad-request", "The request is not a v1 JSON object with "
                                    "an op.", "See README, Fleet support channel.")
        self.requests.append((asker, body))
        op, args = body["op"], body.get("args") if isinstance(body.get("args"), dict) else {}
        printer = args.get("printer")
        if printer is not None and printer not in self.printers:
            return protocol.refusal("unknown-printer", f"There is no printer {printer!r}.",
                                    "The shop's printers: " + ", ".join(self.printers))
        if op == "status":
            chosen = [self.printers[printer]] if printer else list(self.printers.values())
            return protocol.answer({"printers": [self.printer_body(p) for p in chosen]})
        if op == "selftest" and printer:
            return protocol.answer(self.selftest(self.printers[printer], bool(args.get("print"))))
        return protocol.refusal("unknown-op", f"This shop does not do {op!r}.",
                                "A simulated shop answers status and selftest.")

    def selftest(self, p: SimPrinter, print_label: bool) -> dict[str, Any]:
        started = time.perf_counter()
        reasons = p.reasons()
        status_ok = p.state() != "stopped"
        checks = [
            _check("transport reachable", "ok", "connected in 1 ms"),
            _check("status", "ok" if status_ok else "fail",
                   "; ".join(r["message"]["en"] for r in reasons) or "no problem reported",
                   "; ".join(r["hint"]["en"] for r in reasons),
                   detail_i18n={lang: "; ".join(r["message"][lang] for r in reasons)
                                for lang in ("en", "hu")} if reasons else None,
                   hint_i18n={lang: "; ".join(r["hint"][lang] for r in reasons)
                              for lang in ("en", "hu")} if reasons else None),
        ]
        if print_label:
            checks.append(_check("test print", "ok" if status_ok else "skip",
                                 "printed" if status_ok else "not printed: the printer stopped"))
        result = "fail" if not status_ok else "ok"
        return {"printer": p.id, "result": result,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "started_at": _now(), "checks": checks}

    async def _reply(self, topic: str, correlation: bytes | None, answer: bytes) -> None:
        import paho.mqtt.packettypes as packettypes
        from paho.mqtt.properties import Properties

        assert self._client is not None
        properties = Properties(packettypes.PacketTypes.PUBLISH)
        if correlation is not None:
            properties.CorrelationData = correlation
        with contextlib.suppress(Exception):  # an answer the broker refuses is simply lost
            await self._client.publish(topic, answer, qos=1, properties=properties)


def _check(name: str, status: str, detail: str, hint: str = "",
           detail_i18n: dict[str, str] | None = None,
           hint_i18n: dict[str, str] | None = None) -> dict[str, Any]:
    """A check in the API's shape. A simulated shop's own words are English in every language;
    a printer's reasons carry their Hungarian."""
    return {"name": name, "status": status, "duration_ms": 1.0, "detail": detail, "hint": hint,
            "data": None, "name_i18n": {"en": name, "hu": name},
            "detail_i18n": detail_i18n or {"en": detail, "hu": detail},
            "hint_i18n": hint_i18n or {"en": hint, "hu": hint}}
