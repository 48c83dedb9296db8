"""The console in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright,
against a real daemon and simulated printers on loopback.

Screenshots of the main screens land in tests/console/artifacts/ (the README shows them)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import FAST_DELIVERY, printer, token, wait_for, wait_job

playwright_api = pytest.importorskip("playwright.sync_api")

ARTIFACTS = Path(__file__).parent / "artifacts"
# The console watches idle printers this often in these tests (see DeliveryConfig.watch_idle_s).
WATCHFUL = FAST_DELIVERY.model_copy(update={"watch_idle_s": 0.3})
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    found = os.environ.get("LABELD_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail("The console tests drive Debian's Chromium: install it with "
                    "`apt-get install chromium` (.ci/run does), or set LABELD_CHROMIUM.")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


@pytest.fixture
def shop(daemon, simulator):
    """A daemon with a Zebra label printer (shelf) and a receipt printer (till), watching idle
    printers often."""
    zebra, till = simulator("zpl"), simulator("escpos")
    client = daemon([printer("shelf", zebra, "zebra-generic-203"),
                     printer("till", till, "escpos-generic-80")], delivery=WATCHFUL)
    client.zebra, client.till = zebra, till
    return client


def sign_in(page, base: str, secret: str, lang: str | None = None) -> None:
    page.goto(f"{base}/ui/login" + (f"?lang={lang}" if lang else ""))
    page.fill("input[name=token]", secret)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/ui/printers$"))


def card(page, printer_id: str):
    return page.locator(f"[data-printer={printer_id}]")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_printer_card_goes_red_when_paper_runs_out_and_green_again_without_a_reload(shop, page):
    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    shelf = card(page, "shelf")
    playwright_api.expect(shelf).to_have_attribute("data-state", "idle")
    shot(page, "printers-en")
    page.evaluate("window.__same_page = true")  # gone if the page reloads

    shop.zebra.set_fault("paper-out")
    playwright_api.expect(shelf).to_have_attribute("data-state", "stopped")
    playwright_api.expect(shelf).to_contain_text("out of paper", ignore_case=True)
    shot(page, "printer-paper-out-en")

    shop.zebra.clear_fault("paper-out")
    playwright_api.expect(shelf).to_have_attribute("data-state", "idle")
    assert page.evaluate("window.__same_page") is True


def test_a_held_receipt_is_released_from_the_jobs_page_and_prints(shop, page):
    """A receipt printer that stopped reading in the middle of a job (half-open) may or may not
    have printed it, and has no counter to tell: the job is held for a person, never printed
    twice by itself. The technician releases it from the jobs page."""
    shop.till.set_fault("half-open")
    job = shop.post("/v1/jobs", json={"printer": "till", "raw": {"data": "Nyugta 1\n"}}).json()
    wait_for(lambda: any(r["code"] == "not-taking-data" for r in
                         shop.get("/v1/printers/till").json()["state_reasons"]), timeout=10)
    shop.till.clear_faults()
    held = wait_job(shop, job["id"], states=("held",))
    assert held["error"]["code"] == "not-taking-data"

    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    page.goto(f"{shop.server.url}/ui/jobs")
    row = page.locator(f"[data-job='{job['id']}']")
    playwright_api.expect(row).to_have_attribute("data-state", "held")
    shot(page, "jobs-held-en")
    row.locator("button:has-text('Release')").click()
    playwright_api.expect(row).to_have_attribute("data-state", "completed")
    assert b"Nyugta 1" in shop.till.wait_jobs(1)[-1].data


def test_the_self_test_shows_each_check_with_its_result(shop, page):
    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    page.goto(f"{shop.server.url}/ui/printers/shelf")
    page.click("text=Run self-test")
    checks = page.locator("#selftest .checks li")
    playwright_api.expect(checks.first).to_be_visible()
    assert checks.count() >= 5
    playwright_api.expect(page.locator("#selftest")).to_contain_text("transport reachable")
    shot(page, "selftest-en")


def test_switching_to_hungarian_shows_hungarian_words(shop, page):
    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    page.click("a[hreflang=hu]")
    playwright_api.expect(page.locator("html")).to_have_attribute("lang", "hu")
    playwright_api.expect(page.locator("h1")).to_have_text("Nyomtatók")
    shop.zebra.set_fault("paper-out")
    shelf = card(page, "shelf")
    playwright_api.expect(shelf).to_have_attribute("data-state", "stopped")
    playwright_api.expect(shelf).to_contain_text("papír", ignore_case=True)
    shot(page, "printer-paper-out-hu")
    page.goto(f"{shop.server.url}/ui/jobs")  # the choice is kept while navigating
    playwright_api.expect(page.locator("h1")).to_have_text("Feladatok")


def test_a_shop_token_sees_no_technician_buttons(shop, page):
    sign_in(page, shop.server.url, token(shop, "pos", "bolt-1"))
    playwright_api.expect(card(page, "shelf")).to_be_visible()
    assert page.locator("text=Diagnose").count() == 0
    assert page.locator("button:has-text('Pause')").count() == 0
    page.goto(f"{shop.server.url}/ui/printers/shelf")
    playwright_api.expect(page.locator("h1")).to_have_text("Not for your role")


def test_on_a_phone_the_cards_stack_and_the_keyboard_reaches_everything(shop, browser):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                  has_touch=True, locale="hu-HU")
    page = context.new_page()
    try:
        sign_in(page, shop.server.url, token(shop, "tech", "anna"))
        shelf, till = card(page, "shelf").bounding_box(), card(page, "till").bounding_box()
        assert till["y"] >= shelf["y"] + shelf["height"]  # one column, not side by side
        assert shelf["x"] + shelf["width"] <= 375  # nothing wider than the screen
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        shot(page, "printers-phone-hu")

        page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
        skip = page.locator("a.skip")
        playwright_api.expect(skip).to_be_focused()
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#main"
        reached = set()
        for _ in range(40):  # every button on the page is reachable by Tab
            page.keyboard.press("Tab")
            reached.add(page.evaluate("document.activeElement.textContent.trim()"))
        assert {"Szüneteltetés", "Hibakeresés", "Próbacímke"} <= reached
    finally:
        context.close()


def test_a_maintenance_action_asks_first_then_runs_and_the_printer_calibrates(shop, page):
    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    page.goto(f"{shop.server.url}/ui/printers/shelf")
    section = page.locator("section.maintenance")
    playwright_api.expect(section).to_contain_text("Maintenance")
    calibrate = section.locator("form[data-action=calibrate]")
    playwright_api.expect(calibrate).to_contain_text("Uses labels or paper.")
    darkness = section.locator("form[data-action=darkness] input[name=value]")
    assert (darkness.get_attribute("min"), darkness.get_attribute("max")) == ("10", "25")

    # The first press only asks; "No" goes back and nothing reaches the printer.
    calibrate.locator("button.ask").click()
    confirm = calibrate.locator(".confirm")
    playwright_api.expect(confirm).to_be_visible()
    playwright_api.expect(confirm.locator("button.yes")).to_be_focused()
    confirm.locator("button.no").click()
    playwright_api.expect(confirm).to_be_hidden()
    playwright_api.expect(calibrate.locator("button.ask")).to_be_focused()
    assert shop.zebra.jobs() == []

    # Asked again, and confirmed from the keyboard (focus is on "Yes, do it").
    calibrate.locator("button.ask").press("Enter")
    playwright_api.expect(confirm.locator("button.yes")).to_be_focused()
    shot(page, "maintenance-confirm-en")
    page.keyboard.press("Enter")
    playwright_api.expect(calibrate).to_have_attribute("data-state", "completed")
    playwright_api.expect(calibrate.locator(".result")).to_have_text("Done.")
    shot(page, "maintenance-done-en")
    assert [j.data for j in shop.zebra.jobs()] == [b"~JC"]
    assert shop.zebra.state()["counters"]["calibrations"] == 1
    job = shop.get(f"/v1/jobs/{calibrate.get_attribute('data-job')}").json()
    assert (job["action"], job["owner"]) == ("calibrate", "anna")


def test_a_refused_maintenance_value_is_said_and_nothing_is_sent(shop, page):
    sign_in(page, shop.server.url, token(shop, "tech", "anna"))
    page.goto(f"{shop.server.url}/ui/printers/shelf")
    darkness = page.locator("form[data-action=darkness]")
    darkness.locator("input[name=value]").fill("40")
    darkness.locator("button.ask").click()
    # The browser's own range check stops it before the question is even asked.
    playwright_api.expect(darkness.locator(".confirm")).to_be_hidden()
    darkness.locator("input[name=value]").fill("20")
    darkness.locator("button.ask").click()
    darkness.locator("button.yes").click()
    playwright_api.expect(darkness).to_have_attribute("data-state", "completed")
    assert [j.data for j in shop.zebra.jobs()] == [b"~SD20"]
