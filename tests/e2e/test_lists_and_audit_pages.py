"""The new staff lists (cards, check-ins, merchants) and the audit log in words, on a phone-sized
screen (390 × 844) in Chinese and in English: each fits the width (no sideways scrolling), has its
download link, and raises no browser error (CSP included). Screenshots go to
test-artifacts/e2e-lists-audit/."""

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
                if lang == "en":  # by the cookie: the menu's switch would keep English on the shared demo admin
                    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
                for n, path in enumerate(("/club/cards", "/club/checkins", "/club/merchants", "/audit")):
                    page.goto(f"{base}{path}")
                    expect(page.locator("main h1")).to_be_visible()
                    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
                    assert fits_width(page), path
                    if path != "/club/checkins":
                        expect(page.locator("[data-testid=export]")).to_be_visible()
                    page.screenshot(path=str(shots / f"{n + 1:02d}-{path.strip('/').replace('/', '-')}-{lang}.png"),
                                    full_page=True)
                page.locator("#audit .audit-details summary").first.click()
                assert fits_width(page)
                page.screenshot(path=str(shots / f"05-audit-details-{lang}.png"))


def test_lists_and_audit_fit_a_phone_in_both_languages(tianren: None, live_server: str) -> None:
    shots = artifacts("e2e-lists-audit")
    off_the_loop(_drive, live_server, shots)
    assert (shots / "04-audit-en.png").stat().st_size > 0
