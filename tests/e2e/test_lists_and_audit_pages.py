"""The new staff lists (cards, check-ins, merchants) and the audit log in words, on a phone-sized
screen (390 × 844) in Chinese and in English: each fits the width (no sideways scrolling), has its
download link, and raises no browser error (CSP included). Screenshots go to
test-artifacts/e2e-lists-audit/."""

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
            # something done by a person, for the audit log: suspend a card and resume it
            page.fill("#f-q", "TR-000001")
            page.click("form.filters button[type=submit]")
            page.locator("#members > li a.row-main").first.click()
            card = page.locator("[data-testid='card-TR-000001']")
            for action in ("suspend", "resume"):
                button = card.locator(f"button[data-action={action}]")
                if button.count():
                    button.click()
                    page.wait_for_load_state()
            for lang in ("zh", "en"):
                if lang == "en":
                    page.click("label.nav-button")  # the menu, folded on a phone
                    page.click("form.lang button[value=en]")
                    page.wait_for_load_state()
                for n, path in enumerate(("/club/cards", "/club/checkins", "/club/merchants", "/audit")):
                    page.goto(f"{base}{path}")
                    expect(page.locator("main h1")).to_be_visible()
                    assert _fits(page), path
                    if path != "/club/checkins":
                        expect(page.locator("[data-testid=export]")).to_be_visible()
                    page.screenshot(path=str(shots / f"{n + 1:02d}-{path.strip('/').replace('/', '-')}-{lang}.png"),
                                    full_page=True)
                page.locator("#audit .audit-details summary").first.click()
                assert _fits(page)
                page.screenshot(path=str(shots / f"05-audit-details-{lang}.png"))


def test_lists_and_audit_fit_a_phone_in_both_languages(tianren: None, live_server: str) -> None:
    shots = ARTIFACTS / "e2e-lists-audit"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots).result(timeout=300)
    assert (shots / "04-audit-en.png").stat().st_size > 0
