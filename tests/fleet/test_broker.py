"""The test broker is a real Mosquitto that enforces the fleet's ACL over TLS."""

import asyncio
import ssl

import aiomqtt
import pytest

from tests.fleet.broker import fleet_acl

USERS = {"bp-12": "shop-secret", "anna": "tech-secret", "eve": "reader-secret"}


def client(b, user: str, **kw) -> aiomqtt.Client:
    tls = ssl.create_default_context(cafile=str(b.ca_file))
    return aiomqtt.Client("127.0.0.1", b.tls_port, username=user, password=USERS[user],
                          tls_context=tls, protocol=aiomqtt.ProtocolVersion.V5, **kw)


def test_a_technician_may_ask_a_shop_and_a_reader_may_not(broker):
    b = broker(USERS, fleet_acl(["bp-12"], techs=["anna"], readers=["eve"]))

    async def scenario() -> list[str]:
        got: list[str] = []
        async with client(b, "bp-12") as shop, client(b, "anna") as anna, \
                client(b, "eve") as eve:
            await shop.subscribe("labeld/v1/bp-12/request/+/+")
            await anna.publish("labeld/v1/bp-12/request/tech/anna", b"{}", qos=1)
            # the broker drops eve's request, and anna's in someone else's name
            await eve.publish("labeld/v1/bp-12/request/tech/eve", b"{}", qos=1)
            await anna.publish("labeld/v1/bp-12/request/tech/eve", b"{}", qos=1)
            await anna.publish("labeld/v1/bp-12/request/tech/anna", b"last", qos=1)
            async with asyncio.timeout(3):
                async for message in shop.messages:
                    got.append(str(message.topic))
                    if message.payload == b"last":
                        break
        return got

    assert asyncio.run(scenario()) == ["labeld/v1/bp-12/request/tech/anna"] * 2


def test_a_wrong_password_is_refused(broker):
    b = broker(USERS, fleet_acl(["bp-12"]))

    async def connect() -> None:
        tls = ssl.create_default_context(cafile=str(b.ca_file))
        async with aiomqtt.Client("127.0.0.1", b.tls_port, username="bp-12", password="wrong",
                                  tls_context=tls, protocol=aiomqtt.ProtocolVersion.V5):
            pass

    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(connect())
