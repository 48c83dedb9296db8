"""A bug in a printer's delivery worker is logged, shown on the printer and survived.

The bug comes from where bugs really come from: a third-party language plugin, registered
through the plugin manager like any other, whose label-counter decoder raises once.
"""

from __future__ import annotations

import logging

import httpx

from labeld.config import Config, ServerConfig
from labeld.contracts import Model
from labeld.drivers.zpl.language import ZplLanguage
from labeld.hookspecs import hookimpl
from labeld.pluginmanager import default_manager
from labeld.security import Role
from labeld.server import ServerThread

from tests.conftest import FAST_DELIVERY, printer, wait_for, wait_job

ZPL = "^XA^FO20,20^A0N,30,30^FDsupervised^FS^XZ"


class BuggyZpl(ZplLanguage):
    """ZPL whose counter decoder fails the first time it is used, as a plugin bug would."""

    name = "zpl-buggy"

    def __init__(self) -> None:
        super().__init__()
        self.failures_left = 1

    def decode_counter(self, reply: bytes) -> int | None:
        if self.failures_left:
            self.failures_left -= 1
            raise KeyError("odometer")
        return super().decode_counter(reply)


class BuggyPlugin:
    @hookimpl
    def labeld_languages(self):
        return [BuggyZpl()]

    @hookimpl
    def labeld_models(self):
        return [Model(id="buggy-zebra", name="Zebra with a buggy plugin", language="zpl-buggy",
                      dpi=203, print_width_dots=832)]


def test_a_worker_that_hits_a_bug_is_restarted_and_says_so(tmp_path, simulator, caplog):
    sim = simulator("zpl")
    plugins = default_manager()
    plugins.register(BuggyPlugin(), "buggy")
    config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"), log_level="warning"),
                    delivery=FAST_DELIVERY, printers=[printer("shelf", sim, "buggy-zebra")])
    caplog.set_level(logging.ERROR, logger="labeld.delivery.scheduler")
    with ServerThread(config, plugins=plugins) as server:
        secret, _ = server.app.state.daemon.token_store.create_sync("admin", Role.ADMIN)
        client = httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {secret}"})
        jid = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": ZPL}}).json()["id"]

        # While it restarts, the printer shows why its queue does not move.
        shown = wait_for(lambda: (p := client.get("/v1/printers/shelf").json())
                         and "internal-error" in [r["code"] for r in p["state_reasons"]] and p)
        assert shown["state"] == "stopped"
        reason = next(r for r in shown["state_reasons"] if r["code"] == "internal-error")
        assert reason["message"]["hu"] and reason["hint"]["en"]
        assert client.get("/v1/printers/shelf/status").status_code == 200

        # Then it prints the job once, and the reason is gone.
        assert wait_job(client, jid, timeout=15)["state"] == "completed"
        assert [j.data for j in sim.wait_jobs(1)] == [ZPL.encode()]
        wait_for(lambda: "internal-error" not in
                 [r["code"] for r in client.get("/v1/printers/shelf").json()["state_reasons"]])
        events = client.get("/v1/printers/shelf/events").json()["events"]
        assert any(e["code"] == "internal-error" and "KeyError" in e["message"] for e in events)
        client.close()
    failed = [r for r in caplog.records if "delivery worker failed" in r.getMessage()]
    assert failed and failed[0].exc_info is not None  # the traceback is in the log
