"""The clubs' staff pages on a phone-sized screen (390 px): the member list with its filters, a
member's page with cards, actions and history (and a renewal opened there), the enrol form and an
admin edit form all fit the width (no sideways scrolling); searching by card number finds the demo
member."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.browser import DEMO_SLUG, artifacts, chromium, fits_width, off_the_loop, signed_in_page

pytestmark = pytest.mark.e2e



def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            page = signed_in_page(browser, base, f"admin@{DEMO_SLUG}.example", "/club/members", locale="zh-CN")
            assert fits_width(page)
            page.screenshot(path=str(shots / "01-member-list.png"), full_page=True)
            page.fill("#f-q", "TR-000001")
            page.click("form.filters button[type=submit]")
            rows = page.locator("#members > li")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text("TR-000001")
            rows.first.locator("a.row-main").click()
            expect(page.locator("[data-testid='card-TR-000001']")).to_be_visible()
            page.locator("[data-testid='card-TR-000001'] details summary").click()  # the history
            assert fits_width(page)
            page.screenshot(path=str(shots / "02-member-detail.png"), full_page=True)
            page.click("[data-testid='card-TR-000001'] button[data-action=renew]")
            expect(page.locator("[data-testid='card-TR-000001'] form.pay-form")).to_be_visible()
            assert fits_width(page)
            page.screenshot(path=str(shots / "02b-member-renewal-open.png"), full_page=True)
            page.goto(f"{base}/club/members/new")
            assert fits_width(page)
            page.screenshot(path=str(shots / "03-enrol.png"), full_page=True)
            page.goto(f"{base}/club/admin")
            assert fits_width(page)
            page.screenshot(path=str(shots / "04-admin.png"), full_page=True)
            page.locator("a[href^='/club/admin/merchant/']").first.click()
            expect(page.locator("[data-testid=edit-form]")).to_be_visible()
            assert fits_width(page)
            page.screenshot(path=str(shots / "05-admin-edit-merchant.png"), full_page=True)


def test_staff_pages_fit_a_phone(tianren: None, live_server: str) -> None:
    shots = artifacts("e2e-clubs-staff")
    off_the_loop(_drive, live_server, shots)
    assert (shots / "02-member-detail.png").stat().st_size > 0
