"""The support desk's view of the fleet: every shop and printer, as the shops publish them.

`FleetView` keeps one MQTT connection to the broker as a desk user. It subscribes to every
shop's state (`protocol.every_shop`) and to its own responses topic, and keeps in memory what
the shops last said: presence (online, since, version), each printer's state and reasons, the
queue counts, the newest events. Retained messages give the whole picture right after
connecting; live ones keep it true. A message `protocol.read` cannot read is skipped, never
fatal. Identity is the topic's (the shop's user may publish only under its own id).

Readers take a `snapshot()` (plain data, failing shops and printers first), wait on
`changes()` (an asyncio queue of `Change`, for `labeld fleet --follow` and the console), or
`ask(shop, op, args)`: a request in a technician's (or staff's) name, answered on the
responses topic with the same correlation data, chunked answers (the support bundle)
reassembled. The connection comes back by itself with backoff; `connected` says whether it is
up now.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labeld.fleet import protocol
from labeld.fleet.connection import BrokerAccess, FleetError, connect_error
from labeld.i18n import N_, Number

if TYPE_CHECKING:
    import aiomqtt

log = logging.getLogger(__name__)

EVENTS_KEPT = 50  # per shop: the newest events, for a desk that looks now
CHANGES_QUEUED = 1000  # per reader of changes(); a reader that falls further behind misses some


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class PrinterState:
    """One printer as its shop last published it; `updated` is when the desk heard it."""

    shop: str
    printer: str
    name: str = ""
    model: str = ""
    language: str = ""
    kind: str = ""
    state: str = "unknown"  # idle | processing | stopped, or unknown until the shop says
    reasons: list[dict[str, Any]] = field(default_factory=list)
    paused: bool = False
    queued: int = 0
    held: int = 0
    checked_at: str | None = None
    updated: str | None = None

    @property
    def failing(self) -> bool:
        """Needs someone: stopped, an error reason, or jobs held."""
        return (self.state == "stopped" or self.held > 0
                or any(r.get("severity") == "error" for r in self.reasons))


@dataclass
class ShopState:
    """One shop: its presence, printers and queue counts."""

    shop: str
    name: str = ""
    online: bool | None = None  # None: no presence heard yet
    since: str | None = None
    version: str = ""
    printers: dict[str, PrinterState] = field(default_factory=dict)
    queue: dict[str, int] = field(default_factory=dict)
    events: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    updated: str | None = None

    @property
    def failing(self) -> bool:
        return self.online is not True or any(p.failing for p in self.printers.values()) \
            or int(self.queue.get("held") or 0) > 0

    def as_json(self) -> dict[str, Any]:
        printers = sorted(self.printers.values(), key=lambda p: (not p.failing, p.printer))
        return {"shop": self.shop, "name": self.name or self.shop, "online": self.online,
                "since": self.since, "version": self.version, "updated": self.updated,
                "failing": self.failing, "queue": dict(self.queue),
                "printers": [{**asdict(p), "failing": p.failing} for p in printers]}


@dataclass(frozen=True)
class Change:
    """Something a shop said that changed the view: `kind` is presence, printers, queue or
    events; `printer` for a printer's message; `event` the event itself."""

    shop: str
    kind: str
    printer: str | None = None
    event: dict[str, Any] | None = None


@dataclass(frozen=True)
class Snapshot:
    """The fleet at one moment: failing shops first, then by id."""

    connected: bool
    broker: str
    at: str
    version: int
    shops: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def only_failing(self) -> Snapshot:
        """Shops offline or with something failing; of an online shop only what fails."""
        shops = []
        for shop in self.shops:
            if not shop["failing"]:
                continue
            printers = shop["printers"] if shop["online"] is not True else \
                [p for p in shop["printers"] if p["failing"]]
            shops.append({**shop, "printers": printers})
        return Snapshot(self.connected, self.broker, self.at, self.version, shops)


@dataclass
class _Pending:
    replies: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)


