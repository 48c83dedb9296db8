"""The shop's side of the fleet support channel: one outbound MQTT 5 connection to the vendor's
broker ([support] in the config), over which labeld publishes its state and answers a
technician's requests. No port is opened in the shop.

A door like HTTP: it calls the daemon's operations and shows their results with labeld.views;
the topics and payloads are labeld.fleet.protocol's (version 1, README "Fleet support
channel").

* State is published retained and only when it changed: presence (with a last will saying
  offline), one message per printer, the queue counts. What drives it is the daemon's event
  hub (a printer's status changed, a job moved), never a polling loop; every event also goes
  out, not retained, on the `events` topic.
* Printing never waits on the broker: nothing in the scheduler or the HTTP path awaits this
  channel. Its hub subscription is bounded (the hub drops the oldest and marks a gap); a gap,
  or a reconnect, means "publish everything again", since state is what matters.
* A lost connection is retried with backoff (0.5 s doubling to 30 s); on reconnect every state
  topic is published again (the broker may have restarted without its retained messages).
* A request's asker (role, user) is its topic, which the broker's ACL guarantees; it is served
  with at most `max_role`, checked like the HTTP API's routes, rate limited per user, audited
  (`mqtt:USER`, method MQTT) whatever its outcome, and answered only on the asker's own
  response topic. A bad request gets a refusal, never an exception out of the loop. There is no
  operation that sends bytes to a printer.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labeld import __version__
from labeld.config import SupportConfig, broker_address
from labeld.daemon import Daemon, EventFeed
from labeld.diagnostics.selftest import checks_json
from labeld.errors import ConfigError, LabeldError
from labeld.events import CLOSED
from labeld.fleet import protocol
from labeld.fleet.connection import NODELAY
from labeld.i18n import N_, Number
from labeld.security import Role, TokenInfo
from labeld.security.roles import role_required
from labeld.views import event_json, job_json

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
STOP_TIMEOUT_S = 2.0  # saying "offline" on a clean stop: never holds the shutdown longer
MAX_REQUEST_BYTES = 64 * 1024  # a request is a few hundred bytes; nothing bigger is read
CONCURRENT_REQUESTS = 4  # a self-test takes seconds: others are served meanwhile, not unbounded
INCOMING_QUEUE = 256  # messages waiting beyond this are dropped by the client, not kept
USERS_KEPT = 1024  # rate-limit buckets kept (the least recently used go first)
SESSION_EXPIRY_S = 0  # clean start, nothing kept: a request from before an outage is not run


# -- who asks ---------------------------------------------------------------------------------

def caller_for(asker: protocol.Asker, max_role: str) -> TokenInfo:
    """The asker as the daemon's operations know a caller: named `mqtt:USER`, with the role
    of the request topic but never above `max_role`."""
    asked, cap = Role(asker.role), Role(max_role)
    role = asked if cap.covers(asked) else cap
    name = f"mqtt:{asker.user}"
    return TokenInfo(id=name, name=name, role=role, hint="mqtt", created_at=0.0)


class RateLimit:
    """A token bucket per user: `per_minute` requests, refilled evenly, a minute's worth at
    most in reserve."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, user: str) -> bool:
        now = self._clock()
        tokens, at = self._buckets.pop(user, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[user] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > USERS_KEPT:
            self._buckets.popitem(last=False)
        return allowed


# -- what a request may carry (pydantic: the channel's edge) ----------------------------------

class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NoArgs(_Args):
    pass


class StatusArgs(_Args):
    printer: str | None = None


class SelftestArgs(_Args):
    printer: str
    print_label: bool = Field(default=False, alias="print")


class PrinterArgs(_Args):
    printer: str


class JobArgs(_Args):
    job: str


class ReportArgs(_Args):
    # ISO 8601, as GET /v1/report takes them; absent: since the support desk last closed
    since: datetime | None = None
    until: datetime | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class JobsArgs(_Args):
    printer: str | None = None
    limit: int = Field(default=10, ge=1, le=protocol.MAX_JOBS)
    previews: bool = False


class Refused(LabeldError):
    """A request the channel itself turns down (malformed, unknown, too many)."""


@dataclass(frozen=True)
class Op:
    role: Role  # as the HTTP API's route for the same operation
    args: type[_Args]


# The role of each operation is the HTTP route's (tests/http/test_role_matrix.py); a request is
# at least staff, so `jobs` and `cancel` (pos over HTTP, for its own jobs) need staff here.
OPS: dict[str, Op] = {
    "status": Op(Role.STAFF, StatusArgs),
    "selftest": Op(Role.STAFF, SelftestArgs),
    "bundle": Op(Role.TECH, NoArgs),
    "pause": Op(Role.TECH, PrinterArgs),
    "resume": Op(Role.TECH, PrinterArgs),
    "release": Op(Role.STAFF, JobArgs),
    "cancel": Op(Role.STAFF, JobArgs),
    "retry": Op(Role.TECH, JobArgs),
    "reprint": Op(Role.TECH, JobArgs),
    "jobs": Op(Role.STAFF, JobsArgs),
    "report": Op(Role.TECH, ReportArgs),
}
assert set(OPS) == protocol.OPS, "every operation of the protocol has its role and arguments"


@dataclass(frozen=True)
class Request:
    op: str
    args: _Args
    summary: str  # the audit's target


def parse(data: bytes) -> Request:
    """A request payload read and checked, or `Refused` saying what is wrong with it."""
    if len(data) > MAX_REQUEST_BYTES:
        raise Refused("malformed-request", f"The request is {len(data)} bytes; at most "
                      f"{MAX_REQUEST_BYTES} are read.", "Send {\"v\": 1, \"op\": ..., "
                      "\"args\": {...}}.", status=413)
    body = protocol.read(data)
    if body is None:
        raise Refused("malformed-request", "The request is not a JSON object of protocol "
                      f"version {protocol.VERSION}.",
                      'Send {"v": 1, "op": "status", "args": {}} as UTF-8 JSON.')
    op, args = body.get("op"), body.get("args", {})
    if not isinstance(op, str) or op not in OPS:
        raise Refused("unknown-op", f"There is no operation {op!r}.",
                      f"Operations: {', '.join(sorted(OPS))}.", status=404)
    if not isinstance(args, dict):
        raise Refused("invalid-args", "`args` must be a JSON object.", "", status=422)
    try:
        parsed = OPS[op].args.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'args'}: {e['msg']}" for e in exc.errors())
        raise Refused("invalid-args", f"{op}: {problems}",
                      "README, \"Fleet support channel\", lists each operation's arguments.",
                      status=422) from None
    summary = ",".join(f"{k}={v}" for k, v in sorted(args.items()))[:200]
    return Request(op, parsed, summary)


