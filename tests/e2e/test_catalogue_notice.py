"""The printable notice of a project's paid services in a real browser on a phone-sized screen: the site
manager opens it, sees the list with its fees and the QR code that books them, the page does not scroll
sideways and the browser reports no error (a Content-Security-Policy violation among them); printed, the
menu and the buttons are left out and the list and the code stay. Screenshots go to
`test-artifacts/e2e-catalogue/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from careclub.core.db import tenant_scope
from careclub.platform import service as platform_service
from tests.conftest import PASSWORD
from tests.e2e.browser import artifacts, chromium, fits_width, off_the_loop, read_qr, signed_in_page
from tests.integration.catalogue.helpers import World, make_world

pytestmark = pytest.mark.e2e


@pytest.fixture
async def world(client: Any) -> World:
    w = await make_world(client)
    async with tenant_scope(w.tenant_id):
        await platform_service.update_staff(None, w.users["site"], password=PASSWORD)
    return w


def _drive(base: str, shots: Path, w: World) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p, chromium(p) as browser:
        page = signed_in_page(browser, base, f"site@{w.slug}.test", "/catalogue/notice?project=P1", slug=w.slug,
                              password=PASSWORD, lang="en")
        qr = page.locator("[data-testid=notice-qr] svg")
        expect(qr).to_be_visible()
        box = qr.bounding_box()
        assert box is not None and box["width"] >= 120 and abs(box["width"] - box["height"]) < 2, box
        services = page.locator("#notice-services")
        expect(services).to_be_visible()
        expect(services).to_contain_text("Deep cleaning")
        expect(services).to_contain_text("¥5.00 / m²")
        expect(services).to_contain_text("¥50.00–300.00")
        expect(page.locator("[data-testid=notice-qr] figcaption")).to_contain_text("/my/services?project=P1")
        assert fits_width(page), page.url
        page.screenshot(path=str(shots / "01-notice-phone.png"), full_page=True)
        # the code reads back as the booking page's address (decoded by the scanner's own jsQR)
        assert read_qr(page, "[data-testid=notice-qr] svg") == f"{base}/my/services?project=P1"

        page.set_viewport_size({"width": 794, "height": 1123})  # an A4 sheet at 96 dpi
        page.emulate_media(media="print")
        expect(page.locator("[data-testid=notice] h1")).to_be_visible()
        expect(page.locator(".topbar")).to_be_hidden()
        expect(page.locator("[data-testid=print]")).to_be_hidden()
        expect(qr).to_be_visible()
        expect(services).to_be_visible()
        page.screenshot(path=str(shots / "02-notice-print.png"), full_page=True)


def test_the_printable_notice_shows_its_services_and_qr_code_on_a_phone(world: World, live_server: str) -> None:
    shots = artifacts("e2e-catalogue")
    off_the_loop(_drive, live_server, shots, world, timeout=120)
    assert (shots / "02-notice-print.png").stat().st_size > 0
