"""Who may call what: every route of the OpenAPI document against every role, through the real
server on a real socket. The table reads like README's roles table ("Security"): a route whose
role changes, a route added or one gone, and this file fails until the table (and the README)
says so too."""

from __future__ import annotations

import typing

import httpx
import pytest

from labeld.contracts import Role
from labeld.http import schemas
from tests.conftest import ROLES, shop_of_every_role

ZPL = "^XA^FO20,20^A0N,30,30^FDok^FS^XZ"

# yes: the role may call it (the answer is anything but 401/403); no: 403 insufficient-role;
# own: only for the caller's own jobs (here another token's job: 403 not-your-job);
# open: no token needed at all. {job} is a finished job of another token.
MATRIX = """
route                                    pos    staff  tech   admin
GET    /healthz                          open   open   open   open
GET    /v1/printers                      yes    yes    yes    yes
GET    /v1/printers/shelf                yes    yes    yes    yes
GET    /v1/printers/shelf/status         no     yes    yes    yes
GET    /v1/printers/shelf/events         no     yes    yes    yes
POST   /v1/printers/shelf/selftest       no     yes    yes    yes
GET    /v1/printers/shelf/guides         no     yes    yes    yes
GET    /v1/printers/shelf/guides/paper-out                     no     yes    yes    yes
GET    /v1/printers/shelf/guides/paper-out/drawing.svg         no     yes    yes    yes
POST   /v1/printers/shelf/guides/paper-out/check               no     yes    yes    yes
GET    /v1/printers/shelf/actions        no     yes    yes    yes
POST   /v1/printers/shelf/actions/feed   no     yes    yes    yes
POST   /v1/printers/shelf/pause          no     no     yes    yes
POST   /v1/printers/shelf/resume         no     no     yes    yes
GET    /v1/events                        yes    yes    yes    yes
POST   /v1/jobs                          yes    yes    yes    yes
GET    /v1/jobs                          yes    yes    yes    yes
GET    /v1/jobs/{job}                    yes    yes    yes    yes
GET    /v1/jobs/{job}/preview.png        yes    yes    yes    yes
POST   /v1/preview                       yes    yes    yes    yes
DELETE /v1/jobs/{job}                    own    yes    yes    yes
POST   /v1/jobs/{job}/release            no     yes    yes    yes
POST   /v1/jobs/{job}/retry              no     no     yes    yes
POST   /v1/jobs/{job}/reprint            no     no     yes    yes
GET    /v1/report                        no     no     yes    yes
GET    /v1/support-bundle                no     no     yes    yes
GET    /v1/discover                      no     no     yes    yes
GET    /v1/plugins                       no     no     yes    yes
GET    /metrics                          no     no     yes    yes
GET    /v1/policy/zpl                    yes    yes    yes    yes
GET    /v1/templates                     yes    yes    yes    yes
GET    /v1/templates/tag                 yes    yes    yes    yes
PUT    /v1/templates/tag                 no     no     no     yes
DELETE /v1/templates/tag                 no     no     no     yes
GET    /v1/tokens                        no     no     no     yes
POST   /v1/tokens                        no     no     no     yes
DELETE /v1/tokens/nobody                 no     no     no     yes
GET    /v1/audit                         no     no     no     yes
"""

BODIES = {
    ("POST", "/v1/jobs"): {"printer": "shelf", "raw": {"data": ZPL}},
    ("POST", "/v1/preview"): {"printer": "shelf", "label": {"width_mm": 20, "height_mm": 10,
                                                            "elements": []}},
    ("PUT", "/v1/templates/tag"): {"width_mm": 20, "height_mm": 10, "elements": []},
    ("POST", "/v1/tokens"): {"name": "new-one", "role": "pos"},
}


def _rows() -> list[tuple[str, str, str, str]]:
    lines = [line.split() for line in MATRIX.strip().splitlines()[1:]]
    return [(method, path, role, verdict) for method, path, *verdicts in lines
            for role, verdict in zip(ROLES, verdicts, strict=True)]


CASES = _rows()


@pytest.fixture(scope="module")
def shop(tmp_path_factory, plugins):
    """One daemon for the whole table (tests/conftest.py)."""
    with shop_of_every_role(tmp_path_factory.mktemp("roles"), plugins) as shop:
        yield shop


def test_the_table_covers_every_route_of_the_api_document(shop):
    admin, *_ = shop
    routes = {(m.upper(), p) for p, ms in admin.get("/openapi.json").json()["paths"].items()
              for m in ms}
    listed = {(m, p.replace("shelf", "{printer_id}").replace("{job}", "{job_id}")
               .replace("nobody", "{name}").replace("/zpl", "/{language}")
               .replace("/tag", "/{name}").replace("/paper-out", "/{code}")
               .replace("/actions/feed", "/actions/{action_id}"))
              for m, p, _, _ in CASES}
    assert routes == listed


def test_the_table_names_every_role_and_the_api_spells_them_alike():
    assert tuple(r.value for r in sorted(Role)) == ROLES
    assert typing.get_args(schemas.RoleName) == ROLES


@pytest.mark.parametrize("method, path, role, verdict", CASES,
                         ids=[f"{m} {p} as {r}" for m, p, r, _ in CASES])
def test_each_role_gets_what_the_table_says(shop, method, path, role, verdict):
    admin, tokens, job, _ = shop
    url = str(admin.base_url) + path.replace("{job}", job)
    with httpx.stream(method, url, json=BODIES.get((method, path)), timeout=60,
                      headers={"Authorization": f"Bearer {tokens[role]}"}) as resp:
        status = resp.status_code
        body = resp.read() if status == 403 else b""  # the event stream never ends
    if verdict in ("yes", "open"):
        assert status not in (401, 403), body
    elif verdict == "own":
        assert status == 403 and b"not-your-job" in body
    else:
        assert status == 403 and b"insufficient-role" in body, status
    if verdict == "open":
        assert httpx.request(method, url, timeout=10).status_code == 200
    elif verdict != "open" and role == "admin":
        # Everything else needs a token: none at all is 401, whatever the role would be.
        with httpx.stream(method, url, json=BODIES.get((method, path)), timeout=60) as bare:
            assert bare.status_code == 401
