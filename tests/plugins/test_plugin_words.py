"""A plugin brings the words of its own reason codes (labeld_locale_dirs), and labeld shows them.

The plugin is out of tree (tests/plugins/fixtures/labeld_acme_words, a package a vendor could
pip-install): ACME's H1 printer reports `acme-hopper-empty`, a code labeld's catalogues do not
know, and the plugin's catalogue words it in English and Hungarian. It runs in a real daemon
against its simulator; the API, the job's error, the events and the self-test all read the
plugin's words, not labeld's "the printer reports a problem" fallback.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
import pytest

from labeld import i18n, reasons
from labeld.config import Config, ServerConfig
from labeld.contracts import Role
from labeld.hookspecs import hookimpl
from labeld.pluginmanager import PluginManager, default_manager
from labeld.server import ServerThread
from labeld.sim import SimulatorThread
from tests.conftest import FAST_DELIVERY, printer, wait_for

FIXTURE = Path(__file__).parent / "fixtures" / "labeld_acme_words"
LOCALE = FIXTURE / "labeld_acme_words" / "locale"

MESSAGE = {"en": "The label hopper of the ACME printer is empty",
           "hu": "Kiürült az ACME nyomtató címketára"}
HINT = {"en": "Open the hopper at the back and put a new stack of labels in, printed side up.",
        "hu": "Nyissa ki hátul a címketárat, és tegyen bele új címkéket, nyomtatott oldallal "
              "felfelé."}


@pytest.fixture
def hopper(tmp_path, monkeypatch):
    """A daemon with the plugin registered and one ACME H1 (its simulator, hopper empty);
    returns (admin client, the simulator, the daemon)."""
    monkeypatch.syspath_prepend(str(FIXTURE))
    plugins = default_manager()
    plugins.register(importlib.import_module("labeld_acme_words"), "acme-words")
    with SimulatorThread(plugins.simulators()["acme-hopper"]) as sim:
        sim.set_fault("hopper-empty")
        config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"), log_level="warning"),
                        delivery=FAST_DELIVERY, printers=[printer("hopper", sim, "acme-h1")])
        with ServerThread(config, plugins=plugins) as server:
            daemon = server.app.state.daemon
            secret, _ = daemon.token_store.create_sync("admin", Role.ADMIN)
            with httpx.Client(base_url=server.url, timeout=10,
                              headers={"Authorization": f"Bearer {secret}"}) as client:
                yield client, sim, daemon


def test_the_printer_api_shows_the_plugins_reason_in_its_words(hopper):
    client, _, _ = hopper
    [reason] = client.get("/v1/printers/hopper/status").json()["reasons"]
    assert reason == {"keyword": "media-empty", "code": "acme-hopper-empty", "severity": "error",
                      "message": MESSAGE, "hint": HINT}
    listed = client.get("/v1/printers/hopper").json()
    assert listed["state"] == "stopped" and listed["state_reasons"] == [reason]


def test_a_job_held_on_the_plugins_fault_and_its_event_use_the_plugins_words(hopper):
    client, sim, _ = hopper
    jid = client.post("/v1/jobs", json={"printer": "hopper", "raw": {"data": "label"}}).json()["id"]
    job = wait_for(lambda: (j := client.get(f"/v1/jobs/{jid}").json())["state"] == "held" and j)
    assert job["error"] == {"code": "acme-hopper-empty", "message": MESSAGE["en"],
                            "hint": HINT["en"], "message_i18n": MESSAGE, "hint_i18n": HINT}
    events = client.get("/v1/printers/hopper/events").json()["events"]
    status = next(e for e in events if e["kind"] == "printer-status"
                  and e["code"] == "acme-hopper-empty")
    assert status["data"]["reasons"][0]["message"] == MESSAGE
    sim.clear_fault("hopper-empty")  # the job prints once the hopper is filled
    wait_for(lambda: client.get(f"/v1/jobs/{jid}").json()["state"] == "completed")


def test_the_selftest_words_the_plugins_reason(hopper):
    client, _, _ = hopper
    checks = client.post("/v1/printers/hopper/selftest", timeout=60).json()["checks"]
    status = next(c for c in checks if c["name"] == "status")
    assert (status["status"], status["detail"], status["hint"]) == \
        ("fail", MESSAGE["en"], HINT["en"])
    assert status["data"]["reasons"][0]["message"] == MESSAGE


def test_the_daemon_words_with_labeld_and_the_plugins_catalogues(hopper):
    _, _, daemon = hopper
    plugin_reason = importlib.import_module("labeld_acme_words").HOPPER_EMPTY
    assert reasons.describe(plugin_reason, daemon.catalogues)["hint"] == HINT
    assert "acme-hopper-empty" in reasons.codes(daemon.catalogues)
    # Without the plugin's catalogue the code has only the fallback words...
    assert reasons.describe(plugin_reason)["message"]["en"] == \
        "The printer reports a problem (acme-hopper-empty)"
    # ...and with it labeld's own words stay labeld's.
    assert (reasons.describe(reasons.NO_STATUS_REPLY, daemon.catalogues)
            == reasons.describe(reasons.NO_STATUS_REPLY))


def test_locale_dirs_are_collected_per_plugin_and_failures_reported(tmp_path):
    class Words:
        @hookimpl
        def labeld_locale_dirs(self):
            return [LOCALE]

    class Raising:
        @hookimpl
        def labeld_locale_dirs(self):
            raise RuntimeError("no words today")

    class Unpackaged:  # its catalogues were left out of the wheel
        @hookimpl
        def labeld_locale_dirs(self):
            return [tmp_path / "missing" / "locale"]

    pm = PluginManager()
    for plugin, name in ((Raising(), "raising"), (Unpackaged(), "unpackaged"), (Words(), "words")):
        pm.register(plugin, name)
    assert pm.locale_dirs() == [LOCALE]
    errors = {i.name: i.errors for i in pm.infos()}
    assert errors["words"] == []
    assert "no words today" in errors["raising"][0]
    assert "is not a directory" in errors["unpackaged"][0]
    merged = i18n.CORE.with_dirs(pm.locale_dirs())
    assert merged.translator("hu").gettext("reason.acme-hopper-empty.message") == MESSAGE["hu"]
