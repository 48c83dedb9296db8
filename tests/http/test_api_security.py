"""Who may do what, from where: tokens, browser attacks, injection, limits (every route x every
role is tests/http/test_role_matrix.py). All against a real server on a real socket."""

import subprocess
import sys

import httpx
import pytest

from labeld import config as cfg
from labeld.errors import ConfigError
from tests.conftest import (FAST_DELIVERY, PATIENT_DELIVERY, printer, shop_of_every_role,
                            token)

ZPL = "^XA^FO20,20^A0N,30,30^FDok^FS^XZ"


@pytest.fixture(scope="module")
def env(tmp_path_factory, plugins):
    """One daemon for the module (tests/conftest.py): admin client, tokens, a job, the Zebra."""
    with shop_of_every_role(tmp_path_factory.mktemp("sec"), plugins) as shop:
        yield shop


def test_a_wrong_or_revoked_token_is_refused(env):
    admin, *_ = env
    url = str(admin.base_url) + "/v1/jobs"
    bad = httpx.get(url, headers={"Authorization": "Bearer lbd_not-a-real-token"})
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "token-invalid"
    made = admin.post("/v1/tokens", json={"name": "till-9", "role": "pos"}).json()
    assert httpx.get(url, headers={"Authorization": f"Bearer {made['token']}"}).status_code == 200
    admin.delete("/v1/tokens/till-9")
    gone = httpx.get(url, headers={"Authorization": f"Bearer {made['token']}"})
    assert gone.status_code == 401
    assert "token" not in admin.get("/v1/tokens").json()["tokens"][0]  # secrets never listed


def test_health_is_open(env):
    admin, *_ = env
    assert httpx.get(str(admin.base_url) + "/healthz").json() == {"status": "ok"}


# -- 401 before anything else: who is asking comes before what is asked ----------------------

def _post_jobs(env, content: bytes, content_type: str = "application/json",
               token: str | None = None) -> httpx.Response:
    admin, *_ = env
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(str(admin.base_url) + "/v1/jobs", content=content, headers=headers,
                      timeout=30)


def test_no_token_and_a_malformed_body_is_401_not_422(env):
    resp = _post_jobs(env, b'{"printer": "shelf", "raw": {"data": ')
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token-required"
    assert resp.headers["www-authenticate"].startswith("Bearer")


def test_no_token_and_a_huge_body_is_401_not_413(env):
    big = b'{"printer": "shelf", "raw": {"data": "' + b"x" * (18 * 1024 * 1024) + b'"}}'
    resp = _post_jobs(env, big)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token-required"


def test_no_token_and_a_body_that_is_not_json_is_401_not_415(env):
    resp = _post_jobs(env, b"printer=shelf&raw=%5EXA", "application/x-www-form-urlencoded")
    assert resp.status_code == 401


def test_a_wrong_token_and_a_malformed_body_is_401(env):
    resp = _post_jobs(env, b"{not json", token="lbd_not-a-real-token")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "token-invalid"


def test_too_low_a_role_and_a_malformed_body_is_403_not_422(env):
    admin, tokens, *_ = env
    resp = httpx.post(str(admin.base_url) + "/v1/tokens", content=b'{"name": ',
                      headers={"Content-Type": "application/json",
                               "Authorization": f"Bearer {tokens['pos']}"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "insufficient-role"


def test_a_path_that_does_not_exist_needs_a_token_too(env):
    admin, tokens, *_ = env
    url = str(admin.base_url) + "/v1/nothing-here"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {tokens['pos']}"}).status_code == 404


def test_the_api_description_is_open_and_holds_nothing_of_this_shop(env):
    # README, Security: the description is the same for every labeld of a version; open, so
    # that /docs works in a browser. It must not carry this installation's printers or tokens.
    admin, tokens, *_ = env
    base = str(admin.base_url)
    spec = httpx.get(base + "/openapi.json")
    assert spec.status_code == 200 and "/v1/jobs" in spec.json()["paths"]
    for secret in ("shelf", "127.0.0.1", *tokens.values()):
        assert secret not in spec.text
    for page in ("/docs", "/redoc"):
        assert httpx.get(base + page).status_code == 200
    # ...while every operation it describes still needs its token.
    assert httpx.get(base + "/v1/printers").status_code == 401


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil", "127.0.0.1.evil.example",
                                  "printer.shop.lan"])
def test_a_foreign_host_header_is_refused_against_dns_rebinding(env, host):
    admin, *_ = env
    resp = admin.get("/v1/printers", headers={"Host": host})
    assert resp.status_code == 421 and resp.json()["error"]["code"] == "host-not-allowed"


def test_loopback_host_headers_are_accepted(env):
    admin, *_ = env
    port = admin.base_url.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "localhost"):
        assert admin.get("/v1/printers", headers={"Host": host}).status_code == 200, host


