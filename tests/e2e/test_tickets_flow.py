"""A repair from a resident's phone to closed, in a real browser on phone-sized screens: the resident signs in
and reports a leak with a photo; the dispatcher hands it to engineering; the engineer accepts and resolves it;
the resident signs off and rates it; the dispatcher closes it. Every page is watched for browser errors
(a Content-Security-Policy violation among them) and must not scroll sideways. Screenshots go to
`test-artifacts/e2e-tickets/`."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, signed_in_page
from tests.integration.tickets.helpers import tower

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(client: Any) -> dict[str, Any]:
    w = await tower(client)
    async with tenant_scope(uuid.UUID(w["t"]["tenant_id"])):
        for who in ("dispatcher", "engineer", "resident"):
            await platform_service.update_staff(None, uuid.UUID(w[who]["id"]), password=PASSWORD)
    return w


def _photo(folder: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(out, "JPEG")
    path = folder / "leak.jpg"
    path.write_bytes(out.getvalue())
    return path


def _drive(base: str, shots: Path, w: dict[str, Any]) -> None:
    from playwright.sync_api import expect, sync_playwright

    slug = w["t"]["slug"]

    def person(browser: Any, who: str, target: str, lang: str) -> Any:
        return signed_in_page(browser, base, w[who]["email"], target, slug=slug, password=PASSWORD, lang=lang)

    def status(page: Any, value: str) -> None:
        expect(page.locator("[data-testid=status]")).to_have_attribute("data-status", value)
        assert fits_width(page), page.url

    with sync_playwright() as p, chromium(p) as browser:
        resident = person(browser, "resident", "/my/tickets/new", "zh_CN")
        expect(resident.locator("input[name=type][value=repair]")).to_be_checked()
        resident.fill("#f-raise-title", "卫生间天花板漏水")
        resident.fill("#f-raise-description", "楼上渗水，已经两天了")
        resident.set_input_files("#f-raise-file", str(_photo(shots)))
        assert fits_width(resident)
        resident.screenshot(path=str(shots / "01-raise.png"), full_page=True)
        resident.click("[data-testid=send]")
        resident.wait_for_url(re.compile(r".*/my/tickets/[0-9a-f-]{36}\?done=raised$"))
        ticket_id = resident.url.split("/")[-1].split("?")[0]
        status(resident, "registered")
        expect(resident.locator("[data-testid=photo] img")).to_be_visible()
        resident.screenshot(path=str(shots / "02-raised.png"), full_page=True)

        dispatcher = person(browser, "dispatcher", f"/tickets/{ticket_id}", "en")
        dispatcher.click("[data-testid=open-step-dispatched]")  # the steps that need input open to their fields
        dispatcher.select_option("#f-step-dispatched-department", w["eng"]["id"])
        dispatcher.click("[data-testid=step-dispatched]")
        dispatcher.wait_for_url(re.compile(r".*\?done=moved$"))
        status(dispatcher, "dispatched")
        expect(dispatcher.locator("[data-testid=department]")).to_have_text("Unit ENG")
        dispatcher.screenshot(path=str(shots / "03-dispatched.png"), full_page=True)

        engineer = person(browser, "engineer", f"/tickets/{ticket_id}", "en")
        engineer.click("[data-testid=step-accepted]")
        engineer.wait_for_url(re.compile(r".*\?done=moved$"))
        status(engineer, "accepted")
        engineer.click("[data-testid=step-resolved]")
        engineer.wait_for_url(re.compile(r".*\?done=moved$"))
        status(engineer, "resolved")

        resident.goto(f"{base}/my/tickets/{ticket_id}")
        resident.click("[data-testid=step-confirmed]")
        resident.wait_for_url(re.compile(r".*\?done=moved$"))
        status(resident, "confirmed")
        resident.select_option("#f-step-visited-satisfaction", "5")
        resident.select_option("#f-step-visited-reason", "satisfied")
        resident.fill("#f-step-visited-note", "师傅很细心")
        resident.screenshot(path=str(shots / "04-rate.png"), full_page=True)
        resident.click("[data-testid=step-visited]")
        resident.wait_for_url(re.compile(r".*\?done=moved$"))
        status(resident, "visited")
        expect(resident.locator("#timeline")).to_contain_text("师傅很细心")

        dispatcher.goto(f"{base}/tickets/{ticket_id}")
        dispatcher.click("[data-testid=step-closed]")
        dispatcher.wait_for_url(re.compile(r".*\?done=moved$"))
        status(dispatcher, "closed")
        expect(dispatcher.locator("form.step")).to_have_count(0)  # nothing more to do on a closed ticket
        dispatcher.screenshot(path=str(shots / "05-closed.png"), full_page=True)


def test_a_repair_from_the_residents_phone_to_closed(world: dict[str, Any], live_server: str) -> None:
    shots = artifacts("e2e-tickets")
    off_the_loop(_drive, live_server, shots, world, timeout=120)
    assert (shots / "05-closed.png").stat().st_size > 0