# -- the channel --------------------------------------------------------------------------------

class FleetChannel:
    """The shop's connection to the support broker. `await start()` after the daemon started
    (it returns at once: the broker may be away), `await stop()` before the daemon stops."""

    def __init__(self, daemon: Daemon, support: SupportConfig):
        if not support.broker:
            raise ConfigError("support-channel-off", "support.broker is empty: the fleet "
                              "channel is off.", "Set support.broker to the vendor's broker.")
        self.daemon = daemon
        self.settings = support
        self.prefix = support.topic_prefix
        self.shop = support.shop_id
        self._tls, self._host, self._port = broker_address(support.broker)
        self._tls_context = self._make_tls() if self._tls else None
        self._password = self._read_password()
        self._limits = RateLimit(support.requests_per_minute)
        self._task: asyncio.Task[None] | None = None
        self._feed: EventFeed | None = None
        self._client: aiomqtt.Client | None = None
        self._last: dict[str, dict[str, Any]] = {}  # topic -> the body last published there
        self._dirty = asyncio.Event()
        self._since = ""
        # what /metrics could show: counted, never reset while the daemon runs
        self.published = 0
        self.requests: dict[int, int] = {}  # by outcome (200, 403, 429...)
        self.connects = 0

    # -- configuration read once ---------------------------------------------------------

    def _make_tls(self) -> ssl.SSLContext:
        s = self.settings
        try:
            context = ssl.create_default_context(cafile=s.ca_file)
            if s.client_cert and s.client_key:
                context.load_cert_chain(s.client_cert, s.client_key)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("support-tls", f"support: cannot use the TLS files "
                              f"(ca_file, client_cert, client_key): {exc}",
                              "Check the paths and that they are PEM files labeld can "
                              "read.") from None
        return context

    def _read_password(self) -> str | None:
        s = self.settings
        if s.password_file:
            try:
                return Path(s.password_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError("support-password-file", f"support.password_file: "
                                  f"{s.password_file}: {exc.strerror or exc}",
                                  "Check the path and that labeld may read it.") from None
        return s.password or None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._feed = self.daemon.subscribe()
        self.daemon.metric_sources.append(self.metrics)
        self._task = asyncio.create_task(self._run(), name="labeld-fleet")

    async def stop(self) -> None:
        """Say offline (a clean stop fires no last will), then close the connection."""
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.publish(
                    protocol.presence(self.prefix, self.shop), self._offline(), qos=1,
                    retain=True), STOP_TIMEOUT_S)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._feed is not None:
            self.daemon.unsubscribe(self._feed)
            self._feed = None
        with contextlib.suppress(ValueError):
            self.daemon.metric_sources.remove(self.metrics)

    @property
    def connected(self) -> bool:
        return self._client is not None

    def metrics(self) -> list[Metric]:
        """The channel's numbers for /metrics."""
        up = GaugeMetricFamily("labeld_fleet_connected",
                               "1 while the support channel is connected to its broker",
                               value=1.0 if self.connected else 0.0)
        connects = CounterMetricFamily("labeld_fleet_connects",
                                       "Connections the support channel made to its broker",
                                       value=self.connects)
        published = CounterMetricFamily("labeld_fleet_published",
                                        "Messages the support channel published",
                                        value=self.published)
        requests = CounterMetricFamily("labeld_fleet_requests",
                                       "Technicians' requests by outcome (HTTP-like status)",
                                       labels=["status"])
        for status, n in sorted(self.requests.items()):
            requests.add_metric([str(status)], n)
        return [up, connects, published, requests]

    def _offline(self) -> bytes:
        return protocol.payload({"shop": self.shop, "online": False})

    def _connect(self) -> aiomqtt.Client:
        s = self.settings
        connect = Properties(PacketTypes.CONNECT)
        connect.SessionExpiryInterval = SESSION_EXPIRY_S
        return aiomqtt.Client(
            self._host, self._port, username=s.username or None, password=self._password,
            identifier=f"labeld-{self.shop}", protocol=aiomqtt.ProtocolVersion.V5,
            tls_context=self._tls_context, keepalive=s.keepalive_s, clean_start=True,
            properties=connect, timeout=10, max_queued_incoming_messages=INCOMING_QUEUE,
            socket_options=NODELAY,
            will=aiomqtt.Will(protocol.presence(self.prefix, self.shop), self._offline(),
                              qos=1, retain=True))

    async def _run(self) -> None:
        delay, ever = BACKOFF_INITIAL_S, False
        broker = self.settings.broker
        while True:
            was_connected = False
            try:
                async with self._connect() as client:
                    self._client, was_connected = client, True
                    self.connects += 1
                    if ever:
                        log.info(N_("support channel: connected to {broker} again; the shop's "
                                    "state is published anew", broker=broker),
                                 extra={"code": "fleet-reconnected"})
                    else:
                        log.info(N_("support channel: connected to {broker} as shop {shop}",
                                    broker=broker, shop=self.shop),
                                 extra={"code": "fleet-connected"})
                    ever, delay = True, BACKOFF_INITIAL_S
                    await self._session(client)
                    return  # the daemon is stopping (its event hub closed)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the channel must outlive any failure
                problem = _cause(exc)
                if was_connected:
                    log.warning(N_("support channel: the connection to {broker} was lost "
                                   "({problem}); printing goes on, reconnecting in {delay} s",
                                   broker=broker, problem=problem, delay=Number(delay)),
                                extra={"code": "fleet-disconnected"})
                else:
                    log.warning(N_("support channel: cannot reach {broker} ({problem}); "
                                   "trying again in {delay} s", broker=broker,
                                   problem=problem, delay=Number(delay)),
                                extra={"code": "fleet-unreachable"})
                    if not isinstance(exc, aiomqtt.MqttError):
                        log.debug("fleet channel failure", exc_info=exc)
            finally:
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection's life: everything published again, then events, state changes
        and requests until the connection drops (MqttError) or the daemon stops."""
        self._since = datetime.now(UTC).isoformat(timespec="seconds")
        self._last.clear()
        self._drain()
        self._dirty.set()
        await client.subscribe(protocol.requests_of(self.prefix, self.shop), qos=1)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._publish_state(client))
                tasks.create_task(self._serve(client))
                await self._pump(client)  # returns when the hub closes: the daemon stops
                raise _Stopping
        except BaseExceptionGroup as group:
            _, rest = group.split(_Stopping)
            if rest is None:
                return
            lost = next((e for e in _leaves(rest) if isinstance(e, aiomqtt.MqttError)), None)
            raise lost or rest from None

    # -- state -------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Forget the events that piled up while away: the state published next says it."""
        if self._feed is not None:
            queue = self._feed.queue
            while not queue.empty():
                queue.get_nowait()

    async def _pump(self, client: aiomqtt.Client) -> None:
        assert self._feed is not None
        topic = protocol.events(self.prefix, self.shop)
        while True:
            item = await self._feed.next(3600)
            if item is None:
                continue
            if item == CLOSED:
                return
            self._dirty.set()  # a gap (events dropped) too: the state is published again
            if isinstance(item, str):
                continue
            await client.publish(topic, protocol.payload({"shop": self.shop,
                                                          **event_json(item)}), qos=1)
            self.published += 1

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            for topic, body in (await self.state()).items():
                if _same(self._last.get(topic), body):
                    continue
                await client.publish(topic, protocol.payload(body), qos=1, retain=True)
                self._last[topic] = body
                self.published += 1

    async def state(self) -> dict[str, dict[str, Any]]:
        """Every retained topic and its body now: presence, each printer, the queue."""
        printers = await self.daemon.printers()
        counts = await self.daemon.job_counts()
        shop = self.shop
        out: dict[str, dict[str, Any]] = {protocol.presence(self.prefix, shop): {
            "shop": shop, "name": self.settings.shop_name or shop, "online": True,
            "since": self._since, "version": __version__,
            "printers": [p["id"] for p in printers]}}
        for p in printers:
            n = counts.get(p["id"], {})
            out[protocol.printer(self.prefix, shop, p["id"])] = {
                "shop": shop, "printer": p["id"], "name": p["name"], "model": p["model"],
                "language": p["language"], "kind": p["kind"], "state": p["state"],
                "reasons": p["state_reasons"], "paused": p["paused"],
                "queued": n.get("pending", 0) + n.get("processing", 0) + n.get("held", 0),
                "held": n.get("held", 0), "checked_at": p["status_checked_at"]}
        out[protocol.queue(self.prefix, shop)] = {
            "shop": shop, **{state: sum(n.get(state, 0) for n in counts.values())
                             for state in ("pending", "processing", "held")}}
        return out

    # -- requests ----------------------------------------------------------------------------

    async def _serve(self, client: aiomqtt.Client) -> None:
        slots = asyncio.Semaphore(CONCURRENT_REQUESTS)
        async with asyncio.TaskGroup() as running:
            async for message in client.messages:
                asker = protocol.parse_request_topic(self.prefix, str(message.topic))
                if asker is None or asker.shop != self.shop:
                    continue
                await slots.acquire()
                task = running.create_task(self._answer(client, asker, message))
                task.add_done_callback(lambda _: slots.release())

    async def _answer(self, client: aiomqtt.Client, asker: protocol.Asker,
                      message: aiomqtt.Message) -> None:
        """Serve one request and send its answer(s); only a lost connection escapes."""
        caller = caller_for(asker, self.settings.max_role)
        props = message.properties
        reply_to = getattr(props, "ResponseTopic", None)
        correlation = getattr(props, "CorrelationData", None)
        own = protocol.responses(self.prefix, asker.user)
        op, summary, status = "?", "", 200
        replies: list[bytes]
        try:
            if not self._limits.allow(asker.user):
                raise Refused("rate-limited", f"More than {self.settings.requests_per_minute} "
                              f"requests a minute from {asker.user}; this one was not served.",
                              "Wait a little and ask again.", status=429)
            if reply_to != own:
                raise Refused("bad-response-topic", f"Answers to {asker.user} go to {own}, "
                              f"not {reply_to!r}; the request was not served.",
                              f"Set the MQTT 5 response topic to {own}.")
            payload = message.payload
            data = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
            request = parse(bytes(data))
            op, summary = request.op, request.summary
            if not caller.role.covers(OPS[op].role):
                raise role_required(OPS[op].role, caller.role, f"The request {op!r}")
            replies = [protocol.answer(r) for r in await self._run_op(request, caller)]
        except LabeldError as exc:
            status = exc.status
            replies = [protocol.refusal(exc.code, exc.message, exc.hint)]
        except Exception:  # a bug answers as an error, the loop goes on
            log.exception("fleet request %s from %s failed", op, caller.name)
            status = 500
            replies = [protocol.refusal("internal-error", "labeld failed to handle this "
                                        "request.", "This is a bug; the labeld log has the "
                                        "details.")]
        self.requests[status] = self.requests.get(status, 0) + 1
        try:
            await self.daemon.audit_log.record(who=caller.name, role=caller.role,
                                               method="MQTT", path=op, target=summary,
                                               status=status)
        except Exception:  # as the HTTP audit trail: logged, never the answer
            log.exception("could not write the audit entry for %s by %s", op, caller.name)
        reply_props = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            reply_props.CorrelationData = correlation
        for reply in replies:  # always the asker's own topic, whatever they asked for
            await client.publish(own, reply, qos=1, properties=reply_props)
            self.published += 1

    async def _run_op(self, request: Request, caller: TokenInfo) -> list[Any]:
        handler: Callable[[Any, TokenInfo], Awaitable[list[Any]]] = getattr(
            self, f"_op_{request.op}")
        return await handler(request.args, caller)

    async def _op_report(self, args: ReportArgs, _: TokenInfo) -> list[Any]:
        """The morning report, as GET /v1/report answers it: the desk reads every shop's
        evening without opening a way into any of them."""
        return [(await self.daemon.report(args.since, args.until)).as_json()]

    async def _op_status(self, args: StatusArgs, _: TokenInfo) -> list[Any]:
        if args.printer is None:
            counts = await self.daemon.job_counts()
            return [{"printers": await self.daemon.printers(), "jobs": counts}]
        live = await self.daemon.printer_status(args.printer)
        return [{"printer": await self.daemon.printer(args.printer), "live": live}]

    async def _op_selftest(self, args: SelftestArgs, _: TokenInfo) -> list[Any]:
        report = await self.daemon.selftest(args.printer, print_label=args.print_label)
        return [{**asdict(replace(report, checks=[])),
                 "checks": checks_json(report.checks, self.daemon.catalogues)}]

    async def _op_bundle(self, _: NoArgs, __: TokenInfo) -> list[Any]:
        return protocol.bundle_chunks(await self.daemon.support_bundle())

    async def _op_pause(self, args: PrinterArgs, caller: TokenInfo) -> list[Any]:
        return [await self.daemon.pause(args.printer, caller)]

    async def _op_resume(self, args: PrinterArgs, caller: TokenInfo) -> list[Any]:
        return [await self.daemon.resume(args.printer, caller)]

    async def _op_release(self, args: JobArgs, caller: TokenInfo) -> list[Any]:
        return [job_json(await self.daemon.release(args.job, caller), self.daemon.catalogues)]

    async def _op_cancel(self, args: JobArgs, caller: TokenInfo) -> list[Any]:
        return [job_json(await self.daemon.cancel(args.job, caller), self.daemon.catalogues)]

    async def _op_retry(self, args: JobArgs, _: TokenInfo) -> list[Any]:
        return [job_json(await self.daemon.retry(args.job), self.daemon.catalogues)]

    async def _op_reprint(self, args: JobArgs, caller: TokenInfo) -> list[Any]:
        job = await self.daemon.reprint(args.job, owner=caller.name)
        return [job_json(job, self.daemon.catalogues)]

    async def _op_jobs(self, args: JobsArgs, _: TokenInfo) -> list[Any]:
        jobs = await self.daemon.jobs(printer=args.printer, limit=args.limit)
        out = []
        for job in jobs:
            shown = job_json(job, self.daemon.catalogues)
            if args.previews:
                shown["preview"] = await self._preview(job.id)
            out.append(shown)
        return [{"jobs": out}]

    async def _preview(self, job_id: str) -> str | None:
        """Page 1 as base64 PNG; None for a job without pages (raw bytes, an action)."""
        try:
            return base64.b64encode((await self.daemon.preview(job_id)).png).decode("ascii")
        except LabeldError:
            return None


class _Stopping(Exception):
    """The daemon's event hub closed: the session ends without reconnecting."""


def _same(before: dict[str, Any] | None, now: dict[str, Any]) -> bool:
    """Whether a state message says nothing new: the time of the last status answer moves
    with every poll, so it alone is no change worth a message."""
    if before is None:
        return False
    return ({k: v for k, v in before.items() if k != "checked_at"}
            == {k: v for k, v in now.items() if k != "checked_at"})


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for e in group.exceptions:
        out += _leaves(e) if isinstance(e, BaseExceptionGroup) else [e]
    return out


def _cause(exc: BaseException) -> str:
    """A short reason for a log line: the innermost error's words."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc) or type(exc).__name__
