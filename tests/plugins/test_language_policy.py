"""A language plugin brings its own raw-command policy, and labeld enforces and serves it.

The plugin is out of tree (tests/plugins/fixtures/labeld_acme_lang, a package a vendor could
pip-install): a made-up language "acme" whose `!WIPE` command needs an admin token. It is
registered through the plugin manager and runs in a real daemon; labeld's core knows nothing of
it.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest

from labeld.config import Config, PrinterConfig, ServerConfig
from labeld.pluginmanager import default_manager
from labeld.security import Role
from labeld.server import ServerThread
from tests.conftest import FAST_DELIVERY, wait_for

FIXTURE = Path(__file__).parent / "fixtures" / "labeld_acme_lang"


@pytest.fixture
def acme(tmp_path, monkeypatch):
    """A daemon with the plugin registered and one ACME printer writing its jobs to a file;
    returns (admin client, pos client, the file)."""
    monkeypatch.syspath_prepend(str(FIXTURE))
    plugins = default_manager()
    plugins.register(importlib.import_module("labeld_acme_lang"), "acme-lang")
    out = tmp_path / "acme.prn"
    config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"), log_level="warning"),
                    delivery=FAST_DELIVERY,
                    printers=[PrinterConfig(id="acme", uri=f"file://{out}", model="acme-x1")])
    with ServerThread(config, plugins=plugins) as server:
        daemon = server.app.state.daemon
        clients = [httpx.Client(base_url=server.url, timeout=10, headers={
            "Authorization": f"Bearer {daemon.token_store.create_sync(role.value, role)[0]}"})
            for role in (Role.ADMIN, Role.POS)]
        yield clients[0], clients[1], out
        for c in clients:
            c.close()


def test_the_plugins_policy_is_enforced_on_raw_jobs(acme):
    admin, pos, out = acme
    wipe = {"printer": "acme", "raw": {"data": "!PRINT hello\n!WIPE\n"}}

    refused = pos.post("/v1/jobs", json=wipe)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "forbidden-command"
    assert "!WIPE" in error["message"] and "admin" in error["message"]

    # An ordinary job passes for pos, and a job ending in the start of !WIPE for nobody.
    assert pos.post("/v1/jobs", json={"printer": "acme",
                                      "raw": {"data": "!PRINT hello\n"}}).status_code == 202
    cut = admin.post("/v1/jobs", json={"printer": "acme", "raw": {"data": "!PRINT a\n!WI"}})
    assert cut.status_code == 403 and cut.json()["error"]["code"] == "incomplete-command"
    assert cut.json()["error"]["hint"] == "End the job with a whole command line."

    accepted = admin.post("/v1/jobs", json=wipe)
    assert accepted.status_code == 202
    # ...and reaches the printer (a file here, which cannot confirm the job: it stays sent).
    wait_for(lambda: out.exists() and out.read_bytes().endswith(b"!PRINT hello\n!WIPE\n"))


def test_the_plugins_policy_is_served(acme):
    _, pos, _ = acme
    body = pos.get("/v1/policy/acme").json()
    assert body == {"language": "acme", "rules": [
        {"command": "!WIPE", "why": "erases every label format stored in the printer",
         "min_role": "admin"}]}
    assert pos.get("/v1/policy/zpl").json()["rules"]  # the built-in ones are still there
