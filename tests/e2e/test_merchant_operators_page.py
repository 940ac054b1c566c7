"""The merchant's operators on its edit page, in a real browser on a phone, in Chinese and in English
(issue #11 item 2): the demo admin sees who scans for the merchant, links someone who may scan,
unlinks him, and invites a new operator (the one-time link is shown). Screenshots land in
test-artifacts/e2e-merchant-operators/."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from careclub.core.i18n import translate
from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.e2e.browser import ARTIFACTS, PHONE, chromium

pytestmark = pytest.mark.e2e

SLUG = "tianren-car-club"
PASSWORD = "careclub-demo-2026"


@pytest.fixture
async def tianren(client: Any) -> None:
    await apply_text((PROJECT_ROOT / "tenants" / f"{SLUG}.toml").read_text(encoding="utf-8"), demo=True)


def _drive(base: str, shots: Path, lang: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p, chromium(p) as browser:
        context = browser.new_context(viewport=PHONE)
        context.add_cookies([{"name": "lang", "value": lang, "url": base}])
        page = context.new_page()
        page.goto(f"{base}/login?next=/club/admin")
        page.fill("#f-tenant", SLUG)
        page.fill("#f-email", f"admin@{SLUG}.example")
        page.fill("#f-password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/club/admin")
        page.locator("a[href^='/club/admin/merchant/']", has_text="天人汽修洗车中心").first.click()
        section = page.locator("[data-testid=operators]")
        expect(section).to_be_visible()
        operators = section.locator("[data-testid=operator-list]")
        expect(operators).to_contain_text(f"merchant@{SLUG}.example")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
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
    shots = ARTIFACTS / "e2e-merchant-operators"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots, lang).result(timeout=300)
