"""The approval policy form in a real browser on a phone, in Chinese and in English: the row buttons
add a step without a page load, typing an amount redraws the bands (a gap shows at once), "Check"
marks every problem beside its field, and a new policy for member applications is set up from its
empty form. The browser helper fails the test on any console error (a CSP violation included).
Screenshots go to `test-artifacts/e2e-policy-form/`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.integration.approvals.conftest import World, make_world

pytestmark = pytest.mark.e2e

@pytest.fixture
async def world(client: Any) -> World:
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        await platform_service.update_staff(None, w.users["admin"], password=PASSWORD)
    return w


def _drive(base: str, shots: Path, world: World, lang: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        with chromium(p) as browser:
            page = signed_in_page(browser, base, f"admin@{world.slug}.test", "/approvals/policies/purchase",
                                  slug=world.slug, password=PASSWORD, lang=lang, device_scale_factor=1,
                                  locale="zh-CN" if lang == "zh_CN" else "en-GB")
            expect(page.locator('[data-testid="rule"]')).to_have_count(4)
            assert page.locator(".band-gap, .band-overlap").count() == 0
            assert fits_width(page)
            page.screenshot(path=str(shots / f"{lang}-01-policy.png"), full_page=True)

            # a step added by its button, without a page load (the form is redrawn in place)
            page.evaluate("window.__same_page = true")
            page.locator('button[name=op][value="add_step:0"]').click()
            expect(page.locator('#rule-0 [data-testid="step"]')).to_have_count(2)
            assert page.evaluate("window.__same_page === true")

            # typing an amount redraws the bands: a gap shows before anything is saved
            page.fill('input[name="rules[0].upper"]', "90")
            expect(page.locator("#bands .band-gap").first).to_be_visible()
            expect(page.locator('#bands li[data-status="gap"]').first).to_contain_text("90.00")
            page.locator("#bands").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{lang}-02-gap.png"))  # what the phone shows there

            # Check: every problem beside its field (the new step is empty), what was typed kept
            page.click('[data-testid="check"]')
            page.wait_for_load_state("load")
            expect(page.locator('[data-testid="form-errors"]')).to_be_visible()
            expect(page.locator('[data-error-for="rules[0].steps[1].name"]')).to_be_visible()
            expect(page.locator('input[name="rules[0].upper"]')).to_have_value("90")
            assert fits_width(page)
            page.screenshot(path=str(shots / f"{lang}-03-check.png"), full_page=True)
            page.locator('[data-error-for="rules[0].steps[1].name"]').scroll_into_view_if_needed()
            page.screenshot(path=str(shots / f"{lang}-03b-check-field.png"))

            # the applications' policy, not set up yet: its empty form
            page.goto(f"{base}/approvals/policies")
            expect(page.locator('[data-testid="missing-member_application"]')).to_be_visible()
            page.screenshot(path=str(shots / f"{lang}-04-policies.png"), full_page=True)
            page.goto(f"{base}/approvals/policies/member_application")
            expect(page.locator('[data-testid="not-set-up"]')).to_be_visible()
            page.fill('input[name="rules[0].name"]', "all")
            page.select_option('select[name="rules[0].steps[0].kind"]', "single")
            page.fill('input[name="rules[0].steps[0].name"]', "Club approves")
            page.select_option('select[name="rules[0].steps[0].approvers[0].who"]', "role:approver")
            page.select_option('select[name="rules[0].steps[0].approvers[0].place"]', "company")
            page.click('[data-testid="save"]')
            page.wait_for_url(re.compile(r".*/approvals/policies/member_application\?done=saved$"))
            expect(page.locator('[data-testid="not-set-up"]')).to_have_count(0)
            assert fits_width(page)
            page.screenshot(path=str(shots / f"{lang}-05-applications-saved.png"), full_page=True)
            page.context.close()


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_policy_form_on_a_phone(world: World, live_server: str, lang: str) -> None:
    shots = artifacts("e2e-policy-form")
    off_the_loop(_drive, live_server, shots, world, lang)
    assert (shots / f"{lang}-05-applications-saved.png").stat().st_size > 0
