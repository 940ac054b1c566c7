"""Accounts in a real browser on a phone (390 × 844), in Chinese and in English, under the site's
Content-Security-Policy (any console error fails the test): "Forgot password?" on the sign-in page,
the form and its answer, the reset link from the outbox setting a new password and landing on the
dashboard; then enrolling a member with an invitation (its QR code drawn inline, Print and Copy link
wired by a script file), the member accepting it and landing on the card with its QR code.
Screenshots go to `test-artifacts/e2e-accounts/`."""

from __future__ import annotations

import asyncio
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from careclub.core.redis import redis
from careclub.core.security import digest
from tests.conftest import PASSWORD, signup
from tests.e2e.browser import ARTIFACTS, PHONE, chromium

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a-brand-new-passphrase-42"
LINK = re.compile(r"https?://[^\s/]+(/password/reset/\S+)")


@pytest.fixture
async def company(client: Any) -> dict[str, Any]:
    t = await signup(client)
    h = t["headers"]
    club = (await client.post("/api/v1/clubs", headers=h, json={
        "code": "car", "name": "天仁车友会", "card_prefix": "E" + uuid.uuid4().hex[:3].upper() + "-"})).json()
    plan = (await client.post(f"/api/v1/clubs/{club['id']}/plans", headers=h, json={
        "code": "free", "name": "免费卡"})).json()
    # the browser comes from 127.0.0.1, like every other browser test: start its request count afresh
    await redis().delete(f"rl:pwreset:addr:{digest('127.0.0.1')}")
    return {**t, "plan": plan["id"]}


def _reset_path(owner_dsn: str, tenant_id: str, email: str) -> str:
    async def newest() -> str:
        conn = await asyncpg.connect(owner_dsn)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
                body = await conn.fetchval("SELECT body FROM outbox_email WHERE to_email = $1 "
                                           "ORDER BY created_at DESC LIMIT 1", email)
        finally:
            await conn.close()
        found = LINK.search(body or "")
        assert found, body
        return found.group(1)

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's own loop runs in this thread
        return pool.submit(asyncio.run, newest()).result(timeout=30)


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _drive(base: str, shots: Path, t: dict[str, Any], owner_dsn: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            for n, (lang, locale) in enumerate((("zh", "zh-CN"), ("en", "en-US"))):
                context = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=1)
                page = context.new_page()
                # forgot password: the link on the sign-in page, the form, the same answer for everyone
                page.goto(f"{base}/login?tenant={t['slug']}")
                page.screenshot(path=str(shots / f"01-login-{lang}.png"), full_page=True)
                page.click("#forgot-link")
                page.wait_for_url(re.compile(r".*/password/forgot\?tenant="))
                expect(page.locator("#f-tenant")).to_have_value(t["slug"])
                page.fill("#f-email", "not-an-address")
                page.click("main button[type=submit]")
                expect(page.locator("#e-email")).to_be_visible()
                page.fill("#f-email", t["email"])
                assert _fits(page)
                page.screenshot(path=str(shots / f"02-forgot-{lang}.png"), full_page=True)
                page.click("main button[type=submit]")
                expect(page.locator("#reset-sent")).to_be_visible()
                page.screenshot(path=str(shots / f"03-forgot-sent-{lang}.png"), full_page=True)
                # the link from the mail: the password rules, then signed in on the dashboard
                page.goto(base + _reset_path(owner_dsn, t["tenant_id"], t["email"]))
                page.fill("#f-password", "1234567890")
                page.fill("#f-password2", "1234567890")
                page.click("main button[type=submit]")
                expect(page.locator("#e-password")).to_be_visible()
                assert _fits(page)
                page.screenshot(path=str(shots / f"04-reset-error-{lang}.png"), full_page=True)
                password = f"{NEW_PASSWORD}-{lang}"
                page.fill("#f-password", password)
                page.fill("#f-password2", password)
                page.click("main button[type=submit]")
                page.wait_for_url(f"{base}/dashboard")
                # the admin's own language choice (it wins over the browser's) is this round's
                if page.locator("label.nav-button").is_visible():
                    page.click("label.nav-button")
                page.click(f"button[name=lang][value={'zh_CN' if lang == 'zh' else 'en'}]")
                page.wait_for_url(f"{base}/dashboard")

                # enrol a member with an invitation: the link and its QR code, Print and Copy link
                page.goto(f"{base}/club/members/new")
                expect(page.locator("[data-testid=invite-box]")).to_be_checked()
                page.select_option("#f-plan", t["plan"])
                page.fill("#f-name", f"林{n}号")
                page.fill("#f-phone", f"1390000{n:04d}")
                assert _fits(page)
                page.screenshot(path=str(shots / f"05-enrol-{lang}.png"), full_page=True)
                page.click("main button[type=submit]")
                expect(page.locator("[data-testid=invitation] svg")).to_be_visible()
                link = page.locator("#invitation-link").input_value()
                assert f"/welcome/{t['slug']}/" in link
                assert _fits(page)
                page.screenshot(path=str(shots / f"06-invitation-{lang}.png"), full_page=True)
                page.emulate_media(media="print")
                page.screenshot(path=str(shots / f"06b-invitation-print-{lang}.png"), full_page=True)
                page.emulate_media(media="screen")

                # the member accepts it and lands on the card with its QR code
                member = browser.new_context(viewport=PHONE, locale=locale, device_scale_factor=1).new_page()
                member.goto(link)
                member.fill("#f-email", f"lin{n}-{uuid.uuid4().hex[:6]}@{t['slug']}.test")
                member.fill("#f-password", "short")
                member.fill("#f-password2", "short")
                member.click("main button[type=submit]")
                expect(member.locator("#e-password")).to_be_visible()
                assert _fits(member)
                member.screenshot(path=str(shots / f"07-welcome-{lang}.png"), full_page=True)
                member.fill("#f-password", PASSWORD)
                member.fill("#f-password2", PASSWORD)
                member.click("main button[type=submit]")
                member.wait_for_url(f"{base}/club/card")
                expect(member.locator("[data-testid=qr] svg")).to_be_visible()
                member.screenshot(path=str(shots / f"08-card-{lang}.png"), full_page=True)
                member.context.close()

                # the member's page now names the account
                action = page.locator("[data-testid=member-edit-form]").get_attribute("action") or ""
                page.goto(base + action.rsplit("/edit", 1)[0])
                expect(page.locator("[data-testid=account-email]")).to_be_visible()
                page.screenshot(path=str(shots / f"09-member-account-{lang}.png"), full_page=True)
                context.close()


def test_account_pages_on_a_phone(company: dict[str, Any], live_server: str, infra: Any) -> None:
    shots = ARTIFACTS / "e2e-accounts"
    shots.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, shots, company, infra.owner_dsn).result(timeout=300)
    assert (shots / "08-card-en.png").stat().st_size > 0
