"""In a real browser on a phone-sized screen: an approver signs in, sees the waiting step counted
in the navigation, opens it from "My approvals", approves it with a comment and sees the
timeline. Screenshots go to `test-artifacts/e2e-approvals/`."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import ARTIFACTS, PHONE, chromium
from tests.integration.approvals.conftest import CALLS, World, make_world

pytestmark = pytest.mark.e2e


@pytest.fixture
async def waiting(client: Any) -> tuple[World, dict[str, Any]]:
    world = await make_world(client)
    async with tenant_scope(world.tenant_id):
        await platform_service.update_staff(None, world.users["pmc1"], password=PASSWORD)
    request = await world.open(50000, title="Replace the lobby door closer")
    return world, request


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _drive(base: str, shots: Path, world: World, request_id: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            context = browser.new_context(viewport=PHONE, locale="en-GB", device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("#f-tenant", world.slug)
            page.fill("#f-email", f"pmc1@{world.slug}.test")
            page.fill("#f-password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")
            if page.locator("label.nav-button").is_visible():
                page.click("label.nav-button")
            badge = page.locator("#nav-approvals [data-approvals-count]")
            expect(badge).to_have_text("1")  # filled in by /static/approvals/badge.js
            # the approver was told, too: one unread notification (filled in by notifications-badge.js)
            expect(page.locator("#nav-notifications [data-notifications-count]")).to_have_text("1")
            page.screenshot(path=str(shots / "01-dashboard-badge.png"), full_page=True)
            page.click("#nav-approvals")
            page.wait_for_url(f"{base}/approvals")
            expect(page.locator("#tasks li")).to_have_count(1)
            assert _fits(page)
            page.screenshot(path=str(shots / "02-inbox.png"), full_page=True)
            page.click("#tasks a")
            page.wait_for_url(re.compile(rf".*/approvals/requests/{request_id}$"))
            assert _fits(page)
            page.screenshot(path=str(shots / "03-request.png"), full_page=True)
            page.fill("textarea[name=comment]", "Approved — use the usual supplier")
            page.click("button[name=decision][value=approve]")
            page.wait_for_url(re.compile(r".*\?done=decided$"))
            expect(page.locator("#request-status")).to_have_text(re.compile("Approved|已批准"))
            expect(page.locator("#timeline")).to_contain_text("Approved — use the usual supplier")
            expect(page.locator("form.decision")).to_have_count(0)
            expect(page.locator("#nav-approvals [data-approvals-count]")).to_be_hidden()
            assert _fits(page)
            page.screenshot(path=str(shots / "04-approved.png"), full_page=True)
            context.close()


def test_approver_decides_from_the_inbox_on_a_phone(waiting: tuple[World, dict[str, Any]],
                                                    live_server: str) -> None:
    world, request = waiting
    shots = ARTIFACTS / "e2e-approvals"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots, world, str(request["id"])).result(timeout=300)
    assert [name for name, r in CALLS if str(r["id"]) == str(request["id"])] == ["approved"]
    assert (shots / "04-approved.png").stat().st_size > 0
