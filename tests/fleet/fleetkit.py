"""What the desk's tests share: a broker with the fleet's ACL, shops and desk users on it, and
a way to run a scenario on one event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from labeld.fleet.connection import BrokerAccess
from labeld.fleet.view import FleetView
from tests.fleet.broker import Broker, fleet_acl

SHOPS = ("bp-12", "deb-3")
USERS = {"bp-12": "shop-a-secret", "deb-3": "shop-b-secret", "anna": "tech-secret",
         "kati": "staff-secret", "eve": "reader-secret"}


def fleet_broker(broker: Callable[..., Broker], shops: tuple[str, ...] = SHOPS,
                 extra_users: dict[str, str] | None = None) -> Broker:
    users = {**USERS, **(extra_users or {})}
    return broker(users, fleet_acl([*shops, *(u for u in extra_users or {})],
                                   techs=["anna"], staff=["kati"], readers=["eve"]))


def access(b: Broker, user: str, password: str | None = None) -> BrokerAccess:
    """Over TLS, trusting the test broker's CA."""
    return BrokerAccess("127.0.0.1", b.tls_port, user, password or USERS[user],
                        ca_file=str(b.ca_file))


def view(b: Broker, user: str = "anna", **kw: Any) -> FleetView:
    return FleetView(access(b, user), backoff_initial_s=0.1, backoff_max_s=0.5, **kw)


async def until(predicate: Callable[[], object], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(0.01)


def printer_of(snapshot: dict[str, Any], shop: str, printer: str) -> dict[str, Any] | None:
    for s in snapshot["shops"]:
        if s["shop"] == shop:
            return next((p for p in s["printers"] if p["printer"] == printer), None)
    return None


def shop_of(snapshot: dict[str, Any], shop: str) -> dict[str, Any] | None:
    return next((s for s in snapshot["shops"] if s["shop"] == shop), None)


class ShopsThread:
    """Simulated shops on an event loop of their own thread, for tests whose other side is
    synchronous (the CLI, a daemon serving the console, a browser): `call(coro)` runs a
    coroutine there and returns its result."""

    def __init__(self) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="sim-shops")
        self._thread.start()
        self.shops: dict[str, Any] = {}

    def call(self, coro: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def open(self, b: Broker, shop: str, printers: tuple[str, ...] = ("shelf", "till"),
             name: str = "") -> Any:
        from labeld.fleet.simshop import SimulatedShop

        async def start() -> SimulatedShop:
            return await SimulatedShop(access(b, shop), printers=printers, name=name).start()

        self.shops[shop] = self.call(start())
        return self.shops[shop]

    def close(self) -> None:
        for shop in self.shops.values():
            self.call(shop.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
