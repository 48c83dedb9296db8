"""A guided fix in a real browser (headless Chromium, as tests/console/test_console_browser.py):
shop staff open the guide from the red printer card, fix the printer, press "Did it work?" and
read the answer; a till's pos token sees no guide. Screenshots land in tests/console/artifacts/."""

from __future__ import annotations

import re

from tests.conftest import token
from tests.console import test_console_browser as kit

playwright_api = kit.playwright_api
# The browser, page and shop fixtures of the console's browser tests, used here as they are.
browser, page, shop = kit.browser, kit.page, kit.shop


def test_staff_open_the_guide_from_the_red_card_fix_the_printer_and_see_it_fixed(shop, page):
    shop.zebra.set_fault("head-open")
    kit.sign_in(page, shop.server.url, token(shop, "staff", "eva"))
    shelf = kit.card(page, "shelf")
    playwright_api.expect(shelf).to_have_attribute("data-state", "stopped")
    shelf.locator("a[data-guide=head-open]").click()
    page.wait_for_url(re.compile(r".*/ui/printers/shelf/guides/head-open$"))

    steps = page.locator(".guide .steps li")
    playwright_api.expect(steps.first).to_be_visible()
    assert steps.count() >= 2
    playwright_api.expect(page.locator(".guide")).to_contain_text("both latches")  # Zebra's
    drawing = page.locator(".drawing img")
    playwright_api.expect(drawing).to_be_visible()
    assert page.evaluate("document.querySelector('.drawing img').naturalWidth") > 0
    kit.shot(page, "guide-head-open-en")

    # Still open: the printer is asked and says so.
    check = page.get_by_role("button", name="Did it work?")
    check.focus()
    page.keyboard.press("Enter")  # the keyboard is enough
    answer = page.locator("#check-answer")
    playwright_api.expect(answer).to_have_attribute("data-fixed", "false")
    playwright_api.expect(answer).to_contain_text("Not fixed yet")
    playwright_api.expect(answer).to_contain_text("Print head is open", ignore_case=True)

    shop.zebra.clear_fault("head-open")
    check.click()
    playwright_api.expect(answer).to_have_attribute("data-fixed", "true")
    playwright_api.expect(answer).to_contain_text("Fixed")
    assert page.evaluate("document.activeElement.id") == "check-answer"
    kit.shot(page, "guide-fixed-en")
    events = shop.get("/v1/printers/shelf/events").json()["events"]
    assert [e["data"]["by"] for e in events if e["kind"] == "guide"] == ["eva", "eva"]


def test_the_guide_page_reads_in_hungarian(shop, page):
    shop.till.set_fault("paper-out")
    shop.get("/v1/printers/till/status")  # read now: the page shows the fault when it opens
    kit.sign_in(page, shop.server.url, token(shop, "staff", "eva"), lang="hu")
    kit.card(page, "till").locator("a[data-guide=paper-out]").click()
    playwright_api.expect(page.locator("html")).to_have_attribute("lang", "hu")
    playwright_api.expect(page.locator("h1")).to_contain_text("papír", ignore_case=True)
    kit.shot(page, "guide-paper-out-hu")


def test_a_pos_token_sees_no_guide(shop, page):
    shop.zebra.set_fault("paper-out")
    shop.get("/v1/printers/shelf/status")  # read now: the pos page polls less often
    kit.sign_in(page, shop.server.url, token(shop, "pos", "till-1"))
    shelf = kit.card(page, "shelf")
    playwright_api.expect(shelf).to_have_attribute("data-state", "stopped")
    assert shelf.locator("a[data-guide]").count() == 0
    resp = page.goto(f"{shop.server.url}/ui/printers/shelf/guides/paper-out")
    assert resp is not None and resp.status == 403
