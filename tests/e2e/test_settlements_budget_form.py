"""The new-budget form in a real browser on a phone: only the annual budget's lines carry their own cost type,
so the form shows the per-line type for the annual kind and the form's type for every other (a static script;
the page's policy holds, the browser reports no error) and the page never scrolls sideways. Screenshots go to
`test-artifacts/e2e-settlements/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.browser import DEMO_PASSWORD, artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.integration.settlements.helpers import World, make_world

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(client: Any) -> World:
    return await make_world(client)


def _drive(base: str, shots: Path, w: World) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p, chromium(p) as browser:
        page = signed_in_page(browser, base, "property@huafu-development.example", "/settlements/budgets/new",
                              slug=w.slug, password=DEMO_PASSWORD, lang="zh_CN")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.reload()
        expect(page.locator("#f-cost_type")).to_be_visible()
        expect(page.locator("#f-line_type_0")).to_be_hidden()
        page.select_option("#f-kind", "annual")
        expect(page.locator("#f-line_type_0")).to_be_visible()
        expect(page.locator("#f-cost_type")).to_be_hidden()
        assert fits_width(page), page.url
        page.screenshot(path=str(shots / "01-annual-budget-phone.png"), full_page=True)
        page.select_option("#f-kind", "monthly")
        expect(page.locator("#f-line_type_0")).to_be_hidden()
        assert errors == [], errors


def test_the_budget_form_shows_the_cost_type_the_kind_takes(world: World, live_server: str) -> None:
    w = world
    shots = artifacts("e2e-settlements")
    off_the_loop(_drive, live_server, shots, w, timeout=120)
    assert (shots / "01-annual-budget-phone.png").stat().st_size > 0
