"""The merchant's operators on its edit page, in a real browser on a phone, in Chinese and in English
(issue #11 item 2): the demo admin sees who scans for the merchant, links someone who may scan,
unlinks him, and invites a new operator (the one-time link is shown). Screenshots land in
test-artifacts/e2e-merchant-operators/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careclub.core.i18n import translate
from tests.e2e.browser import DEMO_SLUG as SLUG
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, signed_in_page

pytestmark = pytest.mark.e2e



def _drive(base: str, shots: Path, lang: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p, chromium(p) as browser:
        page = signed_in_page(browser, base, f"admin@{SLUG}.example", "/club/admin", lang=lang)
        page.locator("a[href^='/club/admin/merchant/']", has_text="天人汽修洗车中心").first.click()
        section = page.locator("[data-testid=operators]")
        expect(section).to_be_visible()
        operators = section.locator("[data-testid=operator-list]")
        expect(operators).to_contain_text(f"merchant@{SLUG}.example")
        assert fits_width(page)
        page.screenshot(path=str(shots / f"{lang}-1-operators.png"), full_page=True)

        # link someone who may scan (the admin himself holds every permission), then unlink him
        choice = section.locator("#f-user option", has_text=f"admin@{SLUG}.example")
        page.select_option("#f-user", choice.get_attribute("value"))
        section.locator("[data-testid=operator-link] button[type=submit]").click()
        expect(page.locator("[data-testid=operators-notice]")).to_be_visible()
        expect(operators).to_contain_text(f"admin@{SLUG}.example")
        page.screenshot(path=str(shots / f"{lang}-2-linked.png"), full_page=True)
        operators.locator("li", has_text=f"admin@{SLUG}.example").locator("button[type=submit]").click()
        expect(page.locator("[data-testid=operators-notice]")).to_be_visible()
        expect(page.locator("[data-testid=operator-list]")).not_to_contain_text(f"admin@{SLUG}.example")

        # invite a new operator straight into this merchant
        invite = page.locator("[data-testid=operator-invite]")
        invite.locator("#f-email").fill(f"new-operator-{lang.lower()}@{SLUG}.example")
        invite.locator("#f-display_name").fill("新操作员")
        invite.locator("button[type=submit]").click()
        link = page.locator("[data-testid=invite-link]")
        expect(link).to_have_value(re.compile(rf"^{re.escape(base)}/invite/{SLUG}/\S+$"))
        expect(page.locator("[data-testid=operator-invites]")).to_contain_text(f"new-operator-{lang.lower()}@")
        expect(page.locator("[data-testid=operators]")).to_contain_text(translate(lang, "Invite a new operator"))
        page.screenshot(path=str(shots / f"{lang}-3-invited.png"), full_page=True)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_merchant_page_operators(tianren: None, live_server: str, lang: str) -> None:
    off_the_loop(_drive, live_server, artifacts("e2e-merchant-operators"), lang)
