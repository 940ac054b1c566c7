"""The clubs' staff pages on a phone-sized screen (390 px): the member list with its filters, a
member's page with cards, actions and history (and a renewal opened there), the enrol form and an
admin edit form all fit the width (no sideways scrolling); searching by card number finds the demo
member."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from careclub.platform.tenant_file import apply_text
from careclub.settings import PROJECT_ROOT
from tests.e2e.browser import ARTIFACTS, PHONE, chromium

pytestmark = pytest.mark.e2e

SLUG = "tianren-car-club"
PASSWORD = "careclub-demo-2026"


@pytest.fixture
async def tianren(client: Any) -> None:
    await apply_text((PROJECT_ROOT / "tenants" / f"{SLUG}.toml").read_text(encoding="utf-8"), demo=True)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
            page.goto(f"{base}/login?next=/club/members")
            page.fill("#f-tenant", SLUG)
            page.fill("#f-email", f"admin@{SLUG}.example")
            page.fill("#f-password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/club/members")
            assert _fits(page)
            page.screenshot(path=str(shots / "01-member-list.png"), full_page=True)
            page.fill("#f-q", "TR-000001")
            page.click("form.filters button[type=submit]")
            rows = page.locator("#members > li")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("TR-000001")
            rows.first.locator("a.row-main").click()
            expect(page.locator("[data-testid='card-TR-000001']")).to_be_visible()
            page.locator("[data-testid='card-TR-000001'] details summary").click()  # the history
            assert _fits(page)
            page.screenshot(path=str(shots / "02-member-detail.png"), full_page=True)
            page.click("[data-testid='card-TR-000001'] button[data-action=renew]")
            expect(page.locator("[data-testid='card-TR-000001'] form.pay-form")).to_be_visible()
            assert _fits(page)
            page.screenshot(path=str(shots / "02b-member-renewal-open.png"), full_page=True)
            page.goto(f"{base}/club/members/new")
            assert _fits(page)
            page.screenshot(path=str(shots / "03-enrol.png"), full_page=True)
            page.goto(f"{base}/club/admin")
            assert _fits(page)
            page.screenshot(path=str(shots / "04-admin.png"), full_page=True)
            page.locator("a[href^='/club/admin/merchant/']").first.click()
            expect(page.locator("[data-testid=edit-form]")).to_be_visible()
            assert _fits(page)
            page.screenshot(path=str(shots / "05-admin-edit-merchant.png"), full_page=True)


def test_staff_pages_fit_a_phone(tianren: None, live_server: str) -> None:
    shots = ARTIFACTS / "e2e-clubs-staff"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots).result(timeout=300)
    assert (shots / "02-member-detail.png").stat().st_size > 0
