"""Plugins: built-ins load through entry points, a third-party plugin installs from a folder and
shows up, and a broken one is reported without stopping the others."""

import subprocess
import sys
from pathlib import Path

import pytest

from labeld.contracts import Model
from labeld.hookspecs import hookimpl
from labeld.pluginmanager import PluginManager
from tests.conftest import DaemonProcess

FIXTURE = Path(__file__).parent / "fixtures" / "labeld_acme"


def test_built_in_drivers_and_models_arrive_through_entry_points(plugins):
    assert {"socket"} <= set(plugins.transports())
    assert {"zpl", "escpos"} <= set(plugins.languages())
    models = plugins.models()
    assert models["zebra-generic-203"].language == "zpl"
    assert models["escpos-generic-80"].print_width_dots == 576
    assert models["tsc-generic-203"].language == "tspl"
    assert "tspl" in plugins.languages()
    assert {"zpl", "escpos"} <= set(plugins.simulators())
    for info in plugins.infos():
        assert info.errors == [], info
        assert info.version  # every built-in reports the labeld distribution's version


def test_get_plugins_lists_versions_hooks_and_models(daemon):
    body = daemon([]).get("/v1/plugins").json()
    by_name = {p["name"]: p for p in body["plugins"]}
    assert by_name["zebra"]["hooks"] == ["labeld_guides", "labeld_maintenance_actions",
                                         "labeld_models",
                                         "labeld_selftest_checks"]
    assert by_name["templates-builtin"]["hooks"] == ["labeld_templates"]
    assert set(by_name["zpl"]["hooks"]) == {"labeld_languages", "labeld_simulators"}
    assert by_name["socket"]["version"]
    models = {m["id"]: m for m in body["models"]}
    assert models["zebra-generic-203"]["language"] == "zpl"
    assert models["zebra-generic-203"]["plugin"] == "zebra"
    assert models["escpos-generic-80"]["language"] == "escpos"


def test_a_raising_hook_is_reported_and_the_other_plugins_still_answer():
    class Exploding:
        @hookimpl
        def labeld_models(self):
            raise RuntimeError("boom")

    class Fine:
        @hookimpl
        def labeld_models(self):
            return [Model(id="fine-1", name="Fine", language="zpl", dpi=203, print_width_dots=832)]

    pm = PluginManager()
    pm.register(Exploding(), "exploding")
    pm.register(Fine(), "fine")
    assert list(pm.models()) == ["fine-1"]
    errors = {i.name: i.errors for i in pm.infos()}
    assert errors["fine"] == [] and "boom" in errors["exploding"][0]


def test_a_duplicate_model_id_is_reported_on_the_later_plugin():
    def plugin(model_id):
        class P:
            @hookimpl
            def labeld_models(self):
                return [Model(id=model_id, name=model_id, language="zpl", dpi=203,
                              print_width_dots=8)]
        return P()

    pm = PluginManager()
    pm.register(plugin("same"), "first")
    pm.register(plugin("same"), "second")
    assert list(pm.models()) == ["same"]
    second = {i.name: i for i in pm.infos()}["second"]
    assert "already provided by plugin 'first'" in second.errors[0]


def test_a_misspelt_hook_fails_at_registration():
    class Typo:
        @hookimpl
        def labeld_modles(self):
            return []

    with pytest.raises(Exception, match="labeld_modles"):
        PluginManager().register(Typo(), "typo")


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory):
    """pip-install the out-of-tree plugin into its own folder, as a vendor would ship it."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(FIXTURE)],
                   check=True, capture_output=True, timeout=300)
    return target


def test_an_out_of_tree_plugin_installed_from_a_folder_appears_in_get_plugins(tmp_path, acme_site):
    cfg = tmp_path / "labeld.toml"
    cfg.write_text(f'[server]\nspool = "{tmp_path / "s.db"}"\n\n'
                   '[[printers]]\nid = "acme"\nuri = "socket://127.0.0.1:9"\n'
                   'model = "acme-lp100"\n')
    d = DaemonProcess(cfg, env={"PYTHONPATH": str(acme_site)})
    try:
        body = d.client.get("/v1/plugins").json()
        printers = d.client.get("/v1/printers").json()["printers"]
    finally:
        d.stop()
    by_name = {p["name"]: p for p in body["plugins"]}
    assert by_name["acme"]["version"] == "1.2.3"
    assert by_name["acme"]["distribution"] == "labeld-acme"
    assert by_name["acme"]["hooks"] == ["labeld_models"] and by_name["acme"]["ok"]
    assert {"id": "acme-lp100", "language": "zpl", "plugin": "acme"}.items() <= \
        {m["id"]: m for m in body["models"]}["acme-lp100"].items()
    # The broken entry point of the same package is reported, and did not stop anything.
    broken = by_name["acme-broken"]
    assert not broken["ok"] and "labeld_acme_missing_dependency" in broken["errors"][0]
    assert by_name["zebra"]["ok"]
    assert printers[0]["model"] == "acme-lp100"
