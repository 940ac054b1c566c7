"""The XSS test's world (an HTML payload in every text field, tests/integration/test_xss_every_page.py)
opened in Chromium: every page it visits, as the same people. A payload that became markup would
show: its `<img src=x>` fails to load and its `onerror` handler is refused by the CSP (both console
errors, which fail the test through tests/e2e/browser.py), and an `alert()` that ran would open a
dialog. Screenshots of a few pages go to `test-artifacts/e2e-xss/`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.browser import ARTIFACTS, PHONE, chromium
from tests.integration.test_xss_every_page import STATUS, World, _build, visits

pytestmark = pytest.mark.e2e

DEMO_PASSWORD = "careclub-demo-2026"
SHOTS = {"/club/stats/{club_id:uuid}", "/approvals/requests/{request_id:uuid}", "/notifications",
         "/roles/{role_id:uuid}", "/approvals/outbox", "/club/members/{member_id:uuid}",
         "/approvals/meetings/{meeting_id:uuid}"}


def _drive(base: str, w: World) -> None:
    from playwright.sync_api import sync_playwright

    shots = ARTIFACTS / "e2e-xss"
    shots.mkdir(parents=True, exist_ok=True)
    plan = visits(w)
    dialogs: list[str] = []
    with sync_playwright() as p:
        with chromium(p) as browser:
            pages: dict[str | None, Any] = {}
            for route in sorted(plan):
                for who, url, _expect in plan[route]:
                    if STATUS.get(url, 200) != 200 or route.startswith("/schema"):
                        continue  # redirects to the payment sandbox; the docs pages have a test of their own
                    page = pages.get(who)
                    if page is None:
                        page = pages[who] = browser.new_context(viewport=PHONE, locale="en-US").new_page()
                        page.on("dialog", lambda d: (dialogs.append(f"{d.type}: {d.message}"), d.dismiss()))
                        if who is not None:
                            page.goto(f"{base}/login")
                            page.fill("#f-tenant", w.slug)
                            page.fill("#f-email", f"{who}@{w.slug}.test")
                            page.fill("#f-password", DEMO_PASSWORD)
                            page.click("main button[type=submit]")
                            page.wait_for_load_state("load")
                    response = page.goto(f"{base}{url}")
                    assert response is not None and response.status == 200, (who, url, response and response.status)
                    page.wait_for_load_state("networkidle")
                    if route in SHOTS:
                        name = route.strip("/").split("/")[0] + "-" + route.strip("/").replace("/", "_")[:40]
                        page.screenshot(path=str(shots / f"{name}-{who}.png"), full_page=True)
    assert not dialogs, dialogs


@pytest.fixture
async def world(client: Any) -> World:
    return await _build(client)


def test_the_payload_stays_text_in_a_browser(world: World, live_server: str) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_drive, live_server, world).result(timeout=600)