def test_an_evil_origin_is_refused_and_gets_no_cors(env):
    admin, *_ = env
    resp = admin.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": ZPL}},
                      headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "origin-not-allowed"
    assert "access-control-allow-origin" not in resp.headers
    pre = admin.options("/v1/jobs", headers={"Origin": "https://evil.example",
                                             "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403


def test_a_configured_pos_origin_gets_cors_and_private_network_access(daemon, simulator):
    from labeld.config import SecurityConfig

    zebra = simulator("zpl")
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    # A second daemon with an allowed origin, built the way an operator configures it.
    config = cfg.Config(server=cfg.ServerConfig(spool=str(client.server.app.state.daemon.db.path)
                                                .replace("spool.db", "s2.db")),
                        security=SecurityConfig(allowed_origins=["https://pos.example"]),
                        printers=[printer("shelf", zebra, "zebra-generic-203")])
    from labeld.server import ServerThread
    with ServerThread(config) as server:
        pre = httpx.options(server.url + "/v1/jobs", headers={
            "Origin": "https://pos.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
            "Access-Control-Request-Private-Network": "true"})
        assert pre.status_code in (200, 204)
        assert pre.headers["access-control-allow-origin"] == "https://pos.example"
        assert pre.headers["access-control-allow-private-network"] == "true"


@pytest.mark.parametrize("content_type, body", [
    ("text/plain", '{"printer": "shelf", "raw": {"data": "^XA^XZ"}}'),
    ("application/x-www-form-urlencoded", "printer=shelf&raw=%5EXA%5EXZ"),
    ("multipart/form-data; boundary=x",
     "--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--"),
])
def test_state_changes_need_a_json_content_type_against_csrf(env, content_type, body):
    admin, *_ = env
    before = len(admin.get("/v1/jobs").json()["jobs"])
    resp = admin.post("/v1/jobs", content=body, headers={"Content-Type": content_type})
    assert resp.status_code == 415
    assert resp.json()["error"]["code"] == "unsupported-media-type"
    assert len(admin.get("/v1/jobs").json()["jobs"]) == before


INJECTIONS = [
    ("^XA^FDprice 100^FS^XZ^XA^JUF^XZ", "^JU"),
    ("~JR", "~JR"),
    ("^XA^CC+^XZ", "^CC"),
    ('! U1 setvar "ip.addr" "10.0.0.66"\r\n', "setvar"),
    ("^XA^NS,a,10.0.0.66^XZ", "^NS"),
    ("^XA^IDR:*.*^XZ", "^ID"),
]


@pytest.mark.parametrize("data, command", INJECTIONS)
def test_a_pos_token_cannot_send_printer_configuration_commands(env, data, command):
    admin, tokens, _, zebra = env
    before = len(zebra.jobs())
    resp = httpx.post(str(admin.base_url) + "/v1/jobs",
                      json={"printer": "shelf", "raw": {"data": data}},
                      headers={"Authorization": f"Bearer {tokens['pos']}"})
    assert resp.status_code == 403, resp.text
    err = resp.json()["error"]
    assert err["code"] == "forbidden-command" and command.lower() in err["message"].lower()
    assert len(zebra.jobs()) == before


# The report's attacks, verbatim: each puts `! U1 setvar|do "device.reset" ""` or
# `{}{"device.reset":""}` on the wire when its copies are joined.
COPIES_ATTACKS = [
    ('var "device.reset" ""\r\n! U1 set', 'SGD setvar "device.reset"'),
    ('o "device.reset" ""\r\n! U1 d', 'SGD do "device.reset"'),
    ('{"device.reset":""}{}', 'JSON SGD "device.reset"'),
]


@pytest.mark.parametrize("data, command", COPIES_ATTACKS)
def test_a_command_split_across_copies_is_refused_as_the_command_it_makes(env, data, command):
    admin, tokens, _, zebra = env
    before = len(zebra.jobs())
    resp = httpx.post(str(admin.base_url) + "/v1/jobs",
                      json={"printer": "shelf", "copies": 2, "raw": {"data": data}},
                      headers={"Authorization": f"Bearer {tokens['pos']}"})
    assert resp.status_code == 403, resp.text
    err = resp.json()["error"]
    # Named as the whole command, found in the copies joined as the printer receives them.
    assert err["code"] == "forbidden-command" and command in err["message"]
    assert "two copies" in err["message"]
    assert len(zebra.jobs()) == before


def test_a_command_split_across_two_consecutive_jobs_never_reaches_the_printer(daemon,
                                                                                simulator):
    zebra = simulator("zpl")
    admin = daemon([printer("shelf", zebra, "zebra-generic-203")], delivery=FAST_DELIVERY)
    pos = {"Authorization": f"Bearer {token(admin, 'pos')}"}
    first, second = '^XA^FDok^FS^XZ\r\n! U1 set', 'var "device.reset" ""\r\n'
    assert '! U1 setvar "device.reset" ""' in first + second  # the printer reads one stream

    one = admin.post("/v1/jobs", headers=pos, json={"printer": "shelf", "raw": {"data": first}})
    two = admin.post("/v1/jobs", headers=pos, json={"printer": "shelf", "raw": {"data": second}})

    assert one.status_code == 403, one.text
    err = one.json()["error"]
    assert err["code"] == "incomplete-command" and "! U1 set" in err["message"]
    assert "CR LF" in err["hint"]
    assert two.status_code == 202, two.text  # alone, the second half is no command
    wire = b"".join(j.data for j in zebra.wait_jobs(1, timeout=10))
    assert b'var "device.reset"' in wire  # the second job reached the printer...
    assert b"setvar" not in wire.lower() and b"! U1 set" not in wire  # ...the first never did
    assert [j["id"] for j in admin.get("/v1/jobs").json()["jobs"]] == [two.json()["id"]]


def test_an_admin_may_send_configuration_commands_raw(env):
    admin, *_ = env
    resp = admin.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": "^XA^JUS^XZ"}})
    assert resp.status_code == 202


def test_a_full_printer_queue_answers_503_and_drops_nothing(daemon, simulator):
    zebra = simulator("zpl")
    zebra.set_fault("offline")
    client = daemon([printer("shelf", zebra, "zebra-generic-203", max_queue=3)],
                    delivery=PATIENT_DELIVERY)
    codes = [client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": f"^XA^FD{i}^XZ"}})
             .status_code for i in range(5)]
    assert codes == [202, 202, 202, 503, 503]
    assert len(client.get("/v1/jobs").json()["jobs"]) == 3


def test_an_oversized_body_is_413(env):
    admin, *_ = env
    big = "x" * (18 * 1024 * 1024)
    resp = admin.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": big}})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "too-large"


def test_a_token_over_its_rate_gets_429_with_retry_after(daemon, simulator):
    from labeld.config import SecurityConfig
    from labeld.server import ServerThread

    zebra = simulator("zpl")
    first = daemon([printer("shelf", zebra, "zebra-generic-203")])
    config = cfg.Config(server=cfg.ServerConfig(spool=str(first.server.app.state.daemon.db.path)),
                        security=SecurityConfig(rate_per_second=1, burst=3),
                        printers=[printer("shelf", zebra, "zebra-generic-203")])
    first.server.stop()
    with ServerThread(config) as server:
        secret, _ = server.app.state.daemon.token_store.create_sync("limited", _role("pos"))
        codes = [httpx.get(server.url + "/v1/jobs", headers={"Authorization": f"Bearer {secret}"})
                 for _ in range(6)]
    assert [c.status_code for c in codes[:3]] == [200, 200, 200]
    limited = [c for c in codes if c.status_code == 429]
    assert limited and int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate-limited"


def _role(name):
    from labeld.security import Role
    return Role(name)


def test_tech_and_admin_actions_are_audited(env):
    admin, tokens, _, _ = env
    tech = {"Authorization": f"Bearer {tokens['tech']}"}
    httpx.post(str(admin.base_url) + "/v1/printers/shelf/pause", headers=tech)
    httpx.get(str(admin.base_url) + "/v1/audit", headers=tech)
    admin.post("/v1/printers/shelf/resume")
    entries = admin.get("/v1/audit").json()["entries"]
    pause = next(e for e in entries if e["path"].endswith("/pause"))
    assert pause["role"] == "tech" and pause["status"] == 200 and pause["method"] == "POST"
    refused = next(e for e in entries if e["path"] == "/v1/audit" and e["status"] == 403)
    assert refused["role"] == "tech"


def test_listening_beyond_loopback_needs_tls_or_an_explicit_insecure_flag():
    c = cfg.from_dict({"server": {"listen": "0.0.0.0:8631"}})
    with pytest.raises(ConfigError) as err:
        cfg.check_listen(c)
    assert err.value.code == "insecure-listen"
    ok = cfg.from_dict({"server": {"listen": "0.0.0.0:8631"},
                        "security": {"allow_insecure_remote": True}})
    assert cfg.check_listen(ok) == ("0.0.0.0", 8631)
    assert cfg.check_listen(cfg.from_dict({}), "127.0.0.1:9") == ("127.0.0.1", 9)
    with pytest.raises(ConfigError):
        cfg.from_dict({"security": {"tls_cert": "/etc/labeld/cert.pem"}})


def test_token_cli_creates_lists_and_revokes(tmp_path):
    f = tmp_path / "labeld.toml"
    f.write_text(f'[server]\nspool = "{tmp_path / "spool.db"}"\n')

    def run(*args):
        return subprocess.run([sys.executable, "-m", "labeld", "token", *args, "--config", str(f)],
                              capture_output=True, text=True, timeout=60)

    made = run("create", "--name", "support-anna", "--role", "tech")
    assert made.returncode == 0 and made.stdout.strip().startswith("lbd_")
    assert "shown only this once" in made.stderr
    listed = run("list")
    assert "support-anna" in listed.stdout and "tech" in listed.stdout
    assert made.stdout.strip() not in listed.stdout
    assert run("revoke", "support-anna").returncode == 0
    assert "support-anna" not in run("list").stdout
    assert run("revoke", "support-anna").returncode == 2
