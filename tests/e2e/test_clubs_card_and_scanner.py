"""In a real browser on a phone-sized screen: the tianren demo member opens his card page (QR,
validity, plan, benefits), the demo merchant operator types the code into the scanner page and
sees a big green answer; the same code again is red (`replayed`), garbage is red (`malformed`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.browser import DEMO_SLUG as SLUG
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, read_qr, signed_in_page

pytestmark = pytest.mark.e2e



def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            member = signed_in_page(browser, base, f"member@{SLUG}.example", "/club/card", locale="en-US")
            card = member.locator("section.club-card[data-card='TR-000001']")
            expect(card).to_be_visible()
            expect(card).to_have_class(re.compile(r"\bstatus-active\b"))
            expect(card.locator("[data-testid=qr] svg")).to_be_visible()
            expect(card).to_contain_text("VIP")
            expect(card.locator(".club-benefits")).to_contain_text("/ 4")
            assert fits_width(member)
            member.screenshot(path=str(shots / "01-member-card.png"), full_page=True)
            token = card.locator("[data-testid=qr-token]").input_value()
            assert token.startswith("CC1:")
            # The drawing reads back as the token (its mask is fixed: core/qr.py), with the scanner's decoder.
            assert read_qr(member, "section.club-card[data-card='TR-000001'] [data-testid=qr] svg") == token
            # The refresh endpoint the page's script calls answers a new code.
            fresh = member.request.get(f"{base}/club/card/TR-000001/qr.json", headers={"Accept": "application/json"})
            assert fresh.ok and fresh.json()["token"] != token

            scanner = signed_in_page(browser, base, f"merchant@{SLUG}.example", "/club/scan", locale="en-US")
            assert fits_width(scanner)
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
    shots = artifacts("e2e-clubs")
    off_the_loop(_drive, live_server, shots)
    assert (shots / "02-scanner-accepted.png").stat().st_size > 0
