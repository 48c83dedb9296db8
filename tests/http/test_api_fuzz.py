"""Schemathesis drives every operation in /openapi.json with generated input and a valid admin
token: whatever it sends, labeld answers with a 2xx or a 4xx, never a 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from labeld.http.app import create_app
from labeld.config import Config, PrinterConfig, SecurityConfig, ServerConfig
from labeld.security import Role
from labeld.server import ServerThread
from labeld.sim import SimulatorThread

# The document a running daemon serves; built here so schemathesis can collect its cases.
SPEC = create_app(Config(printers=[PrinterConfig(id="shelf", uri="socket://127.0.0.1:9",
                                                 model="zebra-generic-203")])).openapi()
schema = schemathesis.openapi.from_dict(SPEC).exclude(path="/v1/events")  # an endless stream


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory, plugins):
    with SimulatorThread(plugins.simulators()["zpl"]) as zebra:
        config = Config(
            server=ServerConfig(spool=str(tmp_path_factory.mktemp("fuzz") / "spool.db"),
                                log_level="error"),
            security=SecurityConfig(rate_per_second=10_000, burst=10_000),
            printers=[PrinterConfig(id="shelf", uri=f"socket://127.0.0.1:{zebra.port}",
                                    model="zebra-generic-203")])
        with ServerThread(config, plugins=plugins) as server:
            secret, _ = server.app.state.daemon.token_store.create_sync("fuzz", Role.ADMIN)
            yield server.url, secret


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail(case, fuzz_server):
    url, secret = fuzz_server
    response = case.call(base_url=url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        assert "error" in response.json(), response.text[:200]
