"""In a real browser (Debian's Chromium through Playwright) on a phone-sized screen: sign up a
company, see the dashboard in Chinese, switch to English, sign out and in again. Screenshots go to
`test-artifacts/`."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.e2e.browser import ARTIFACTS, PHONE, chromium

pytestmark = pytest.mark.e2e

def _fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _open_menu(page: Any) -> None:
    """On a phone the navigation sits behind the ☰ button."""
    if page.locator("label.nav-button").is_visible():
        page.click("label.nav-button")


def _drive(base: str, shots: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    slug = f"e2e-{uuid.uuid4().hex[:8]}"
    email = f"admin@{slug}.test"
    with sync_playwright() as p:
        with chromium(p) as browser:
            context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
            page = context.new_page()

            page.goto(f"{base}/signup")
            expect(page.locator("h1")).to_have_text("注册您的公司")
            page.fill("#f-company", "兰亭物业 E2E")
            page.fill("#f-slug", slug)
            page.fill("#f-display_name", "王经理")
            page.fill("#f-email", email)
            page.fill("#f-password", "short")
            page.click("main button[type=submit]")
            # the error appears under the field and the typed input stays
            expect(page.locator("#e-password")).to_be_visible()
            expect(page.locator("#f-company")).to_have_value("兰亭物业 E2E")
            page.screenshot(path=str(shots / "01-signup-error-zh.png"), full_page=True)
            page.fill("#f-password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")
            expect(page.locator("h1")).to_have_text("工作台")
            assert page.locator("html").get_attribute("lang") == "zh-CN"
            assert _fits_the_screen(page)
            page.screenshot(path=str(shots / "02-dashboard-zh.png"), full_page=True)

            _open_menu(page)
            page.screenshot(path=str(shots / "03-menu-open-zh.png"), full_page=True)
            page.click("form.lang button[value=en]")
            page.wait_for_url(f"{base}/dashboard")
            expect(page.locator("h1")).to_have_text("Dashboard")
            assert page.locator("html").get_attribute("lang") == "en"
            page.screenshot(path=str(shots / "04-dashboard-en.png"), full_page=True)

            for path, name in (("/org", "05-org-en.png"), ("/staff", "06-staff-en.png"),
                               ("/roles", "07-roles-en.png"), ("/audit", "08-audit-en.png"),
                               ("/staff/new", "08b-staff-new-en.png"), ("/tokens", "08c-tokens-en.png")):
                page.goto(f"{base}{path}")
                assert _fits_the_screen(page), path
                page.screenshot(path=str(shots / name), full_page=True)
            page.goto(f"{base}/staff")
            page.click("#people a")
            page.wait_for_url(re.compile(r".*/staff/[0-9a-f-]{36}$"))
            assert _fits_the_screen(page)
            page.screenshot(path=str(shots / "08d-person-en.png"), full_page=True)
            page.goto(f"{base}/staff/invite")
            page.fill("#f-email", f"clerk@{slug}.test")
            page.select_option("#f-role", "cs_clerk")
            page.click("main button[type=submit]")
            expect(page.locator("#invite-link")).to_have_value(re.compile(rf"/invite/{slug}/"))
            assert _fits_the_screen(page)
            page.screenshot(path=str(shots / "08e-invite-en.png"), full_page=True)

            _open_menu(page)
            page.click("text=Sign out")
            page.wait_for_url(f"{base}/login")
            page.goto(f"{base}/dashboard")
            page.wait_for_url(re.compile(r".*/login\?next=(/|%2F)dashboard$"))  # the old session is gone

            page.fill("#f-tenant", slug)
            page.fill("#f-email", email)
            page.fill("#f-password", PASSWORD)
            page.screenshot(path=str(shots / "09-login-en.png"), full_page=True)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{base}/dashboard")
            expect(page.locator("h1")).to_have_text("Dashboard")  # the person's own choice, remembered
            expect(page.locator("body")).to_contain_text("王经理")
            page.screenshot(path=str(shots / "10-dashboard-again-en.png"), full_page=True)
            context.close()


def test_signup_dashboard_languages_logout_login_on_a_phone(live_server: str) -> None:
    shots = ARTIFACTS / "e2e-signup"
    shots.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs its own event loop: give it a thread of its own, away from the
    # test session's loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots).result(timeout=300)
    assert (shots / "02-dashboard-zh.png").stat().st_size > 0
    assert (shots / "04-dashboard-en.png").stat().st_size > 0
