"""A member of a company that signed up a minute ago joins its paid plan on a phone, pays on Stripe's
checkout page (the sandbox's), comes back to the card active for a year, then renews from the card page
and sees the next year stacked on. In Chinese; screenshots go to test-artifacts/e2e-payments/."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from careclub.settings import Settings
from tests.e2e.browser import ARTIFACTS, PHONE, chromium
from tests.e2e.conftest import need_chromium
from tests.live import serve

pytestmark = pytest.mark.e2e


def _company(base: str) -> dict[str, Any]:
    """A new company with a club, a 365-a-year plan, and its Stripe account linked (sandbox onboarding)."""
    slug = f"pay-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/api/v1/signup", json={"company": "云岭车友会", "slug": slug, "email": f"admin@{slug}.test",
                                           "password": "correct-horse-battery-staple"})
        r.raise_for_status()
        h = {"Authorization": f"Bearer {r.json()['token']}"}
        link = c.post("/api/v1/payment-settings/stripe-onboarding", headers=h)
        link.raise_for_status()
        assert c.post(link.json()["url"], data={}).status_code == 303  # Complete on Stripe's onboarding page
        assert c.post("/api/v1/payment-settings/refresh", headers=h).json()["charges_enabled"] is True
        club = c.post("/api/v1/clubs", headers=h, json={"code": "car", "name": "云岭车友会", "card_prefix": "YL-"})
        club.raise_for_status()
        c.post(f"/api/v1/clubs/{club.json()['id']}/plans", headers=h, json={
            "code": "vip", "name": "年卡", "fee": {"amount": "365.00", "currency": "CNY"},
            "term_months": 12}).raise_for_status()
    return {"slug": slug}


def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    company = _company(base)
    with sync_playwright() as p:
        with chromium(p) as browser:
            page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
            page.goto(f"{base}/join/{company['slug']}/car")
            page.fill("#name", "李四")
            page.fill("#phone", "13912345678")
            page.fill("#f-email", f"lisi@{company['slug']}.test")
            page.fill("#f-password", "correct-horse-battery-staple")
            page.fill("#f-password2", "correct-horse-battery-staple")
            page.screenshot(path=str(shots / "01-join.png"), full_page=True)
            page.click("main button[type=submit]")
            # straight on to the checkout page, showing what is paid
            page.wait_for_url("**/_sandbox/stripe/checkout/**")
            expect(page.locator("body")).to_contain_text("365")
            page.screenshot(path=str(shots / "02-checkout.png"), full_page=True)
            page.click("button[value=paid]")
            page.wait_for_url("**/pay/return/**")
            result = page.locator("[data-testid=pay-return]")
            expect(result).to_have_attribute("data-status", "paid")
            page.screenshot(path=str(shots / "03-paid.png"), full_page=True)
            page.click("a.button.primary")
            page.wait_for_url(f"{base}/club/card")
            card = page.locator("section.club-card").first
            expect(card).to_have_class(__import__("re").compile(r"\bstatus-active\b"))
            until = card.locator("[data-testid=valid-until]").inner_text()
            assert until.startswith(str(date.today().year + 1)), until
            page.screenshot(path=str(shots / "04-card-active.png"), full_page=True)

            card.locator("[data-testid=renew]").click()  # renew for another year
            page.wait_for_url("**/_sandbox/stripe/checkout/**")
            page.click("button[value=paid]")
            page.wait_for_url("**/pay/return/**")
            expect(page.locator("[data-testid=pay-return]")).to_have_attribute("data-status", "paid")
            page.click("a.button.primary")
            later = page.locator("section.club-card").first.locator("[data-testid=valid-until]").inner_text()
            assert later.startswith(str(date.today().year + 2)), later
            page.screenshot(path=str(shots / "05-card-renewed.png"), full_page=True)


def test_member_joins_a_paid_plan_pays_and_renews(settings: Settings, infra: Any) -> None:
    need_chromium()
    shots = ARTIFACTS / "e2e-payments"
    shots.mkdir(parents=True, exist_ok=True)
    with serve(settings, infra, stripe_delivery=True) as base, ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, base, shots).result(timeout=300)
    assert (shots / "05-card-renewed.png").stat().st_size > 0
