"""`labeld demo`: the whole road on one machine, no hardware, no config.

Every simulator that a plugin ships becomes a demo printer, driven by a model of the same
language, and gets that language's test page. The core names no printer: add a plugin with a
simulator and the demo grows by itself.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from labeld.config import Config, DeskConfig, PrinterConfig, ServerConfig, SupportConfig
from labeld.contracts import Model
from labeld.errors import LabeldError
from labeld.pluginmanager import default_manager
from labeld.security import Role
from labeld.server import ServerThread
from labeld.sim import SimulatorThread


def _model_for(language: str, models: dict[str, Model]) -> Model | None:
    # A generic model (the simulators are generic printers; the ESC/POS profiles of named
    # models are many), then the most common resolution, then the widest: a full-size label or
    # receipt.
    candidates = [m for m in models.values() if m.language == language]
    return max(candidates, key=lambda m: ("generic" in m.id, -m.dpi, m.print_width_dots, m.id),
               default=None)


def sample_document(model: Model) -> dict:
    """A label for a label printer, a receipt-shaped page for a receipt printer: both rendered by
    labeld, so the demo shows the whole raster road, previews included."""
    width = round(min(model.print_width_dots / model.dpi * 25.4, 100.0), 1)
    if model.printer_type == "receipt":
        lines = [("Kifli 4 db", "140 Ft"), ("Trappista 250 g", "649 Ft"),
                 ("Betétdíj", "50 Ft"), ("Összesen", "839 Ft")]
        elements: list[dict] = [{"type": "text", "x_mm": 2, "y_mm": 2, "text": "labeld demo bolt",
                                 "size_pt": 12, "bold": True}]
        for i, (item, price) in enumerate(lines):
            y, bold = 9 + 5 * i, i == len(lines) - 1
            elements.append({"type": "text", "x_mm": 2, "y_mm": y, "text": item, "size_pt": 9,
                             "bold": bold})
            elements.append({"type": "text", "x_mm": 2, "y_mm": y, "text": price, "size_pt": 9,
                             "bold": bold, "align": "right", "max_width_mm": width - 4})
        elements.append({"type": "barcode", "symbology": "qr", "data": "https://example.com/r/839",
                         "x_mm": 2, "y_mm": 31, "module_dots": 4})
        return {"width_mm": width, "height_mm": 48, "elements": elements}
    return {"width_mm": width, "height_mm": 60, "elements": [
        {"type": "text", "x_mm": 4, "y_mm": 3, "text": "Árvíztűrő tükörfúrógép", "size_pt": 14,
         "bold": True},
        {"type": "text", "x_mm": 4, "y_mm": 11, "text": "1 299 Ft  (2 596 Ft/kg)", "size_pt": 11},
        {"type": "barcode", "symbology": "ean13", "data": "5998200123450", "x_mm": 8, "y_mm": 20,
         "height_mm": 18, "module_dots": 3, "human_readable": True},
        {"type": "barcode", "symbology": "qr", "data": "https://example.com/p/123",
         "x_mm": width - 28, "y_mm": 20, "module_dots": 5},
        {"type": "box", "x_mm": 1, "y_mm": 1, "width_mm": width - 2, "height_mm": 58,
         "thickness_mm": 0.4}]}


# `labeld demo --fleet`: the demo's daemon is one shop, a simulated shop the other, and the
# same daemon is the desk that watches both.
FLEET_SHOP, SIM_SHOP, DESK_USER = "demo-1", "demo-2", "desk"
PAPER_OUT_AFTER_S = 5.0
FLEET_WAIT_S = 20.0


class _SimShopThread:
    """The simulated shop `demo-2` on an event loop of its own thread: its shelf printer runs
    out of paper `PAPER_OUT_AFTER_S` after it connects."""

    def __init__(self, broker_url: str, password: str):
        from labeld.fleet.connection import BrokerAccess

        self.access = BrokerAccess.from_url(broker_url, SIM_SHOP, password)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="demo-sim-shop")
        self.shop: Any = None
        self._later: Any = None

    def __enter__(self) -> _SimShopThread:
        from labeld.fleet.simshop import SimulatedShop

        self._thread.start()

        async def start() -> None:
            self.shop = await SimulatedShop(self.access, printers=("shelf", "till"),
                                            name="Demo shop 2 (simulated)").start()
            self._later = self.loop.call_later(
                PAPER_OUT_AFTER_S, lambda: self.loop.create_task(
                    self.shop.set_fault("shelf", "paper-out")))

        asyncio.run_coroutine_threadsafe(start(), self.loop).result(15)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            if self._later is not None:
                self._later.cancel()
            if self.shop is not None:
                await self.shop.stop()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _fleet_setup(tmp: Path, stack: contextlib.ExitStack) -> tuple[Any, SupportConfig,
                                                                   DeskConfig, Path]:
    """A Mosquitto on a free loopback port with the fleet's ACL, and the two ends of the
    demo's daemon: its [support] (shop demo-1) and its [desk] (user desk)."""
    from labeld.fleet.localbroker import LocalBroker, fleet_acl

    passwords = {user: secrets.token_urlsafe(16) for user in (FLEET_SHOP, SIM_SHOP, DESK_USER)}
    broker = stack.enter_context(LocalBroker(
        tmp / "broker", passwords, fleet_acl([FLEET_SHOP, SIM_SHOP], techs=[DESK_USER])))
    desk_password = tmp / "desk.password"
    desk_password.write_text(passwords[DESK_USER] + "\n")
    desk_password.chmod(0o600)
    support = SupportConfig(broker=broker.url, shop_id=FLEET_SHOP, username=FLEET_SHOP,
                            shop_name="Demo shop 1 (this daemon)",
                            password=passwords[FLEET_SHOP], days=["mon", "tue", "wed", "thu",
                                                                  "fri", "sat", "sun"],
                            hours="00:00-23:59")
    desk = DeskConfig(broker=broker.url, username=DESK_USER, password_file=str(desk_password))
    stack.enter_context(_SimShopThread(broker.url, passwords[SIM_SHOP]))
    return broker, support, desk, desk_password


