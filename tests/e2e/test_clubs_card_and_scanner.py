"""In a real browser on a phone-sized screen: the tianren demo member opens his card page (QR,
validity, plan, benefits), the demo merchant operator types the code into the scanner page and
sees a big green answer; the same code again is red (`replayed`), garbage is red (`malformed`)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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


def _login(page: Any, base: str, email: str, target: str) -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("#f-tenant", SLUG)
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            member = browser.new_context(viewport=PHONE, locale="en-US").new_page()
            _login(member, base, f"member@{SLUG}.example", "/club/card")
            card = member.locator("section.club-card[data-card='TR-000001']")
            expect(card).to_be_visible()
            expect(card).to_have_class(re.compile(r"\bstatus-active\b"))
            expect(card.locator("[data-testid=qr] svg")).to_be_visible()
            expect(card).to_contain_text("VIP")
            expect(card.locator(".club-benefits")).to_contain_text("/ 4")
            assert _fits(member)
            member.screenshot(path=str(shots / "01-member-card.png"), full_page=True)
            token = card.locator("[data-testid=qr-token]").input_value()
            assert token.startswith("CC1:")
            # The refresh endpoint the page's script calls answers a new code.
            fresh = member.request.get(f"{base}/club/card/TR-000001/qr.json", headers={"Accept": "application/json"})
            assert fresh.ok and fresh.json()["token"] != token

            scanner = browser.new_context(viewport=PHONE, locale="en-US").new_page()
            _login(scanner, base, f"merchant@{SLUG}.example", "/club/scan")
            assert _fits(scanner)
            scanner.fill("#scan-token", token)
            scanner.fill("#scan-amount", "100.00")
            scanner.click("#scan-submit")
            result = scanner.locator("[data-testid=scan-result]")
            expect(result).to_have_attribute("data-accepted", "true")
            expect(result).to_contain_text("TR-000001")
            expect(result).to_contain_text("−20.00")
            expect(scanner.locator("#scan-today")).to_contain_text("TR-000001")
            # The new row's time is the tenant's wall clock (Asia/Shanghai), not the browser's (UTC here).
            shown = scanner.locator("#scan-today li .row-meta").first.inner_text()
            at = datetime.strptime(shown[:16], "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
            assert abs((at - datetime.now(UTC)).total_seconds()) < 120, shown
            scanner.screenshot(path=str(shots / "02-scanner-accepted.png"), full_page=True)

            scanner.click("#scan-submit")  # the same code again
            expect(result).to_have_attribute("data-reason", "replayed")
            expect(result).to_have_class("scan-result no")
            scanner.screenshot(path=str(shots / "03-scanner-replayed.png"), full_page=True)
            scanner.fill("#scan-token", "not a member code")
            scanner.click("#scan-submit")
            expect(result).to_have_attribute("data-reason", "malformed")

            member.reload()
            expect(member.locator("section.club-card[data-card='TR-000001']")).to_contain_text(
                "天人汽修洗车中心")  # the check-in shows among the recent ones
            member.screenshot(path=str(shots / "04-member-card-after.png"), full_page=True)


def test_member_card_page_and_scanner_typing_the_code(tianren: None, live_server: str) -> None:
    shots = ARTIFACTS / "e2e-clubs"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots).result(timeout=300)
    assert (shots / "02-scanner-accepted.png").stat().st_size > 0
