"""The console's fleet page (/ui/fleet): a desk's labeld with [desk] configured keeps a fleet
view of the real broker; a technician sees every shop and printer, failing first, live, and
runs a shop's self-test from the page. Real Mosquitto, simulated shops, real Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from labeld.config import Config, DeskConfig, ServerConfig
from labeld.security import Role
from labeld.server import ServerThread
from tests.console.test_console_browser import browser, page, shot  # noqa: F401 - fixtures
from tests.fleet.broker import broker  # noqa: F401 - the fixture
from tests.fleet.fleetkit import USERS, ShopsThread, fleet_broker

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


@pytest.fixture
def desk(broker, tmp_path, plugins) -> Iterator[object]:  # noqa: F811 - the fixture's name
    """A desk's labeld (no printers of its own) whose [desk] reads the test broker as anna, a
    technician; two simulated shops, bp-12 (Buda) and deb-3 (Debrecen)."""
    b = fleet_broker(broker)
    shops = ShopsThread()
    shops.open(b, "bp-12", name="Buda")
    shops.open(b, "deb-3", name="Debrecen")
    (tmp_path / "anna.pass").write_text(USERS["anna"])
    config = Config(server=ServerConfig(spool=str(tmp_path / "spool.db"), log_level="warning"),
                    desk=DeskConfig(broker=f"mqtts://127.0.0.1:{b.tls_port}", username="anna",
                                    password_file=str(tmp_path / "anna.pass"),
                                    ca_file=str(b.ca_file)))
    server = ServerThread(config, plugins=plugins).start()
    store = server.app.state.daemon.token_store
    shops.url = server.url
    shops.tokens = {role: store.create_sync(f"desk-{role}", Role(role))[0]
                    for role in ("staff", "tech")}
    shops.http = httpx.Client(base_url=server.url, timeout=40)
    try:
        yield shops
    finally:
        shops.http.close()
        server.stop()
        shops.close()


def sign_in(page, desk, role: str = "tech", lang: str | None = None) -> None:  # noqa: F811
    page.goto(f"{desk.url}/ui/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=token]", desk.tokens[role])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/printers$"))


def fleet_printer(page, shop: str, printer: str):  # noqa: F811
    return page.locator(f"[data-shop='{shop}'] [data-printer='{printer}']")


def test_shop_bs_printer_goes_red_without_a_reload_when_its_paper_runs_out(desk, page):  # noqa: F811
    sign_in(page, desk)
    page.click("nav >> text=Fleet")
    expect(page.locator("h1")).to_have_text("Fleet")
    till = fleet_printer(page, "deb-3", "till")
    expect(till).to_have_attribute("data-state", "idle")
    expect(page.locator("[data-shop='bp-12'] h2")).to_contain_text("Buda")
    page.evaluate("window.__same_page = true")  # gone if the page reloads

    desk.call(desk.shops["deb-3"].set_fault("till", "paper-out"))
    expect(till).to_have_attribute("data-state", "stopped", timeout=5000)
    expect(till).to_contain_text("out of paper", ignore_case=True)
    # failing first: Debrecen's card moved above Buda's
    expect(page.locator(".shop").first).to_have_attribute("data-shop", "deb-3")
    assert page.evaluate("window.__same_page") is True
    shot(page, "fleet-en")

    page.check("#only-failing")
    expect(fleet_printer(page, "bp-12", "shelf")).to_be_hidden()
    expect(fleet_printer(page, "deb-3", "shelf")).to_be_hidden()
    expect(till).to_be_visible()
    assert "failing=1" in page.url


def test_the_fleet_page_in_hungarian(desk, page):  # noqa: F811
    sign_in(page, desk, lang="hu")
    page.goto(f"{desk.url}/ui/fleet")
    expect(page.locator("html")).to_have_attribute("lang", "hu")
    till = fleet_printer(page, "deb-3", "till")
    expect(till).to_have_attribute("data-state", "idle")
    page.evaluate("window.__same_page = true")
    desk.call(desk.shops["deb-3"].set_fault("till", "paper-out"))
    expect(till).to_have_attribute("data-state", "stopped", timeout=5000)
    expect(till).to_contain_text("papír", ignore_case=True)  # the reason's Hungarian words
    expect(till.locator(".state")).to_have_text(re.compile("Beavatkozás|figyelm", re.I))
    assert page.evaluate("window.__same_page") is True
    shot(page, "fleet-hu")


def test_a_shop_that_vanishes_turns_red_and_offline(desk, page):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/ui/fleet")
    shop = page.locator("[data-shop='bp-12']")
    expect(shop).to_have_attribute("data-online", "true")
    # gone without a goodbye, on the shops' own loop: the broker publishes its last will
    desk.loop.call_soon_threadsafe(desk.shops["bp-12"].drop)
    expect(shop).to_have_attribute("data-online", "false", timeout=8000)
    expect(shop.locator(".state").first).to_contain_text("Offline")
    expect(shop.locator("button")).to_have_count(0)  # nothing to ask an offline shop


def test_run_self_test_asks_the_shop_through_the_broker_and_shows_the_checks(desk, page):  # noqa: F811
    sign_in(page, desk)
    page.goto(f"{desk.url}/ui/fleet")
    desk.call(desk.shops["bp-12"].set_fault("shelf", "paper-out"))
    button = page.locator("#selftest-bp-12-shelf")
    button.focus()
    page.keyboard.press("Enter")  # the keyboard is enough
    result = page.locator("#fleet-selftest")
    expect(result).to_contain_text("Self-test of shelf in bp-12")
    expect(result.locator(".checks li")).to_have_count(2)
    expect(result.locator(".check-fail")).to_contain_text("out of paper", ignore_case=True)
    expect(result).to_be_focused()
    asker, request = desk.shops["bp-12"].requests[-1]
    assert (asker.role, asker.user, request["op"]) == ("tech", "anna", "selftest")


def test_the_page_works_on_a_phone(desk, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="hu-HU",
                                  is_mobile=True, has_touch=True)
    pg = context.new_page()
    try:
        sign_in(pg, desk)
        pg.goto(f"{desk.url}/ui/fleet")
        expect(fleet_printer(pg, "deb-3", "shelf")).to_be_visible()
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
        shot(pg, "fleet-phone-hu")
    finally:
        context.close()


def test_only_technicians_see_the_fleet_and_a_change_needs_the_csrf_token(desk):
    staff = {"Cookie": f"labeld_session={desk.tokens['staff']}"}
    assert desk.http.get("/ui/fleet/state", headers=staff).status_code == 403
    tech = {"Cookie": f"labeld_session={desk.tokens['tech']}"}
    state = desk.http.get("/ui/fleet/state", headers=tech)
    assert state.status_code == 200 and state.json()["connected"] in (True, False)
    no_csrf = desk.http.post("/ui/fleet/bp-12/printers/shelf/selftest", headers=tech, json={})
    assert no_csrf.status_code in (401, 403)
    assert no_csrf.json()["error"]["code"] == "csrf-token-invalid"
    nav = desk.http.get("/ui/printers", headers=tech).text
    assert 'href="/ui/fleet"' in nav


def test_a_daemon_without_desk_has_no_fleet(daemon):
    client = daemon([])
    admin = {"Cookie": f"labeld_session={client.headers['Authorization'].split()[1]}"}
    gone = client.get("/ui/fleet/state", headers=admin)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "fleet-not-configured"
    nav = client.get("/ui/printers", headers=admin).text
    assert "/ui/report" in nav and 'href="/ui/fleet"' not in nav
