"""Booking a paid service from a resident's phone, in a real browser on a 390×844 screen: the resident signs
in, opens the services on offer, books a deep cleaning for his home (a mistake first, shown beside its field)
and lands on the order's page with its price and the prepayment to pay. Every page is watched for browser
errors (a Content-Security-Policy violation among them) and must not scroll sideways. Screenshots go to
`test-artifacts/e2e-catalogue/`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from careclub.core import clock
from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import PHONE, artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.integration.catalogue.helpers import World, make_world

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(client: Any) -> World:
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        await platform_service.update_staff(None, w.users["res"], password=PASSWORD)
    return w


def _drive(base: str, shots: Path, w: World) -> None:
    from playwright.sync_api import expect, sync_playwright

    when = (clock.now().astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(days=2)).strftime("%Y-%m-%dT10:00")
    with sync_playwright() as p, chromium(p) as browser:
        page = signed_in_page(browser, base, f"res@{w.slug}.test", "/my/services", slug=w.slug, password=PASSWORD,
                              lang="en", viewport=PHONE)
        assert page.viewport_size == PHONE
        clean = page.locator("li[data-item=CLEAN]")
        expect(clean.locator("[data-testid=fee]")).to_have_text("¥5.00 / m²")
        assert fits_width(page), page.url
        page.screenshot(path=str(shots / "01-services.png"), full_page=True)

        clean.locator("[data-testid=book]").click()
        page.wait_for_url(re.compile(r".*/my/services/[0-9a-f-]{36}/book$"))
        expect(page.locator("#f-book-unit")).to_have_value(w.units["A-101"])  # his one home, chosen
        page.fill("#f-book-preferred_at", when)
        page.fill("#f-book-quantity", "eighty")
        page.fill("#f-book-note", "请带上梯子")
        page.click("[data-testid=send]")
        expect(page.locator("#e-book-quantity")).to_be_visible()
        expect(page.locator("#f-book-note")).to_have_value("请带上梯子")  # what was typed stays
        expect(page.locator("#f-book-preferred_at")).to_have_value(when)
        assert fits_width(page), page.url
        page.screenshot(path=str(shots / "02-mistake.png"), full_page=True)

        page.fill("#f-book-quantity", "80")
        page.click("[data-testid=send]")
        page.wait_for_url(re.compile(r".*/my/services/orders/[0-9a-f-]{36}\?done=booked$"))
        expect(page.locator("[data-testid=status]")).to_have_attribute("data-status", "awaiting_prepayment")
        expect(page.locator("[data-testid=estimate]")).to_have_text("¥400.00")
        expect(page.locator("[data-testid=note]")).to_have_text("请带上梯子")
        expect(page.locator("[data-testid=pay-at-office]")).to_contain_text("¥500.00")
        assert fits_width(page), page.url
        page.screenshot(path=str(shots / "03-order.png"), full_page=True)

        page.click("[data-testid=ticket-link]")
        page.wait_for_url(re.compile(r".*/my/tickets/[0-9a-f-]{36}$"))
        assert fits_width(page), page.url


def test_a_resident_books_a_service_on_his_phone(world: World, live_server: str) -> None:
    shots = artifacts("e2e-catalogue")
    off_the_loop(_drive, live_server, shots, world, timeout=120)
    assert (shots / "03-order.png").stat().st_size > 0