def _wait_for_shops(client: httpx.Client, shops: tuple[str, ...], timeout: float) -> bool:
    """Until the console's fleet page (the daemon's own fleet view) names every shop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = client.get("/ui/fragments/fleet")
        if resp.status_code == 200 and all(f'data-shop="{shop}" data-online="true"' in resp.text
                                           for shop in shops):
            return True
        time.sleep(0.1)
    return False


def run_demo(listen: str = "127.0.0.1:8631", once: bool = False, fleet: bool = False) -> int:
    plugins = default_manager()
    models, languages = plugins.models(), plugins.languages()
    with tempfile.TemporaryDirectory(prefix="labeld-demo-") as tmp, contextlib.ExitStack() as stack:
        printers: list[PrinterConfig] = []
        sims: dict[str, SimulatorThread] = {}
        for name, spec in sorted(plugins.simulators().items()):
            model = _model_for(spec.language, models)
            if model is None or spec.language not in languages:
                continue
            sim = stack.enter_context(SimulatorThread(spec))
            pid = f"demo-{name}"
            sims[pid] = sim
            printers.append(PrinterConfig(id=pid, uri=f"socket://127.0.0.1:{sim.port}",
                                          model=model.id, name=f"Simulated {model.name}"))
        extra: dict[str, Any] = {}
        if fleet:
            broker, extra["support"], extra["desk"], desk_password = _fleet_setup(Path(tmp),
                                                                                  stack)
        config = Config(server=ServerConfig(listen=listen, spool=str(Path(tmp) / "spool.db"),
                                            log_level="warning"), printers=printers, **extra)
        try:
            server = stack.enter_context(ServerThread(config, listen=listen, plugins=plugins))
        except RuntimeError:  # uvicorn could not bind (the CLI checks first; this is the race)
            raise LabeldError(
                "listen-failed", f"The demo's daemon could not listen on {listen}: another "
                "program probably uses that port.",
                "Stop that program (a labeld already running?), or give the demo another "
                "port: labeld demo --listen 127.0.0.1:OTHER_PORT") from None
        secret, _ = server.app.state.daemon.token_store.create_sync("demo", Role.ADMIN)
        print(f"labeld demo: API at {server.url}  (interactive docs: {server.url}/docs)")
        print(f"  token (admin, for this demo only): {secret}")
        print(f"  console: {server.url}/ui/  (sign in with the token; ?lang=hu for Hungarian)")
        jobs: dict[str, str] = {}
        with httpx.Client(base_url=server.url, timeout=10,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            rendered: dict[str, str] = {}
            for pc in printers:
                model = models[pc.model]
                if model.printer_type == "receipt":
                    # a receipt as text, in the code page the model's profile gives for it
                    resp = client.post("/v1/jobs", json={"printer": pc.id,
                                                         "receipt": test_receipt(pc.id, model)})
                else:
                    page = languages[model.language].test_page(pc.id, model)
                    resp = client.post("/v1/jobs", json={  # the printer's own language, as is
                        "printer": pc.id,
                        "raw": {"data": base64.b64encode(page).decode(), "encoding": "base64"}})
                resp.raise_for_status()
                jobs[pc.id] = resp.json()["id"]
                resp = client.post("/v1/jobs", json={"printer": pc.id,
                                                     "label": sample_document(model)})
                resp.raise_for_status()
                rendered[pc.id] = resp.json()["id"]
            deadline = time.monotonic() + 15
            states: dict[str, str] = {}
            while time.monotonic() < deadline:
                states = {pid: "completed" if all(
                    client.get(f"/v1/jobs/{jid}").json()["state"] == "completed"
                    for jid in (jobs[pid], rendered[pid])) else "waiting" for pid in jobs}
                if all(s == "completed" for s in states.values()):
                    break
                time.sleep(0.05)
        ok = True
        for pc in printers:
            sim = sims[pc.id]
            print(f"  {pc.id:<14} {pc.model:<20} test page + label {states.get(pc.id)}; "
                  f"printer at 127.0.0.1:{sim.port}, what it received: "
                  f"http://127.0.0.1:{sim.control_port}/jobs")
            print(f"  {'':<14} label preview: {server.url}/v1/jobs/{rendered[pc.id]}/preview.png"
                  f"  as printed: http://127.0.0.1:{sim.control_port}/jobs/2/page/1.png")
            ok &= states.get(pc.id) == "completed"
        if printers:
            print(f"  try: curl -H 'Authorization: Bearer {secret}' "
                  f"{server.url}/v1/printers/{printers[0].id}/status")
        if fleet:
            from labeld.security.session import SESSION_COOKIE

            print(f"labeld demo --fleet: Mosquitto at {broker.url}; shops {FLEET_SHOP} (this "
                  f"daemon, [support]) and {SIM_SHOP} (simulated; its shelf printer runs out of "
                  f"paper {PAPER_OUT_AFTER_S:g} s after it connects)")
            print(f"  fleet page: {server.url}/ui/fleet  (sign in with the token above)")
            print(f"  from a terminal: labeld fleet --broker {broker.url} --user {DESK_USER} "
                  f"--password-file {desk_password}")
            with httpx.Client(base_url=server.url, timeout=10,
                              cookies={SESSION_COOKIE: secret}) as console:
                seen = _wait_for_shops(console, (FLEET_SHOP, SIM_SHOP), FLEET_WAIT_S)
            print(f"  the fleet view {'sees' if seen else 'does not see'} both shops: "
                  f"{FLEET_SHOP}, {SIM_SHOP}")
            ok &= seen
        if once:
            return 0 if ok else 1
        print("labeld demo is running; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nlabeld demo: stopped.")
    return 0 if ok else 1


def test_receipt(printer_id: str, model: Model) -> dict[str, Any]:
    """The demo's receipt: accents as a Hungarian shop prints them, a row with an amount, a QR."""
    return {"blocks": [
        {"type": "text", "text": "labeld", "align": "center", "bold": True,
         "double_width": True, "double_height": True},
        {"type": "text", "text": f"{printer_id} ({model.id})", "align": "center"},
        {"type": "separator"},
        {"type": "text", "text": "Árvíztűrő tükörfúrógép"},
        {"type": "text", "text": "ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"},
        {"type": "row", "columns": ["Őszibarack", "2 x 645", "1 290 Ft"]},
        {"type": "row", "columns": ["Összesen", "1 290 Ft"], "bold": True},
        {"type": "qr", "data": "https://example.com/labeld-demo", "module_dots": 4},
        {"type": "feed", "lines": 2},
        {"type": "cut"},
    ]}