class FleetView:
    """The fleet as the broker shows it to one desk user. Use as `async with FleetView(...)`
    or `await start()` ... `await stop()`; both return at once, the connection is made (and
    made again) in the background."""

    def __init__(self, access: BrokerAccess, *, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 30.0):
        self.access = access
        self.prefix = access.prefix
        self.user = access.username
        self._backoff = (backoff_initial_s, backoff_max_s)
        self._shops: dict[str, ShopState] = {}
        self._readers: set[asyncio.Queue[Change]] = set()
        self._pending: dict[bytes, _Pending] = {}
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._version = 0
        self._last_message = 0.0
        self.last_error: FleetError | None = None
        self.attempts = 0  # connection attempts that failed since the last success

    # -- life ----------------------------------------------------------------------------

    async def start(self) -> FleetView:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"fleet-view-{self.user}")
        return self

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._connected.clear()
        for pending in self._pending.values():
            pending.replies.put_nowait({"v": 1, "ok": False, "error": {
                "code": "view-stopped", "message": "the fleet view stopped", "hint": ""}})

    async def __aenter__(self) -> FleetView:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float) -> None:
        """Until subscribed at the broker; FleetError with the broker's reason otherwise."""
        try:
            async with asyncio.timeout(timeout):
                while not self._connected.is_set():
                    if self.last_error is not None and self.attempts:
                        raise self.last_error
                    await asyncio.sleep(0.02)
        except TimeoutError:
            raise self.last_error or FleetError(
                "broker-unreachable",
                N_("Cannot reach the broker at {url}: no answer within {seconds} s.",
                   url=self.access.url, seconds=Number(timeout)),
                N_("Check desk.broker (or --broker) and this computer's network; the broker "
                   "may be down."), status=503) from None

    async def settle(self, quiet_s: float = 0.3, timeout: float = 3.0) -> None:
        """Connected, then until no message came for `quiet_s` (the retained state has
        arrived), at most `timeout`."""
        deadline = time.monotonic() + timeout
        await self.wait_connected(timeout)
        while time.monotonic() < deadline:
            if time.monotonic() - self._last_message >= quiet_s:
                return
            await asyncio.sleep(min(quiet_s / 3, 0.05))

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                async with self.access.client(timeout=10) as client:
                    await client.subscribe(protocol.every_shop(self.prefix), qos=1)
                    await client.subscribe(protocol.responses(self.prefix, self.user), qos=1)
                    self._client, self.last_error, self.attempts = client, None, 0
                    self._last_message = time.monotonic()
                    self._connected.set()
                    log.info("fleet view connected to %s as %s", self.access.url, self.user)
                    delay = self._backoff[0]
                    async for message in client.messages:
                        self._receive(message)
            except FleetError as exc:  # the TLS files: trying again will not help
                self.last_error, self.attempts = exc, self.attempts + 1
                log.error("fleet view: %s", exc.message)
                return
            except Exception as exc:  # noqa: BLE001 - aiomqtt's MqttError, and anything under it: try again
                self.last_error = connect_error(self.access, exc)
                self.attempts += 1
                log.warning("fleet view: %s; again in %.1f s", self.last_error.message, delay)
            finally:
                self._client = None
                was = self._connected.is_set()
                self._connected.clear()
                if was:
                    self._notify(Change("", "connection"))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    # -- what the shops say --------------------------------------------------------------

    def _receive(self, message: aiomqtt.Message) -> None:
        self._last_message = time.monotonic()
        topic = str(message.topic)
        raw = message.payload if isinstance(message.payload, bytes | bytearray) else \
            str(message.payload or "").encode()
        if topic == protocol.responses(self.prefix, self.user):
            self._answer(message, raw)
            return
        where = protocol.parse_state_topic(self.prefix, topic)
        if where is None or not protocol.valid_level(where.shop):
            return
        if not raw and where.kind == "printers" and where.printer:  # a retained printer cleared
            shop = self._shops.get(where.shop)
            if shop is not None and shop.printers.pop(where.printer, None) is not None:
                self._notify(Change(where.shop, "printers", where.printer))
            return
        body = protocol.read(raw)
        if body is None:
            return
        shop = self._shops.get(where.shop)
        if shop is None:
            shop = self._shops[where.shop] = ShopState(where.shop)
        now = _now()
        shop.updated = now
        event = None
        if where.kind == "presence":
            self._presence(shop, body)
        elif where.kind == "printers" and where.printer and protocol.valid_level(where.printer):
            self._printer(shop, where.printer, body, now)
        elif where.kind == "queue":
            shop.queue = {k: _count(body.get(k)) for k in ("pending", "processing", "held")}
        elif where.kind == "events":
            event = {k: body.get(k) for k in ("seq", "at", "printer", "job", "kind", "code",
                                               "message", "data")}
            shop.events.append(event)
        else:
            return
        self._notify(Change(where.shop, where.kind, where.printer, event))

    @staticmethod
    def _presence(shop: ShopState, body: dict[str, Any]) -> None:
        shop.online = body.get("online") is True
        if shop.online:
            shop.name = str(body.get("name") or shop.name)
            shop.since = _text(body.get("since")) or shop.since
            shop.version = str(body.get("version") or shop.version)
            printers = body.get("printers")
            for pid in printers if isinstance(printers, list) else []:
                if isinstance(pid, str) and protocol.valid_level(pid) and pid not in shop.printers:
                    shop.printers[pid] = PrinterState(shop.shop, pid)

    @staticmethod
    def _printer(shop: ShopState, pid: str, body: dict[str, Any], now: str) -> None:
        p = shop.printers.get(pid) or PrinterState(shop.shop, pid)
        reasons = body.get("reasons")
        p.name, p.model = str(body.get("name") or ""), str(body.get("model") or "")
        p.language, p.kind = str(body.get("language") or ""), str(body.get("kind") or "")
        p.state = str(body.get("state") or "unknown")
        p.reasons = [r for r in reasons if isinstance(r, dict)] if isinstance(reasons, list) \
            else []
        p.paused = body.get("paused") is True
        p.queued, p.held = _count(body.get("queued")), _count(body.get("held"))
        p.checked_at, p.updated = _text(body.get("checked_at")), now
        shop.printers[pid] = p

    # -- readers -------------------------------------------------------------------------

    def _notify(self, change: Change) -> None:
        self._version += 1
        for queue in self._readers:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(change)

    @property
    def version(self) -> int:
        """Goes up with every change: a reader that saw this number has seen everything."""
        return self._version

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[asyncio.Queue[Change]]:
        """`async with view.changes() as queue:` every change from now on, until the block
        ends."""
        queue: asyncio.Queue[Change] = asyncio.Queue(CHANGES_QUEUED)
        self._readers.add(queue)
        try:
            yield queue
        finally:
            self._readers.discard(queue)

    def snapshot(self) -> Snapshot:
        shops = sorted(self._shops.values(), key=lambda s: (not s.failing, s.shop))
        return Snapshot(self.connected, self.access.url, _now(), self._version,
                        [s.as_json() for s in shops])

    def shop(self, shop_id: str) -> dict[str, Any] | None:
        found = self._shops.get(shop_id)
        return None if found is None else found.as_json()

    def events(self, shop_id: str) -> list[dict[str, Any]]:
        found = self._shops.get(shop_id)
        return [] if found is None else list(found.events)

    # -- asking a shop -------------------------------------------------------------------

    async def ask(self, shop: str, op: str, args: dict[str, Any] | None = None, *,
                  role: str = "tech", timeout: float = 10.0) -> Any:
        """The shop's answer to `op` (protocol.OPS), asked in `role`'s name as this desk user.
        A chunked answer comes back reassembled, as bytes. Raises FleetError: the shop's
        refusal (its code, message, hint), no answer within `timeout` (between chunks too),
        the shop offline, or no connection to the broker."""
        import paho.mqtt.packettypes as packettypes
        from paho.mqtt.properties import Properties

        if not protocol.valid_level(shop):
            raise FleetError("unknown-shop", N_("There is no shop {shop}.", shop=shop),
                             N_("`labeld fleet` lists the shops."), status=404)
        known = self._shops.get(shop)
        if known is not None and known.online is False:
            raise FleetError("shop-offline", N_("The shop {shop} is offline.", shop=shop),
                             N_("It answers when its labeld is connected to the broker again."),
                             status=409)
        client = self._client
        if client is None:
            raise self.last_error or FleetError(
                "broker-unreachable", N_("Not connected to the broker at {url}.",
                                         url=self.access.url),
                N_("Try again in a moment; the fleet view reconnects by itself."), status=503)
        correlation = uuid.uuid4().bytes
        properties = Properties(packettypes.PacketTypes.PUBLISH)
        properties.ResponseTopic = protocol.responses(self.prefix, self.user)
        properties.CorrelationData = correlation
        pending = self._pending[correlation] = _Pending()
        try:
            await client.publish(protocol.request(self.prefix, shop, role, self.user),
                                 protocol.payload({"op": op, "args": args or {}}), qos=1,
                                 properties=properties)
            chunks: dict[int, bytes] = {}
            while True:
                try:
                    reply = await asyncio.wait_for(pending.replies.get(), timeout)
                except TimeoutError:
                    raise FleetError(
                        "no-answer",
                        N_("The shop {shop} did not answer within {seconds} s.", shop=shop,
                           seconds=Number(timeout)),
                        N_("Is the shop online (`labeld fleet`)? And may your broker user "
                           "{user} ask shops as a {role}? The broker drops requests the "
                           "fleet's ACL does not allow.", user=self.user, role=role),
                        status=504) from None
                if reply.get("ok") is not True:
                    error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
                    raise FleetError(str(error.get("code") or "refused"),
                                     str(error.get("message") or "The shop refused."),
                                     str(error.get("hint") or ""), status=409)
                result = reply.get("result")
                if not (isinstance(result, dict) and "chunk" in result and "chunks" in result):
                    return result
                chunks[int(result["chunk"])] = base64.b64decode(str(result.get("data") or ""))
                if len(chunks) >= int(result["chunks"]):
                    return b"".join(chunks[i] for i in sorted(chunks))
        finally:
            self._pending.pop(correlation, None)

    def _answer(self, message: aiomqtt.Message, raw: bytes) -> None:
        correlation = getattr(message.properties, "CorrelationData", None)
        pending = self._pending.get(bytes(correlation)) if correlation else None
        body = protocol.read(raw)
        if pending is not None and body is not None:
            pending.replies.put_nowait(body)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
