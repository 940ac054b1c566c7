"""Every kind of page under the site's Content-Security-Policy, in Chromium: the public pages, the
API docs (Swagger UI and ReDoc, which load the OpenAPI document themselves), the member's card with
its self-refreshing QR code, the printable card, the scanner, the clubs' admin and statistics pages,
the approvals inbox, a request, the policy editor, tokens and invitations, and error pages. The
browser helper (`tests/e2e/browser.py`) fails the test on any console error, so a script or style
the policy refuses fails it. Last, the policy itself: a script injected into a page does not run,
and the helper reports the violation. Screenshots go to `test-artifacts/e2e-csp/`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import DEMO_SLUG as SLUG
from tests.e2e.browser import PHONE, artifacts, chromium, off_the_loop, sign_in, signed_in_page
from tests.integration.approvals.conftest import World, make_world

pytestmark = pytest.mark.e2e



@pytest.fixture
async def tenants(client: Any, tianren: None) -> tuple[World, str]:
    world = await make_world(client)
    async with tenant_scope(world.tenant_id):
        await platform_service.update_staff(None, world.users["admin"], password=PASSWORD)
    request = await world.open(50000, title="Replace the lobby door closer")
    return world, str(request["id"])


def _sweep(page: Any, base: str, shots: Path, prefix: str, paths: list[str]) -> None:
    for i, path in enumerate(paths):
        response = page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe" not in csp, (path, csp)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(shots / f"{prefix}-{i:02d}.png"), full_page=True)


def _drive(base: str, shots: Path, world: World, request_id: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            # anonymous: the public pages and the API docs
            page = browser.new_context(viewport=PHONE, locale="en-US").new_page()
            _sweep(page, base, shots, "01-public", ["/", "/login", "/signup", f"/join/{SLUG}/vip"])
            page.goto(f"{base}/schema/swagger")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("careclub API", timeout=20000)
            expect(page.locator(".opblock").first).to_be_visible()
            page.screenshot(path=str(shots / "02-swagger.png"))
            page.goto(f"{base}/schema/redoc")
            # ReDoc lays out the whole document in the page's script before its first heading: seconds on a quiet
            # machine, over 20 s on two busy cores (a CI run beside another test run)
            expect(page.locator("h1").first).to_contain_text("careclub API", timeout=60000)
            page.screenshot(path=str(shots / "03-redoc.png"))
            missing = page.goto(f"{base}/no-such-page")  # an error page Litestar's router draws
            assert missing is not None and missing.status == 404
            expect(page.locator("h1")).to_have_text("404")

            # the member: the card's QR renews itself (the clock runs fast here), and the printable card
            member = browser.new_context(viewport=PHONE, locale="en-US").new_page()
            member.clock.install()
            sign_in(member, base, f"member@{SLUG}.example", "/club/card")
            card = member.locator("section.club-card[data-card='TR-000001']")
            expect(card.locator("[data-testid=qr] svg")).to_be_visible()
            first = card.locator("[data-testid=qr-token]").input_value()
            member.clock.run_for(55_000)  # past the moment the page asks for a new code
            expect(card.locator("[data-testid=qr-token]")).not_to_have_value(first, timeout=15000)
            expect(card.locator("[data-testid=qr] svg")).to_be_visible()
            member.screenshot(path=str(shots / "04-card-renewed.png"), full_page=True)
            member.goto(f"{base}/club/cards/TR-000001/print")
            expect(member.locator("[data-testid=static-qr] svg")).to_be_visible()
            member.evaluate("window.print = function () { window.__printed = true; }")
            member.click("button[data-print]")
            assert member.evaluate("window.__printed") is True
            member.screenshot(path=str(shots / "05-print.png"), full_page=True)

            # the merchant's scanner answers a typed code
            scanner = signed_in_page(browser, base, f"merchant@{SLUG}.example", "/club/scan", locale="en-US")
            scanner.fill("#scan-token", "not a member code")
            scanner.click("#scan-submit")
            expect(scanner.locator("[data-testid=scan-result]")).to_have_attribute("data-reason", "malformed")
            answer = scanner.locator("[data-testid=scan-result]")
            expect(answer).to_contain_text(re.compile("Not a member code|不是会员码"))
            scanner.screenshot(path=str(shots / "06-scanner.png"), full_page=True)

            # the clubs' admin: overview, statistics (chart), members, tokens, invitations, error page
            admin = signed_in_page(browser, base, f"admin@{SLUG}.example", "/club/admin", locale="en-US")
            stats = admin.locator("a[href^='/club/stats/']").first.get_attribute("href")
            _sweep(admin, base, shots, "07-admin", ["/club/admin", str(stats), "/club/members", "/org", "/staff",
                                                    "/roles", "/audit", "/notifications", "/approvals/outbox"])
            admin.goto(f"{base}{stats}")
            expect(admin.locator("[data-testid=stats-chart] svg")).to_be_visible()
            admin.goto(f"{base}/tokens")
            admin.fill("#f-name", "CSP check")
            admin.click("main form[action='/tokens'] button[type=submit]")
            token = admin.locator("#new-token")
            token.focus()  # selects the whole token (/static/js/select-on-focus.js)
            assert admin.evaluate("window.getSelection().toString() || "
                                  "(document.activeElement.selectionEnd - document.activeElement.selectionStart)")
            admin.goto(f"{base}/staff/invite")
            admin.fill("#f-email", "csp-check@tianren.example")
            admin.click("main button[type=submit]")
            expect(admin.locator("#invite-link")).to_have_value(re.compile(r"/invite/"))
            gone = admin.goto(f"{base}/org/00000000-0000-0000-0000-000000000000")
            assert gone is not None and gone.status == 404
            admin.screenshot(path=str(shots / "08-error-404.png"), full_page=True)

            # approvals: inbox, a request, the policy editor with its probe, meetings
            approver = signed_in_page(browser, base, f"admin@{world.slug}.test", "/approvals", slug=world.slug,
                                      password=PASSWORD, locale="en-US")
            _sweep(approver, base, shots, "09-approvals", [
                "/approvals", f"/approvals/requests/{request_id}", "/approvals/policies",
                "/approvals/policies/purchase?amount=5000.00&org_unit=P1", "/approvals/meetings"])


def _injected_script_is_refused(base: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        with pytest.raises(AssertionError, match="Content Security Policy"):
            with chromium(p) as browser:
                page = browser.new_context().new_page()
                page.goto(f"{base}/login")
                ran = page.evaluate("""() => {
                    const s = document.createElement('script');
                    s.textContent = 'window.__injected = true';
                    document.body.appendChild(s);
                    return window.__injected === true;
                }""")
                assert ran is False, "an inline script ran despite the policy"


def test_pages_run_under_the_content_security_policy(tenants: tuple[World, str], live_server: str) -> None:
    world, request_id = tenants
    shots = artifacts("e2e-csp")
    off_the_loop(_drive, live_server, shots, world, request_id, timeout=600)
    off_the_loop(_injected_script_is_refused, live_server, timeout=120)
    assert (shots / "04-card-renewed.png").stat().st_size > 0
