"""`labeld demo`: the whole road on one machine, no hardware, no config.

Every simulator that a plugin ships becomes a demo printer, driven by a model of the same
language, and gets that language's test page. The core names no printer: add a plugin with a
simulator and the demo grows by itself.
"""

from __future__ import annotations

import base64
import contextlib
import tempfile
import time
from pathlib import Path

import httpx

from labeld.config import Config, PrinterConfig, ServerConfig
from labeld.contracts import Model
from labeld.pluginmanager import default_manager
from labeld.security import Role
from labeld.server import ServerThread
from labeld.simulator import SimulatorThread


def _model_for(language: str, models: dict[str, Model]) -> Model | None:
    # The most common resolution, then the widest: a full-size label or receipt.
    candidates = [m for m in models.values() if m.language == language]
    return max(candidates, key=lambda m: (-m.dpi, m.print_width_dots, m.id), default=None)


def run_demo(listen: str = "127.0.0.1:8631", once: bool = False) -> int:
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
            printers.append(PrinterConfig(id=pid, uri=f"socket://127.0.0.1:{sim.port}", model=model.id,
                                          name=f"Simulated {model.name}"))
        config = Config(server=ServerConfig(listen=listen, spool=str(Path(tmp) / "spool.db"),
                                            log_level="warning"), printers=printers)
        server = stack.enter_context(ServerThread(config, listen=listen, plugins=plugins))
        secret, _ = server.app.state.daemon.tokens.create_sync("demo", Role.ADMIN)
        print(f"labeld demo: API at {server.url}  (interactive docs: {server.url}/docs)")
        print(f"  token (admin, for this demo only): {secret}")
        jobs: dict[str, str] = {}
        with httpx.Client(base_url=server.url, timeout=10,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            for pc in printers:
                language = languages[models[pc.model].language]
                page = language.test_page(pc.id, models[pc.model])
                resp = client.post("/v1/jobs", json={
                    "printer": pc.id,
                    "raw": {"data": base64.b64encode(page).decode(), "encoding": "base64"}})
                resp.raise_for_status()
                jobs[pc.id] = resp.json()["id"]
            deadline = time.monotonic() + 15
            states: dict[str, str] = {}
            while time.monotonic() < deadline:
                states = {pid: client.get(f"/v1/jobs/{jid}").json()["state"] for pid, jid in jobs.items()}
                if all(s in ("completed", "aborted", "canceled") for s in states.values()):
                    break
                time.sleep(0.05)
        ok = True
        for pc in printers:
            sim = sims[pc.id]
            print(f"  {pc.id:<14} {pc.model:<20} job {jobs[pc.id][:8]} {states.get(pc.id)}; "
                  f"printer at 127.0.0.1:{sim.port}, what it received: "
                  f"http://127.0.0.1:{sim.control_port}/jobs")
            ok &= states.get(pc.id) == "completed"
        if printers:
            print(f"  try: curl -H 'Authorization: Bearer {secret}' "
                  f"{server.url}/v1/printers/{printers[0].id}/status")
        if once:
            return 0 if ok else 1
        print("labeld demo is running; press Ctrl-C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nlabeld demo: stopped.")
    return 0 if ok else 1
