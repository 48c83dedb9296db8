"""The other end of the channel in the shop-side tests: a technician's (or any user's) own MQTT 5
client over TLS to the test broker, reading every shop's state and asking requests as
README's "Fleet support channel" describes them. Independent of labeld.fleet.channel: it
speaks the protocol through labeld.fleet.protocol only.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from labeld.config import SupportConfig
from labeld.fleet import protocol
from tests.fleet.broker import PREFIX, Broker, fleet_acl

USERS = {"a": "shop-a-secret", "b": "shop-b-secret", "anna": "tech-secret",
         "kati": "staff-secret", "eve": "reader-secret"}
ACL = fleet_acl(["a", "b"], techs=["anna"], staff=["kati"], readers=["eve"])
ROLE_OF = {"anna": "tech", "kati": "staff", "eve": "tech"}  # eve's requests never arrive


def support(b: Broker, shop: str, **extra: Any) -> SupportConfig:
    """[support] of a shop of the test broker, as README's example sets it up."""
    return SupportConfig(broker=b.tls_url, shop_id=shop, shop_name=f"Shop {shop.upper()}",
                         username=shop, password=USERS[shop], ca_file=str(b.ca_file), **extra)


class Technician:
    """`async with Technician(broker, "anna") as anna:` sees every shop's retained state
    (`state[topic]`), its events and the answers to its own requests."""

    def __init__(self, b: Broker, user: str):
        self.broker, self.user = b, user
        self.state: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.answers: dict[bytes, list[dict[str, Any]]] = {}
        self.arrived: dict[str, float] = {}  # topic -> when its latest message came
        self._reader: asyncio.Task[None] | None = None
        tls = ssl.create_default_context(cafile=str(b.ca_file))
        self.client = aiomqtt.Client("127.0.0.1", b.tls_port, username=user,
                                     password=USERS[user], tls_context=tls,
                                     protocol=aiomqtt.ProtocolVersion.V5,
                                     identifier=f"test-{user}-{uuid.uuid4().hex[:6]}")

    @property
    def responses(self) -> str:
        return protocol.responses(PREFIX, self.user)

    async def __aenter__(self) -> Technician:
        await self.client.__aenter__()
        # every_shop matches the desk's own response topics too (desk/USER/responses): one
        # subscription, or each answer would come twice
        await self.client.subscribe(protocol.every_shop(PREFIX), qos=1)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
        with contextlib.suppress(aiomqtt.MqttError):  # the broker may be gone already
            await self.client.__aexit__(None, None, None)

    async def _read(self) -> None:
        try:
            async for message in self.client.messages:
                topic = str(message.topic)
                body = protocol.read(message.payload)
                if body is None:
                    continue
                self.arrived[topic] = time.monotonic()
                if topic == self.responses:
                    correlation = getattr(message.properties, "CorrelationData", None) or b""
                    self.answers.setdefault(bytes(correlation), []).append(body)
                elif topic.endswith("/events"):
                    self.events.append(body)
                else:
                    self.state[topic] = body
        except aiomqtt.MqttError:
            return

    async def until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen within {timeout} s; state: {self.state}")
            await asyncio.sleep(0.005)
        return value

    def printer(self, shop: str, printer: str) -> dict[str, Any] | None:
        return self.state.get(protocol.printer(PREFIX, shop, printer))

    def presence(self, shop: str) -> dict[str, Any] | None:
        return self.state.get(protocol.presence(PREFIX, shop))

    async def send(self, shop: str, op: str | None = None, args: dict[str, Any] | None = None,
                   *, raw: bytes | None = None, role: str | None = None,
                   response_topic: str | None = None) -> bytes:
        """Publish a request; its correlation data (to wait for its answers)."""
        correlation = uuid.uuid4().bytes
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = response_topic or self.responses
        props.CorrelationData = correlation
        data = raw if raw is not None else protocol.payload({"op": op, "args": args or {}})
        await self.client.publish(
            protocol.request(PREFIX, shop, role or ROLE_OF[self.user], self.user), data,
            qos=1, properties=props)
        return correlation

    async def answers_to(self, correlation: bytes, n: int = 1,
                         timeout: float = 15.0) -> list[dict[str, Any]]:
        await self.until(lambda: len(self.answers.get(correlation, [])) >= n, timeout)
        return self.answers[correlation]

    async def ask(self, shop: str, op: str | None = None, args: dict[str, Any] | None = None,
                  **kw: Any) -> dict[str, Any]:
        """One request and its (first) answer."""
        return (await self.answers_to(await self.send(shop, op, args, **kw)))[0]
